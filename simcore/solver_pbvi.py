"""Point-based value iteration with a sawtooth upper bound, for small discrete POMDPs.

Per stage the solver keeps a fixed set of belief points on the non-terminal states:
the corners, the initial belief and beliefs reached by random play from it. The lower
bound is a set of alpha vectors, each the value of a conditional plan, that grows by
point-based backups (Pineau, Gordon and Thrun 2003) and never drops a vector that is
not dominated everywhere, so it rises monotonically. The upper bound is the sawtooth
interpolation (Hauskrecht 2000) of values at the points, capped by the fast informed
bound, and falls monotonically.
"""

from __future__ import annotations

import numpy as np

from simcore.solver_model import (
    SolverError,
    SolverModel,
    blind_vectors,
    informed_upper_bound,
)

# Largest number of sawtooth terms one iteration may evaluate
# (stages * actions * points * observations * points * states).
MAX_ITERATION_WORK = 200_000_000


class PointSolver:
    """Lower and upper bounds of V* at `points` belief points per stage."""

    def __init__(self, model: SolverModel, points: int, seed: int = 0):
        n, K, A, O = len(model.states), model.stages, model.actions, model.num_obs
        work = K * A * points * O * points * n
        if work > MAX_ITERATION_WORK:
            raise SolverError(
                f"{points} belief points make one iteration evaluate {work:,} "
                f"sawtooth terms (limit {MAX_ITERATION_WORK:,}); use a smaller --grid"
            )
        if points < n + 1:
            raise SolverError(
                f"grid {points} is too small for {n} non-terminal states; "
                f"use at least {n + 1} points (the corners and the initial belief)"
            )
        self.model = model
        self.points = sample_points(model, points, np.random.default_rng(seed))
        self.vectors = blind_vectors(model)
        self.informed = informed_upper_bound(model)
        self.corners = self.informed.max(axis=1)  # (K, n)
        self.upper = [
            (self.informed[k] @ self.points[k].T).max(axis=0) for k in range(K)
        ]

    def iterate(self) -> tuple[float, float]:
        """Run one backup of both bounds at every point; return (lower gain, upper
        drop), the largest change at any point."""
        gain = drop = 0.0
        for k in range(self.model.stages):
            gain = max(gain, self._backup_lower(k))
            drop = max(drop, self._backup_upper(k))
        return gain, drop

    def _backup_lower(self, k: int) -> float:
        model, beliefs = self.model, self.points[k]
        values, candidates = [], []
        for a in range(model.actions):
            following = self.vectors[model.next_stage[k, a]]
            joint = _joint(model, beliefs, k, a)  # (P, O, n)
            chosen = following[(joint @ following.T).argmax(axis=-1)]  # (P, O, n)
            v = np.einsum("so,pos->ps", model.observation, chosen)
            alpha = model.reward[k, a] + model.discount * v @ model.transition[k, a].T
            candidates.append(alpha)
            values.append(np.einsum("ps,ps->p", alpha, beliefs))
        by_action = np.stack(values)
        best = by_action.argmax(axis=0)
        new = np.stack(candidates)[best, np.arange(len(beliefs))]
        current = (beliefs @ self.vectors[k].T).max(axis=1)
        improvement = by_action.max(axis=0) - current
        better = improvement > 1e-12 * max(1.0, float(np.abs(by_action).max()))
        if not better.any():
            return 0.0
        self.vectors[k] = prune_dominated(np.vstack((self.vectors[k], new[better])))
        return float(improvement.max())

    def _backup_upper(self, k: int) -> float:
        model, beliefs = self.model, self.points[k]
        backed = np.full(len(beliefs), -np.inf)
        for a in range(model.actions):
            joint = _joint(model, beliefs, k, a)
            following = self.upper_values(model.next_stage[k, a], joint).sum(axis=-1)
            value = beliefs @ model.reward[k, a] + model.discount * following
            backed = np.maximum(backed, value)
        updated = np.minimum(backed, self.upper[k])
        drop = float((self.upper[k] - updated).max())
        self.upper[k] = updated
        n = len(model.states)
        self.corners[k] = np.minimum(self.corners[k], updated[:n])
        return drop

    def upper_values(self, k: int, x: np.ndarray) -> np.ndarray:
        """Return the upper bound at unnormalised beliefs x (..., n): the mass times
        the smaller of the sawtooth and the informed bound at x / mass."""
        mass = x.sum(axis=-1)
        b = np.divide(x, mass[..., None], out=np.zeros_like(x), where=mass[..., None] > 0)
        corners, points = self.corners[k], self.points[k]
        base = b @ corners
        excess = self.upper[k] - points @ corners  # (P,), <= 0 where it helps
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(points > 0, b[..., None, :] / points, np.inf)
        phi = ratios.min(axis=-1)  # (..., P)
        sawtooth = base + np.minimum((phi * excess).min(axis=-1), 0.0)
        informed = (b @ self.informed[k].T).max(axis=-1)
        return mass * np.minimum(sawtooth, informed)

    def upper_at(self, k: int, belief: np.ndarray) -> float:
        """Return min(U_k, H U)(b) for a belief b on N (any mass)."""
        model = self.model
        best = -np.inf
        for a in range(model.actions):
            joint = _joint(model, belief[None], k, a)[0]
            following = self.upper_values(model.next_stage[k, a], joint).sum()
            value = belief @ model.reward[k, a] + model.discount * following
            best = max(best, float(value))
        return min(best, float(self.upper_values(k, belief)))

    def upper_max(self) -> float:
        """Return a bound on max_b U(b): the largest corner value (U <= c . b)."""
        return float(self.corners.max())

    def gap(self) -> float:
        """Return the largest U - L over stages and points."""
        return max(
            float((self.upper[k] - (self.points[k] @ self.vectors[k].T).max(1)).max())
            for k in range(self.model.stages)
        )


