"""Monte Carlo estimates of Q(b, a) under a policy, by rollouts from a belief.

Q(b, a) is the expected return from the current step on, discounted from that step,
when the defender takes action a now and follows the policy afterwards. Rewards
follow `simcore.episode.Simulator`: the reward of a step is R_l(s, a, a2) of the state
before the transition, and a terminal state pays nothing more. A rollout samples the
hidden state from the belief, plays a, then samples the policy's actions until the
state is terminal or `steps` steps have been played.

Rollout i draws the same uniform numbers for every first action (common random
numbers). So the difference of two estimates, such as a regret, has a much smaller
variance than the estimates themselves, and its standard error comes from the paired
returns.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from simcore.belief import update_at_stage
from simcore.model import POMDP
from simcore.policies import Policy

# Uniform numbers drawn from a rollout's generator at a time.
_UNIFORM_BLOCK = 256


@dataclass(frozen=True)
class RolloutEstimate:
    """Returns of paired rollouts: `returns[i, a]` is rollout i with first action a."""

    returns: np.ndarray
    truncated: int

    @property
    def rollouts(self) -> int:
        return self.returns.shape[0]

    @property
    def values(self) -> np.ndarray:
        """The estimate of Q(b, a) for every action: the mean return."""
        return self.returns.mean(axis=0)

    @property
    def standard_errors(self) -> np.ndarray:
        """The standard error of each mean return (sample deviation over sqrt(n))."""
        return standard_error(self.returns)


def standard_error(samples: np.ndarray) -> np.ndarray | float:
    """Return the standard error of the mean of `samples` along the first axis."""
    return samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])


class _Uniforms:
    """Uniform numbers of one rollout, drawn from its generator in blocks."""

    def __init__(self, seed: np.random.SeedSequence):
        self._rng = np.random.Generator(np.random.PCG64(seed))
        self._values: list[float] = []
        self._next = 0

    def next(self) -> float:
        if self._next == len(self._values):
            self._values = self._rng.random(_UNIFORM_BLOCK).tolist()
            self._next = 0
        value = self._values[self._next]
        self._next += 1
        return value

    def choice(self, cumulative: list[float]) -> int:
        index = bisect_right(cumulative, self.next() * cumulative[-1])
        # Rounding can leave the last cumulative sum just under u * total.
        return index if index < len(cumulative) else len(cumulative) - 1


def estimate_action_values(
    model: POMDP,
    policy: Policy,
    belief: np.ndarray,
    stops_left: int | None,
    t: int,
    *,
    rollouts: int,
    seed: np.random.SeedSequence,
    steps: int,
    truncates: bool,
) -> RolloutEstimate:
    """Play `rollouts` rollouts per action from `belief` at step `t` and return them.

    `steps` is the number of steps a rollout may play, the first included. With
    `truncates`, that bound is a cap rather than the episode's step limit, and the
    rollouts that reach it without a terminal state are counted in `truncated`.
    Rollout i of every action uses the seed `seed` spawned with key i.
    """
    if rollouts < 2:
        raise ValueError(f"a standard error needs at least 2 rollouts, got {rollouts}")
    start = np.cumsum(belief).tolist()
    rewards = model.reward.tolist()
    returns = np.empty((rollouts, len(model.actions)))
    truncated = 0
    for i in range(rollouts):
        rollout_seed = np.random.SeedSequence(
            seed.entropy, spawn_key=(*seed.spawn_key, i)
        )
        for action in range(len(model.actions)):
            uniforms = _Uniforms(rollout_seed)
            value, ended = _rollout(
                model, policy, rewards, uniforms, start, belief, stops_left, t, action,
                steps,
            )  # fmt: skip
            returns[i, action] = value
            truncated += truncates and not ended
    return RolloutEstimate(returns, truncated)


def _rollout(
    model: POMDP,
    policy: Policy,
    rewards: list,
    uniforms: _Uniforms,
    cumulative_belief: list[float],
    belief: np.ndarray,
    stops_left: int | None,
    t: int,
    first_action: int,
    steps: int,
) -> tuple[float, bool]:
    """Return the discounted return of one rollout and whether it reached a terminal state."""
    state = uniforms.choice(cumulative_belief)
    observation: int | None = None
    total, weight = 0.0, 1.0
    for k in range(steps):
        if state in model.terminal_states:
            return total, True
        # The policy's uniform is drawn at the first step too, so every first action
        # consumes the same numbers and the rollouts of one index stay paired.
        u = uniforms.next()
        if k == 0:
            action = first_action
        else:
            probs = policy.action_probs(belief, stops_left, t + k, observation)
            action = _choose(probs, u)
        attacker_action = uniforms.choice(model.cumulative_attacker[state])
        stage = model.stage(stops_left)
        total += weight * rewards[stage][action][attacker_action][state]
        state = uniforms.choice(
            model.cumulative_transition[stage][action][attacker_action][state]
        )
        observation = uniforms.choice(model.cumulative_observation[state])
        belief = update_at_stage(model, belief, action, observation, stage)
        if stops_left is not None and action == model.stop_action:
            stops_left -= 1
        weight *= model.discount
    return total, state in model.terminal_states


def _choose(probs: np.ndarray, u: float) -> int:
    cumulative = np.cumsum(probs).tolist()
    index = bisect_right(cumulative, u * cumulative[-1])
    return index if index < len(cumulative) else len(cumulative) - 1
