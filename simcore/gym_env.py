"""A Gymnasium environment for the defender of any pomdb scenario.

The agent's observation is `simcore.neural.features(model, belief, stops_left)` as
float32, the input of pomdb's own PPO actor: the exact Bayes belief over the
states, then stops left / L when the model has a stop counter. The action space is
Discrete(number of defender actions). Each step plays one step of
`simcore.episode.Simulator`, so rewards, `done_delay` and the step limit behave as in
`pomdb run` and the debugger: the reward is R(s_t, a_t, a2_t) on the state before the
transition, undiscounted; reaching a terminal state (or the extra step in it, with
`done_delay`) is a termination, and the step limit is a truncation.

Importing this module registers ENV_ID, so

    gymnasium.make("pomdb/POMDP-v0", scenario="samples/intrusion_prevention.yaml")

works after `import simcore.gym_env`, and
`gymnasium.make("simcore.gym_env:pomdb/POMDP-v0", ...)` imports the module first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

try:
    import gymnasium
    from gymnasium import spaces
except ImportError as error:
    raise ImportError(
        "simcore.gym_env needs gymnasium, which is not installed; install it with "
        'pip install -e ".[gym]" (or ".[sb3]" to train with Stable-Baselines3)'
    ) from error

from simcore.episode import Simulator, Step, episode_seed
from simcore.model import POMDP
from simcore.neural import feature_size, features
from simcore.policies import Policy
from simcore.scenario import load_scenario
from simcore.termination import require_step_limit

ENV_ID = "pomdb/POMDP-v0"
# Seeds drawn for an environment that is reset before it is ever seeded.
_SEED_BOUND = 2**63


class _AgentAction(Policy):
    """The action the agent chose, as a one-hot distribution for `Simulator`.

    `Simulator` samples the action from it by inverse CDF, which returns the one-hot
    index for every uniform in [0, 1), so the environment spends the same random
    numbers per step as `pomdb run` does with a policy.
    """

    name = "agent"

    def __init__(self, num_actions: int):
        self.probs = np.zeros(num_actions)

    def choose(self, action: int) -> None:
        self.probs = np.zeros_like(self.probs)
        self.probs[action] = 1.0

    def action_probs(self, belief, stops_left, t, observation):
        return self.probs


class _AgentEpisode(Simulator):
    """A Simulator whose defender actions come from the agent, with its current step."""

    def __init__(
        self, model: POMDP, seed: np.random.SeedSequence, max_steps: int | None
    ):
        self.agent = _AgentAction(len(model.actions))
        super().__init__(model, self.agent, seed, max_steps)

    def play(self, action: int) -> Step:
        self.agent.choose(action)
        return self.next_step()

    # The inputs of the next step, which Simulator keeps private until it plays it.
    @property
    def t(self) -> int:
        return self._t

    @property
    def state(self) -> int:
        return self._state

    @property
    def stops_left(self) -> int | None:
        return self._stops_left

    @property
    def observation(self) -> int | None:
        return self._observation_value

    @property
    def belief(self) -> np.ndarray:
        return self._belief

    @property
    def in_terminal(self) -> bool:
        return self._in_terminal


class POMDPEnv(gymnasium.Env):
    """The defender's side of a scenario as a Gymnasium environment.

    `scenario` is a scenario file or a loaded POMDP, and `max_steps` overrides the
    scenario's step limit. Episode i (0-based) after `reset(seed=s)` draws its random
    numbers from `simcore.episode.episode_seed(s, i)`, as episode i of
    `pomdb run --seed s` and debugger thread i do, so the same actions give the same
    episode. `reset(options={"episode": i})` jumps to episode i of the current seed.
    """

    metadata = {"render_modes": []}

    def __init__(self, scenario: str | Path | POMDP, max_steps: int | None = None):
        if not isinstance(scenario, POMDP):
            scenario = load_scenario(scenario)
        self.model = scenario
        if max_steps is not None and (
            isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1
        ):
            raise ValueError(
                f"max_steps must be an integer >= 1 or None, got {max_steps!r}"
            )
        self.max_steps = max_steps if max_steps is not None else self.model.max_steps
        self.discount = self.model.discount
        # gymnasium.make's max_episode_steps adds a TimeLimit wrapper that this
        # environment cannot see, so only max_steps counts as a step limit here.
        require_step_limit(
            self.model,
            self.max_steps,
            f'pass max_steps=N, as in gymnasium.make("{ENV_ID}", scenario=..., '
            "max_steps=N)",
        )
        self.observation_space = spaces.Box(
            low=0.0, high=1.0, shape=(feature_size(self.model),), dtype=np.float32
        )
        self.action_space = spaces.Discrete(len(self.model.actions))
        self._seed: int | None = None
        self._episode_index = -1
        self._episode: _AgentEpisode | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        episode = (options or {}).get("episode")
        if episode is not None and (
            isinstance(episode, bool) or not isinstance(episode, int) or episode < 0
        ):
            raise ValueError(
                f"options['episode'] must be an integer >= 0, got {episode!r}"
            )
        if seed is not None:
            self._seed, self._episode_index = int(seed), -1
        elif self._seed is None:
            # Never seeded: gymnasium seeded np_random from the operating system.
            self._seed = int(self.np_random.integers(_SEED_BOUND))
        if episode is None:
            episode = self._episode_index + 1
        self._episode_index = episode
        seed_sequence = episode_seed(self._seed, self._episode_index)
        self._episode = _AgentEpisode(self.model, seed_sequence, self.max_steps)
        return self._observation(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._episode is None or self._episode.done:
            raise RuntimeError(
                "the episode has ended or was never started; call reset() first"
            )
        if not self.action_space.contains(action):
            raise ValueError(
                f"invalid action {action!r}: expected an integer in "
                f"0..{self.action_space.n - 1} ({', '.join(self.model.actions)})"
            )
        episode = self._episode
        delayed = episode.in_terminal
        step = episode.play(int(action))

        # A terminal state ends the episode at once, or after one more step with
        # done_delay. Only the step limit truncates.
        reached_terminal = episode.in_terminal and (
            not self.model.done_delay or step.done
        )
        terminated = delayed or reached_terminal
        truncated = step.done and not terminated
        info = self._info()
        info["attacker_action"] = step.attacker_action
        return self._observation(), float(step.reward), terminated, truncated, info

    def _observation(self) -> np.ndarray:
        episode = self._episode
        x = features(self.model, episode.belief, episode.stops_left)
        return np.asarray(x, dtype=np.float32).copy()

    def _info(self) -> dict[str, Any]:
        """Return the hidden state and what the defender has observed so far."""
        episode = self._episode
        return {
            "t": episode.t,
            "state": episode.state,
            "state_name": self.model.states[episode.state],
            "stops_left": episode.stops_left,
            "observation": episode.observation,
            "belief": episode.belief.copy(),
            # Not "episode": SB3's Monitor and gymnasium's RecordEpisodeStatistics
            # put their episode summary there.
            "episode_index": self._episode_index,
        }


def _register() -> None:
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="simcore.gym_env:POMDPEnv")


_register()
