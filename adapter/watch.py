"""Evaluation of Debug Console, watch and hover expressions on a step."""

from __future__ import annotations

from typing import Any

from simcore.episode import Step
from simcore.model import POMDP

from adapter.step_values import step_environment, symbol_table
from adapter.expressions import EvaluationError, Expression, ExpressionError, compile_expression
from adapter.protocol import RequestError
from adapter.reference import Reference
from adapter.variables import HIDDEN_VALUE, Formatter, observation_label

# Compiled expressions kept per session, so a watch is parsed once.
_CACHE_SIZE = 256


class Evaluator:
    """Evaluates the expression language for `evaluate` requests."""

    def __init__(
        self, model: POMDP, formatter: Formatter, reference: Reference | None = None
    ):
        self.model = model
        self.formatter = formatter
        self.reference = reference
        self.symbols = symbol_table(model, reference=reference is not None)
        self._compiled: dict[str, Expression] = {}
        self._probabilities = (
            {f"b.{name}" for name in model.states}
            | {f"pi.{name}" for name in model.actions}
            | {f"ref.{name}" for name in model.actions}
        )
        self._names: dict[str, tuple[str, ...]] = {
            "state": model.states,
            "action": model.actions,
            "attacker_action": model.attacker_actions,
            "ref": model.actions,
        }
        for component in model.observation_components:
            if component.labels is not None:
                self._names[f"o.{component.name}"] = component.labels

    def evaluate(self, text: str, step: Step, context: str) -> dict[str, Any]:
        """Return the body of an evaluate response for `text` at `step`."""
        text = text.strip()
        if context == "hover":
            hover = self._hover(text, step)
            if hover is not None:
                return hover
        try:
            expression = self._compile(text)
            value = expression.evaluate(
                step_environment(self.model, step, self.reference)
            )
        except ExpressionError as error:
            raise RequestError(f"invalid expression: {error}") from None
        except EvaluationError as error:
            raise RequestError(str(error)) from None
        return {"result": self._format(text, value), "variablesReference": 0,
                "type": type(value).__name__ if value is not None else "none"}  # fmt: skip

    def _compile(self, text: str) -> Expression:
        expression = self._compiled.get(text)
        if expression is None:
            expression = compile_expression(text, self.symbols)
            if len(self._compiled) >= _CACHE_SIZE:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[text] = expression
        return expression

    def _hover(self, text: str, step: Step) -> dict[str, Any] | None:
        """Show the belief of a hovered state name and the probability of an action."""
        if text in self.model.states:
            value = step.belief[self.model.states.index(text)]
            label = f"b.{text} = {self.formatter.probability(value)}"
        elif text in self.model.actions:
            value = step.action_probs[self.model.actions.index(text)]
            label = f"pi.{text} = {self.formatter.probability(value)}"
        else:
            return None
        return {"result": label, "variablesReference": 0, "type": "probability"}

    def _format(self, text: str, value: object) -> str:
        # The evaluateName of a variable shows the same text as the variable.
        name = "".join(text.split())
        if value is None:
            if name == "o":
                return observation_label(self.model, None)
            if name in ("state", "attacker_action"):
                return HIDDEN_VALUE
            if name in ("reward", "ret"):
                return self.formatter.number(None)
            return "null (unknown at this step)"
        if isinstance(value, int) and not isinstance(value, bool):
            if name == "o":
                return observation_label(self.model, value)
            names = self._names.get(name)
            if names is not None:
                return names[value]
        if isinstance(value, float) and name in self._probabilities:
            return self.formatter.probability(value)
        return self.formatter.number(value)  # type: ignore[arg-type]
