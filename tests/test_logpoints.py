"""Logpoint messages: placeholders, format specifications, escapes and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from adapter.expression_errors import ExpressionError
from adapter.expressions import SymbolTable
from adapter.logpoints import MAX_LOG_MESSAGE_LENGTH, compile_log_message

SYMBOLS = SymbolTable(
    scalars=["t", "o", "state", "ret"],
    namespaces={"b": ["no_intrusion", "intrusion"], "pi": ["continue", "stop"]},
    constants={"no_intrusion": 0, "intrusion": 1, "continue": 0, "stop": 1},
)
ENV: dict[str, Any] = {
    "t": 3,
    "o": None,
    "state": 1,
    "ret": 2.5,
    "b": np.array([0.4, 0.6]),
    "pi": np.array([0.125, 0.875]),
}


def render(text: str, **values: Any) -> str:
    return compile_log_message(text, SYMBOLS).render({**ENV, **values})


def set_error(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_log_message(text, SYMBOLS)
    return caught.value


def test_plain_text_unchanged() -> None:
    assert render("episode reached the stop") == "episode reached the stop"
    assert render("") == ""


def test_placeholders_replaced() -> None:
    assert render("t={t} ret={ret}") == "t=3 ret=2.5"


def test_null_and_booleans_spelled_as_in_language() -> None:
    assert render("o={o} late={t > 2} early={t < 2}") == "o=null late=true early=false"


def test_format_specifications() -> None:
    assert render("P(stop)={pi.stop:.3f}") == "P(stop)=0.875"
    assert render("{b.intrusion:.1%}") == "60.0%"
    assert render("[{t:>4}]") == "[   3]"
    assert render("{ret:+.1e}") == "+2.5e+00"


def test_expression_with_operators() -> None:
    assert render("{t * 2 + 1} {state == intrusion}") == "7 true"


def test_braces_escaped() -> None:
    assert render("{{t}} = {t}") == "{t} = 3"
    assert render("a}}b{{c") == "a}b{c"


def test_names_of_all_placeholders() -> None:
    message = compile_log_message("{t} {pi.stop} {intrusion}", SYMBOLS)
    assert message.names == frozenset({"t", "pi"})


def test_division_by_zero_written_inline() -> None:
    assert render("r={ret / t}!", t=0) == (
        "r=<error: division by zero in 'ret / t': 't' is 0>!"
    )


def test_format_mismatch_written_inline() -> None:
    text = render("{pi.stop:d}")
    assert text.startswith("<error: cannot format 0.875 with 'd':")


def test_null_ignores_format_specification() -> None:
    assert render("{o:.2f}") == "null"


def test_placeholder_error_column_in_message() -> None:
    error = set_error("t={intrusoin}")
    assert error.message.startswith("unknown name 'intrusoin'")
    assert error.column == 4
    assert error.text == "t={intrusoin}"


def test_syntax_error_inside_placeholder() -> None:
    error = set_error("x {t +}")
    assert error.message == "expected a value after '+'"
    assert error.column == 7


def test_unclosed_brace_rejected() -> None:
    error = set_error("t={t")
    assert error.message == (
        "missing '}' for the '{' at column 3; write '{{' for a literal brace"
    )


def test_single_closing_brace_rejected() -> None:
    error = set_error("t}")
    assert error.message == "single '}' in log message; write '}}' for a literal brace"
    assert error.column == 2


def test_empty_placeholder_rejected() -> None:
    assert set_error("{}").message.startswith("empty placeholder")
    assert set_error("{ }").message.startswith("empty placeholder")


def test_brace_inside_placeholder_rejected() -> None:
    error = set_error("{t:{x}}")
    assert error.message.startswith("'{' inside the placeholder")
    assert error.column == 4


@pytest.mark.parametrize("spec", [".3q", "9999", ".1000f", "abc"])
def test_invalid_format_specification_rejected(spec: str) -> None:
    error = set_error(f"t={{t:{spec}}}")
    assert error.message.startswith(f"invalid format specification '{spec}'")
    assert error.column == 6


def test_long_message_rejected() -> None:
    error = set_error("x" * (MAX_LOG_MESSAGE_LENGTH + 1))
    assert error.message == "log message is 4001 characters long; the maximum is 4000"
