"""Logpoint messages: text with `{expression}` placeholders, rendered at each hit.

    t={t} P(stop)={pi.stop:.3f} belief={b.intrusion:.2%}

A placeholder contains an expression of the breakpoint language and, after a colon, an
optional Python format specification ("[[fill]align][sign][z][#][0][width]
[grouping][.precision][type]", with width and precision of at most 3 digits).
`{{` and `}}` stand for literal braces. Every placeholder is compiled when the
logpoint is set, so a bad expression is reported then. Failures at render time
(division by zero, a format type that does not fit the value) are written into the
message as `<error: ...>` and do not raise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from adapter.expression_errors import EvaluationError, ExpressionError
from adapter.expressions import Expression, SymbolTable, compile_expression

MAX_LOG_MESSAGE_LENGTH = 4000

_FORMAT_SPEC = re.compile(
    r"(?:[^{}]?[<>=^])?[+\- ]?z?#?0?\d{0,3}[_,]?(?:\.\d{1,3})?[bcdeEfFgGnosxX%]?\Z",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One `{expression:format_spec}` of a log message; `start` is its offset."""

    expression: Expression
    format_spec: str
    start: int

    def render(self, env: Mapping[str, object]) -> str:
        """Return the formatted value, or `<error: ...>` when it cannot be made."""
        try:
            value = self.expression.evaluate(env)
        except EvaluationError as error:
            return f"<error: {error}>"
        try:
            return format_value(value, self.format_spec)
        except (TypeError, ValueError) as error:
            return f"<error: cannot format {value} with '{self.format_spec}': {error}>"


class LogMessage:
    """A compiled log message: literal text and placeholders in order."""

    __slots__ = ("text", "parts", "names")

    def __init__(self, text: str, parts: tuple[str | Placeholder, ...]) -> None:
        self.text = text
        self.parts = parts
        self.names = frozenset(
            name
            for part in parts
            if isinstance(part, Placeholder)
            for name in part.expression.names
        )

    def render(self, env: Mapping[str, object]) -> str:
        """Return the message with each placeholder replaced by its value."""
        return "".join(
            part if isinstance(part, str) else part.render(env) for part in self.parts
        )

    def __repr__(self) -> str:
        return f"LogMessage({self.text!r})"


def format_value(value: object, format_spec: str = "") -> str:
    """Format a value with null, true and false spelled as in the language."""
    if value is None:
        return "null"
    if isinstance(value, bool) and not format_spec:
        return "true" if value else "false"
    return format(value, format_spec)


def compile_log_message(text: str, symbols: SymbolTable) -> LogMessage:
    """Split `text` into literal text and compiled placeholders.

    Raises:
        ExpressionError: a brace is unbalanced, a placeholder is empty, its
            expression is invalid, or its format specification is invalid. The
            column counts from the start of the whole message.
    """
    if len(text) > MAX_LOG_MESSAGE_LENGTH:
        raise ExpressionError(
            f"log message is {len(text)} characters long; the maximum is "
            f"{MAX_LOG_MESSAGE_LENGTH}",
            text,
            MAX_LOG_MESSAGE_LENGTH + 1,
        )

    parts: list[str | Placeholder] = []
    literal: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char in "{}" and text.startswith(char * 2, position):
            literal.append(char)
            position += 2
        elif char == "}":
            raise ExpressionError(
                "single '}' in log message; write '}}' for a literal brace",
                text,
                position + 1,
            )
        elif char == "{":
            end = _closing_brace(text, position)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_placeholder(text, position, end, symbols))
            position = end + 1
        else:
            literal.append(char)
            position += 1

    if literal:
        parts.append("".join(literal))
    return LogMessage(text, tuple(parts))


def _closing_brace(text: str, opening: int) -> int:
    for position in range(opening + 1, len(text)):
        if text[position] == "}":
            return position
        if text[position] == "{":
            raise ExpressionError(
                f"'{{' inside the placeholder that starts at column {opening + 1}; "
                "write '{{' outside placeholders for a literal brace",
                text,
                position + 1,
            )
    raise ExpressionError(
        f"missing '}}' for the '{{' at column {opening + 1}; "
        "write '{{' for a literal brace",
        text,
        len(text) + 1,
    )


def _placeholder(
    text: str, opening: int, closing: int, symbols: SymbolTable
) -> Placeholder:
    body = text[opening + 1 : closing]
    expression_text, colon, format_spec = body.partition(":")
    if not expression_text.strip():
        raise ExpressionError(
            "empty placeholder; write an expression inside the braces, such as {t}",
            text,
            opening + 1,
        )

    try:
        expression = compile_expression(expression_text, symbols)
    except ExpressionError as error:
        raise ExpressionError(error.message, text, opening + 1 + error.column) from None

    if colon:
        _check_format_spec(format_spec, text, opening + 3 + len(expression_text))
    return Placeholder(expression, format_spec, opening)


def _check_format_spec(format_spec: str, text: str, column: int) -> None:
    valid = _FORMAT_SPEC.match(format_spec) is not None
    if valid:
        valid = False
        for sample in (0.5, 1):
            try:
                format(sample, format_spec)
            except ValueError:
                continue
            valid = True
    if not valid:
        raise ExpressionError(
            f"invalid format specification '{format_spec}'; write a Python format "
            "such as .3f, .1%, 6.2e or d (width and precision up to 3 digits)",
            text,
            column,
        )
