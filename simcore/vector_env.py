"""A batched simulator: N episodes of one model stepped at once in numpy.

Each slot follows the step semantics of `simcore.episode.Simulator`: the reward on the
state before the transition, the belief updated with the stops left before the
action, the CSLE `done_delay` step in the terminal state with reward 0, and the step
limit. A slot whose episode ends starts a new one at once. The random streams
differ from `Simulator`'s, so the two agree in distribution, not episode by episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simcore.belief import ImpossibleObservation
from simcore.model import POMDP
from simcore.neural import feature_size


@dataclass(frozen=True)
class VectorStep:
    """The result of one `VectorEnv.step` call, one entry per slot.

    `features` are the inputs of the next step (of the new episode where a slot was
    reset). `final_features` are the inputs an ended episode would have seen next,
    which a trainer needs to bootstrap the value of an episode cut by the step limit.
    `returns` and `lengths` list the episodes that ended in this step, in slot order.
    """

    rewards: np.ndarray
    dones: np.ndarray
    truncated: np.ndarray
    features: np.ndarray
    final_features: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray


def sample_rows(cumulative: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Return one inverse-CDF sample per row of `cumulative` (N, n) for uniforms (N,).

    The index is the first whose cumulative sum exceeds u times the row total, as
    `bisect_right` picks it in `simcore.episode`, so outcomes of probability 0 are never
    drawn.
    """
    targets = uniforms * cumulative[:, -1]
    indices = np.sum(cumulative <= targets[:, None], axis=1)
    return np.minimum(indices, cumulative.shape[1] - 1)


def batched_update(
    model: POMDP,
    beliefs: np.ndarray,
    actions: np.ndarray,
    observations: np.ndarray,
    stages: np.ndarray,
) -> np.ndarray:
    """Return the Bayes update of each belief row, computed as `simcore.belief.update`.

    b'(s') is proportional to Z(o | s') (b @ Tm[k, a])(s'), with Tm the
    attacker-weighted transition and k the stage of the stops left before the action.
    Raises ImpossibleObservation for the first row whose normaliser is zero.
    """
    transitions = model.marginal_transition[stages, actions]
    predicted = np.matmul(beliefs[:, None, :], transitions)[:, 0, :]
    unnormalised = model.observation.T[observations] * predicted
    totals = unnormalised.sum(axis=1)
    impossible = np.flatnonzero(~(totals > 0.0))
    if impossible.size:
        i = impossible[0]
        raise ImpossibleObservation(int(observations[i]), int(actions[i]), beliefs[i])
    return unnormalised / totals[:, None]


