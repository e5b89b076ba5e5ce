"""The Gymnasium environment: API conformance, seeding and the Simulator's semantics."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from simcore.episode import Simulator, episode_seed
from simcore.gym_env import ENV_ID, POMDPEnv
from simcore.neural import features
from simcore.policies import RandomPolicy
from simcore.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
CONTINUE, STOP = 0, 1


@pytest.fixture(scope="module")
def model():
    return load_scenario(SAMPLE)


def test_env_passes_gymnasium_checker() -> None:
    env = gymnasium.make(ENV_ID, scenario=str(SAMPLE))
    check_env(env.unwrapped)
    env.reset(seed=0)
    env.step(CONTINUE)
    env.close()


def test_make_with_module_prefix() -> None:
    env = gymnasium.make(f"simcore.gym_env:{ENV_ID}", scenario=SAMPLE)
    assert isinstance(env.unwrapped, POMDPEnv)


def test_spaces(model) -> None:
    env = POMDPEnv(model)
    assert env.observation_space.shape == (4,)
    assert env.observation_space.dtype == np.float32
    assert env.action_space.n == 2
    assert env.discount == 1.0


def test_reset_observation_and_info(model) -> None:
    observation, info = POMDPEnv(model).reset(seed=5)
    assert observation.tolist() == [1.0, 0.0, 0.0, 1.0]
    assert observation.dtype == np.float32
    assert info["t"] == 0
    assert info["state_name"] == "no_intrusion"
    assert info["stops_left"] == 3
    assert info["observation"] is None
    assert info["episode_index"] == 0
    assert info["belief"].tolist() == [1.0, 0.0, 0.0]


def play(env: POMDPEnv, actions: list[int]) -> list[tuple]:
    """Step with `actions` until they run out or the episode ends."""
    results = []
    for action in actions:
        results.append(env.step(action))
        if results[-1][2] or results[-1][3]:
            break
    return results


def test_same_seed_same_episode(model) -> None:
    env = POMDPEnv(model)
    actions = [CONTINUE] * 20
    env.reset(seed=11)
    first = [(o.tolist(), r, i["state"]) for o, r, _, _, i in play(env, actions)]
    env.reset(seed=11)
    second = [(o.tolist(), r, i["state"]) for o, r, _, _, i in play(env, actions)]
    env.reset(seed=12)
    other = [(o.tolist(), r, i["state"]) for o, r, _, _, i in play(env, actions)]
    assert first == second
    assert first != other


def test_unseeded_reset_continues_the_seed(model) -> None:
    env = POMDPEnv(model)
    env.reset(seed=3)
    _, info = env.reset()
    assert info["episode_index"] == 1
    after_reset = [o.tolist() for o, *_ in play(env, [CONTINUE] * 10)]
    env.reset(seed=3, options={"episode": 1})
    jumped = [o.tolist() for o, *_ in play(env, [CONTINUE] * 10)]
    assert after_reset == jumped


def test_episodes_match_simulator(model) -> None:
    """Playing the Simulator's actions reproduces `pomdb run --seed 4` step by step."""
    policy = RandomPolicy(model, 0.1)
    env = POMDPEnv(model)
    checked_delay = False
    for episode in range(12):
        steps = list(Simulator(model, policy, episode_seed(4, episode)))
        if episode == 0:
            observation, info = env.reset(seed=4)
        else:
            observation, info = env.reset()
        for step in steps:
            expected = features(model, step.belief, step.stops_left)
            assert observation.tolist() == expected.astype(np.float32).tolist()
            assert info["state"] == step.state
            assert info["stops_left"] == step.stops_left
            assert info["observation"] == step.observation
            observation, reward, terminated, truncated, info = env.step(step.action)
            assert reward == step.reward
            assert info["attacker_action"] == step.attacker_action
            assert terminated == step.done
            assert not truncated
        checked_delay = checked_delay or steps[-1].state == 2
    assert checked_delay, "no episode ended with the done_delay step"


def test_done_delay_step_after_last_stop(model) -> None:
    env = POMDPEnv(model)
    env.reset(seed=0)
    results = play(env, [STOP, STOP, STOP])
    assert [r[2] for r in results] == [False, False, False]
    assert [r[4]["stops_left"] for r in results] == [2, 1, 0]
    assert results[-1][4]["state_name"] == "terminal"
    _, reward, terminated, truncated, _ = env.step(CONTINUE)
    assert reward == 0.0
    assert terminated
    assert not truncated


def test_step_limit_truncates(model) -> None:
    env = POMDPEnv(model, max_steps=1)
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(CONTINUE)
    assert reward == 1.0
    assert not terminated
    assert truncated
    assert info["state_name"] != "terminal"


def test_step_after_end_raises(model) -> None:
    env = POMDPEnv(model, max_steps=1)
    env.reset(seed=0)
    env.step(CONTINUE)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(CONTINUE)


def test_invalid_action_raises(model) -> None:
    env = POMDPEnv(model)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"0\.\.1 \(continue, stop\)"):
        env.step(2)


def test_invalid_episode_option_raises(model) -> None:
    with pytest.raises(ValueError, match="options\\['episode'\\]"):
        POMDPEnv(model).reset(seed=0, options={"episode": -1})


def test_import_without_gymnasium(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gymnasium", None)
    monkeypatch.delitem(sys.modules, "simcore.gym_env")
    with pytest.raises(ImportError, match=r'pip install -e "\.\[gym\]"'):
        importlib.import_module("simcore.gym_env")


def test_endless_scenario_needs_step_limit() -> None:
    """A discounted model without terminal states never ends an episode itself."""
    from simcore.termination import StepLimitError

    tiger = load_scenario(REPO / "tests" / "data" / "scenarios" / "tiger.yaml")
    tiger.max_steps = None
    with pytest.raises(StepLimitError) as caught:
        gymnasium.make(ENV_ID, scenario=tiger)
    message = str(caught.value)
    assert "the model has no terminal states" in message
    assert message.endswith(
        f'pass max_steps=N, as in gymnasium.make("{ENV_ID}", scenario=..., max_steps=N)'
    )

    env = gymnasium.make(ENV_ID, scenario=tiger, max_steps=2)
    env.reset(seed=0)
    env.step(0)
    _, _, terminated, truncated, _ = env.step(0)
    assert not terminated
    assert truncated
