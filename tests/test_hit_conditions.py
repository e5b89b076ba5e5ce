"""Hit conditions: which hits of a breakpoint stop, with vscode-js-debug's syntax."""

from __future__ import annotations

import pytest

from adapter.expression_errors import ExpressionError
from adapter.hit_conditions import parse_hit_condition

HITS = range(1, 21)


def stopping_hits(text: str) -> list[int]:
    condition = parse_hit_condition(text)
    return [count for count in HITS if condition.matches(count)]


@pytest.mark.parametrize("text", ["5", "=5", "==5", "===5", " == 5 "])
def test_plain_and_equal_stop_on_nth_hit(text: str) -> None:
    assert stopping_hits(text) == [5]


def test_greater_than() -> None:
    assert stopping_hits(">17") == [18, 19, 20]


def test_greater_or_equal() -> None:
    assert stopping_hits(">=18") == [18, 19, 20]


def test_less_than() -> None:
    assert stopping_hits("<3") == [1, 2]


def test_less_or_equal() -> None:
    assert stopping_hits("<=3") == [1, 2, 3]


def test_modulo_stops_on_every_nth_hit() -> None:
    assert stopping_hits("%5") == [5, 10, 15, 20]
    assert stopping_hits("% 1") == list(HITS)


def test_zero_never_matches_a_hit() -> None:
    assert stopping_hits("0") == []
    assert stopping_hits(">0") == list(HITS)


def test_parsed_fields() -> None:
    condition = parse_hit_condition(" === 7")
    assert condition.operator == "=="
    assert condition.value == 7
    assert condition.text == " === 7"


def test_large_counts() -> None:
    condition = parse_hit_condition(">= 1000000")
    assert not condition.matches(999_999)
    assert condition.matches(1_000_000)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("", 1),
        ("abc", 1),
        ("> x", 3),
        ("5 x", 3),
        ("-1", 1),
        ("5.0", 2),
        ("!=5", 1),
        ("> 5 6", 5),
        ("==", 3),
        ("t > 5", 1),
    ],
)
def test_invalid_text_rejected(text: str, column: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_hit_condition(text)
    assert caught.value.message.startswith(f"invalid hit condition {text!r}")
    assert "such as '5', '==5', '>5'" in caught.value.message
    assert caught.value.column == column


def test_modulo_zero_rejected() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_hit_condition("%0")
    assert caught.value.message == (
        "invalid hit condition '%0': the modulus must be at least 1"
    )
    assert caught.value.column == 2


def test_long_text_rejected() -> None:
    with pytest.raises(ExpressionError, match="the maximum is 100"):
        parse_hit_condition(" " * 100 + "5")
