"""Common random numbers: one uniform stream per episode and per source of randomness.

Episode i of a run seeded with `seed` has the seed sequence
`np.random.SeedSequence([seed, i])`, as in `simcore.episode.episode_seed`. It spawns
one child per source of randomness: the attacker's actions, the transitions (which
also draw the initial state), the observations and the policy's action draws. Draw t
of a stream is used at time step t. So every policy evaluated on the same streams
meets the same attacker, transitions and observations at each step, until its own
actions change the course of the episode.
"""

from __future__ import annotations

import numpy as np

ATTACKER = 0
TRANSITION = 1
OBSERVATION = 2
POLICY = 3
SOURCES = ("attacker", "transition", "observation", "policy")

# Steps drawn per episode at first; a stream grows by doubling when an episode of some
# policy runs longer.
_FIRST_BLOCK = 64


class CommonRandomNumbers:
    """Uniforms u[source, episode, t] in [0, 1), drawn lazily and shared by policies.

    Every episode's streams are drawn in order from their own generators, so the value
    at (source, episode, t) does not depend on which policy requested it first or how
    long other episodes ran.
    """

    def __init__(self, seed: int, episodes: int):
        if episodes < 1:
            raise ValueError(f"episodes must be at least 1, got {episodes}")
        self.seed = seed
        self.episodes = episodes
        # Bit generators rather than Generators: a Generator per stream would double
        # the set-up time, which dominates short evaluations.
        self._generators = [
            [np.random.PCG64(child) for child in children]
            for children in (
                np.random.SeedSequence([seed, i]).spawn(len(SOURCES))
                for i in range(episodes)
            )
        ]
        self._table = np.empty((len(SOURCES), episodes, 0))
        # Steps drawn so far per episode, the same for all of its sources.
        self._drawn = np.zeros(episodes, dtype=np.int64)
        self.ensure(np.arange(episodes), _FIRST_BLOCK)

    @property
    def steps_drawn(self) -> np.ndarray:
        """Steps drawn per episode (a copy)."""
        return self._drawn.copy()

    def ensure(self, episodes: np.ndarray, steps: int) -> None:
        """Draw the streams of `episodes` up to at least `steps` steps."""
        short = episodes[self._drawn[episodes] < steps]
        if short.size == 0:
            return
        width = self._table.shape[2]
        if steps > width:
            new_width = max(steps, 2 * width, _FIRST_BLOCK)
            grown = np.full((len(SOURCES), self.episodes, new_width), np.nan)
            grown[:, :, :width] = self._table
            self._table = grown
        target = max(steps, 2 * int(self._drawn[short].min()), _FIRST_BLOCK)
        target = min(target, self._table.shape[2])
        for i in short.tolist():
            start = int(self._drawn[i])
            for source, generator in enumerate(self._generators[i]):
                self._table[source, i, start:target] = _doubles(
                    generator, target - start
                )
            self._drawn[i] = target

    def uniforms(self, source: int, episodes: np.ndarray, t: int) -> np.ndarray:
        """Return draw `t` of stream `source` for each episode of `episodes`."""
        if episodes.size == 0:
            return np.empty(0)
        self.ensure(episodes, t + 1)
        return self._table[source, episodes, t]


def _doubles(generator: np.random.PCG64, count: int) -> np.ndarray:
    """Return the next `count` uniforms of `generator`, equal to `Generator.random`'s.

    numpy turns a 64-bit output into a double in [0, 1) from its top 53 bits.
    """
    return (generator.random_raw(count) >> np.uint64(11)) * (1.0 / 2**53)
