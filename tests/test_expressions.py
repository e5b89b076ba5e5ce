"""The breakpoint expression language: syntax, names, null handling and safety."""

from __future__ import annotations

import ast
import builtins
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from adapter.expressions import (
    MAX_EXPRESSION_LENGTH,
    MAX_NESTING,
    EvaluationError,
    ExpressionError,
    SymbolTable,
    compile_expression,
)

STATES = ["no_intrusion", "intrusion", "terminal"]
ACTIONS = ["continue", "stop"]
SYMBOLS = SymbolTable(
    scalars=["t", "o", "state", "action", "reward", "ret", "l", "p"],
    namespaces={"b": STATES, "pi": ACTIONS},
    constants={
        **{name: index for index, name in enumerate(STATES)},
        **{name: index for index, name in enumerate(ACTIONS)},
    },
)
# A joint observation `o` with named components, as in a three-component scenario.
COMPONENT_SYMBOLS = SymbolTable(
    scalars=["t", "o"],
    namespaces={"o": ["severe", "warning", "logins"]},
)


def step_env(**values: Any) -> dict[str, Any]:
    env: dict[str, Any] = {
        "t": 3,
        "o": 50,
        "state": 1,
        "action": 1,
        "reward": -5.0,
        "ret": 2.0,
        "l": 3,
        "p": 0.9,
        "b": np.array([0.3, 0.6, 0.1]),
        "pi": np.array([0.1, 0.9]),
    }
    env.update(values)
    return env


def evaluate(text: str, **values: Any) -> object:
    return compile_expression(text, SYMBOLS).evaluate(step_env(**values))


def compile_error(text: str, symbols: SymbolTable = SYMBOLS) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text, symbols)
    return caught.value


