"""Parameterised model builders that scenario files call by name.

`intrusion-prevention` reproduces the defender POMDP of CSLE's `gym-csle-stopping-game`
0.10.1 (`StoppingGameUtil.transition_tensor`, `reward_tensor`, `observation_tensor`,
environment `csle-stopping-game-pomdp-defender-v1`, simulation config v002).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

IP_STATES = ("no_intrusion", "intrusion", "terminal")
IP_ACTIONS = ("continue", "stop")
IP_ATTACKER_ACTIONS = ("continue", "attack")
IP_PARAMETERS = (
    "stops", "R_SLA", "R_INT", "R_COST", "R_ST", "attacker_start_probability",
    "observation_model", "terminal_observation", "done_delay",
)  # fmt: skip


class BuilderError(ValueError):
    """An invalid builder parameter; `key` names it so the caller can point at its line."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


@dataclass
class Built:
    """The tensors and settings of a model, as a builder returns them."""

    states: tuple[str, ...]
    actions: tuple[str, ...]
    attacker_actions: tuple[str, ...]
    attacker: np.ndarray
    transition: np.ndarray
    observation: np.ndarray
    reward: np.ndarray
    initial_belief: np.ndarray
    stops: int | None
    stop_action: int | None
    terminal_states: frozenset[int]
    done_delay: bool


