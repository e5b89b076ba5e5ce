"""The exact Bayes belief filter."""

from __future__ import annotations

import numpy as np

from simcore.model import POMDP


class ImpossibleObservation(ValueError):
    """An observation that has probability zero under the model from the current belief."""

    def __init__(self, observation: int, action: int, belief: np.ndarray):
        self.observation = observation
        self.action = action
        self.belief = belief
        super().__init__(
            f"observation {observation} has probability 0 after action {action} "
            f"from belief {np.array2string(belief, precision=6)}; the model cannot "
            "explain it (check the observation model or the recorded trace)"
        )


def predict(model: POMDP, belief: np.ndarray, action: int, stops_left: int | None) -> np.ndarray:
    """Return the predicted state distribution sum_s T(s' | s, a) b(s), attacker marginalised."""
    return belief @ model.marginal_transition[model.stage(stops_left), action]


def update(
    model: POMDP,
    belief: np.ndarray,
    action: int,
    observation: int,
    stops_left: int | None,
) -> np.ndarray:
    """Return b'(s') proportional to Z(o | s') sum_s,a2 T_l(s' | s, a, a2) pi2(a2 | s) b(s).

    `stops_left` is the number of stops before `action` was taken (the counter the
    transition used). Raises ImpossibleObservation when the normaliser is zero.
    """
    return update_at_stage(model, belief, action, observation, model.stage(stops_left))


def update_at_stage(
    model: POMDP, belief: np.ndarray, action: int, observation: int, stage: int
) -> np.ndarray:
    """Return the Bayes update of `update`, given the tensor index `model.stage(l)`."""
    # ndarray.dot and the builtin sum are several times faster than @ and
    # ndarray.sum on the few states of a typical model.
    unnormalised = belief.dot(model.marginal_transition[stage, action])
    unnormalised *= model.observation_rows[observation]
    total = sum(unnormalised.tolist())
    if not total > 0.0:
        raise ImpossibleObservation(observation, action, belief)
    unnormalised /= total
    return unnormalised


def observation_probability(
    model: POMDP, belief: np.ndarray, action: int, stops_left: int | None
) -> np.ndarray:
    """Return P(o | b, a) for every observation o."""
    return predict(model, belief, action, stops_left) @ model.observation