class CountingEnv(dict[str, Any]):
    """An environment that counts how often each name is read."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.reads: dict[str, int] = {}

    def __getitem__(self, key: str) -> Any:
        self.reads[key] = self.reads.get(key, 0) + 1
        return super().__getitem__(key)


# Literals


def test_number_literals() -> None:
    assert evaluate("2") == 2
    assert isinstance(evaluate("2"), int)
    assert evaluate("0.8") == 0.8
    assert evaluate("1e-3") == 0.001
    assert evaluate(".5") == 0.5
    assert evaluate("1.") == 1.0
    assert evaluate("2E2") == 200.0


def test_boolean_and_null_literals() -> None:
    assert evaluate("true") is True
    assert evaluate("false") is False
    assert evaluate("null") is None


def test_malformed_numbers_rejected() -> None:
    assert "invalid number '1e'" in compile_error("t > 1e").message
    assert "invalid number '0x10'" in compile_error("0x10").message
    assert "invalid number '5abc'" in compile_error("5abc").message


# Precedence and associativity


def test_multiplication_before_addition() -> None:
    assert evaluate("1 + 2 * 3") == 7
    assert evaluate("(1 + 2) * 3") == 9


def test_arithmetic_is_left_associative() -> None:
    assert evaluate("10 - 4 - 3") == 3
    assert evaluate("8 / 4 / 2") == 1.0
    assert evaluate("20 % 7 % 4") == 2


def test_unary_minus() -> None:
    assert evaluate("-2 * 3") == -6
    assert evaluate("--2") == 2
    assert evaluate("-t + 1", t=3) == -2
    assert evaluate("+t", t=3) == 3


def test_modulo_and_division_follow_python() -> None:
    assert evaluate("-7 % 3") == 2
    assert evaluate("7 / 2") == 3.5
    assert evaluate("t % 10 == 0", t=20) is True
    assert evaluate("t % 10 == 0", t=21) is False


def test_and_before_or() -> None:
    assert evaluate("true or false and false") is True
    assert evaluate("(true or false) and false") is False


def test_not_applies_to_whole_comparison() -> None:
    assert evaluate("not t > 5", t=3) is True
    assert evaluate("!t > 5", t=3) is True
    assert evaluate("not t > 5 and t > 1", t=3) is True


def test_not_inside_arithmetic_rejected() -> None:
    for text in ("t * not o", "-not t", "t == not o", "t + !o"):
        error = compile_error(text)
        assert "write it in parentheses" in error.message
    assert compile_error("t * not o").column == 5


def test_not_after_logical_operators() -> None:
    assert evaluate("not not t", t=2) is True
    assert evaluate("t > 1 and not t > 5", t=3) is True
    assert evaluate("t * (not o)", t=3, o=0) == 3


def test_arithmetic_before_comparison() -> None:
    assert evaluate("t + 1 > 3", t=3) is True
    assert evaluate("2 * b.intrusion >= 1.2") is True


def test_symbol_aliases() -> None:
    assert evaluate("t > 1 && t < 5", t=3) is True
    assert evaluate("t > 5 || t < 1", t=3) is False
    assert evaluate("!(t == 3)", t=3) is False


def test_logical_operators_return_booleans() -> None:
    assert evaluate("t and 5", t=3) is True
    assert evaluate("t or 5", t=0) is True
    assert evaluate("not t", t=0) is True


# Comparison chains


def test_chained_comparison() -> None:
    condition = compile_expression("0.2 < b.intrusion < 0.8", SYMBOLS)
    assert condition.evaluate(step_env(b=[0.5, 0.5, 0.0])) is True
    assert condition.evaluate(step_env(b=[0.1, 0.9, 0.0])) is False
    assert condition.evaluate(step_env(b=[0.9, 0.1, 0.0])) is False


def test_chain_compares_neighbours_only() -> None:
    assert evaluate("1 < 3 > 2") is True
    assert evaluate("1 < 3 < 2") is False
    assert evaluate("1 == 1 != 2") is True


def test_chain_reads_middle_operand_once() -> None:
    env = CountingEnv(step_env(t=5))
    assert compile_expression("0 < t < 10", SYMBOLS).evaluate(env) is True
    assert env.reads == {"t": 1}


# Short-circuit evaluation


def test_and_short_circuits() -> None:
    assert evaluate("t != 0 and 1 / t > 0.5", t=0) is False
    assert evaluate("false and 1 / t > 0", t=0) is False


def test_or_short_circuits() -> None:
    assert evaluate("t == 0 or 1 / t > 0.5", t=0) is True


def test_chain_short_circuits() -> None:
    assert evaluate("0 < t < 1 / t", t=0) is False


def test_and_skips_reading_later_names() -> None:
    env = CountingEnv(step_env(t=0))
    condition = compile_expression("t > 1 and pi.stop > 0.8 and ret > 0", SYMBOLS)
    assert condition.evaluate(env) is False
    assert env.reads == {"t": 1}


# Names, constants and namespaces


def test_constants_compare_indices() -> None:
    assert evaluate("state == intrusion", state=1) is True
    assert evaluate("state == intrusion", state=0) is False
    assert evaluate("action == stop", action=1) is True
    assert evaluate("intrusion") == 1


def test_constants_are_not_read_from_env() -> None:
    condition = compile_expression("state == intrusion", SYMBOLS)
    assert condition.names == frozenset({"state"})
    assert condition.evaluate({"state": 1}) is True


def test_members_index_sequences() -> None:
    assert evaluate("b.intrusion", b=np.array([0.3, 0.6, 0.1])) == 0.6
    assert evaluate("b.intrusion", b=[0.3, 0.6, 0.1]) == 0.6
    assert evaluate("pi.stop", pi=(0.25, 0.75)) == 0.75


def test_typical_condition() -> None:
    condition = compile_expression("pi.stop > 0.8 and b.intrusion < 0.5", SYMBOLS)
    assert condition.evaluate(step_env(pi=[0.1, 0.9], b=[0.6, 0.4, 0.0])) is True
    assert condition.evaluate(step_env(pi=[0.1, 0.9], b=[0.3, 0.7, 0.0])) is False
    assert condition.evaluate(step_env(pi=[0.3, 0.7], b=[0.6, 0.4, 0.0])) is False


def test_names_lists_variables_read() -> None:
    condition = compile_expression("pi.stop > 0.8 and b.intrusion < 0.5", SYMBOLS)
    assert condition.names == frozenset({"pi", "b"})
    assert compile_expression("p > 0.8", SYMBOLS).names == frozenset({"p"})
    assert compile_expression("1 + 2", SYMBOLS).names == frozenset()


def test_expression_keeps_text() -> None:
    assert compile_expression("t > 1", SYMBOLS).text == "t > 1"


def test_name_with_members_reads_two_keys() -> None:
    env = {"t": 0, "o": 123, "o.": [1, 2, 3]}
    assert compile_expression("o", COMPONENT_SYMBOLS).evaluate(env) == 123
    assert compile_expression("o.warning", COMPONENT_SYMBOLS).evaluate(env) == 2
    assert compile_expression("o.logins", COMPONENT_SYMBOLS).names == {"o"}
    assert COMPONENT_SYMBOLS.members_key("o") == "o."
    assert SYMBOLS.members_key("b") == "b"


def test_many_evaluations_match_direct_computation() -> None:
    rng = np.random.default_rng(7)
    beliefs = rng.dirichlet([1.0, 1.0, 1.0], size=100_000)
    stops = rng.random(100_000)
    condition = compile_expression(
        "pi.stop > 0.8 and b.intrusion < 0.5 or t % 1000 == 0", SYMBOLS
    )

    matches = 0
    expected = 0
    for t in range(100_000):
        env = {"t": t, "b": beliefs[t], "pi": (1.0 - stops[t], stops[t])}
        matches += condition.evaluate(env) is True
        expected += (stops[t] > 0.8 and beliefs[t][1] < 0.5) or t % 1000 == 0
    assert matches == expected


# Null values


def test_arithmetic_with_null_is_null() -> None:
    assert evaluate("o + 1", o=None) is None
    assert evaluate("2 * o", o=None) is None
    assert evaluate("-o", o=None) is None
    assert evaluate("ret / t", ret=None, t=0) is None


def test_comparisons_with_null_are_false() -> None:
    for operator in ("==", "!=", "<", "<=", ">", ">="):
        assert evaluate(f"o {operator} 50", o=None) is False
        assert evaluate(f"50 {operator} o", o=None) is False
    assert evaluate("state == intrusion", state=None) is False
    assert evaluate("state != intrusion", state=None) is False


def test_null_test() -> None:
    assert evaluate("o == null", o=None) is True
    assert evaluate("o == null", o=0) is False
    assert evaluate("o != null", o=0) is True
    assert evaluate("null == o", o=None) is True


def test_not_null_is_true() -> None:
    assert evaluate("not o", o=None) is True
    assert evaluate("not (o > 5)", o=None) is True


def test_null_sequence_gives_null_members() -> None:
    assert evaluate("b.intrusion", b=None) is None
    assert evaluate("b.intrusion > 0.5", b=None) is False


def test_functions_of_null_are_null() -> None:
    assert evaluate("abs(ret)", ret=None) is None
    assert evaluate("max(o, 3)", o=None) is None
    assert evaluate("round(ret, 2)", ret=None) is None


def test_null_ordering_rejected() -> None:
    error = compile_error("o < null")
    assert "null can only be compared with '==' or '!='" in error.message
    assert error.column == 5


def test_null_in_chain_rejected() -> None:
    assert "single comparison" in compile_error("o == null == t").message


def test_null_bound_is_false() -> None:
    assert evaluate("t < 1 + null", t=0) is False


# Functions


def test_abs() -> None:
    assert evaluate("abs(-2.5)") == 2.5
    assert evaluate("abs(ret) > 5", ret=-6.0) is True


def test_min_and_max() -> None:
    assert evaluate("min(3, 1, 2)") == 1
    assert evaluate("max(b.intrusion, b.no_intrusion)", b=[0.3, 0.6, 0.1]) == 0.6


def test_round() -> None:
    assert evaluate("round(2.567, 2)") == 2.57
    assert evaluate("round(2.5)") == 2
    assert evaluate("round(3.5)") == 4
    assert evaluate("round(1234, -2)") == 1200


def test_log() -> None:
    assert evaluate("log(1)") == 0.0
    assert evaluate("log(8, 2)") == 3.0
    assert evaluate("log(exp(2))") == 2.0


def test_exp_and_sqrt() -> None:
    assert evaluate("exp(0)") == 1.0
    assert evaluate("sqrt(16)") == 4.0


def test_clamp() -> None:
    assert evaluate("clamp(5, 0, 1)") == 1
    assert evaluate("clamp(-1, 0, 1)") == 0
    assert evaluate("clamp(0.5, 0, 1)") == 0.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abs()", "abs() takes 1 argument (0 given): abs(x)"),
        ("abs(1, 2)", "abs() takes 1 argument (2 given)"),
        ("min(1)", "min() takes at least 2 arguments (1 given)"),
        ("round(1, 2, 3)", "round() takes 1 or 2 arguments (3 given)"),
        ("clamp(1, 2)", "clamp() takes 3 arguments (2 given): clamp(x, low, high)"),
    ],
)
def test_function_arity_checked(text: str, expected: str) -> None:
    assert expected in compile_error(text).message


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("log(t)", {"t": 0}, "log(t) failed for (0): math domain error"),
        ("sqrt(ret)", {"ret": -1.0}, "sqrt(ret) failed for (-1.0)"),
        ("exp(ret)", {"ret": 1000.0}, "exp(ret) failed for (1000.0)"),
        ("clamp(t, 1, 0)", {"t": 3}, "lower bound 1 is greater than upper bound 0"),
    ],
)
def test_function_failure_raises(text: str, values: dict, expected: str) -> None:
    with pytest.raises(EvaluationError) as caught:
        evaluate(text, **values)
    assert expected in str(caught.value)


def test_constant_function_failure_rejected() -> None:
    error = compile_error("t > log(0)")
    assert "log(0) failed" in error.message
    assert error.column == 5


# Division by zero


def test_division_by_zero_raises() -> None:
    with pytest.raises(EvaluationError) as caught:
        evaluate("ret / t > 1", t=0)
    assert str(caught.value) == "division by zero in 'ret / t': 't' is 0"


def test_modulo_by_zero_raises() -> None:
    with pytest.raises(EvaluationError):
        evaluate("t % l == 0", l=0)


def test_division_by_numpy_zero_raises() -> None:
    with pytest.raises(EvaluationError):
        evaluate("1 / b.intrusion", b=np.array([1.0, 0.0, 0.0]))


def test_constant_division_by_zero_rejected() -> None:
    error = compile_error("t / 0")
    assert error.message == "division by zero in 't / 0'"
    assert error.column == 5


# Evaluation errors


def test_missing_value_raises() -> None:
    condition = compile_expression("p > 0.8", SYMBOLS)
    with pytest.raises(EvaluationError) as caught:
        condition.evaluate({"t": 1})
    assert "no value for 'p'" in str(caught.value)


def test_missing_members_raise() -> None:
    condition = compile_expression("o.severe > 1", COMPONENT_SYMBOLS)
    with pytest.raises(EvaluationError) as caught:
        condition.evaluate({"o": 5})
    assert "no value for 'o'" in str(caught.value)


def test_short_sequence_raises() -> None:
    with pytest.raises(EvaluationError) as caught:
        evaluate("b.terminal", b=[0.5, 0.5])
    assert "cannot evaluate 'b.terminal'" in str(caught.value)


# Compile errors


def test_unknown_name_suggests_close_match() -> None:
    error = compile_error("state == intrusoin")
    assert error.message.startswith(
        "unknown name 'intrusoin' (did you mean 'intrusion'"
    )
    assert "known names: action, b, continue, intrusion," in error.message
    assert error.column == 10


def test_unknown_member_lists_members() -> None:
    error = compile_error("b.intrusoin > 0.5")
    assert "unknown member 'b.intrusoin' (did you mean 'intrusion'" in error.message
    assert error.message.endswith("members of b: no_intrusion, intrusion, terminal")
    assert error.column == 3


def test_member_of_variable_rejected() -> None:
    assert compile_error("t.x").message == "'t' is a variable and has no members"


def test_member_of_constant_rejected() -> None:
    assert (
        "'stop' is a constant (1) and has no members" in compile_error("stop.x").message
    )


def test_member_of_member_rejected() -> None:
    error = compile_error("b.intrusion.x")
    assert error.message == "'b.intrusion' has no members"
    assert error.column == 12


def test_namespace_as_value_rejected() -> None:
    error = compile_error("b > 0.5")
    assert error.message == (
        "'b' is a namespace; use one of its members: "
        "b.no_intrusion, b.intrusion, b.terminal"
    )


def test_function_without_call_rejected() -> None:
    assert "'abs' is a function; call it" in compile_error("abs > 1").message


def test_constant_call_rejected() -> None:
    assert "'intrusion' is a constant (1), not a function" in (
        compile_error("intrusion(1)").message
    )


def test_python_spellings_rejected() -> None:
    assert compile_error("True").message == "unknown name 'True'; write 'true'"
    assert compile_error("o == None").message == "unknown name 'None'; write 'null'"
    assert "'is' is not an operator" in compile_error("state is null").message


def test_empty_expression_rejected() -> None:
    assert compile_error("").message == "expression is empty"
    assert compile_error("   ").message == "expression is empty"


def test_unbalanced_parentheses_rejected() -> None:
    assert "missing ')' for the '(' at column 1" in compile_error("(t > 1").message
    assert compile_error("t > 1)").message == "unexpected ')'"


def test_missing_operand_rejected() -> None:
    error = compile_error("t >")
    assert error.message == "expected a value after '>'"
    assert error.column == 4


def test_adjacent_values_rejected() -> None:
    error = compile_error("t 5")
    assert error.message == "unexpected '5'"
    assert error.column == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("t = 1", "'=' is not an operator; use '==' to compare"),
        ("t ** 2", "'**' is not supported"),
        ("t // 2", "'//' is not supported"),
        ("t > 1 & t < 2", "use 'and'"),
        ("t > 1 | t < 2", "use 'or'"),
        ("t > 1; t", "unexpected character ';'"),
        ("t > ٣", "unexpected character '٣'"),
    ],
)
def test_foreign_operators_rejected(text: str, expected: str) -> None:
    assert expected in compile_error(text).message


def test_error_shows_caret_under_column() -> None:
    error = compile_error("t > x")
    assert str(error).splitlines()[1:] == ["  t > x", "      ^"]


def test_error_excerpt_of_long_text() -> None:
    text = "t + " * 30 + "x"
    lines = str(compile_error(text)).splitlines()
    assert lines[1].startswith("  ...")
    assert lines[1].endswith("x")
    assert lines[2].index("^") == len(lines[1]) - 1


# Safety


@pytest.mark.parametrize(
    "text",
    [
        "__import__",
        "__import__('os').system('ls')",
        "b.__class__",
        "t.__class__.__bases__",
        "__builtins__",
    ],
)
def test_dunder_names_rejected(text: str) -> None:
    assert "names that start with '__' are not allowed" in compile_error(text).message


@pytest.mark.parametrize(
    "text",
    ["open(t)", "eval(t)", "exec(t)", "getattr(b, t)", "compile(t)", "globals()"],
)
def test_other_calls_rejected(text: str) -> None:
    error = compile_error(text)
    assert "unknown function" in error.message
    assert "the functions are: abs, clamp, exp, log, max, min, round, sqrt" in (
        error.message
    )


def test_subscripts_rejected() -> None:
    assert "subscripts are not supported" in compile_error("b[1]").message
    assert "subscripts are not supported" in compile_error("(t)[0]").message


def test_strings_rejected() -> None:
    message = "string literals are not supported"
    assert message in compile_error("'os'").message
    assert message in compile_error('"__import__(\\"os\\")"').message


def test_lambda_rejected() -> None:
    assert "no slices, lambdas or dicts" in compile_error("lambda: 1").message
    assert "no slices, lambdas or dicts" in compile_error("lambda x: x").message


def test_import_rejected() -> None:
    error = compile_error("import os")
    assert error.message.startswith("'import' is a Python keyword")
    assert error.column == 1


def test_conditional_expression_rejected() -> None:
    error = compile_error("t if o else 1")
    assert error.message.startswith("'if' is a Python keyword")
    assert error.column == 3


def test_keyword_named_action_allowed() -> None:
    assert evaluate("action == continue", action=0) is True
    assert compile_error("action == continue t").message == "unexpected 't'"


def test_long_input_rejected() -> None:
    compile_expression("t" + " " * (MAX_EXPRESSION_LENGTH - 1), SYMBOLS)
    error = compile_error("t" + " " * MAX_EXPRESSION_LENGTH)
    assert error.message == "expression is 1001 characters long; the maximum is 1000"


@pytest.mark.parametrize(
    "text",
    [
        "(" * 200 + "1" + ")" * 200,
        "-" * 500 + "1",
        "not " * 200 + "true",
        "1" + " + 1" * 200,
        "abs(" * 150 + "1" + ")" * 150,
    ],
)
def test_deep_nesting_rejected(text: str) -> None:
    error = compile_error(text)
    assert error.message == f"expression is nested too deeply (maximum {MAX_NESTING})"


def test_nesting_below_limit_accepted() -> None:
    depth = MAX_NESTING - 1
    assert evaluate("(" * depth + "t" + ")" * depth, t=4) == 4


def test_long_flat_chains_accepted() -> None:
    assert evaluate("t > 0 and " * 99 + "true", t=1) is True
    assert evaluate("t < " * 200 + "t", t=1) is False


@pytest.fixture
def no_python_eval(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the expression language must not call eval or compile")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    monkeypatch.setattr(ast, "parse", forbidden)
    yield


@pytest.mark.usefixtures("no_python_eval")
def test_no_python_eval() -> None:
    condition = compile_expression("round(pi.stop, 1) > 0.8 or sqrt(t) == 2", SYMBOLS)
    assert condition.evaluate(step_env(t=4)) is True
    assert math.isclose(evaluate("exp(1) - 1 / 3"), math.e - 1 / 3)


# Symbol tables


def test_symbol_table_rejects_clash() -> None:
    with pytest.raises(ValueError, match="'t' is declared both as a constant"):
        SymbolTable(scalars=["t"], constants={"t": 0})


@pytest.mark.parametrize("name", ["no-intrusion", "2nd", "", "__dict__", "not"])
def test_symbol_table_rejects_bad_names(name: str) -> None:
    with pytest.raises(ValueError, match=repr(name)):
        SymbolTable(constants={name: 0})


def test_symbol_table_rejects_repeated_member() -> None:
    with pytest.raises(ValueError, match="repeats a member"):
        SymbolTable(namespaces={"b": ["a", "a"]})


def test_symbol_table_accepts_numpy_constants() -> None:
    symbols = SymbolTable(scalars=["state"], constants={"intrusion": np.int64(1)})
    assert compile_expression("state == intrusion", symbols).evaluate({"state": 1})


def test_symbol_table_rejects_non_numeric_constant() -> None:
    with pytest.raises(ValueError, match="must be a number"):
        SymbolTable(constants={"flag": True})
