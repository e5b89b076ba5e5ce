"""Episodes, simulated step by step from a seed or replayed from observations.

At step t the hidden state is s_t, the defender has l_t stops left, has seen o_t (None
at t = 0) and holds the belief b_t. The policy gives pi_t = pi(. | b_t, l_t); the
defender plays a_t ~ pi_t and the attacker a2_t ~ pi2(. | s_t); the reward is
r_t = R_l(s_t, a_t, a2_t). Then s_{t+1} ~ T_l(. | s_t, a_t, a2_t), o_{t+1} ~ Z(. | s_{t+1}),
b_{t+1} is the Bayes update of b_t with (a_t, o_{t+1}) under l_t, and l_{t+1} = l_t - 1
after a stop. The episode ends after step t when s_{t+1} is terminal or t + 1 reaches the
step limit; a model with `done_delay` (CSLE) plays one more step in the terminal state,
with reward 0, before it ends.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import Iterator, NamedTuple, Sequence

import numpy as np

from simcore.belief import update, update_at_stage
from simcore.model import POMDP
from simcore.policies import Policy

# Uniform random numbers drawn from the generator at a time: a small first block, as
# most episodes are short, growing to the largest block for long ones.
_FIRST_UNIFORM_BLOCK = 64
_UNIFORM_BLOCK = 1024


class Step(NamedTuple):
    """One time step of an episode; hidden fields are None when they are unknown.

    A named tuple rather than a frozen dataclass: episodes create one per step, and a
    tuple is several times cheaper to build.
    """

    t: int
    state: int | None
    stops_left: int | None
    observation: int | None
    belief: np.ndarray
    action_probs: np.ndarray
    action: int
    attacker_action: int | None
    reward: float | None
    ret: float | None
    done: bool


def episode_seed(seed: int, episode: int) -> np.random.SeedSequence:
    """Return the seed sequence of episode `episode` (0-based) of a run seeded with `seed`."""
    return np.random.SeedSequence([seed, episode])


class _Sampler:
    """Inverse-CDF sampling from cumulative rows with block-drawn uniforms."""

    def __init__(self, seed: np.random.SeedSequence | int):
        self._rng = np.random.Generator(np.random.PCG64(seed))
        self._uniforms: list[float] = []
        self._next = 0
        self._block = _FIRST_UNIFORM_BLOCK

    def _refill(self) -> None:
        self._uniforms = self._rng.random(self._block).tolist()
        self._next = 0
        self._block = min(2 * self._block, _UNIFORM_BLOCK)

    def uniform(self) -> float:
        if self._next == len(self._uniforms):
            self._refill()
        value = self._uniforms[self._next]
        self._next += 1
        return value

    def choice(self, cumulative: Sequence[float]) -> int:
        if self._next == len(self._uniforms):
            self._refill()
        u = self._uniforms[self._next]
        self._next += 1
        index = bisect_right(cumulative, u * cumulative[-1])
        # Rounding can leave the last cumulative sum just under u * total.
        return index if index < len(cumulative) else len(cumulative) - 1

    def choice_probs(self, probs: np.ndarray) -> int:
        if len(probs) == 2:
            first, second = probs.tolist()
            return self.choice((first, first + second))
        return self.choice(list(accumulate(probs.tolist())))


class Simulator:
    """Generates one episode of `model` under `policy`, a step at a time."""

    def __init__(
        self,
        model: POMDP,
        policy: Policy,
        seed: np.random.SeedSequence | int,
        max_steps: int | None = None,
    ):
        self.model = model
        self.policy = policy
        self.max_steps = max_steps if max_steps is not None else model.max_steps
        self._sampler = _Sampler(seed)
        self._transition = model.cumulative_transition
        self._observation = model.cumulative_observation
        self._attacker = model.cumulative_attacker
        self._reward = model.reward.tolist()
        self._terminal = model.terminal_states
        self._discount = model.discount

        self._t = 0
        self._state = self._sampler.choice(model.cumulative_initial_belief)
        self._stops_left = model.stops
        self._observation_value: int | None = None
        self._belief = model.initial_belief.copy()
        self._return = 0.0
        self._in_terminal = False
        self.done = False

    def __iter__(self) -> Iterator[Step]:
        while not self.done:
            yield self.next_step()

    def next_step(self) -> Step:
        """Play step t and return it. Raises StopIteration after the last step."""
        if self.done:
            raise StopIteration("the episode has ended")
        model, sampler = self.model, self._sampler
        t, s, l, b = self._t, self._state, self._stops_left, self._belief
        probs = self.policy.action_probs(b, l, t, self._observation_value)
        action = sampler.choice_probs(probs)
        attacker_action = sampler.choice(self._attacker[s])

        if self._in_terminal:
            # CSLE's delayed end: one step in the terminal state, reward 0, then done.
            step = Step(t, s, l, self._observation_value, b, probs, action,
                        attacker_action, 0.0, self._return, True)  # fmt: skip
            self.done = True
            return step

        k = model.stage(l)
        reward = self._reward[k][action][attacker_action][s]
        self._return += reward * self._discount**t
        next_state = sampler.choice(self._transition[k][action][attacker_action][s])
        next_observation = sampler.choice(self._observation[next_state])
        next_belief = update_at_stage(model, b, action, next_observation, k)

        ends = next_state in self._terminal
        limit = self.max_steps is not None and t + 1 >= self.max_steps
        done = limit or (ends and not model.done_delay)
        step = Step(t, s, l, self._observation_value, b, probs, action,
                    attacker_action, reward, self._return, done)  # fmt: skip

        self._t = t + 1
        self._state = next_state
        self._observation_value = next_observation
        self._belief = next_belief
        if l is not None and action == model.stop_action:
            self._stops_left = l - 1
        self._in_terminal = ends
        self.done = done
        return step


class ObservationReplay:
    """Runs a policy over a recorded observation sequence; the hidden state is unknown.

    Observation i of the sequence is what the defender sees at step i + 1, so step 0
    acts on the initial belief, as in a simulated episode. The episode ends after the
    last observation, after the last stop, or at the step limit.
    """

    def __init__(
        self,
        model: POMDP,
        policy: Policy,
        observations: Sequence[int],
        seed: np.random.SeedSequence | int,
        max_steps: int | None = None,
    ):
        for i, o in enumerate(observations):
            if not 0 <= o < model.num_observations:
                raise ValueError(
                    f"observation {o} at position {i} is outside the scenario's "
                    f"0..{model.num_observations - 1}"
                )
        self.model = model
        self.policy = policy
        self.observations = list(observations)
        self.max_steps = max_steps if max_steps is not None else model.max_steps
        self._sampler = _Sampler(seed)
        self._t = 0
        self._stops_left = model.stops
        self._belief = model.initial_belief.copy()
        self.done = not self.observations

    def __iter__(self) -> Iterator[Step]:
        while not self.done:
            yield self.next_step()

    def next_step(self) -> Step:
        """Play step t on the recorded observation and return it."""
        if self.done:
            raise StopIteration("the replay has ended")
        t, l, b = self._t, self._stops_left, self._belief
        observation = self.observations[t - 1] if t > 0 else None
        probs = self.policy.action_probs(b, l, t, observation)
        action = self._sampler.choice_probs(probs)
        if l is not None and action == self.model.stop_action:
            l -= 1
        at_limit = self.max_steps is not None and t + 1 >= self.max_steps
        done = t >= len(self.observations) or l == 0 or at_limit
        step = Step(t, None, self._stops_left, observation, b, probs, action,
                    None, None, None, done)  # fmt: skip
        if not done:
            self._belief = update(self.model, b, action, self.observations[t], self._stops_left)
        self._t = t + 1
        self._stops_left = l
        self.done = done
        return step


def simulate(model: POMDP, policy: Policy, seed: int, episode: int = 0) -> list[Step]:
    """Return every step of episode `episode` of a run seeded with `seed`."""
    return list(Simulator(model, policy, episode_seed(seed, episode)))
