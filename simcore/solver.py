"""Optimal policies: `solve(model)` bounds V* and returns the greedy policy of the bound.

A model with two non-terminal states (the intrusion-prevention model) is solved on a
grid over its belief line (`simcore.solver_grid`); any other small model with
point-based value iteration (`simcore.solver_pbvi`). Both return alpha vectors whose
upper envelope L is a lower bound of V* made of the values of real conditional plans,
and an upper bound U. OptimalPolicy plays the action that maximises the one-step
lookahead on L; its value lies between L(b0) and V*(b0) <= U(b0).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from simcore.model import POMDP
from simcore.policies import Policy
from simcore.solver_model import (
    SolverError,
    SolverModel,
    solver_model,
    survival_after,
)

logger = logging.getLogger(__name__)

DEFAULT_GRID = 400
DEFAULT_TOLERANCE = 1e-9
DEFAULT_MAX_ITERATIONS = 5000
# Scan points per stage when the thresholds are read off the policy.
THRESHOLD_SCAN = 257

__all__ = ["OptimalPolicy", "Solution", "SolverError", "solve"]


@dataclass
class Solution:
    """Bounds on the optimal value from the initial belief, and the solved policy.

    lower <= V*(b0) <= upper for the model as simulated (the step limit included);
    value is their midpoint, so |value - V*(b0)| <= error_bound / 2.
    """

    value: float
    lower: float
    upper: float
    error_bound: float
    max_gap: float
    truncation_bound: float
    residual: float
    iterations: int
    thresholds: list[float] | None
    grid: int
    method: str
    seconds: float
    policy: OptimalPolicy = field(repr=False)


class OptimalPolicy(Policy):
    """The greedy policy of solved alpha vectors (one array (m, n) per stage)."""

    def __init__(self, model: POMDP, vectors: list[np.ndarray], name: str = "optimal"):
        self.model = model
        self.solver_model = solver_model(model)
        n = len(self.solver_model.states)
        if len(vectors) != self.solver_model.stages:
            raise ValueError(
                f"got alpha vectors for {len(vectors)} stages, "
                f"the model has {self.solver_model.stages}"
            )
        for rows in vectors:
            if rows.ndim != 2 or rows.shape[1] != n or rows.shape[0] == 0:
                raise ValueError(f"alpha vectors must have shape (m >= 1, {n})")
        self.vectors = [np.asarray(rows, dtype=float) for rows in vectors]
        self.name = name

    def action_values(self, belief: np.ndarray, stops_left: int | None) -> np.ndarray:
        """Return Q(b, a) for every action: the expected return from this step on when
        playing a now and following the solved plans afterwards (a lower bound of Q*
        that the policy attains)."""
        stage = self.model.stage(stops_left)
        restricted = self.solver_model.restrict(belief)[None, :]
        return lookahead(self.solver_model, self.vectors, stage, restricted)[0]

    def value(self, belief: np.ndarray, stops_left: int | None) -> float:
        """Return max_a Q(b, a)."""
        return float(self.action_values(belief, stops_left).max())

    def action_probs(self, belief, stops_left, t, observation):
        values = self.action_values(belief, stops_left)
        probs = np.zeros(len(values))
        probs[int(values.argmax())] = 1.0
        return probs


def load_optimal_policy(path, metadata: dict, model: POMDP) -> OptimalPolicy:
    """Return the OptimalPolicy stored in policy file `path` (kind "optimal")."""
    from simcore.solver_file import load_optimal_policy as load

    return load(path, metadata, model)


def lookahead(
    model: SolverModel, vectors: list[np.ndarray], stage: int, beliefs: np.ndarray
) -> np.ndarray:
    """Return Q (m, A) of beliefs (m, n) on the non-terminal states at `stage`:
    r(b, a) + discount * sum_o max over the next stage's vectors of alpha . b'_o,
    with b'_o unnormalised."""
    values = np.empty((beliefs.shape[0], model.actions))
    for a in range(model.actions):
        following = vectors[model.next_stage[stage, a]]
        predicted = beliefs @ model.transition[stage, a]
        joint = predicted[:, None, :] * model.observation.T[None, :, :]
        best = (joint @ following.T).max(axis=-1).sum(axis=-1)
        values[:, a] = beliefs @ model.reward[stage, a] + model.discount * best
    return values


