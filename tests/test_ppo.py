"""PPO training: the batched simulator, GAE, a short run, seeding and `pomdb train`."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from simcore.belief import ImpossibleObservation, update
from simcore.episode import Simulator, episode_seed
from simcore.neural import NeuralPolicy, make_network
from simcore.policies import Policy, load_policy
from simcore.ppo import METRIC_KEYS, _JointNetwork, compute_gae, train
from simcore.ppo_gradients import Network
from simcore.ppo_state import make_actor_critic
from simcore.ppo_config import PPOConfig
from simcore.scenario import load_scenario
from simcore.trainer import TrainingRun
from simcore.training import add_train_parser, evaluate_policy
from simcore.vector_env import VectorEnv, batched_update

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
SAMPLE_POLICY = REPO / "samples" / "policies" / "ppo_emulation.json"
EMULATION = REPO / "samples" / "intrusion_prevention_emulation.yaml"

CONTINUE, STOP = 0, 1
# 24,576 steps lift the mean return from about -4.6 to about 8.5 (seed 0).
SHORT_RUN = {"total_timesteps": 24_576, "num_envs": 32, "num_steps": 64, "seed": 0}


@pytest.fixture(scope="module")
def model():
    return load_scenario(SAMPLE)


class HardThreshold(Policy):
    """Stop exactly when b(intrusion) >= 0.5."""

    name = "hard-threshold"

    def action_probs(self, belief, stops_left, t, observation):
        return np.array([0.0, 1.0]) if belief[1] >= 0.5 else np.array([1.0, 0.0])


def first_episodes(env: VectorEnv, choose) -> tuple[np.ndarray, np.ndarray]:
    """Return the return and length of the first episode of every slot."""
    returns = np.full(env.num_envs, np.nan)
    lengths = np.zeros(env.num_envs, dtype=int)
    finished = np.zeros(env.num_envs, dtype=bool)
    features = env.features()
    while not finished.all():
        step = env.step(choose(features))
        new = step.dones & ~finished
        returns[new] = step.returns[new[step.dones]]
        lengths[new] = step.lengths[new[step.dones]]
        finished |= step.dones
        features = step.features
    return returns, lengths


def test_vector_env_matches_simulator(model) -> None:
    episodes = 10_000
    env = VectorEnv(model, episodes, seed=1)
    vector_returns, vector_lengths = first_episodes(
        env, lambda f: (f[:, 1] >= 0.5).astype(int)
    )
    simulated = [
        list(Simulator(model, HardThreshold(), episode_seed(2, e)))
        for e in range(episodes)
    ]
    returns = np.array([steps[-1].ret for steps in simulated])
    lengths = np.array([len(steps) for steps in simulated])

    # 3.29 standard errors: a 99.9% interval for the difference of two means.
    error = np.hypot(returns.std(), vector_returns.std()) / np.sqrt(episodes)
    assert abs(vector_returns.mean() - returns.mean()) < 3.29 * error
    error = np.hypot(lengths.std(), vector_lengths.std()) / np.sqrt(episodes)
    assert abs(vector_lengths.mean() - lengths.mean()) < 3.29 * error


def test_batched_update_equals_belief_update(model) -> None:
    rng = np.random.default_rng(3)
    beliefs = rng.dirichlet(np.ones(3), size=500)
    actions = rng.integers(0, 2, size=500)
    observations = rng.integers(0, 100, size=500)
    stops_left = rng.integers(1, 4, size=500)
    # The last stop moves every state to terminal, which emits only the count 99.
    observations[(stops_left == 1) & (actions == STOP)] = 99

    batched = batched_update(model, beliefs, actions, observations, stops_left - 1)

    expected = [
        update(model, b, int(a), int(o), int(l))
        for b, a, o, l in zip(beliefs, actions, observations, stops_left)
    ]
    np.testing.assert_array_equal(batched, np.array(expected))


def test_batched_update_rejects_impossible(model) -> None:
    beliefs = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])

    with pytest.raises(ImpossibleObservation, match="observation 5 has probability 0"):
        batched_update(
            model, beliefs, np.array([0, STOP]), np.array([5, 5]), np.zeros(2, int)
        )


def test_delayed_end_after_last_stop(tmp_path: Path) -> None:
    # Without attacks the state stays no_intrusion: stops cost -5/3, -5/2 and -5/1,
    # the last stop moves to terminal, and CSLE's delayed end adds a step with reward 0.
    text = SAMPLE.read_text().replace(
        "attacker_start_probability: 0.1", "attacker_start_probability: 0"
    )
    scenario = tmp_path / "no_attack.yaml"
    scenario.write_text(text)
    env = VectorEnv(load_scenario(scenario), 4, seed=0)

    returns, lengths = first_episodes(env, lambda f: np.full(len(f), STOP))

    np.testing.assert_allclose(returns, -5 / 3 - 5 / 2 - 5)
    np.testing.assert_array_equal(lengths, [4, 4, 4, 4])


def test_step_limit_truncates(model) -> None:
    env = VectorEnv(model, 2000, seed=0, max_steps=3)
    features = env.features()
    truncated = 0
    for _ in range(3):
        step = env.step(np.full(env.num_envs, CONTINUE))
        assert np.all(step.lengths <= 3)
        assert np.all(step.dones[step.truncated])
        truncated += int(step.truncated.sum())
        features = step.features
    assert features.shape == (2000, 4)
    assert truncated > 1000


def test_gae_hand_computed() -> None:
    # Column 0: the episode ends at t = 1. Column 1: no end, a reward at t = 2 only.
    rewards = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 1.0]])
    values = np.array([[0.5, 0.0], [1.0, 0.0], [1.5, 0.0]])
    dones = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    next_values = np.array([2.0, 0.0])

    advantages, targets = compute_gae(rewards, values, dones, next_values, 0.5, 0.5)

    # t=2: 3 + 0.5*2 - 1.5 = 2.5; t=1: 2 - 1 = 1; t=0: 1 + 0.5*1 - 0.5 + 0.25*1 = 1.25.
    np.testing.assert_array_equal(advantages[:, 0], [1.25, 1.0, 2.5])
    np.testing.assert_array_equal(targets[:, 0], [1.75, 2.0, 4.0])
    # A reward of 1 at t=2 reaches t=1 and t=0 with factor (gamma * lambda)^k.
    np.testing.assert_array_equal(advantages[:, 1], [0.0625, 0.25, 1.0])


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_joint_network_matches_actor_and_critic(activation) -> None:
    torch.manual_seed(0)
    actor = make_network(4, 2, [16, 8], activation)
    critic = make_network(4, 1, [16, 8], activation)
    x = np.random.default_rng(0).random((32, 4), dtype=np.float32)

    output = _JointNetwork(Network(actor), Network(critic))(x)

    with torch.no_grad():
        logits = actor(torch.from_numpy(x)).numpy()
        values = critic(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(output[:, :2], logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(output[:, 2:], values, rtol=1e-5, atol=1e-6)


def test_training_improves_return(model, tmp_path: Path) -> None:
    config = PPOConfig(**SHORT_RUN)
    initial = NeuralPolicy(model, make_actor_critic(model, config)[0])
    metrics = tmp_path / "metrics.csv"

    result = train(model, config, TrainingRun(metrics_path=metrics))

    trained = NeuralPolicy(model, result.actor)
    before = evaluate_policy(model, initial, 300, seed=5)["mean_return"]
    after = evaluate_policy(model, trained, 300, seed=5)["mean_return"]
    assert before < 0.0
    assert after > before + 6.0
    assert result.global_step == config.num_updates * config.batch_size
    rows = metrics.read_text().splitlines()
    assert rows[0].split(",") == ["global_step", *METRIC_KEYS]
    assert len(rows) == 1 + config.num_updates


def test_same_seed_same_weights(model) -> None:
    config = PPOConfig(total_timesteps=1024, num_envs=16, num_steps=32, seed=4)

    first = train(model, config).actor.state_dict()
    second = train(model, config).actor.state_dict()
    other = train(model, PPOConfig(**{**vars(config), "seed": 5})).actor.state_dict()

    assert all(torch.equal(first[key], second[key]) for key in first)
    assert not all(torch.equal(first[key], other[key]) for key in first)


def run_train_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pomdb")
    add_train_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", *argv])
    return args.handler(args)


def test_train_command_writes_policy(model, tmp_path: Path) -> None:
    out = tmp_path / "policies" / "short.json"
    options = [f"--{k.replace('_', '-')}={v}" for k, v in SHORT_RUN.items()]

    code = run_train_command(
        [str(SAMPLE), "--out", str(out), "--eval-episodes", "200", *options]
    )

    assert code == 0
    policy = load_policy(str(out), model)
    assert isinstance(policy, NeuralPolicy)
    metadata = json.loads(out.read_text())
    assert metadata["scenario"] == Path(os.path.relpath(SAMPLE, out.parent)).as_posix()
    assert metadata["training"]["seed"] == 0
    assert "--total-timesteps 24576" in metadata["training"]["command"]
    assert metadata["training"]["pomdb_version"]
    assert metadata["evaluation"]["episodes"] == 200
    assert metadata["evaluation"]["mean_return"] > 0.0


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--num-minibatches", "7"], "num_minibatches 7 does not divide"),
        (["--learning-rate", "-0.1"], "learning_rate must be a finite number > 0"),
        (["--gamma", "1.5"], "gamma must be in (0, 1]"),
        (["--gae-lambda", "nan"], "gae_lambda must be in [0, 1]"),
        (["--clip-coef", "0"], "clip_coef must be a finite number > 0"),
        (["--num-envs", "0"], "num_envs must be an integer >= 1"),
        (["--total-timesteps", "100"], "less than one batch"),
        (["--hidden", "64,x"], "not a comma-separated list of integers"),
        (["--hidden", "64,0"], "hidden must list positive layer sizes"),
        (["--activation", "sigmoid"], "activation 'sigmoid' is unknown"),
        (["--eval-episodes", "1"], "--eval-episodes must be at least 2"),
    ],
)
def test_train_command_rejects(option, message, tmp_path: Path, capsys) -> None:
    out = tmp_path / "policy.json"

    code = run_train_command([str(SAMPLE), "--out", str(out), *option])

    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_train_command_needs_json_out(tmp_path: Path, capsys) -> None:
    code = run_train_command([str(SAMPLE), "--out", str(tmp_path / "policy.pt")])

    assert code == 2
    assert "must end in .json" in capsys.readouterr().err


def test_sample_policy_stops_more_at_high_belief() -> None:
    model = load_scenario(EMULATION)
    policy = load_policy(str(SAMPLE_POLICY), model)

    for stops_left in (3, 2, 1):
        low = policy.action_probs(np.array([0.9, 0.1, 0.0]), stops_left, 0, None)
        high = policy.action_probs(np.array([0.1, 0.9, 0.0]), stops_left, 0, None)
        assert low[STOP] < 0.1
        assert high[STOP] > 0.9
