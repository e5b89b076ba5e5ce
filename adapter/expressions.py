"""Breakpoint conditions and watch expressions over the values of one step.

    symbols = SymbolTable(
        scalars=["t", "o", "state", "action", "reward", "ret", "l"],
        namespaces={"b": ["no_intrusion", "intrusion", "terminal"],
                    "pi": ["continue", "stop"]},
        constants={"no_intrusion": 0, "intrusion": 1, "terminal": 2,
                   "continue": 0, "stop": 1},
    )
    condition = compile_expression("pi.stop > 0.8 and b.intrusion < 0.5", symbols)
    condition.evaluate({"t": 3, "b": belief, "pi": action_probs, ...})

The text is parsed by our own tokenizer and Pratt parser and compiled to closures;
Python's eval, compile and ast are never used. The language is documented in
docs/expressions.md.
"""

from __future__ import annotations

import logging

from adapter.expression_closures import Environment, Evaluator
from adapter.expression_compiler import compile_tree
from adapter.expression_errors import EvaluationError, ExpressionError
from adapter.expression_lexer import MAX_EXPRESSION_LENGTH
from adapter.expression_parser import MAX_NESTING, parse
from adapter.expression_symbols import Symbol, SymbolTable

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "MAX_NESTING",
    "Environment",
    "EvaluationError",
    "Expression",
    "ExpressionError",
    "Symbol",
    "SymbolTable",
    "compile_expression",
]

logger = logging.getLogger(__name__)


class Expression:
    """A compiled expression: its source `text` and the variables (`names`) it reads.

    `names` contains the scalar and namespace names that `evaluate` reads from the
    environment. Constants are not in it, because their values are compiled in.
    """

    __slots__ = ("text", "names", "_evaluate")

    def __init__(self, text: str, names: frozenset[str], evaluate: Evaluator) -> None:
        self.text = text
        self.names = names
        self._evaluate = evaluate

    def evaluate(self, env: Environment) -> object:
        """Evaluate the expression on one step's values.

        `env` maps each scalar name to its value (None when missing) and each
        namespace name to a sequence of member values in the symbol table's member
        order (a numpy array, list or tuple), or None. Returns an int, float, bool or
        None. A condition holds when the value is truthy, and None is false.

        Raises:
            EvaluationError: division by zero, a function failed (log of 0), or `env`
                lacks a name that the expression reads.
        """
        try:
            return self._evaluate(env)
        except EvaluationError:
            raise
        except KeyError as error:
            key = str(error.args[0]) if error.args else "?"
            raise EvaluationError(
                f"no value for '{key.rstrip('.')}' in this step, which "
                f"'{self.text}' reads"
            ) from None
        except (ArithmeticError, TypeError, ValueError, IndexError) as error:
            raise EvaluationError(f"cannot evaluate '{self.text}': {error}") from error

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def compile_expression(text: str, symbols: SymbolTable) -> Expression:
    """Parse and compile `text` against `symbols`.

    Raises:
        ExpressionError: the text is not a valid expression over `symbols`. The error
            has the 1-based `column` of the fault, and `str()` shows the text with a
            caret under it.
    """
    root = parse(text)
    evaluate, names = compile_tree(text, root, symbols)
    logger.debug("compiled expression %r reading %s", text, sorted(names))
    return Expression(text, names, evaluate)
