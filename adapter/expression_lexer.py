"""Tokenizer of the breakpoint expression language.

The tokenizer accepts numbers, names, the keyword and symbol operators, parentheses,
commas and dots. Anything else (strings, brackets, assignment, Python operators that
the language lacks) is rejected here with a message that names the character and
suggests what to write instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from adapter.expression_errors import ExpressionError

MAX_EXPRESSION_LENGTH = 1000

# JavaScript spellings of the logical operators, mapped to the keyword the parser uses.
OPERATOR_ALIASES: dict[str, str] = {"&&": "and", "||": "or", "!": "not"}
LITERAL_KEYWORDS = frozenset({"true", "false", "null"})
KEYWORDS = frozenset({"and", "or", "not"}) | LITERAL_KEYWORDS

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE = re.compile(r"\s+")
# Longest spellings first, so that "<=" is not read as "<" followed by "=".
_SYMBOLS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%")
_PUNCTUATION = ("(", ")", ",", ".")

# Spellings that are not part of the language, with the fix. The two-character ones
# are checked before the operators so that "**" is not read as two "*".
_REJECTED_PAIRS: tuple[tuple[str, str], ...] = (
    ("**", "'**' is not supported; multiply instead, e.g. x * x"),
    ("//", "'//' is not supported; use round(x / y) or x % y"),
)
_REJECTED: tuple[tuple[str, str], ...] = (
    ("=", "'=' is not an operator; use '==' to compare"),
    ("&", "'&' is not an operator; use 'and' (or '&&')"),
    ("|", "'|' is not an operator; use 'or' (or '||')"),
    ('"', "string literals are not supported; compare with names such as intrusion"),
    ("'", "string literals are not supported; compare with names such as intrusion"),
    ("[", "subscripts are not supported; use member access such as b.intrusion"),
    ("]", "subscripts are not supported; use member access such as b.intrusion"),
    (":", "':' is not supported: expressions have no slices, lambdas or dicts"),
)


class TokenKind(Enum):
    NUMBER = "number"
    NAME = "name"
    OPERATOR = "operator"
    PUNCTUATION = "punctuation"
    END = "end of expression"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its normalised value and its 0-based offset in the text.

    For operators `value` is the canonical spelling ("and" for "&&") and `source` is
    the text as written. Numbers carry an int or a float in `number`.
    """

    kind: TokenKind
    value: str
    offset: int
    source: str
    number: int | float = 0

    def describe(self) -> str:
        """Return the token as an error message shows it."""
        if self.kind is TokenKind.END:
            return "end of expression"
        return f"'{self.source}'"


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens that end with one END token.

    Raises:
        ExpressionError: the text is too long, contains a character or spelling that
            the language lacks, a malformed number or a name that starts with "__".
    """
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is {len(text)} characters long; "
            f"the maximum is {MAX_EXPRESSION_LENGTH}",
            text,
            MAX_EXPRESSION_LENGTH + 1,
        )

    tokens: list[Token] = []
    offset = 0
    while offset < len(text):
        space = _SPACE.match(text, offset)
        if space:
            offset = space.end()
            continue
        token = _read_token(text, offset)
        tokens.append(token)
        offset += len(token.source)
    tokens.append(Token(TokenKind.END, "", len(text), ""))
    return tokens


def _read_token(text: str, offset: int) -> Token:
    number = _NUMBER.match(text, offset)
    if number:
        return _number_token(text, offset, number.group())

    name = _NAME.match(text, offset)
    if name:
        word = name.group()
        if word.startswith("__"):
            raise ExpressionError(
                f"names that start with '__' are not allowed: '{word}'",
                text,
                offset + 1,
            )
        if word in ("and", "or", "not"):
            return Token(TokenKind.OPERATOR, word, offset, word)
        return Token(TokenKind.NAME, word, offset, word)

    for spelling, reason in _REJECTED_PAIRS:
        if text.startswith(spelling, offset):
            raise ExpressionError(reason, text, offset + 1)

    for symbol in _SYMBOLS:
        if text.startswith(symbol, offset):
            canonical = OPERATOR_ALIASES.get(symbol, symbol)
            return Token(TokenKind.OPERATOR, canonical, offset, symbol)

    for symbol in _PUNCTUATION:
        if text.startswith(symbol, offset):
            return Token(TokenKind.PUNCTUATION, symbol, offset, symbol)

    for spelling, reason in _REJECTED:
        if text.startswith(spelling, offset):
            raise ExpressionError(reason, text, offset + 1)
    raise ExpressionError(f"unexpected character {text[offset]!r}", text, offset + 1)


def _number_token(text: str, offset: int, literal: str) -> Token:
    end = offset + len(literal)
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        tail = _NAME.match(text, end)
        bad = literal + (tail.group() if tail else text[end])
        raise ExpressionError(
            f"invalid number '{bad}'; write decimal numbers such as 5, 0.8 or 1e-3",
            text,
            offset + 1,
        )
    is_float = any(char in literal for char in ".eE")
    value: int | float = float(literal) if is_float else int(literal)
    return Token(TokenKind.NUMBER, literal, offset, literal, value)
