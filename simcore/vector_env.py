"""A batched simulator: N episodes of one model stepped at once in numpy.

Each slot follows the step semantics of `simcore.episode.Simulator`: the reward on the
state before the transition, the belief updated with the stops left before the
action, the CSLE `done_delay` step in the terminal state with reward 0, and the step
limit. A slot whose episode ends starts a new one at once. The random streams
differ from `Simulator`'s, so the two agree in distribution, not episode by episode.

Every step draws the same uniforms whatever the actions and the episodes do: one per
slot for each of the initial state of a new episode, the attacker action, the
transition and the observation. Two environments built with the same seed therefore
share common random numbers slot by slot and step by step under any two policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from simcore.belief import ImpossibleObservation
from simcore.model import POMDP
from simcore.neural import feature_size
from simcore.vector_tables import StepTables, check_world


@dataclass(frozen=True)
class VectorStep:
    """The result of one `VectorEnv.step` call, one entry per slot.

    `features` are the inputs of the next step (of the new episode where a slot was
    reset). `final_features` are the inputs an ended episode would have seen next,
    which a trainer needs to bootstrap the value of an episode cut by the step limit.
    Both are built on first access, as a caller that reads the beliefs directly never
    needs them. `returns` and `lengths` list the episodes that ended in this step, in
    slot order.
    """

    rewards: np.ndarray
    dones: np.ndarray
    truncated: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray
    # Feature columns (feature_size, num_envs) after the step, before any reset.
    final_columns: np.ndarray
    reset_slots: np.ndarray
    initial_features: np.ndarray

    @cached_property
    def final_features(self) -> np.ndarray:
        return np.ascontiguousarray(self.final_columns.T)

    @cached_property
    def features(self) -> np.ndarray:
        if not self.reset_slots.size:
            return self.final_features
        features = self.final_features.copy()
        features[self.reset_slots] = self.initial_features
        return features


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
    when the model has a stop counter. `world`, when given, is the model that
    generates hidden states, attacker actions, observations and rewards (for example
    an attacker profile), while `model` is the defender's model behind the belief and
    the features. It must have the same states, actions, observations, stop counter
    and terminal states as `model` (`check_world`); its attacker actions may differ.

    `beliefs` (num_envs, S) is a view of a state-major array, so `beliefs[:, s]` is
    contiguous.
    """

    def __init__(
        self,
        model: POMDP,
        num_envs: int,
        seed: int | np.random.SeedSequence,
        max_steps: int | None = None,
        world: POMDP | None = None,
    ):
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        if world is not None:
            check_world(model, world)
        self.model = model
        self.world = model if world is None else world
        self.num_envs = num_envs
        self.max_steps = max_steps if max_steps is not None else model.max_steps
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self._tables = StepTables(model, self.world)
        self._stop_action = -1 if model.stop_action is None else model.stop_action

        n, S = num_envs, len(model.states)
        self.states = np.zeros(n, dtype=np.int64)
        # Without a stop counter the stops left stay 0 and every step uses stage 0.
        self.stops_left = np.zeros(n, dtype=np.int64)
        # The latest observation, -1 at t = 0.
        self.observations = np.full(n, -1, dtype=np.int64)
        self._belief_columns = np.zeros((S, n))
        self.beliefs = self._belief_columns.T
        self.t = np.zeros(n, dtype=np.int64)
        self.in_terminal = np.zeros(n, dtype=bool)
        self.episode_returns = np.zeros(n)
        # discount ** t of each slot, kept as a running product.
        self._discounting = np.ones(n)
        self._initial_features = self._tables.initial_features(model)

        # Work arrays reused by every step.
        self._uniforms = np.empty((4, n))
        self._rows = np.empty(n, dtype=np.int64)
        self._gather = np.empty(n, dtype=np.int64)
        self._attacker_actions = np.empty(n, dtype=np.int64)
        self._next_states = np.empty(n, dtype=np.int64)
        self._next_observations = np.empty(n, dtype=np.int64)
        self._predicted_all = np.empty((self._tables.belief_transition.shape[0], n))
        self._predicted = np.empty((S, n))
        self._likelihood = np.empty(n)
        self._slots = np.arange(n, dtype=np.int64)
        self.reset()

    @property
    def feature_size(self) -> int:
        return feature_size(self.model)

    def reset(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Start new episodes in the slots of `mask` (default all), return features."""
        slots = self._slots if mask is None else np.flatnonzero(mask)
        self._start_episodes(slots, self.rng.random(slots.size))
        return self.features()

    def _start_episodes(self, slots: np.ndarray, uniforms: np.ndarray) -> None:
        states = np.empty(slots.size, dtype=np.int64)
        self.states[slots] = self._tables.initial.sample(0, uniforms, out=states)
        self.stops_left[slots] = self.model.stops or 0
        self.observations[slots] = -1
        self.beliefs[slots] = self.model.initial_belief
        self.t[slots] = 0
        self.in_terminal[slots] = False
        self.episode_returns[slots] = 0.0
        self._discounting[slots] = 1.0

    def features(self) -> np.ndarray:
        """Return the (num_envs, feature_size) network inputs of the current step."""
        return np.ascontiguousarray(self._feature_columns().T)

    def _feature_columns(self) -> np.ndarray:
        S = len(self.model.states)
        columns = np.empty((self.feature_size, self.num_envs))
        columns[:S] = self._belief_columns
        if self.model.stops is not None:
            np.multiply(self.stops_left, 1.0 / self.model.stops, out=columns[S])
        return columns

    def stages(self) -> np.ndarray:
        """Return the tensor index k of each slot, as `POMDP.stage` computes it."""
        if self.model.stops is None:
            return np.zeros(self.num_envs, dtype=np.int64)
        # np.minimum and np.maximum: np.clip costs several times more on small arrays.
        stages = np.subtract(self.stops_left, 1)
        np.maximum(stages, 0, out=stages)
        return np.minimum(stages, self.model.stops - 1, out=stages)

    def step(self, actions: np.ndarray) -> VectorStep:
        """Play one step in every slot with the defender's `actions` (num_envs,)."""
        tables, world = self._tables, self.world
        actions = np.asarray(actions, dtype=np.int64)
        if actions.shape != (self.num_envs,):
            raise ValueError(
                f"expected {self.num_envs} actions, got shape {actions.shape}"
            )
        uniforms = self.rng.random(out=self._uniforms)
        # c = k * A + a indexes the (stage, action) pair of each slot.
        combos = self.stages()
        combos *= tables.num_actions
        combos += actions

        # Attacker action, then the reward on the state before the transition. The
        # flat row (k, a, a2, s) indexes both the reward and the transition.
        attacker = tables.attacker.sample(
            self.states, uniforms[1], out=self._attacker_actions
        )
        rows = np.multiply(combos, tables.num_attacker_actions, out=self._rows)
        rows += attacker
        rows *= tables.num_states
        rows += self.states
        rewards = tables.reward.take(rows)
        # The delayed end of CSLE: one step in the terminal state with reward 0.
        delayed = self.in_terminal.copy()
        any_delayed = bool(delayed.any())
        if any_delayed:
            rewards[delayed] = 0.0
        if world.discount == 1.0:
            self.episode_returns += rewards
        else:
            self.episode_returns += rewards * self._discounting
            self._discounting *= world.discount

        # Transition, observation and belief
        next_states = tables.transition.sample(
            rows, uniforms[2], out=self._next_states
        )
        next_observations = tables.observation.sample(
            next_states, uniforms[3], out=self._next_observations
        )
        live = ~delayed
        next_beliefs = self._update_beliefs(combos, next_observations, live)

        # Episode ends: terminal state, step limit, or the delayed end
        ends = tables.terminal.take(next_states)
        limit = np.zeros(self.num_envs, dtype=bool)
        if self.max_steps is not None:
            limit = self.t + 1 >= self.max_steps
        dones = delayed | limit
        if not world.done_delay:
            dones |= ends
        truncated = limit & ~delayed & ~ends

        # Advance the slots that played a live step
        if any_delayed:
            np.copyto(self.states, next_states, where=live)
            np.copyto(self.observations, next_observations, where=live)
            np.copyto(self._belief_columns, next_beliefs, where=live)
        else:
            self.states[:] = next_states
            self.observations[:] = next_observations
            self._belief_columns[:] = next_beliefs
        if self.model.stops is not None:
            self.stops_left -= live & (actions == self._stop_action)
        np.logical_or(ends, delayed, out=self.in_terminal)
        self.t += 1

        # Record the ended episodes, then start new ones in their slots
        final_columns = self._feature_columns()
        returns = self.episode_returns[dones]
        lengths = self.t[dones]
        slots = np.flatnonzero(dones)
        if slots.size:
            self._start_episodes(slots, uniforms[0, slots])
        return VectorStep(
            rewards=rewards,
            dones=dones,
            truncated=truncated,
            returns=returns,
            lengths=lengths,
            final_columns=final_columns,
            reset_slots=slots,
            initial_features=self._initial_features,
        )

    def _update_beliefs(
        self, combos: np.ndarray, observations: np.ndarray, live: np.ndarray
    ) -> np.ndarray:
        """Return the Bayes update of every slot's belief, state-major (S, num_envs).

        One matrix product predicts the next belief under every (stage, action) pair
        c at once, in rows c * S + s' of its result. Each slot then takes the rows of
        its own pair. Agrees with `batched_update` up to rounding. Raises
        ImpossibleObservation for the first live slot whose normaliser is zero.
        """
        tables, n = self._tables, self.num_envs
        np.matmul(
            tables.belief_transition, self._belief_columns, out=self._predicted_all
        )
        flat = self._predicted_all.reshape(-1)
        # Element (c * S + s', slot) lies at (c * S + s') * n + slot.
        base = np.multiply(combos, tables.num_states * n, out=self._rows)
        base += self._slots
        predicted, likelihood = self._predicted, self._likelihood
        for state in range(tables.num_states):
            flat.take(np.add(base, state * n, out=self._gather), out=predicted[state])
            tables.observation_columns[state].take(observations, out=likelihood)
            predicted[state] *= likelihood
        totals = tables.ones @ predicted
        impossible = ~(totals > 0.0)
        if impossible.any():
            impossible &= live
            if impossible.any():
                i = int(np.argmax(impossible))
                action = int(combos[i] % tables.num_actions)
                raise ImpossibleObservation(
                    int(observations[i]), action, self.beliefs[i].copy()
                )
            # Slots in the delayed end keep their belief, so any value will do here.
            totals[~live] = 1.0
        predicted /= totals
        return predicted
