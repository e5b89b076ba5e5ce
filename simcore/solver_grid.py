"""Value iteration on a grid over the belief line of a model with two non-terminal states.

With non-terminal states N = (n0, n1), a belief is (1 - p, p) on N times the mass not
yet terminal, and every value function is that mass times a function of p alone. The
intrusion-prevention model is such a model: p = b(intrusion) / (b(no_intrusion) +
b(intrusion)), which is b(intrusion) while b(terminal) = 0. Per stage the solver keeps

- a lower bound: the upper envelope of alpha vectors, each the value of a conditional
  plan, grown by point-based backups at the grid points (monotone in every iteration);
- an upper bound: the linear interpolation of values at the grid points (Lovejoy), as
  V* is convex in p, started from the fast informed bound and decreasing.

Both are valid after any number of iterations; iterating shrinks them towards each other.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from simcore.solver_model import (
    SolverError,
    SolverModel,
    blind_vectors,
    informed_upper_bound,
)

# Largest estimated memory of the solver's tables (`grid_bytes`), checked before
# anything is allocated.
MAX_GRID_BYTES = 2 * 2**30


def upper_envelope(vectors: np.ndarray) -> np.ndarray:
    """Return the alpha vectors (m, 2) that are maximal somewhere on p in [0, 1],
    sorted by slope c1 - c0; the others are dominated and dropped."""
    intercepts_array = vectors[:, 0]
    slopes_array = vectors[:, 1] - vectors[:, 0]
    order = np.lexsort((-intercepts_array, slopes_array)).tolist()
    # Python floats: indexing them is several times faster than numpy scalars.
    intercepts, slopes = intercepts_array.tolist(), slopes_array.tolist()
    hull: list[int] = []
    for j in order:
        if hull and slopes[hull[-1]] == slopes[j]:
            continue  # same slope, lower intercept
        while len(hull) >= 2:
            first, second = hull[-2], hull[-1]
            # `second` is useless when `j` overtakes `first` no later than it does.
            left = (intercepts[first] - intercepts[j]) * (slopes[second] - slopes[first])
            right = (intercepts[first] - intercepts[second]) * (slopes[j] - slopes[first])
            if left <= right:
                hull.pop()
            else:
                break
        hull.append(j)
    lines = vectors[hull]
    breaks = crossings(lines)
    # Keep the lines whose interval of dominance meets (0, 1).
    lower = np.concatenate(([-np.inf], breaks))
    upper = np.concatenate((breaks, [np.inf]))
    keep = (lower < 1.0) & (upper > 0.0)
    return lines[keep]


def crossings(lines: np.ndarray) -> np.ndarray:
    """Return the p where consecutive lines of an envelope cross."""
    intercepts, slopes = lines[:, 0], lines[:, 1] - lines[:, 0]
    return (intercepts[:-1] - intercepts[1:]) / (slopes[1:] - slopes[:-1])


def envelope_index(lines: np.ndarray, breaks: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Return the index of the maximising line of an envelope at each p."""
    return np.searchsorted(breaks, p)


def grid_bytes(model: SolverModel, points: int) -> int:
    """Return an estimate of the peak memory of GridSolver(model, points) in bytes.

    Per point and (stage, action), the solver keeps the mass and next p of every
    observation (16 bytes) and an interpolation matrix with two entries per
    observation (24 bytes). Building one matrix briefly takes another (72 + 8 n)
    bytes per point and observation. On the intrusion-prevention samples the estimate
    is about 5% above the peak that tracemalloc measured (numpy 2, scipy 1).
    """
    per_point = model.stages * model.actions * model.num_obs * 40
    per_point += model.num_obs * (72 + 8 * len(model.states))
    return points * per_point


