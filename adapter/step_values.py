"""The names and values an expression can read at a step of an episode.

`symbol_table` declares a scenario's names for the expression compiler, and
`EnvironmentBuilder` reads their values from a step.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np

from adapter.expression_lexer import KEYWORDS
from adapter.expressions import SymbolTable
from simcore.episode import Step
from simcore.model import POMDP, ObservationComponent

logger = logging.getLogger(__name__)

# Step variables every expression may use; `p` only in a breakpoint on an action line.
STEP_SCALARS = ("t", "state", "o", "action", "attacker_action", "reward", "ret", "l")
# Values that compare the step with a reference policy (adapter.reference): `ref` is
# its action and `ref.<action>` its probabilities, `q.<action>` is Q(b, a).
REFERENCE_SCALARS = ("ref", "regret", "expected_regret")
REFERENCE_NAMES = frozenset(REFERENCE_SCALARS) | {"q"}
_WITHOUT_REFERENCE = (
    "it compares the step with a reference policy; set the launch attribute "
    "'reference' (pomdb debug --reference), e.g. to optimal or threshold:0.5"
)


def symbol_table(
    model: POMDP, with_p: bool = False, reference: bool = False
) -> SymbolTable:
    """Return the names an expression over a step of `model` may use.

    With `reference`, the names of REFERENCE_NAMES are declared too. Without it, an
    expression that reads one of them fails to compile with a message on how to set a
    reference.
    """
    namespaces: dict[str, list[str]] = {
        "b": list(model.states),
        "pi": list(model.actions),
    }
    components = model.observation_components
    if len(components) > 1 or components[0].name != "o":
        namespaces["o"] = [c.name for c in components]
    scalars = STEP_SCALARS + (("p",) if with_p else ())
    unavailable = {}
    if reference:
        namespaces["ref"] = list(model.actions)
        namespaces["q"] = list(model.actions)
        scalars += REFERENCE_SCALARS
    else:
        unavailable = {name: _WITHOUT_REFERENCE for name in REFERENCE_NAMES}
    reserved = (
        set(STEP_SCALARS) | {"p"} | set(namespaces) | REFERENCE_NAMES | set(KEYWORDS)
    )
    declared = [("state", model.states), ("action", model.actions)]
    if components[0].labels is not None and len(components) == 1:
        declared.append(("observation", components[0].labels))
    constants: dict[str, int] = {}
    for kind, names in declared:
        for index, name in enumerate(names):
            if name in reserved or name.startswith("__") or not name.isidentifier():
                logger.warning(
                    "%s %r is not usable as a name in expressions: it clashes with a "
                    "step variable or keyword; compare indices instead",
                    kind, name,
                )  # fmt: skip
            elif constants.setdefault(name, index) != index:
                logger.warning("%s %r clashes with a constant of the same name", kind, name)
    return SymbolTable(
        scalars=scalars,
        namespaces=namespaces,
        constants=constants,
        unavailable=unavailable,
    )


# Step fields that expressions read under another name.
_STEP_FIELDS = {
    "t": "t",
    "state": "state",
    "o": "observation",
    "action": "action",
    "attacker_action": "attacker_action",
    "reward": "reward",
    "ret": "ret",
    "l": "stops_left",
}


_FIELD_POSITIONS = {name: Step._fields.index(field) for name, field in _STEP_FIELDS.items()}


class ReferenceValues(Protocol):
    def environment(self, step: Step, env: dict[str, Any]) -> dict[str, Any]:
        """Return `env` with the values of REFERENCE_NAMES, computed when read."""
        ...


class EnvironmentBuilder:
    """Builds the values an expression reads from a step, only those in `names`.

    Without `names` it fills in every name (watches and the Debug Console). The
    continue loop builds one environment per step, so the plan is made once. The
    values of a `reference` are added only when `names` contains one of them, and
    even then they are computed only when an expression reads them.
    """

    def __init__(
        self,
        model: POMDP,
        names: frozenset[str] | None = None,
        reference: ReferenceValues | None = None,
    ):
        wanted = set(_STEP_FIELDS) | {"b", "pi", "o"} if names is None else names
        if names is not None and not names & REFERENCE_NAMES:
            reference = None
        self._reference = reference
        self._fields = [(name, _FIELD_POSITIONS[name]) for name in wanted if name in _STEP_FIELDS]
        self._belief = "b" in wanted
        self._policy = "pi" in wanted
        components = model.observation_components
        has_members = len(components) > 1 or components[0].name != "o"
        self._components = components if has_members and "o" in wanted else None

    def build(self, step: Step) -> dict[str, Any]:
        env: dict[str, Any] = {name: step[position] for name, position in self._fields}
        env["p"] = None
        if self._belief:
            env["b"] = step.belief.tolist()
        if self._policy:
            env["pi"] = step.action_probs.tolist()
        if self._components is not None:
            env["o."] = _component_values(self._components, step.observation)
        if self._reference is not None:
            return self._reference.environment(step, env)
        return env


def _component_values(
    components: tuple[ObservationComponent, ...], observation: int | None
) -> list[Any]:
    if observation is None:
        return [None] * len(components)
    # Expressions compare numbers: a component of named values gives its index.
    indices = np.unravel_index(observation, [c.size for c in components])
    return [
        c.value(int(i)) if c.labels is None else int(i)
        for c, i in zip(components, indices)
    ]


def step_environment(
    model: POMDP, step: Step, reference: ReferenceValues | None = None
) -> dict[str, Any]:
    """Return the values of every name of a step, as the expression evaluator reads them."""
    return EnvironmentBuilder(model, reference=reference).build(step)
