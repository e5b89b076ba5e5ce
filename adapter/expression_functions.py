"""The functions that expressions may call.

This table is the whole whitelist: a call of any other name is a compile error. The
compiler checks the number of arguments, and it returns null without calling the
function when an argument is null. Errors of the functions themselves (log of 0,
exp overflow) become EvaluationError with the text of the call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Function:
    """A callable of the expression language; `max_arguments` None means no limit."""

    name: str
    min_arguments: int
    max_arguments: int | None
    implementation: Callable[..., object]
    signature: str

    def arity_text(self) -> str:
        """Return the accepted argument count in words, e.g. "1 or 2 arguments"."""
        low, high = self.min_arguments, self.max_arguments
        if high is None:
            return f"at least {low} arguments"
        if low == high:
            return f"{low} argument" + ("" if low == 1 else "s")
        if high == low + 1:
            return f"{low} or {high} arguments"
        return f"{low} to {high} arguments"


def _clamp(value: float, low: float, high: float) -> float:
    if low > high:
        raise ValueError(f"lower bound {low} is greater than upper bound {high}")
    return min(max(value, low), high)


def _round(value: float, digits: int | None = None) -> float:
    if digits is None:
        return round(value)
    if isinstance(digits, float) and digits.is_integer():
        digits = int(digits)
    return round(value, digits)


FUNCTIONS: dict[str, Function] = {
    function.name: function
    for function in (
        Function("abs", 1, 1, abs, "abs(x)"),
        Function("min", 2, None, min, "min(x, y, ...)"),
        Function("max", 2, None, max, "max(x, y, ...)"),
        Function("round", 1, 2, _round, "round(x[, digits])"),
        Function("log", 1, 2, math.log, "log(x[, base])"),
        Function("exp", 1, 1, math.exp, "exp(x)"),
        Function("sqrt", 1, 1, math.sqrt, "sqrt(x)"),
        Function("clamp", 3, 3, _clamp, "clamp(x, low, high)"),
    )
}
