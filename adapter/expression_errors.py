"""Errors of the breakpoint expression language.

`ExpressionError` is raised when a condition, hit condition or log message is set and
is invalid. `EvaluationError` is raised when a valid expression fails on the values of
one step, for example a division by zero.
"""

from __future__ import annotations

# Characters of the offending text shown on each side of the caret in `str()`.
_CONTEXT_CHARS = 36


class ExpressionError(ValueError):
    """Invalid expression text, with the 1-based column where the fault starts."""

    def __init__(self, message: str, text: str = "", column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.column = column

    def __str__(self) -> str:
        if not self.text:
            return self.message
        return f"{self.message}\n{caret_excerpt(self.text, self.column)}"


class EvaluationError(Exception):
    """Failure of a compiled expression on the values of one step."""


def caret_excerpt(text: str, column: int) -> str:
    """Format `text` on one line with a caret under the 1-based `column`.

    Line breaks and tabs become spaces so that the caret stays aligned. Text longer
    than the context window is cut around the column and the cuts are shown as "...".
    """
    flat = "".join(" " if char in "\t\r\n" else char for char in text)
    index = min(max(column - 1, 0), len(flat))
    start = max(index - _CONTEXT_CHARS, 0)
    end = min(index + _CONTEXT_CHARS, len(flat))
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(flat) else ""
    line = f"  {prefix}{flat[start:end]}{suffix}"
    caret = " " * (2 + len(prefix) + index - start) + "^"
    return f"{line}\n{caret}"
