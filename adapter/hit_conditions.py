"""Hit conditions of breakpoints: when to stop, given how often a breakpoint was hit.

The syntax follows VS Code's JavaScript debugger (vscode-js-debug, main branch in
2026, src/adapter/breakpoints/conditions/hitCount.ts): an optional operator and a
non-negative integer N, with blanks allowed around both.

    N, =N, ==N, ===N   stop on the Nth hit only
    >N, >=N, <N, <=N   stop while the hit count compares so with N
    %N                 stop on every Nth hit (N, 2N, 3N, ...); N must be positive

The hit count starts at 1 for the first hit. The runtime decides what counts as a
hit (the breakpoint's location matched and its condition, if any, held).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from adapter.expression_errors import ExpressionError

_HIT_CONDITION = re.compile(r"\s*(===|==|=|>=|>|<=|<|%)?\s*(\d+)\s*\Z", re.ASCII)
_MAX_LENGTH = 100
_EXAMPLES = "'5', '==5', '>5', '>=5', '<5', '<=5' or '%5'"

_TESTS: dict[str, Callable[[int, int], bool]] = {
    "==": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "%": lambda count, modulus: count % modulus == 0,
}


@dataclass(frozen=True, slots=True)
class HitCondition:
    """A parsed hit condition: `operator` is one of == > >= < <= % and `value` is N."""

    text: str
    operator: str
    value: int

    def matches(self, count: int) -> bool:
        """Return whether a breakpoint hit for the `count`-th time (from 1) stops."""
        return _TESTS[self.operator](count, self.value)


def parse_hit_condition(text: str) -> HitCondition:
    """Parse a hit condition such as "5", ">= 10" or "%3".

    Raises:
        ExpressionError: the text is not an optional operator followed by an integer,
            or it is "%0".
    """
    if len(text) > _MAX_LENGTH:
        raise ExpressionError(
            f"hit condition is {len(text)} characters long; the maximum is "
            f"{_MAX_LENGTH}",
            text,
            _MAX_LENGTH + 1,
        )

    match = _HIT_CONDITION.match(text)
    if match is None:
        raise ExpressionError(
            f"invalid hit condition {text!r}; write a hit count with an optional "
            f"operator, such as {_EXAMPLES}",
            text,
            _first_invalid_column(text),
        )

    spelling, digits = match.group(1) or "==", match.group(2)
    value = int(digits)
    canonical = "==" if spelling in ("=", "===") else spelling
    if canonical == "%" and value == 0:
        raise ExpressionError(
            "invalid hit condition '%0': the modulus must be at least 1",
            text,
            match.start(2) + 1,
        )
    return HitCondition(text, canonical, value)


def _first_invalid_column(text: str) -> int:
    """Return the 1-based column where `text` stops matching the syntax."""
    stripped = text.lstrip()
    start = len(text) - len(stripped)
    operator_match = re.match(r"===|==|=|>=|>|<=|<|%", stripped)
    position = start + (operator_match.end() if operator_match else 0)
    while position < len(text) and text[position].isspace():
        position += 1
    while position < len(text) and text[position] in "0123456789":
        position += 1
    while position < len(text) and text[position].isspace():
        position += 1
    return position + 1
