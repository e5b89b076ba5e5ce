"""Action distributions of a policy for many episodes at once.

`batched_action_probs(policy)` returns a function of arrays, one row per episode:
beliefs (n, S), stops left (n,) or None without a stop counter, the time step, and
the latest observations (n,) with -1 at t = 0. It returns pi(a | h) as an (n, A)
array. A policy with a method `batch_action_probs` of that signature is called
directly. The built-in policies are computed in numpy, and in PyTorch for neural
ones. Any other policy is called once per row through `action_probs`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from simcore.model import POMDP
from simcore.policies import (
    FirstAlertPolicy,
    Policy,
    PolicyError,
    RandomPolicy,
    ThresholdPolicy,
)
from simcore.vector_threshold import stop_probabilities

BatchedProbs = Callable[[np.ndarray, "np.ndarray | None", int, np.ndarray], np.ndarray]


def stages(model: POMDP, stops_left: np.ndarray | None, n: int) -> np.ndarray:
    """Return the tensor index k of each row, as `POMDP.stage` computes it."""
    if model.stops is None or stops_left is None:
        return np.zeros(n, dtype=np.int64)
    return np.clip(stops_left, 1, model.stops) - 1


def stop_distributions(model: POMDP, p_stop: np.ndarray) -> np.ndarray:
    """Return `_stop_distribution` of `simcore.policies` for each row of `p_stop`."""
    stop = (
        model.stop_action if model.stop_action is not None else len(model.actions) - 1
    )
    other = 0 if stop != 0 else 1
    probs = np.zeros((p_stop.shape[0], len(model.actions)))
    probs[:, stop] = p_stop
    probs[:, other] = 1.0 - p_stop
    return probs


def batched_action_probs(policy: Policy, model: POMDP) -> BatchedProbs:
    """Return a function that computes pi(a | h) for many episodes at once."""
    own = getattr(policy, "batch_action_probs", None)
    if callable(own):
        return _checked(policy, model, own)
    if type(policy) is ThresholdPolicy:
        return _threshold(policy, model)
    if type(policy) is FirstAlertPolicy:
        return lambda beliefs, stops_left, t, observations: stop_distributions(
            model, (observations > 0).astype(float)
        )
    if type(policy) is RandomPolicy:
        return _random(policy, model)
    # A policy of these kinds exists only once its module has been imported.
    neural = sys.modules.get("simcore.neural")
    if neural is not None and type(policy) is neural.NeuralPolicy:
        return _neural(policy, model)
    solver = sys.modules.get("simcore.solver")
    if solver is not None and type(policy) is solver.OptimalPolicy:
        return _optimal(policy, model, solver.lookahead)
    return _checked(policy, model, _per_row(policy, model))


def _threshold(policy: ThresholdPolicy, model: POMDP) -> BatchedProbs:
    thresholds = np.asarray(policy.thresholds)

    def probs(beliefs, stops_left, t, observations):
        alpha = thresholds[stages(model, stops_left, beliefs.shape[0])]
        return stop_distributions(
            model, stop_probabilities(beliefs[:, policy.state], alpha)
        )

    return probs


def _random(policy: RandomPolicy, model: POMDP) -> BatchedProbs:
    if policy.p_stop is None:
        row = np.full(len(model.actions), 1.0 / len(model.actions))
    else:
        row = stop_distributions(model, np.array([policy.p_stop]))[0]
    return lambda beliefs, stops_left, t, observations: np.tile(
        row, (beliefs.shape[0], 1)
    )


def _neural(policy, model: POMDP) -> BatchedProbs:
    import torch

    def probs(beliefs, stops_left, t, observations):
        inputs = beliefs
        if model.stops is not None:
            inputs = np.concatenate(
                [beliefs, (stops_left / model.stops)[:, None]], axis=1
            )
        x = torch.as_tensor(inputs, dtype=torch.float32)
        with torch.no_grad():
            logits = policy.network(x)
        p = torch.softmax(logits.double(), dim=-1).numpy()
        return p / p.sum(axis=1, keepdims=True)

    return probs


def _optimal(policy, model: POMDP, lookahead) -> BatchedProbs:
    """Return the greedy actions of `simcore.solver.OptimalPolicy`, one lookahead per
    stage for all rows at that stage."""
    solved = policy.solver_model
    # The lookahead builds a (rows, observations, vectors) array. Chunks of rows keep
    # it near 2**20 elements: one block for all rows can take gigabytes.
    largest = max(rows.shape[0] for rows in policy.vectors)
    chunk = max(1, 2**20 // (model.num_observations * largest))

    def probs(beliefs, stops_left, t, observations):
        n = beliefs.shape[0]
        k = stages(model, stops_left, n)
        restricted = beliefs[:, solved.states]
        values = np.empty((n, len(model.actions)))
        for stage in np.unique(k).tolist():
            rows = np.flatnonzero(k == stage)
            for start in range(0, rows.size, chunk):
                part = rows[start : start + chunk]
                values[part] = lookahead(
                    solved, policy.vectors, stage, restricted[part]
                )
        greedy = np.zeros((n, len(model.actions)))
        greedy[np.arange(n), values.argmax(axis=1)] = 1.0
        return greedy

    return probs


def _per_row(policy: Policy, model: POMDP) -> BatchedProbs:
    def probs(beliefs, stops_left, t, observations):
        rows = []
        for j in range(beliefs.shape[0]):
            l = None if stops_left is None else int(stops_left[j])
            o = None if observations[j] < 0 else int(observations[j])
            rows.append(policy.action_probs(beliefs[j], l, t, o))
        return np.asarray(rows, dtype=float).reshape(beliefs.shape[0], -1)

    return probs


def _checked(policy: Policy, model: POMDP, probs: BatchedProbs) -> BatchedProbs:
    """Wrap `probs` with a check of the shape and values it returns."""
    actions = len(model.actions)

    def checked(beliefs, stops_left, t, observations):
        result = probs(beliefs, stops_left, t, observations)
        if result.shape != (beliefs.shape[0], actions):
            raise PolicyError(
                f"policy {policy.name!r} returned action probabilities of shape "
                f"{result.shape} for {beliefs.shape[0]} episodes and {actions} actions"
            )
        if not np.all(np.isfinite(result)) or np.any(result < 0):
            raise PolicyError(
                f"policy {policy.name!r} returned a negative or non-finite action "
                f"probability at step {t}"
            )
        return result

    return checked