class GridSolver:
    """Lower and upper bounds of V* on a uniform grid of `points` values of p."""

    def __init__(self, model: SolverModel, points: int):
        if len(model.states) != 2:
            raise ValueError("the grid solver needs exactly two non-terminal states")
        needed = grid_bytes(model, points)
        if needed > MAX_GRID_BYTES:
            largest = MAX_GRID_BYTES // grid_bytes(model, 1)
            raise SolverError(
                f"grid {points} needs an estimated {needed / 2**30:.1f} GiB for the "
                f"grid solver's tables (limit {MAX_GRID_BYTES / 2**30:g} GiB); use a "
                f"grid of at most {largest} points for this model"
            )
        self.model = model
        self.p = np.linspace(0.0, 1.0, points)
        self.beliefs = np.stack((1.0 - self.p, self.p), axis=1)
        K, A = model.stages, model.actions
        self.vectors = [upper_envelope(rows) for rows in blind_vectors(model)]
        informed = informed_upper_bound(model)
        self.upper = np.einsum("kan,in->kai", informed, self.beliefs).max(axis=1)
        self.rewards = np.einsum("kan,in->kai", model.reward, self.beliefs)
        self.successors = [
            [self._successors(k, a) for a in range(A)] for k in range(K)
        ]
        self.interpolation = [
            [self._interpolation(*self.successors[k][a]) for a in range(A)]
            for k in range(K)
        ]

    def _successors(self, k: int, a: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the mass w (G, O) and next p (G, O) after action a and each o."""
        predicted = self.beliefs @ self.model.transition[k, a]
        joint = predicted[:, None, :] * self.model.observation.T[None, :, :]
        mass = joint.sum(axis=-1)
        next_p = np.divide(joint[..., 1], mass, out=np.zeros_like(mass), where=mass > 0)
        return mass, np.clip(next_p, 0.0, 1.0)

    def _interpolation(self, mass: np.ndarray, next_p: np.ndarray) -> sparse.csr_matrix:
        """Return M (G, G) with (M u)_i = sum_o w_io * interp(u)(p'_io)."""
        G = len(self.p)
        position = next_p * (G - 1)
        left = np.minimum(np.floor(position).astype(int), G - 2)
        weight = position - left
        rows = np.repeat(np.arange(G), mass.shape[1])
        data = np.concatenate(((mass * (1 - weight)).ravel(), (mass * weight).ravel()))
        columns = np.concatenate((left.ravel(), left.ravel() + 1))
        return sparse.csr_matrix(
            (data, (np.concatenate((rows, rows)), columns)), shape=(G, G)
        )

    def lower_values(self, k: int, p: np.ndarray) -> np.ndarray:
        """Return the lower bound L_k at each p."""
        lines = self.vectors[k]
        index = envelope_index(lines, crossings(lines), p)
        return lines[index, 0] * (1 - p) + lines[index, 1] * p

    def upper_values(self, k: int, p: np.ndarray) -> np.ndarray:
        """Return the upper bound U_k at each p (linear interpolation)."""
        return np.interp(p, self.p, self.upper[k])

    def iterate(self) -> tuple[float, float]:
        """Run one backup of both bounds on every stage; return (lower gain, upper
        drop), the largest change at any grid point."""
        gain = drop = 0.0
        for k in range(self.model.stages):
            gain = max(gain, self._backup_lower(k))
            drop = max(drop, self._backup_upper(k))
        return gain, drop

    def _backup_lower(self, k: int) -> float:
        model = self.model
        values, candidates = [], []
        for a in range(model.actions):
            following = self.vectors[model.next_stage[k, a]]
            mass, next_p = self.successors[k][a]
            chosen = following[envelope_index(following, crossings(following), next_p)]
            # v[i, s'] = sum_o Z(o | s') alpha_io(s'); alpha_i = r + gamma T v_i.
            v = np.einsum("so,ios->is", model.observation, chosen)
            alpha = model.reward[k, a] + model.discount * v @ model.transition[k, a].T
            candidates.append(alpha)
            values.append(np.einsum("is,is->i", alpha, self.beliefs))
        values_by_action = np.stack(values)
        best = values_by_action.argmax(axis=0)
        new = np.stack(candidates)[best, np.arange(len(self.p))]
        improvement = values_by_action.max(axis=0) - self.lower_values(k, self.p)
        scale = 1e-12 * max(1.0, float(np.abs(values_by_action).max()))
        better = improvement > scale
        if not better.any():
            return 0.0
        self.vectors[k] = upper_envelope(np.vstack((self.vectors[k], new[better])))
        return float(improvement.max())

    def _backup_upper(self, k: int) -> float:
        model = self.model
        backed = np.full(len(self.p), -np.inf)
        for a in range(model.actions):
            following = self.upper[model.next_stage[k, a]]
            value = self.rewards[k, a] + model.discount * (
                self.interpolation[k][a] @ following
            )
            backed = np.maximum(backed, value)
        updated = np.minimum(backed, self.upper[k])
        drop = float((self.upper[k] - updated).max())
        self.upper[k] = updated
        return drop

    def upper_at(self, k: int, belief: np.ndarray) -> float:
        """Return min(U_k, H U)(b) for a belief b on N (any mass)."""
        mass = float(belief.sum())
        if mass <= 0.0:
            return 0.0
        p = np.array([belief[1] / mass])
        best = -np.inf
        for a in range(self.model.actions):
            predicted = belief @ self.model.transition[k, a]
            joint = predicted[None, :] * self.model.observation.T
            w = joint.sum(axis=-1)
            next_p = np.divide(joint[:, 1], w, out=np.zeros_like(w), where=w > 0)
            following = self.upper_values(self.model.next_stage[k, a], next_p)
            value = belief @ self.model.reward[k, a] + self.model.discount * w @ following
            best = max(best, float(value))
        return min(best, mass * float(self.upper_values(k, p)[0]))

    def upper_max(self) -> float:
        """Return max_b U(b) over beliefs on N with mass 1 and every stage."""
        return float(self.upper.max())

    def gap(self) -> float:
        """Return the largest U - L over stages and grid points."""
        return max(
            float((self.upper[k] - self.lower_values(k, self.p)).max())
            for k in range(self.model.stages)
        )
