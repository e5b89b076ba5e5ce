"""Closures that evaluate each operator of the expression language.

Every factory takes the evaluators of the operands and returns an evaluator
`env -> value`. These closures carry the language's run-time rules: arithmetic with
null gives null, comparisons with null are false, `and`, `or` and `not` return
booleans and short-circuit, and division by zero raises EvaluationError.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence

from adapter.expression_errors import EvaluationError

Environment = Mapping[str, object]
Evaluator = Callable[[Environment], object]

ARITHMETIC: dict[str, Callable[[object, object], object]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}
COMPARISON: dict[str, Callable[[object, object], object]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
# Errors that a whitelisted function raises for bad arguments (log(0), exp(1000)).
FUNCTION_ERRORS = (ArithmeticError, ValueError, TypeError)


def constant(value: object) -> Evaluator:
    def evaluate(env: Environment) -> object:
        return value

    return evaluate


def member(key: str, index: int) -> Evaluator:
    """Read member `index` of the sequence `env[key]`; a null sequence gives null."""

    def evaluate(env: Environment) -> object:
        values = env[key]
        return None if values is None else values[index]

    return evaluate


def unary(operator_name: str, inner: Evaluator) -> Evaluator:
    if operator_name == "not":

        def evaluate_not(env: Environment) -> object:
            return not inner(env)

        return evaluate_not

    sign = operator.neg if operator_name == "-" else operator.pos

    def evaluate(env: Environment) -> object:
        value = inner(env)
        return None if value is None else sign(value)

    return evaluate


def arithmetic(
    operator_name: str, first: Evaluator, second: Evaluator, zero_message: str
) -> Evaluator:
    """Apply `+ - * / %`; for `/` and `%` a zero divisor raises `zero_message`."""
    apply = ARITHMETIC[operator_name]
    if operator_name not in ("/", "%"):

        def evaluate(env: Environment) -> object:
            a, b = first(env), second(env)
            if a is None or b is None:
                return None
            return apply(a, b)

        return evaluate

    # numpy floats divide by zero to inf or nan with a warning, so test explicitly.
    def evaluate_division(env: Environment) -> object:
        a, b = first(env), second(env)
        if a is None or b is None:
            return None
        if b == 0:
            raise EvaluationError(zero_message)
        return apply(a, b)

    return evaluate_division


def compare_with_constant(
    operator_name: str, first: Evaluator, bound: object
) -> Evaluator:
    """Compare with a value known at compile time, the usual shape of a condition."""
    if bound is None:
        return constant(False)
    test = COMPARISON[operator_name]

    def evaluate(env: Environment) -> object:
        value = first(env)
        return value is not None and bool(test(value, bound))

    return evaluate


def compare_chain(
    operator_names: Sequence[str], parts: Sequence[Evaluator]
) -> Evaluator:
    """Evaluate `a < b <= c` as `a < b and b <= c`, reading each operand once."""
    head = parts[0]
    steps = tuple(
        (COMPARISON[name], part)
        for name, part in zip(operator_names, parts[1:], strict=True)
    )

    def evaluate(env: Environment) -> object:
        left = head(env)
        for test, part in steps:
            right = part(env)
            if left is None or right is None or not test(left, right):
                return False
            left = right
        return True

    return evaluate


def null_test(inner: Evaluator, equal: bool) -> Evaluator:
    """Test `x == null` (when `equal`) or `x != null`."""
    if equal:

        def evaluate_is_null(env: Environment) -> object:
            return inner(env) is None

        return evaluate_is_null

    def evaluate_not_null(env: Environment) -> object:
        return inner(env) is not None

    return evaluate_not_null


def logical(operator_name: str, parts: Sequence[Evaluator]) -> Evaluator:
    """Evaluate `and` or `or` left to right, stopping once the result is known."""
    parts = tuple(parts)
    if operator_name == "and" and len(parts) == 2:
        first, second = parts

        def evaluate_pair(env: Environment) -> object:
            return bool(first(env)) and bool(second(env))

        return evaluate_pair

    if operator_name == "and":

        def evaluate_and(env: Environment) -> object:
            for part in parts:
                if not part(env):
                    return False
            return True

        return evaluate_and

    def evaluate_or(env: Environment) -> object:
        for part in parts:
            if part(env):
                return True
        return False

    return evaluate_or


def call(
    implementation: Callable[..., object], parts: Sequence[Evaluator], call_text: str
) -> Evaluator:
    """Call a whitelisted function; a null argument gives null without calling it."""

    def failure(values: tuple[object, ...], error: Exception) -> EvaluationError:
        arguments_text = ", ".join(str(value) for value in values)
        return EvaluationError(f"{call_text} failed for ({arguments_text}): {error}")

    if len(parts) == 1:
        (only,) = parts

        def evaluate_one(env: Environment) -> object:
            value = only(env)
            if value is None:
                return None
            try:
                return implementation(value)
            except FUNCTION_ERRORS as error:
                raise failure((value,), error) from error

        return evaluate_one

    parts = tuple(parts)

    def evaluate(env: Environment) -> object:
        values = tuple(part(env) for part in parts)
        if any(value is None for value in values):
            return None
        try:
            return implementation(*values)
        except FUNCTION_ERRORS as error:
            raise failure(values, error) from error

    return evaluate
