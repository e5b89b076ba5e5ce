"""Pratt parser of the breakpoint expression language.

`parse` turns text into a tree of `adapter.expression_ast` nodes. It checks syntax
only: whether a name exists and how many arguments a function takes is checked by
the compiler. The grammar in EBNF is in docs/expressions.md.
"""

from __future__ import annotations

import keyword
import logging
from typing import NoReturn

from adapter.expression_ast import (
    Binary,
    Boolean,
    Call,
    Compare,
    Logical,
    Member,
    Name,
    Node,
    Null,
    Number,
    Unary,
    deepest_node,
)
from adapter.expression_errors import ExpressionError
from adapter.expression_lexer import KEYWORDS, Token, TokenKind, tokenize

logger = logging.getLogger(__name__)

# Maximum depth of the syntax tree, which bounds both the parser's recursion and the
# evaluator's call depth far below Python's recursion limit.
MAX_NESTING = 64

COMPARISON_OPERATORS = frozenset({"==", "!=", "<", "<=", ">", ">="})

# Binding power of each infix operator: a higher power binds tighter.
_INFIX_POWER: dict[str, int] = {
    "or": 1,
    "and": 2,
    **{operator: 4 for operator in COMPARISON_OPERATORS},
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}
_NOT_POWER = 3
_SIGN_POWER = 7

# Python keywords that start statements or clauses. Other keywords, such as
# `continue` or `pass`, can be scenario names (the action `continue`).
_PYTHON_STATEMENT_KEYWORDS = frozenset(keyword.kwlist) - {
    "True",
    "False",
    "None",
    "and",
    "or",
    "not",
    "is",
    "in",
    "continue",
    "break",
    "pass",
}


