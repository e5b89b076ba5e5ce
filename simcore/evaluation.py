"""Paired evaluation of policies on the same episodes, with common random numbers.

Every policy plays episodes 0..N-1 of one seed. The attacker's actions, the
transitions, the observations and the policy's own action draws come from separate
uniform streams per episode (`simcore.common_random_numbers`), indexed by the time
step. So two policies face the same attacker and the same alerts until their actions
change the course of an episode. Differences of mean return between policies then
have a much narrower paired confidence interval than independent runs would give.

The steps follow `simcore.episode.Simulator`: pi_t = pi(. | b_t, l_t); the reward
R_l(s_t, a_t, a2_t) on the state before the transition; s_{t+1}, o_{t+1} and the Bayes
update of b_t under stage l_t; l_{t+1} = l_t - 1 after a stop; the end after step t
when s_{t+1} is terminal or t + 1 reaches the step limit, and with `done_delay` one
more step in the terminal state with reward 0. All episodes of a policy are stepped
together in numpy. Sampling is inverse-CDF as in `Simulator`, but from other random
streams, so the two agree in distribution, not episode by episode.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from simcore.batched_policies import batched_action_probs, stages
from simcore.common_random_numbers import (
    ATTACKER,
    OBSERVATION,
    POLICY,
    TRANSITION,
    CommonRandomNumbers,
)
from simcore.intrusion_metrics import IntrusionTracker, intrusion_state
from simcore.model import POMDP
from simcore.policies import Policy
from simcore.termination import require_step_limit
from simcore.vector_env import batched_update, sample_rows


@dataclass
class PolicyEvaluation:
    """The episodes of one policy: per-episode returns, lengths and security metrics.

    `intrusion` is None for a model without the intrusion metrics.
    """

    name: str
    returns: np.ndarray
    lengths: np.ndarray
    intrusion: IntrusionTracker | None
    seconds: float


@dataclass
class Evaluation:
    """The result of `evaluate`: one `PolicyEvaluation` per policy, in the given order.

    `seconds` is the time of the whole evaluation, the random streams included.
    """

    episodes: int
    seed: int
    max_steps: int | None
    policies: list[PolicyEvaluation] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def has_intrusion_metrics(self) -> bool:
        return bool(self.policies) and self.policies[0].intrusion is not None


def evaluate(
    model: POMDP,
    policies: list[tuple[str, Policy]],
    episodes: int,
    seed: int,
    max_steps: int | None = None,
) -> Evaluation:
    """Play `episodes` episodes with each (name, policy) on common random numbers.

    `max_steps` overrides the model's step limit. Raises ValueError when there is
    nothing to evaluate or when episodes could run forever.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    if not policies:
        raise ValueError("no policy to evaluate")
    require_step_limit(model, max_steps, "pass a step limit (--max-steps)")
    limit = max_steps if max_steps is not None else model.max_steps
    started = time.perf_counter()
    streams = CommonRandomNumbers(seed, episodes)
    result = Evaluation(episodes, seed, limit)
    for name, policy in policies:
        result.policies.append(_play(model, name, policy, streams, limit))
    result.seconds = time.perf_counter() - started
    return result


class _Tensors:
    """Cumulative distributions and flags of a model, as numpy arrays."""

    def __init__(self, model: POMDP):
        self.initial = np.cumsum(model.initial_belief)[None, :]
        self.attacker = np.cumsum(model.attacker, axis=-1)
        self.transition = np.cumsum(model.transition, axis=-1)
        self.observation = np.cumsum(model.observation, axis=-1)
        self.terminal = np.zeros(len(model.states), dtype=bool)
        self.terminal[list(model.terminal_states)] = True


def _play(
    model: POMDP,
    name: str,
    policy: Policy,
    streams: CommonRandomNumbers,
    limit: int | None,
) -> PolicyEvaluation:
    started = time.perf_counter()
    n, S = streams.episodes, len(model.states)
    tensors = _Tensors(model)
    action_probs = batched_action_probs(policy, model)
    tracker = IntrusionTracker(model, n) if intrusion_state(model) is not None else None
    stop_action = -1 if model.stop_action is None else model.stop_action
    has_counter = model.stops is not None

    everyone = np.arange(n)
    initial = np.broadcast_to(tensors.initial, (n, S))
    states = sample_rows(initial, streams.uniforms(TRANSITION, everyone, 0))
    stops_left = np.full(n, model.stops or 0, dtype=np.int64)
    observations = np.full(n, -1, dtype=np.int64)
    beliefs = np.tile(model.initial_belief, (n, 1))
    in_terminal = np.zeros(n, dtype=bool)
    returns = np.zeros(n)
    lengths = np.zeros(n, dtype=np.int64)
    alive = everyone

    t = 0
    while alive.size:
        # The defender's and the attacker's actions at step t
        s, l = states[alive], stops_left[alive] if has_counter else None
        probs = action_probs(beliefs[alive], l, t, observations[alive])
        actions = sample_rows(
            np.cumsum(probs, axis=1), streams.uniforms(POLICY, alive, t)
        )
        attacker_actions = sample_rows(
            tensors.attacker[s], streams.uniforms(ATTACKER, alive, t)
        )
        if tracker is not None:
            tracker.record(alive, t, s, l, actions)

        # Reward on the state before the transition; 0 in the delayed terminal step
        delayed = in_terminal[alive]
        k = stages(model, l, alive.size)
        rewards = np.where(delayed, 0.0, model.reward[k, actions, attacker_actions, s])
        returns[alive] += rewards * model.discount**t

        # Transition, observation and belief of the live steps
        live = ~delayed
        ids, k, a, s = alive[live], k[live], actions[live], s[live]
        next_states = sample_rows(
            tensors.transition[k, a, attacker_actions[live], s],
            streams.uniforms(TRANSITION, ids, t + 1),
        )
        next_observations = sample_rows(
            tensors.observation[next_states], streams.uniforms(OBSERVATION, ids, t + 1)
        )
        beliefs[ids] = batched_update(model, beliefs[ids], a, next_observations, k)
        states[ids] = next_states
        observations[ids] = next_observations
        if has_counter:
            stops_left[ids] -= a == stop_action
        ends = tensors.terminal[next_states]
        in_terminal[ids] = ends

        # Episode ends: the delayed end, the step limit or a terminal state
        done = delayed.copy()
        done[live] = ends & (not model.done_delay)
        if limit is not None and t + 1 >= limit:
            done[:] = True
        lengths[alive] = t + 1
        alive = alive[~done]
        t += 1

    return PolicyEvaluation(
        name, returns, lengths, tracker, time.perf_counter() - started
    )
