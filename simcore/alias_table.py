"""Walker's alias method: draw from many discrete distributions in O(1) per draw.

Each row of n probabilities becomes n columns with a cut-off and an alias. A uniform
u in [0, 1) picks column i = floor(u n); the fraction u n - i selects i below the
cut-off and the alias otherwise. One uniform, two gathers and a comparison per draw,
whatever n is, which is what lets `simcore.vector_env` sample thousands of episodes
per numpy call. Reference: M. D. Vose, "A linear algorithm for generating random
numbers with a given distribution", IEEE Trans. Software Engineering 17(9), 1991.
"""

from __future__ import annotations

import numpy as np


def _vose(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the cut-offs and aliases of one row of probabilities (sum > 0)."""
    n = len(probs)
    scaled = (probs / probs.sum() * n).tolist()
    cutoff = [1.0] * n
    alias = list(range(n))
    small = [i for i, value in enumerate(scaled) if value < 1.0]
    large = [i for i, value in enumerate(scaled) if value >= 1.0]
    while small and large:
        low, high = small.pop(), large.pop()
        cutoff[low] = scaled[low]
        alias[low] = high
        scaled[high] += scaled[low] - 1.0
        (small if scaled[high] < 1.0 else large).append(high)
    # Columns left over keep cut-off 1 and so always draw their own outcome. With
    # exact arithmetic both lists empty together, so only rounding leaves one here.
    cutoff_array, alias_array = np.array(cutoff), np.array(alias, dtype=np.int64)
    # An outcome of probability 0 must never be drawn, rounding or not.
    impossible = probs <= 0.0
    cutoff_array[impossible] = 0.0
    redirect = impossible[alias_array]
    alias_array[redirect] = int(np.argmax(probs))
    return cutoff_array, alias_array


class AliasTable:
    """Alias tables of the rows of `probs` (..., n), indexed flat in row-major order.

    Rows are normalised by their sums, as inverse-CDF sampling against `u * total`
    does. Every row must have a positive sum.
    """

    def __init__(self, probs: np.ndarray):
        probs = np.asarray(probs, dtype=float)
        self.size = probs.shape[-1]
        rows = probs.reshape(-1, self.size)
        if np.any(~(rows.sum(axis=1) > 0.0)):
            raise ValueError("every row of an alias table needs a positive sum")
        tables = [_vose(row) for row in rows]
        cutoff = np.concatenate([cutoff for cutoff, _ in tables])
        self.alias = np.concatenate([alias for _, alias in tables])
        # Column i keeps its own outcome when u n < i + cutoff: comparing u n with
        # this bound saves computing the fraction u n - i.
        self.bound = cutoff + np.tile(np.arange(self.size), len(rows))

    def sample(
        self, rows: np.ndarray | int, uniforms: np.ndarray, out: np.ndarray
    ) -> np.ndarray:
        """Write one draw per uniform into `out` (int64) and return it.

        `rows` gives each draw's flat row index (an array shaped like `uniforms`, or
        one int for all). `out` must not share memory with `rows` or `uniforms`.
        """
        n = self.size
        scaled = uniforms * n
        np.copyto(out, scaled, casting="unsafe")  # floor, as scaled >= 0
        # u * n can round up to n for u just below 1.
        np.minimum(out, n - 1, out=out)
        flat = rows * n
        flat += out
        use_alias = scaled >= self.bound.take(flat)
        np.copyto(out, self.alias.take(flat), where=use_alias)
        return out