class VectorEnv:
    """`num_envs` episodes of `model`, stepped together and reset automatically.

    The defender's input is `simcore.neural.features`: the belief, then stops left / L
    when the model has a stop counter.
    """

    def __init__(
        self,
        model: POMDP,
        num_envs: int,
        seed: int | np.random.SeedSequence,
        max_steps: int | None = None,
    ):
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.model = model
        self.num_envs = num_envs
        self.max_steps = max_steps if max_steps is not None else model.max_steps
        self.rng = np.random.Generator(np.random.PCG64(seed))

        self._cumulative_initial = np.cumsum(model.initial_belief)[None, :]
        self._cumulative_attacker = np.cumsum(model.attacker, axis=-1)
        self._cumulative_transition = np.cumsum(model.transition, axis=-1)
        self._cumulative_observation = np.cumsum(model.observation, axis=-1)
        self._terminal = np.zeros(len(model.states), dtype=bool)
        self._terminal[list(model.terminal_states)] = True
        self._stop_action = -1 if model.stop_action is None else model.stop_action

        n, S = num_envs, len(model.states)
        self.states = np.zeros(n, dtype=np.int64)
        # Without a stop counter the stops left stay 0 and every step uses stage 0.
        self.stops_left = np.zeros(n, dtype=np.int64)
        # The latest observation, -1 at t = 0.
        self.observations = np.full(n, -1, dtype=np.int64)
        self.beliefs = np.zeros((n, S))
        self.t = np.zeros(n, dtype=np.int64)
        self.in_terminal = np.zeros(n, dtype=bool)
        self.episode_returns = np.zeros(n)
        self.reset()

    @property
    def feature_size(self) -> int:
        return feature_size(self.model)

    def reset(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Start new episodes in the slots of `mask` (default all), return features."""
        slots = np.arange(self.num_envs) if mask is None else np.flatnonzero(mask)
        uniforms = self.rng.random(slots.size)
        initial = np.broadcast_to(
            self._cumulative_initial, (slots.size, len(self.model.states))
        )
        self.states[slots] = sample_rows(initial, uniforms)
        self.stops_left[slots] = self.model.stops or 0
        self.observations[slots] = -1
        self.beliefs[slots] = self.model.initial_belief
        self.t[slots] = 0
        self.in_terminal[slots] = False
        self.episode_returns[slots] = 0.0
        return self.features()

    def features(self) -> np.ndarray:
        """Return the (num_envs, feature_size) network inputs of the current step."""
        if self.model.stops is None:
            return self.beliefs.copy()
        ratio = (self.stops_left / self.model.stops)[:, None]
        return np.concatenate([self.beliefs, ratio], axis=1)

    def stages(self) -> np.ndarray:
        """Return the tensor index k of each slot, as `POMDP.stage` computes it."""
        if self.model.stops is None:
            return np.zeros(self.num_envs, dtype=np.int64)
        return np.clip(self.stops_left, 1, self.model.stops) - 1

    def step(self, actions: np.ndarray) -> VectorStep:
        """Play one step in every slot with the defender's `actions` (num_envs,)."""
        model, rng = self.model, self.rng
        actions = np.asarray(actions, dtype=np.int64)
        if actions.shape != (self.num_envs,):
            raise ValueError(
                f"expected {self.num_envs} actions, got shape {actions.shape}"
            )
        states, stages = self.states, self.stages()

        # Attacker action, reward on the state before the transition
        attacker_actions = sample_rows(
            self._cumulative_attacker[states], rng.random(self.num_envs)
        )
        rewards = model.reward[stages, actions, attacker_actions, states]
        # The delayed end of CSLE: one step in the terminal state with reward 0.
        delayed = self.in_terminal.copy()
        rewards = np.where(delayed, 0.0, rewards)
        self.episode_returns += rewards * model.discount ** self.t.astype(float)

        # Transition, observation and belief
        next_states = sample_rows(
            self._cumulative_transition[stages, actions, attacker_actions, states],
            rng.random(self.num_envs),
        )
        next_observations = sample_rows(
            self._cumulative_observation[next_states], rng.random(self.num_envs)
        )
        live = ~delayed
        next_beliefs = batched_update(
            model,
            self.beliefs[live],
            actions[live],
            next_observations[live],
            stages[live],
        )

        # Episode ends: terminal state, step limit, or the delayed end
        ends = self._terminal[next_states]
        limit = np.zeros(self.num_envs, dtype=bool)
        if self.max_steps is not None:
            limit = self.t + 1 >= self.max_steps
        dones = delayed | limit | (ends & (not model.done_delay))
        truncated = limit & ~delayed & ~ends

        # Advance the slots that played a live step
        self.states[live] = next_states[live]
        self.observations[live] = next_observations[live]
        self.beliefs[live] = next_beliefs
        used_stop = live & (actions == self._stop_action) & (model.stops is not None)
        self.stops_left[used_stop] -= 1
        self.in_terminal[live] = ends[live]
        self.t += 1

        # Record the ended episodes, then start new ones in their slots
        final_features = self.features()
        returns = self.episode_returns[dones].copy()
        lengths = self.t[dones].copy()
        features = self.reset(dones) if dones.any() else final_features
        return VectorStep(
            rewards=rewards,
            dones=dones,
            truncated=truncated,
            features=features,
            final_features=final_features,
            returns=returns,
            lengths=lengths,
        )