def _joint(model: SolverModel, beliefs: np.ndarray, k: int, a: int) -> np.ndarray:
    """Return the unnormalised next beliefs (m, O, n) after action a and each o."""
    predicted = beliefs @ model.transition[k, a]
    return predicted[:, None, :] * model.observation.T[None, :, :]


def prune_dominated(vectors: np.ndarray) -> np.ndarray:
    """Drop vectors that another vector dominates in every state (keeps the first of
    equal ones); the upper envelope is unchanged."""
    greater_equal = (vectors[:, None, :] >= vectors[None, :, :]).all(axis=-1)
    equal = (vectors[:, None, :] == vectors[None, :, :]).all(axis=-1)
    m = len(vectors)
    earlier_equal = np.tril(equal, k=-1)
    strictly = greater_equal & ~equal
    dominated = strictly.any(axis=0) | earlier_equal.any(axis=1)
    keep = ~dominated if (~dominated).any() else np.eye(m, dtype=bool)[0]
    return vectors[keep]


def sample_points(
    model: SolverModel, points: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Return `points` beliefs per stage: corners, b0 and beliefs reached by random
    play from b0 (random Dirichlet beliefs fill stages that play does not reach)."""
    n, K = len(model.states), model.stages
    found: list[list[np.ndarray]] = [list(np.eye(n)) for _ in range(K)]
    found[K - 1].append(model.initial / model.initial.sum())
    seen = [{tuple(np.round(b, 9)) for b in found[k]} for k in range(K)]
    belief, stage = model.initial / model.initial.sum(), K - 1
    for _ in range(200 * points * K):
        if all(len(found[k]) >= points for k in range(K)):
            break
        a = int(rng.integers(model.actions))
        joint = _joint(model, belief[None], stage, a)[0]
        mass = joint.sum(axis=-1)
        if mass.sum() < 1e-9:
            belief, stage = model.initial / model.initial.sum(), K - 1
            continue
        o = int(rng.choice(len(mass), p=mass / mass.sum()))
        belief, stage = joint[o] / mass[o], int(model.next_stage[stage, a])
        key = tuple(np.round(belief, 9))
        if len(found[stage]) < points and key not in seen[stage]:
            seen[stage].add(key)
            found[stage].append(belief)
        if rng.random() < 0.05:
            belief, stage = model.initial / model.initial.sum(), K - 1
    for k in range(K):
        while len(found[k]) < points:
            found[k].append(rng.dirichlet(np.ones(n)))
    return [np.array(found[k]) for k in range(K)]
