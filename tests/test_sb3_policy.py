"""Stable-Baselines3 model files as policies: SB3's probabilities, without pickle."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch
from stable_baselines3 import A2C, DQN, PPO
from torch import nn

from simcore.cli import main as pomdb_main
from simcore.gym_env import POMDPEnv
from simcore.neural import feature_size, features
from simcore.policies import PolicyError, load_policy
from simcore.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
POMDB = Path(sys.executable).with_name("pomdb")


@pytest.fixture(scope="module")
def model():
    return load_scenario(SAMPLE)


@pytest.fixture(scope="module")
def trained(model, tmp_path_factory) -> tuple[Path, PPO]:
    """SB3 PPO trained for 2,048 steps on the sample scenario, saved to ppo.zip."""
    sb3 = PPO(
        "MlpPolicy",
        POMDPEnv(model),
        n_steps=512,
        batch_size=128,
        n_epochs=2,
        gamma=1.0,
        seed=0,
        device="cpu",
    )
    sb3.learn(2048)
    path = tmp_path_factory.mktemp("sb3") / "ppo.zip"
    sb3.save(path)
    return path, sb3


def observations(model, env_steps: int = 300) -> np.ndarray:
    """Features of visited steps, then random beliefs with every count of stops left."""
    env = POMDPEnv(model)
    visited = [env.reset(seed=1)[0]]
    rng = np.random.default_rng(0)
    while len(visited) < env_steps:
        observation, _, terminated, truncated, _ = env.step(int(rng.random() < 0.1))
        visited.append(observation)
        if terminated or truncated:
            visited.append(env.reset()[0])
    beliefs = rng.dirichlet(np.full(len(model.states), 0.5), size=300)
    stops = rng.integers(0, model.stops + 1, size=300)
    drawn = [features(model, b, int(l)) for b, l in zip(beliefs, stops)]
    return np.asarray(visited + drawn, dtype=np.float32)


def sb3_probs(sb3, inputs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        distribution = sb3.policy.get_distribution(torch.as_tensor(inputs))
    return distribution.distribution.probs.numpy()


def our_probs(policy, model, inputs: np.ndarray) -> np.ndarray:
    rows = []
    for x in inputs.astype(np.float64):
        belief = x[: len(model.states)]
        stops_left = round(float(x[-1]) * model.stops)
        rows.append(policy.action_probs(belief, stops_left, 0, None))
    return np.asarray(rows)


def save_untrained(algorithm, env, path: Path, **policy_kwargs) -> Path:
    algorithm("MlpPolicy", env, policy_kwargs=policy_kwargs or None, seed=1,
              device="cpu").save(path)  # fmt: skip
    return path


class Spaces(gymnasium.Env):
    """An environment that only declares spaces, for models that are never trained."""

    def __init__(self, observation_space, action_space):
        self.observation_space = observation_space
        self.action_space = action_space

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, True, False, {}


def box(size: int) -> gymnasium.spaces.Box:
    return gymnasium.spaces.Box(0.0, 1.0, shape=(size,), dtype=np.float32)


# Probabilities


def test_ppo_probs_match_sb3(trained, model) -> None:
    path, sb3 = trained
    policy = load_policy(str(path), model)
    inputs = observations(model)
    assert len(inputs) >= 600
    np.testing.assert_allclose(
        our_probs(policy, model, inputs), sb3_probs(sb3, inputs), rtol=0, atol=1e-6
    )


def test_trained_policy_is_not_uniform(trained, model) -> None:
    path, _ = trained
    policy = load_policy(str(path), model)
    inputs = observations(model, env_steps=50)
    spread = our_probs(policy, model, inputs)[:, 1]
    assert spread.max() - spread.min() > 0.05


def test_actor_architecture_from_weights(trained, model) -> None:
    policy = load_policy(str(trained[0]), model)
    layers = [type(layer).__name__ for layer in policy.network]
    assert layers == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert policy.network[0].in_features == feature_size(model)
    assert policy.name == "ppo"


def test_a2c_relu_activation_from_file(model, tmp_path) -> None:
    path = save_untrained(
        A2C, POMDPEnv(model), tmp_path / "a2c.zip", net_arch=[32], activation_fn=nn.ReLU
    )
    policy = load_policy(str(path), model)
    assert [type(layer).__name__ for layer in policy.network] == [
        "Linear", "ReLU", "Linear"
    ]  # fmt: skip
    inputs = observations(model, env_steps=20)
    sb3 = A2C.load(path, device="cpu")
    np.testing.assert_allclose(
        our_probs(policy, model, inputs), sb3_probs(sb3, inputs), rtol=0, atol=1e-6
    )


def test_policy_file_overrides_activation(model, tmp_path) -> None:
    save_untrained(PPO, POMDPEnv(model), tmp_path / "ppo.zip", net_arch=[16, 16])
    spec = {"format": "pomdb-policy", "kind": "sb3", "model": "ppo.zip"}
    (tmp_path / "tanh.json").write_text(json.dumps(spec))
    (tmp_path / "relu.json").write_text(json.dumps({**spec, "activation": "relu"}))
    tanh = load_policy(str(tmp_path / "tanh.json"), model)
    relu = load_policy(str(tmp_path / "relu.json"), model)
    assert type(tanh.network[1]) is nn.Tanh
    assert type(relu.network[1]) is nn.ReLU
    assert relu.name == "relu"


# pomdb run and the debugger


def test_pomdb_run_with_zip(trained, capsys) -> None:
    code = pomdb_main(["run", str(SAMPLE), "--policy", str(trained[0]),
                       "--episodes", "5", "--json"])  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["policy"] == "ppo"
    assert result["episodes"] == 5


def test_debugger_opens_zip(trained, model, tmp_path) -> None:
    path, sb3 = trained
    script = tmp_path / "session.pomdb"
    script.write_text("print pi.stop\nquit\n")
    completed = subprocess.run(
        [str(POMDB), "debug", str(SAMPLE), "--policy", str(path), "--script",
         str(script)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    start = features(model, model.initial_belief, model.stops).astype(np.float32)
    expected = sb3_probs(sb3, start[None, :])[0, 1]
    assert f"pi.stop = {expected:.6f}" in completed.stdout


# Rejected files


def test_rejects_corrupt_zip(trained, model, tmp_path) -> None:
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(trained[0].read_bytes()[:500])
    with pytest.raises(PolicyError, match="not a readable zip file"):
        load_policy(str(corrupt), model)


def test_rejects_zip_without_weights(model, tmp_path) -> None:
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data", "{}")
    with pytest.raises(PolicyError, match="no 'policy.pth' entry"):
        load_policy(str(path), model)


def test_rejects_pickled_weights(trained, model, tmp_path) -> None:
    path = tmp_path / "pickled.zip"
    with zipfile.ZipFile(trained[0]) as source, zipfile.ZipFile(path, "w") as target:
        target.writestr("data", source.read("data"))
        target.writestr("policy.pth", _pickle_with_reduce())
    with pytest.raises(PolicyError, match="is not a PyTorch state dict of tensors"):
        load_policy(str(path), model)


def test_rejects_garbage_weights_without_torch_advice(trained, model, tmp_path) -> None:
    path = tmp_path / "garbage.zip"
    with zipfile.ZipFile(trained[0]) as source, zipfile.ZipFile(path, "w") as target:
        target.writestr("data", source.read("data"))
        target.writestr("policy.pth", b"garbage" * 10)
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), model)
    message = str(caught.value)
    assert message.startswith(f"{path}: the entry 'policy.pth' is corrupt or truncated")
    assert "restore it from a backup or save the model again" in message
    assert "weights_only" not in message


def _pickle_with_reduce() -> bytes:
    import io
    import pickle

    class Payload:
        def __reduce__(self):
            return (print, ("unpickled",))

    buffer = io.BytesIO()
    torch.save({"weights": Payload()}, buffer, pickle_module=pickle)
    return buffer.getvalue()


def test_rejects_other_observation_size(model, tmp_path) -> None:
    env = Spaces(box(6), gymnasium.spaces.Discrete(2))
    path = save_untrained(PPO, env, tmp_path / "wide.zip")
    with pytest.raises(PolicyError, match=r"observes \[6\].*shape \[4\]"):
        load_policy(str(path), model)


def test_rejects_other_action_count(model, tmp_path) -> None:
    env = Spaces(box(4), gymnasium.spaces.Discrete(3))
    path = save_untrained(PPO, env, tmp_path / "three.zip")
    with pytest.raises(PolicyError, match=r"Discrete\(3, start=0\) actions"):
        load_policy(str(path), model)


def test_rejects_continuous_actions(model, tmp_path) -> None:
    env = Spaces(box(4), gymnasium.spaces.Box(-1.0, 1.0, shape=(1,)))
    path = save_untrained(PPO, env, tmp_path / "continuous.zip")
    with pytest.raises(PolicyError, match="only Discrete action spaces"):
        load_policy(str(path), model)


def test_rejects_dqn(model, tmp_path) -> None:
    DQN("MlpPolicy", POMDPEnv(model), buffer_size=100, device="cpu").save(
        tmp_path / "dqn.zip"
    )
    with pytest.raises(PolicyError, match="unexpected parameter 'q_net"):
        load_policy(str(tmp_path / "dqn.zip"), model)


def test_rejects_unknown_activation(model, tmp_path) -> None:
    path = save_untrained(
        PPO, POMDPEnv(model), tmp_path / "hard.zip", activation_fn=nn.Hardtanh
    )
    with pytest.raises(PolicyError, match="unsupported activation .*Hardtanh"):
        load_policy(str(path), model)