def solve(
    model: POMDP,
    grid: int = DEFAULT_GRID,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    method: str = "auto",
    seed: int = 0,
) -> Solution:
    """Solve `model` and return the bounds, the thresholds and the OptimalPolicy.

    `grid` is the number of belief points: values of p on [0, 1] for the grid method,
    points per stage for point-based value iteration (`method` "pbvi"). Iteration
    stops when no bound moves by more than `tolerance` at any point (the Bellman
    residual), or after `max_iterations`; the bounds are valid either way.
    """
    if grid < 2:
        raise SolverError(f"grid {grid} is too small; use at least 2 points")
    started = time.perf_counter()
    restricted = solver_model(model)
    if method == "auto":
        method = "grid" if len(restricted.states) == 2 else "pbvi"
    if method == "grid":
        from simcore.solver_grid import GridSolver

        solver = GridSolver(restricted, grid)
    elif method == "pbvi":
        from simcore.solver_pbvi import PointSolver

        solver = PointSolver(restricted, grid, seed)
    else:
        raise SolverError(f"unknown solver method {method!r}; use auto, grid or pbvi")

    residual, iterations = np.inf, 0
    while iterations < max_iterations and residual > tolerance:
        gain, drop = solver.iterate()
        residual = max(gain, drop)
        iterations += 1
    if residual > tolerance:
        logger.warning(
            "solver stopped after %d iterations with residual %.3g > %.3g; "
            "the bounds hold but are wider",
            iterations, residual, tolerance,
        )  # fmt: skip

    stage = restricted.stages - 1
    b0 = restricted.initial
    policy = OptimalPolicy(model, [v.copy() for v in solver.vectors])
    lookahead_lower = float(lookahead(restricted, solver.vectors, stage, b0[None])[0].max())
    envelope_lower = float((solver.vectors[stage] @ b0).max())
    upper_max, lower_min = solver.upper_max(), lower_minimum(solver.vectors)
    factor = truncation_factor(restricted)
    lower = max(lookahead_lower, envelope_lower) - factor * max(upper_max, 0.0)
    upper = solver.upper_at(stage, b0) - factor * min(lower_min, 0.0)
    truncation = factor * max(abs(upper_max), abs(lower_min))
    thresholds = stop_thresholds(model, restricted, solver.vectors)
    return Solution(
        value=(lower + upper) / 2,
        lower=lower,
        upper=upper,
        error_bound=upper - lower,
        max_gap=solver.gap(),
        truncation_bound=truncation,
        residual=float(residual),
        iterations=iterations,
        thresholds=thresholds,
        grid=grid,
        method=method,
        seconds=time.perf_counter() - started,
        policy=policy,
    )


def truncation_factor(model: SolverModel) -> float:
    """Return c with |E[value left at the step limit N]| <= c * max |V*|: the
    discount**N times the probability of no terminal state within N steps.

    The simulated episode stops at N, so its optimal value V*_N satisfies
    V*(b0) - c max(V*, 0) <= V*_N(b0) <= V*(b0) - c min(V*, 0): follow the stationary
    optimal policy for the first bound, extend the best N-step policy optimally for
    the second.
    """
    if model.step_limit is None:
        return 0.0
    return model.discount**model.step_limit * survival_after(model, model.step_limit)


def lower_minimum(vectors: list[np.ndarray]) -> float:
    """Return a lower bound of min_b V*(b) over all beliefs and stages:
    min over stages of max over vectors of min_s alpha(s)."""
    return min(float(rows.min(axis=1).max()) for rows in vectors)


def stop_thresholds(
    model: POMDP, restricted: SolverModel, vectors: list[np.ndarray]
) -> list[float] | None:
    """Return alpha_1..alpha_L: with l stops left the policy stops iff p >= alpha_l,
    p = b(n1) / (b(n0) + b(n1)) for non-terminal states n0, n1.

    None unless the model has two non-terminal states and a stop action and every
    stage's stop set is an interval [alpha_l, 1] (1.0 when the policy never stops).
    """
    stop = model.stop_action
    if stop is None or len(restricted.states) != 2:
        return None
    p = np.linspace(0.0, 1.0, THRESHOLD_SCAN)
    thresholds = []
    for k in range(restricted.stages):

        def stops(points: np.ndarray) -> np.ndarray:
            beliefs = np.stack((1.0 - points, points), axis=1)
            q = lookahead(restricted, vectors, k, beliefs)
            return q.argmax(axis=1) == stop

        stopping = stops(p)
        if not stopping.any():
            thresholds.append(1.0)
            continue
        first = int(stopping.argmax())
        if not stopping[first:].all():
            logger.info("stage %d: the stop set is not an interval [alpha, 1]", k)
            return None
        if first == 0:
            thresholds.append(0.0)
            continue
        low, high = p[first - 1], p[first]
        for _ in range(50):
            middle = (low + high) / 2
            if stops(np.array([middle]))[0]:
                high = middle
            else:
                low = middle
        thresholds.append(float(high))
    return thresholds