def _number(params: dict[str, Any], key: str, default: float) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BuilderError(f"{key} must be a number, got {value!r}", key)
    return float(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _observation_row(
    spec: Any, state: str, n: int, key: str = "observation_model"
) -> np.ndarray:
    """Return Z(. | state) over 0..n from a beta-binomial or table specification."""
    if not isinstance(spec, dict):
        raise BuilderError(f"{key} must be a mapping with 'kind'", key)
    kind = spec.get("kind", "beta-binomial")
    entry = spec.get(state)
    if entry is None:
        raise BuilderError(f"{key} has no entry for state {state!r}", key)
    if kind == "beta-binomial":
        if not isinstance(entry, dict) or not {"alpha", "beta"} <= set(entry):
            raise BuilderError(
                f"{key}.{state} must be {{alpha: A, beta: B}} for kind beta-binomial",
                key,
            )
        alpha, beta = entry["alpha"], entry["beta"]
        if not (_is_number(alpha) and _is_number(beta)):
            raise BuilderError(
                f"{key}.{state}: alpha and beta must be numbers, "
                f"got {alpha!r} and {beta!r}",
                key,
            )
        if alpha <= 0 or beta <= 0:
            raise BuilderError(f"{key}.{state}: alpha and beta must be positive", key)
        # Imported here: scipy.stats takes about a second to import, and scenarios
        # with a table observation model do not need it.
        from scipy.stats import betabinom

        return betabinom(n=n, a=alpha, b=beta).pmf(np.arange(n + 1))
    if kind == "table":
        if not isinstance(entry, list) or not all(_is_number(v) for v in entry):
            raise BuilderError(f"{key}.{state} must be a list of probabilities", key)
        row = np.asarray(entry, dtype=float)
        if row.shape != (n + 1,):
            raise BuilderError(
                f"{key}.{state} has {row.size} probabilities, expected {n + 1} "
                f"(one per observation value 0..{n})",
                key,
            )
        if np.any(row < 0) or abs(row.sum() - 1.0) > 1e-6:
            raise BuilderError(
                f"{key}.{state} must be non-negative and sum to 1 "
                f"(sums to {row.sum():.9g})",
                key,
            )
        return row / row.sum()
    raise BuilderError(
        f"{key}.kind {kind!r} is unknown; use beta-binomial or table", key
    )


def intrusion_prevention(params: dict[str, Any], observation_values: int) -> Built:
    """Build the intrusion-prevention optimal stopping POMDP.

    `observation_values` is the number of values of the declared observation: 100 for
    alert counts 0..99 when the terminal state emits the largest count, 101 when it
    emits a value of its own (`terminal_observation: separate`).
    """
    for key in params:
        if key not in IP_PARAMETERS:
            raise BuilderError(
                f"unknown parameter {key!r}; known: {', '.join(IP_PARAMETERS)}", key
            )
    stops = params.get("stops", 3)
    if isinstance(stops, bool) or not isinstance(stops, int) or stops < 1:
        raise BuilderError(f"stops must be an integer >= 1, got {stops!r}", "stops")
    r_sla = _number(params, "R_SLA", 1.0)
    r_int = _number(params, "R_INT", -5.0)
    r_cost = _number(params, "R_COST", -5.0)
    r_st = _number(params, "R_ST", 5.0)
    p_attack = _number(params, "attacker_start_probability", 0.1)
    if not 0.0 <= p_attack <= 1.0:
        raise BuilderError(
            f"attacker_start_probability {p_attack} is not in [0, 1]",
            "attacker_start_probability",
        )
    terminal_observation = params.get("terminal_observation", "max")
    if terminal_observation not in ("max", "separate"):
        raise BuilderError(
            f"terminal_observation must be 'max' or 'separate', "
            f"got {terminal_observation!r}",
            "terminal_observation",
        )
    done_delay = params.get("done_delay", terminal_observation == "max")
    if not isinstance(done_delay, bool):
        raise BuilderError("done_delay must be true or false", "done_delay")

    n = observation_values - 1 if terminal_observation == "max" else observation_values - 2
    if n < 1:
        raise BuilderError(
            f"the observation has {observation_values} values; "
            "intrusion-prevention needs at least 2 alert counts",
            "terminal_observation",
        )
    model_spec = params.get(
        "observation_model",
        {
            "kind": "beta-binomial",
            "no_intrusion": {"alpha": 0.7, "beta": 3},
            "intrusion": {"alpha": 1, "beta": 0.7},
        },
    )
    Z = np.zeros((3, observation_values))
    Z[0, : n + 1] = _observation_row(model_spec, "no_intrusion", n)
    Z[1, : n + 1] = _observation_row(model_spec, "intrusion", n)
    Z[2, -1] = 1.0

    T = np.zeros((stops, 2, 2, 3, 3))
    R = np.zeros((stops, 2, 2, 3))
    for k in range(stops):
        l = k + 1
        end = 1.0 / (2.0 * l) if l >= 2 else 0.0
        for a in (0, 1):
            if a == 1 and l == 1:
                T[k, a, :, :, 2] = 1.0
                continue
            # Attacker continues: no intrusion stays, an intrusion ends with 1/(2l).
            T[k, a, 0, 0, 0] = 1.0
            T[k, a, 0, 1, 1] = 1.0 - end
            T[k, a, 0, 1, 2] = end
            T[k, a, 0, 2, 2] = 1.0
            # Attacker acts: starts the intrusion, or quits an ongoing one.
            T[k, a, 1, 0, 1] = 1.0
            T[k, a, 1, 1, 2] = 1.0
            T[k, a, 1, 2, 2] = 1.0
        R[k, 0, 0] = (r_sla, r_sla + r_int, 0.0)
        R[k, 0, 1] = (r_sla, r_sla, 0.0)
        R[k, 1, 0] = (r_cost / l, r_st / l, 0.0)
        R[k, 1, 1] = (r_cost / l, r_sla, 0.0)

    attacker = np.array([[1 - p_attack, p_attack]] * 3)
    return Built(
        states=IP_STATES,
        actions=IP_ACTIONS,
        attacker_actions=IP_ATTACKER_ACTIONS,
        attacker=attacker,
        transition=T,
        observation=Z,
        reward=R,
        initial_belief=np.array([1.0, 0.0, 0.0]),
        stops=stops,
        stop_action=1,
        terminal_states=frozenset({2}),
        done_delay=done_delay,
    )


BUILDERS: dict[str, Callable[[dict[str, Any], int], Built]] = {
    "intrusion-prevention": intrusion_prevention,
}
