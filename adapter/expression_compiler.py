"""Compiler from syntax trees to Python closures.

Each node becomes a closure `env -> value` (see adapter.expression_closures), so
evaluating a condition at every simulated step costs a few nested calls and no tree
walk. The compiler resolves names against the symbol table, checks the arguments of
function calls, and folds subexpressions without variables into constants.
"""

from __future__ import annotations

import difflib
import keyword
import operator
from dataclasses import dataclass
from typing import NoReturn

from adapter import expression_closures as closures
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
)
from adapter.expression_closures import Evaluator
from adapter.expression_errors import EvaluationError, ExpressionError
from adapter.expression_functions import FUNCTIONS, Function
from adapter.expression_lexer import KEYWORDS
from adapter.expression_symbols import SymbolTable

_MAX_LISTED_NAMES = 40
_PYTHON_SPELLINGS = {"True": "true", "False": "false", "None": "null"}


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A compiled subexpression; `constant` marks one whose `value` is known."""

    evaluate: Evaluator
    constant: bool = False
    value: object = None


def compile_tree(
    text: str, root: Node, symbols: SymbolTable
) -> tuple[Evaluator, frozenset[str]]:
    """Compile the tree of `text` and return its evaluator and the variables it reads.

    Raises:
        ExpressionError: a name, member or function is unknown, a call has the wrong
            number of arguments, null is ordered, or a constant part fails (1 / 0).
    """
    compiler = _Compiler(text, symbols)
    compiled = compiler.compile(root)
    return compiled.evaluate, frozenset(compiler.names)


def _constant(value: object) -> _Compiled:
    return _Compiled(closures.constant(value), constant=True, value=value)


class _Compiler:
    def __init__(self, text: str, symbols: SymbolTable) -> None:
        self.text = text
        self.symbols = symbols
        self.names: set[str] = set()

    def compile(self, node: Node) -> _Compiled:
        if isinstance(node, (Number, Boolean)):
            return _constant(node.value)
        if isinstance(node, Null):
            return _constant(None)
        if isinstance(node, Name):
            return self.name(node)
        if isinstance(node, Member):
            return self.member(node)

        if isinstance(node, Unary):
            operands = [self.compile(node.operand)]
            evaluate = closures.unary(node.operator, operands[0].evaluate)
        elif isinstance(node, Binary):
            operands = [self.compile(node.left), self.compile(node.right)]
            evaluate = self.binary(node, operands[0], operands[1])
        elif isinstance(node, Logical):
            operands = [self.compile(operand) for operand in node.operands]
            evaluate = closures.logical(node.operator, [o.evaluate for o in operands])
        elif isinstance(node, Compare):
            operands, evaluate = self.compare(node)
        elif isinstance(node, Call):
            function = self.resolve_function(node)
            operands = [self.compile(argument) for argument in node.arguments]
            parts = [operand.evaluate for operand in operands]
            evaluate = closures.call(function.implementation, parts, self.span(node))
        else:
            raise TypeError(f"unknown syntax node {type(node).__name__}")
        return self.fold(node, evaluate, operands)

    def fold(
        self, node: Node, evaluate: Evaluator, operands: list[_Compiled]
    ) -> _Compiled:
        """Evaluate `node` now when all of its operands are constants."""
        if not all(operand.constant for operand in operands):
            return _Compiled(evaluate)
        try:
            return _constant(evaluate({}))
        except EvaluationError as error:
            self.fail(str(error), node)
        except closures.FUNCTION_ERRORS as error:
            self.fail(f"cannot evaluate '{self.span(node)}': {error}", node)

    # Names

    def name(self, node: Name) -> _Compiled:
        symbol = self.symbols.lookup(node.name)
        if symbol is None:
            self.fail(self.unknown_name_message(node.name), node)
        if symbol.is_constant:
            return _constant(symbol.constant)
        if not symbol.scalar:
            members = ", ".join(f"{node.name}.{m}" for m in symbol.members or ())
            self.fail(
                f"'{node.name}' is a namespace; use one of its members: {members}", node
            )
        self.names.add(node.name)
        return _Compiled(operator.itemgetter(node.name))

    def member(self, node: Member) -> _Compiled:
        symbol = self.symbols.lookup(node.namespace)
        if symbol is None:
            self.fail(self.unknown_name_message(node.namespace), node)
        if symbol.members is None:
            self.fail(
                f"'{node.namespace}' is a {symbol.describe()} and has no members", node
            )
        if node.member not in symbol.members:
            listed = ", ".join(symbol.members)
            hint = _did_you_mean(node.member, symbol.members)
            raise ExpressionError(
                f"unknown member '{node.namespace}.{node.member}'{hint}; "
                f"members of {node.namespace}: {listed}",
                self.text,
                node.member_start + 1,
            )

        self.names.add(node.namespace)
        index = symbol.members.index(node.member)
        return _Compiled(closures.member(symbol.members_key, index))

    def unknown_name_message(self, name: str) -> str:
        reason = self.symbols.unavailable_reason(name)
        if reason is not None:
            return f"'{name}' is not available in this session: {reason}"
        if name in _PYTHON_SPELLINGS:
            return f"unknown name '{name}'; write '{_PYTHON_SPELLINGS[name]}'"
        if name in FUNCTIONS:
            return f"'{name}' is a function; call it, e.g. {FUNCTIONS[name].signature}"
        known = self.symbols.names
        hint = _did_you_mean(name, (*known, *sorted(KEYWORDS)))
        if keyword.iskeyword(name):
            hint = f" ('{name}' is a Python keyword){hint}"
        listed = ", ".join(known[:_MAX_LISTED_NAMES])
        if len(known) > _MAX_LISTED_NAMES:
            listed += f" and {len(known) - _MAX_LISTED_NAMES} more"
        return f"unknown name '{name}'{hint}; known names: {listed or '(none)'}"

    # Operators

    def binary(self, node: Binary, left: _Compiled, right: _Compiled) -> Evaluator:
        zero_message = f"division by zero in '{self.span(node)}'"
        if not isinstance(node.right, Number):
            zero_message += f": '{self.span(node.right)}' is 0"
        divides = node.operator in ("/", "%")
        if divides and right.constant and right.value is not None and right.value == 0:
            self.fail(zero_message, node.right)
        return closures.arithmetic(
            node.operator, left.evaluate, right.evaluate, zero_message
        )

    def compare(self, node: Compare) -> tuple[list[_Compiled], Evaluator]:
        nulls = [operand for operand in node.operands if isinstance(operand, Null)]
        if nulls:
            if len(node.operands) != 2 or node.operators[0] not in ("==", "!="):
                self.fail(
                    "null can only be compared with '==' or '!=' in a single "
                    "comparison, such as 'o == null'",
                    nulls[0],
                )
            left, right = node.operands
            other = self.compile(right if left is nulls[0] else left)
            equal = node.operators[0] == "=="
            return [other], closures.null_test(other.evaluate, equal)

        operands = [self.compile(operand) for operand in node.operands]
        if len(operands) == 2 and operands[1].constant:
            first, bound = operands[0].evaluate, operands[1].value
            evaluate = closures.compare_with_constant(node.operators[0], first, bound)
        else:
            parts = [operand.evaluate for operand in operands]
            evaluate = closures.compare_chain(node.operators, parts)
        return operands, evaluate

    def resolve_function(self, node: Call) -> Function:
        function = FUNCTIONS.get(node.function)
        if function is None:
            listed = ", ".join(sorted(FUNCTIONS))
            symbol = self.symbols.lookup(node.function)
            if symbol is not None:
                reason = f"'{node.function}' is a {symbol.describe()}, not a function"
            else:
                hint = _did_you_mean(node.function, tuple(FUNCTIONS))
                reason = f"unknown function '{node.function}'{hint}"
            self.fail(f"{reason}; the functions are: {listed}", node)

        count = len(node.arguments)
        low, high = function.min_arguments, function.max_arguments
        if count < low or (high is not None and count > high):
            self.fail(
                f"{node.function}() takes {function.arity_text()} "
                f"({count} given): {function.signature}",
                node,
            )
        return function

    # Helpers

    def span(self, node: Node) -> str:
        return self.text[node.start : node.end]

    def fail(self, message: str, node: Node) -> NoReturn:
        raise ExpressionError(message, self.text, node.column)


def _did_you_mean(word: str, candidates: tuple[str, ...]) -> str:
    matches = difflib.get_close_matches(word, candidates, n=3, cutoff=0.6)
    if not matches:
        return ""
    quoted = " or ".join(f"'{match}'" for match in matches)
    return f" (did you mean {quoted}?)"
