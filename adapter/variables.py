"""The scopes and variables of one step, as DAP Variable objects."""

from __future__ import annotations

from typing import Any

from adapter.reference import MAX_ROLLOUT_STEPS, Reference
from simcore.episode import Step
from simcore.model import POMDP

SCOPES = ("Belief", "Observation", "Policy", "Hidden", "Reward")
# The scope that compares the step with a reference policy, after SCOPES: "Optimal"
# when the reference is the solved optimal policy, "Reference" for any other.
OPTIMAL_SCOPE = "Optimal"
REFERENCE_SCOPE = "Reference"

# Value of the hidden state and attacker action when replaying observations.
HIDDEN_VALUE = "unknown (replayed observations)"


class Formatter:
    """Formats values so that a reader can compare them at a glance."""

    probability_digits = 6

    def probability(self, value: float) -> str:
        """Return a probability with a fixed number of decimals, e.g. 0.831200."""
        return f"{value:.{self.probability_digits}f}"

    def number(self, value: float | int | None) -> str:
        if value is None:
            return "unknown"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        return f"{value:.6g}"


def _variable(name: str, value: str, kind: str, evaluate_name: str | None) -> dict[str, Any]:
    variable: dict[str, Any] = {
        "name": name,
        "value": value,
        "type": kind,
        "variablesReference": 0,
    }
    if evaluate_name is not None:
        variable["evaluateName"] = evaluate_name
    return variable


def frame_name(model: POMDP, step: Step) -> str:
    """Return the label of a step in the call stack, e.g. 't=4 intrusion → stop'."""
    action = model.actions[step.action]
    if step.state is not None:
        return f"t={step.t} {model.states[step.state]} → {action}"
    observed = "no observation" if step.observation is None else f"o={step.observation}"
    return f"t={step.t} {observed} → {action}"


def observation_label(model: POMDP, observation: int | None) -> str:
    if observation is None:
        return "none (no observation before the first action)"
    components = model.observation_components
    if len(components) == 1:
        return str(components[0].value(observation))
    values = model.observation_values(observation)
    return "(" + ", ".join(f"{name}={value}" for name, value in values.items()) + ")"


def scope_variables(
    scope: str, model: POMDP, step: Step, previous: Step | None, formatter: Formatter
) -> list[dict[str, Any]]:
    """Return the variables of `scope` at `step` (`previous` is step t-1, if any)."""
    if scope == "Belief":
        return [
            _variable(name, formatter.probability(step.belief[i]), "probability", f"b.{name}")
            for i, name in enumerate(model.states)
        ]
    if scope == "Observation":
        return _observation_variables(model, step, formatter)
    if scope == "Policy":
        variables = [
            _variable(name, formatter.probability(step.action_probs[i]), "probability",
                      f"pi.{name}")
            for i, name in enumerate(model.actions)
        ]  # fmt: skip
        variables.append(_variable("action", model.actions[step.action], "action", "action"))
        if step.stops_left is not None:
            variables.append(_variable("stops left", str(step.stops_left), "int", "l"))
        return variables
    if scope == "Hidden":
        state = HIDDEN_VALUE if step.state is None else model.states[step.state]
        attacker = (
            HIDDEN_VALUE
            if step.attacker_action is None
            else model.attacker_actions[step.attacker_action]
        )
        return [
            _variable("state", state, "state", "state"),
            _variable("attacker action", attacker, "attacker action", "attacker_action"),
        ]
    if scope == "Reward":
        return [
            _variable("reward", formatter.number(step.reward), "float", "reward"),
            _variable("return", formatter.number(step.ret), "float", "ret"),
            _variable("t", str(step.t), "int", "t"),
        ]
    raise KeyError(f"unknown scope {scope!r}")


def _observation_variables(
    model: POMDP, step: Step, formatter: Formatter
) -> list[dict[str, Any]]:
    variables = [_variable("o", observation_label(model, step.observation), "observation", "o")]
    components = model.observation_components
    if step.observation is not None and (len(components) > 1 or components[0].name != "o"):
        for name, value in model.observation_values(step.observation).items():
            variables.append(_variable(name, str(value), "int", f"o.{name}"))
    if step.observation is not None:
        # Z(o | s): how well each state explains the observation.
        for i, name in enumerate(model.states):
            likelihood = formatter.probability(model.observation[i, step.observation])
            variables.append(_variable(f"Z(o | {name})", likelihood, "probability", None))
    return variables


def comparison_scope(reference: Reference) -> str:
    """Return the name of the scope that compares a step with `reference`."""
    return OPTIMAL_SCOPE if reference.optimal else REFERENCE_SCOPE


def optimal_variables(
    model: POMDP, step: Step, reference: Reference, formatter: Formatter
) -> list[dict[str, Any]]:
    """Return the variables of the comparison scope: the reference's action and
    probabilities, Q(b, a) for every action and the regrets, with standard errors
    when the action values are Monte Carlo estimates."""
    comparison = reference.compare(step)
    errors = comparison.standard_errors

    variables = [
        _variable("reference", reference.describe(), "policy", None),
        _variable("action", model.actions[comparison.reference_action], "action", "ref"),
    ]
    for i, name in enumerate(model.actions):
        probability = formatter.probability(comparison.reference_probs[i])
        variables.append(_variable(f"P({name})", probability, "probability", f"ref.{name}"))

    for i, name in enumerate(model.actions):
        value = formatter.number(float(comparison.values[i]))
        variables.append(_variable(f"Q(b, {name})", value, "float", f"q.{name}"))
        if errors is not None:
            error = formatter.number(float(errors[i]))
            variables.append(_variable(f"Q(b, {name}) standard error", error, "float", None))

    regrets = (
        ("regret", comparison.regret, comparison.regret_error, "regret"),
        ("expected regret", comparison.expected_regret,
         comparison.expected_regret_error, "expected_regret"),
    )  # fmt: skip
    for label, value, error, evaluate_name in regrets:
        variables.append(_variable(label, formatter.number(value), "float", evaluate_name))
        if error is not None:
            text = formatter.number(error)
            variables.append(_variable(f"{label} standard error", text, "float", None))

    if comparison.rollouts:
        text = f"{comparison.rollouts} per action"
        if comparison.truncated:
            text += f", {comparison.truncated} cut off after {MAX_ROLLOUT_STEPS} steps"
        variables.append(_variable("rollouts", text, "int", None))
    return variables