def parse(text: str) -> Node:
    """Parse `text` into a syntax tree.

    Raises:
        ExpressionError: the text is empty, too long, nested deeper than MAX_NESTING
            or not a well-formed expression.
    """
    return _Parser(text, tokenize(text)).parse()


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def parse(self) -> Node:
        if self.peek().kind is TokenKind.END:
            raise ExpressionError("expression is empty", self.text, 1)

        root = self.expression(0)
        if self.peek().kind is not TokenKind.END:
            self.reject(self.peek())

        deepest, depth = deepest_node(root)
        if depth > MAX_NESTING:
            self.fail(
                f"expression is nested too deeply (maximum {MAX_NESTING})", deepest
            )
        return root

    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not TokenKind.END:
            self.index += 1
        return token

    def expression(self, min_power: int) -> Node:
        """Parse operators that bind tighter than `min_power`, left to right."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpressionError(
                f"expression is nested too deeply (maximum {MAX_NESTING})",
                self.text,
                self.peek().offset + 1,
            )

        left = self.prefix(min_power)
        while True:
            token = self.peek()
            power = _INFIX_POWER.get(token.value)
            if token.kind is not TokenKind.OPERATOR or power is None:
                break
            if power <= min_power:
                break
            if token.value in COMPARISON_OPERATORS:
                left = self.comparison(left, power)
            elif token.value in ("and", "or"):
                left = self.logical(left, token.value, power)
            else:
                self.advance()
                right = self.expression(power)
                left = Binary(left.start, right.end, token.value, left, right)

        self.depth -= 1
        return left

    def comparison(self, first: Node, power: int) -> Node:
        operators: list[str] = []
        operands = [first]
        while self.peek().value in COMPARISON_OPERATORS:
            operators.append(self.advance().value)
            operands.append(self.expression(power))
        return Compare(first.start, operands[-1].end, tuple(operators), tuple(operands))

    def logical(self, first: Node, operator: str, power: int) -> Node:
        operands = [first]
        while self.peek().kind is TokenKind.OPERATOR and self.peek().value == operator:
            self.advance()
            operands.append(self.expression(power))
        return Logical(first.start, operands[-1].end, operator, tuple(operands))

    def prefix(self, min_power: int) -> Node:
        token = self.advance()
        start = token.offset
        if token.kind is TokenKind.NUMBER:
            return Number(start, start + len(token.source), token.number)
        if token.kind is TokenKind.NAME:
            return self.name(token)
        if token.kind is TokenKind.OPERATOR and token.value in ("-", "+"):
            operand = self.expression(_SIGN_POWER)
            return Unary(start, operand.end, token.value, operand)
        if token.kind is TokenKind.OPERATOR and token.value == "not":
            # As in Python, `not` cannot be an operand of a tighter operator.
            if min_power > _NOT_POWER:
                raise ExpressionError(
                    f"'{token.source}' cannot follow an arithmetic or comparison "
                    f"operator; write it in parentheses, e.g. ({token.source} x)",
                    self.text,
                    start + 1,
                )
            operand = self.expression(_NOT_POWER)
            return Unary(start, operand.end, "not", operand)
        if token.value == "(":
            inner = self.expression(0)
            if self.peek().value != ")":
                self.expect_close(token)
            self.advance()
            return inner
        if token.kind is TokenKind.END:
            previous = self.tokens[self.index - 1] if self.index > 0 else token
            raise ExpressionError(
                f"expected a value after {previous.describe()}",
                self.text,
                token.offset + 1,
            )
        self.reject(token)

    def name(self, token: Token) -> Node:
        start, end = token.offset, token.offset + len(token.source)
        if token.value in ("true", "false"):
            return Boolean(start, end, token.value == "true")
        if token.value == "null":
            return Null(start, end)
        if self.peek().value == "(":
            return self.call(token)
        if self.peek().value != ".":
            return Name(start, end, token.value)

        self.advance()
        member = self.advance()
        if member.kind is not TokenKind.NAME or member.value in KEYWORDS:
            raise ExpressionError(
                f"expected a member name after '{token.value}.', "
                f"found {member.describe()}",
                self.text,
                member.offset + 1,
            )
        node = Member(
            start,
            member.offset + len(member.source),
            token.value,
            member.value,
            member.offset,
        )
        following = self.peek()
        if following.value == ".":
            raise ExpressionError(
                f"'{token.value}.{member.value}' has no members",
                self.text,
                following.offset + 1,
            )
        if following.value == "(":
            raise ExpressionError(
                f"'{token.value}.{member.value}' is not a function",
                self.text,
                following.offset + 1,
            )
        return node

    def call(self, function: Token) -> Node:
        opening = self.advance()
        arguments: list[Node] = []
        if self.peek().value == ")":
            closing = self.advance()
            return Call(function.offset, closing.offset + 1, function.value, ())

        while True:
            arguments.append(self.expression(0))
            separator = self.peek()
            if separator.value == ",":
                self.advance()
                continue
            if separator.value == ")":
                self.advance()
                return Call(
                    function.offset,
                    separator.offset + 1,
                    function.value,
                    tuple(arguments),
                )
            if separator.kind is TokenKind.END:
                self.expect_close(opening)
            raise ExpressionError(
                f"expected ',' or ')' in the arguments of {function.value}(), "
                f"found {separator.describe()}",
                self.text,
                separator.offset + 1,
            )

    def expect_close(self, opening: Token) -> NoReturn:
        found = self.peek()
        raise ExpressionError(
            f"missing ')' for the '(' at column {opening.offset + 1}; "
            f"found {found.describe()}",
            self.text,
            found.offset + 1,
        )

    def reject(self, token: Token) -> NoReturn:
        """Raise the error for a token that cannot appear where it is."""
        position = next(i for i, item in enumerate(self.tokens) if item is token)
        previous = self.tokens[position - 1] if position > 0 else None
        if token.value in ("is", "in"):
            reason = (
                f"'{token.value}' is not an operator; use '==' or '!=' "
                "(and '== null' to test for a missing value)"
            )
        elif _is_python_keyword(token) or _is_python_keyword(previous):
            if not _is_python_keyword(token):
                token = previous
            word = token.value
            reason = (
                f"'{word}' is a Python keyword; expressions only have the "
                "operators and, or, not, comparisons and arithmetic"
            )
        else:
            reason = f"unexpected {token.describe()}"
        raise ExpressionError(reason, self.text, token.offset + 1)

    def fail(self, message: str, node: Node) -> NoReturn:
        raise ExpressionError(message, self.text, node.column)


def _is_python_keyword(token: Token | None) -> bool:
    return (
        token is not None
        and token.kind is TokenKind.NAME
        and token.value in _PYTHON_STATEMENT_KEYWORDS
    )
