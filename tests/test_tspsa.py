"""T-SPSA: gain sequences, ordered thresholds, improvement, seeding and resume."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from simcore.checkpoint import load_checkpoint
from simcore.episode import Simulator, episode_seed
from simcore.policies import ThresholdPolicy, load_policy_file, smooth_threshold
from simcore.ppo_config import ConfigError
from simcore.scenario import load_scenario
from simcore.trainer import TrainingRun
from simcore.tspsa import project_ordered, train
from simcore.tspsa_config import TSPSAConfig, perturbation_size, step_size
from simcore.vector_env import VectorEnv
from simcore.vector_threshold import (
    VectorThresholdPolicy,
    estimate_return,
    stop_probabilities,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
# A short run: 12 iterations of 50 episodes per evaluation.
SHORT = {"iterations": 12, "episodes_per_evaluation": 50, "seed": 3}


@pytest.fixture(scope="module")
def model():
    return load_scenario(SAMPLE)


def threshold_rows(history: list[dict[str, float]]) -> list[list[float]]:
    return [[row[f"tspsa/threshold_{l}"] for l in (1, 2, 3)] for row in history]


def test_gain_sequences_match_csle_defaults() -> None:
    config = TSPSAConfig()

    assert step_size(config, 0) == 1.0 / 101**0.101
    assert step_size(config, 99) == 1.0 / 200**0.101
    assert perturbation_size(config, 0) == 10.0
    assert perturbation_size(config, 9) == 10.0 / 10**0.602
    assert config.iterations == 200
    assert config.initial_theta == -4.0


@pytest.mark.parametrize(
    "theta, expected",
    [
        ([3.0, 2.0, 1.0], [3.0, 2.0, 1.0]),
        ([0.0, 0.0, 5.0], [5 / 3, 5 / 3, 5 / 3]),
        ([3.0, 1.0, 2.0], [3.0, 1.5, 1.5]),
        ([1.0, 2.0, 3.0, -1.0], [2.0, 2.0, 2.0, -1.0]),
    ],
)
def test_projection_orders_thresholds(theta, expected) -> None:
    np.testing.assert_allclose(project_ordered(np.array(theta)), expected)


def test_projection_is_nearest_ordered_vector() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        theta = rng.normal(size=4)
        projected = project_ordered(theta)
        assert np.all(np.diff(projected) <= 1e-12)
        # Nearer than any other ordered vector tried.
        for _ in range(20):
            other = np.sort(rng.normal(size=4))[::-1]
            assert np.sum((theta - projected) ** 2) <= np.sum((theta - other) ** 2)


def test_stop_probabilities_match_scalar() -> None:
    rng = np.random.default_rng(1)
    beliefs = np.concatenate([rng.random(2000), [0.0, 1.0, 0.3]])
    thresholds = np.concatenate([rng.random(2000), [0.5, 0.5, 0.3]])
    thresholds[:5], thresholds[5:10] = 0.0, 1.0

    probabilities = stop_probabilities(beliefs, thresholds)

    expected = [smooth_threshold(b, a) for b, a in zip(beliefs, thresholds)]
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-13)
    assert probabilities[-1] == 0.5


def test_estimate_matches_simulator(model) -> None:
    episodes = 4000
    env = VectorEnv(model, episodes, seed=0)
    estimate = estimate_return(env, VectorThresholdPolicy(model, [0.5]), 11)
    simulated = np.array(
        [
            list(Simulator(model, ThresholdPolicy(model, [0.5]), episode_seed(5, e)))[
                -1
            ].ret
            for e in range(episodes)
        ]
    )

    # 3.29 standard errors: a 99.9% interval for the difference of two means.
    error = simulated.std() * math.sqrt(2.0 / episodes)
    assert abs(estimate.mean_return - simulated.mean()) < 3.29 * error
    assert estimate.episodes == episodes


def test_estimate_common_random_numbers(model) -> None:
    env = VectorEnv(model, 300, seed=0)
    policy = VectorThresholdPolicy(model, [0.6, 0.5, 0.4])

    first = estimate_return(env, policy, [1, 2])
    second = estimate_return(env, policy, [1, 2])
    other = estimate_return(env, policy, [1, 3])

    assert first == second
    assert other.mean_return != first.mean_return


def test_training_improves_return(model) -> None:
    config = TSPSAConfig(iterations=40, episodes_per_evaluation=200, seed=0)
    env = VectorEnv(model, 4000, seed=0)

    result = train(model, config)

    initial = [1 / (1 + math.exp(4.0))] * 3
    before = estimate_return(env, VectorThresholdPolicy(model, initial), 99)
    after = estimate_return(env, VectorThresholdPolicy(model, result.thresholds), 99)
    assert before.mean_return < -3.0
    # The best nested thresholds reach about 9.6 on this scenario.
    assert after.mean_return > 8.0
    assert len(result.history) == 40


def test_thresholds_ordered_every_iteration(model) -> None:
    result = train(model, TSPSAConfig(**SHORT))

    for thresholds in threshold_rows(result.history):
        assert thresholds[0] >= thresholds[1] >= thresholds[2]
    assert result.thresholds == sorted(result.thresholds, reverse=True)
    assert [row["global_step"] for row in result.history] == list(range(1, 13))


def test_same_seed_same_thresholds(model) -> None:
    first = train(model, TSPSAConfig(**SHORT))
    second = train(model, TSPSAConfig(**SHORT))
    other = train(model, TSPSAConfig(**{**SHORT, "seed": 4}))

    assert first.thresholds == second.thresholds
    assert threshold_rows(first.history) == threshold_rows(second.history)
    assert first.thresholds != other.thresholds


class InterruptedRun(TrainingRun):
    """A run stopped by Ctrl-C when iteration `stop_at` reports its metrics."""

    stop_at = 8

    def record(self, row: dict[str, float]) -> None:
        if row["global_step"] == self.stop_at:
            raise KeyboardInterrupt
        super().record(row)


def test_resume_equals_uninterrupted(model, tmp_path: Path) -> None:
    config = TSPSAConfig(**SHORT)
    checkpoint = tmp_path / "tspsa.ckpt"
    uninterrupted = train(model, config)

    with pytest.raises(KeyboardInterrupt):
        train(
            model,
            config,
            InterruptedRun(
                algorithm="tspsa", checkpoint_path=checkpoint, checkpoint_every=5
            ),
        )
    state = load_checkpoint(checkpoint, "tspsa", None)
    assert state["iteration"] == 5
    resumed = train(model, config, TrainingRun(algorithm="tspsa", resume_state=state))

    assert resumed.thresholds == uninterrupted.thresholds
    assert threshold_rows(resumed.history) == threshold_rows(uninterrupted.history)


def test_policy_file_loads(model, tmp_path: Path) -> None:
    result = train(model, TSPSAConfig(**{**SHORT, "iterations": 3}))
    path = tmp_path / "tspsa.json"

    result.save(path, model, {"training": {"algorithm": "tspsa"}})

    metadata = json.loads(path.read_text())
    assert metadata["format"] == "pomdb-policy"
    assert metadata["kind"] == "threshold"
    assert metadata["training"] == {"algorithm": "tspsa"}
    policy = load_policy_file(path, model)
    assert policy.thresholds == result.thresholds
    assert [p.name for p in tmp_path.iterdir()] == ["tspsa.json"]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"iterations": 0}, "iterations must be an integer >= 1"),
        ({"episodes_per_evaluation": 2.5}, "episodes_per_evaluation must be"),
        ({"perturbation_scale": 0.0}, "perturbation_scale must be a finite number > 0"),
        ({"step_decay": -1.0}, "step_decay must be a finite number >= 0"),
        ({"initial_theta": math.nan}, "initial_theta must be a finite number"),
        ({"seed": -1}, "seed must be an integer >= 0"),
    ],
)
def test_config_rejects(options, message) -> None:
    with pytest.raises(ConfigError, match=message):
        TSPSAConfig(**options).validate()
