"""The intrusion-prevention builder against the numbers of CSLE's stopping game.

The expected tensors are CSLE gym-csle-stopping-game 0.10.1 (`StoppingGameUtil`) with
simulation config v002: R_SLA = 1, R_INT = -5, R_COST = -5, R_ST = 5, L = 3, attacker
start probability 0.1, alert counts 0..99.
"""

from __future__ import annotations

from math import comb, exp, lgamma
from pathlib import Path

import numpy as np
import pytest

from simcore.builders import BuilderError, intrusion_prevention
from simcore.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
DATA = Path(__file__).resolve().parent / "data" / "scenarios"

CONTINUE, STOP = 0, 1
ATTACKER_CONTINUES, ATTACKER_ACTS = 0, 1


def beta_binomial_pmf(k: int, n: int, alpha: float, beta: float) -> float:
    """C(n, k) B(k + alpha, n - k + beta) / B(alpha, beta), from log-gamma."""

    def log_beta(a: float, b: float) -> float:
        return lgamma(a) + lgamma(b) - lgamma(a + b)

    return comb(n, k) * exp(log_beta(k + alpha, n - k + beta) - log_beta(alpha, beta))


@pytest.fixture(scope="module")
def built():
    return intrusion_prevention({}, 100)


@pytest.mark.parametrize("stops_left", [1, 2, 3])
def test_reward_continue(built, stops_left: int) -> None:
    reward = built.reward[stops_left - 1, CONTINUE]

    np.testing.assert_array_equal(reward[ATTACKER_CONTINUES], [1.0, 1.0 - 5.0, 0.0])
    np.testing.assert_array_equal(reward[ATTACKER_ACTS], [1.0, 1.0, 0.0])


@pytest.mark.parametrize("stops_left", [1, 2, 3])
def test_reward_stop_divided_by_stops_left(built, stops_left: int) -> None:
    reward = built.reward[stops_left - 1, STOP]
    cost, gain = -5.0 / stops_left, 5.0 / stops_left

    np.testing.assert_array_equal(reward[ATTACKER_CONTINUES], [cost, gain, 0.0])
    # CSLE's tensor: when the attacker quits as the defender stops, the defender
    # earns R_SLA in state intrusion.
    np.testing.assert_array_equal(reward[ATTACKER_ACTS], [cost, 1.0, 0.0])


def test_last_stop_ends_episode(built) -> None:
    for attacker_action in (ATTACKER_CONTINUES, ATTACKER_ACTS):
        rows = built.transition[0, STOP, attacker_action]
        np.testing.assert_array_equal(rows, [[0, 0, 1], [0, 0, 1], [0, 0, 1]])


def test_one_stop_left_continue(built) -> None:
    rows = built.transition[0, CONTINUE]

    # With l = 1 an ongoing intrusion does not end by itself: 1/(2l) is for l >= 2.
    np.testing.assert_array_equal(rows[ATTACKER_CONTINUES], np.eye(3))
    np.testing.assert_array_equal(
        rows[ATTACKER_ACTS], [[0, 1, 0], [0, 0, 1], [0, 0, 1]]
    )


@pytest.mark.parametrize("stops_left, end", [(2, 1 / 4), (3, 1 / 6)])
def test_intrusion_ends_with_one_over_2l(built, stops_left: int, end: float) -> None:
    for action in (CONTINUE, STOP):
        rows = built.transition[stops_left - 1, action]
        np.testing.assert_array_equal(
            rows[ATTACKER_CONTINUES], [[1, 0, 0], [0, 1 - end, end], [0, 0, 1]]
        )
        np.testing.assert_array_equal(
            rows[ATTACKER_ACTS], [[0, 1, 0], [0, 0, 1], [0, 0, 1]]
        )


def test_attacker_starts_with_probability_one_tenth(built) -> None:
    np.testing.assert_array_equal(built.attacker, [[0.9, 0.1]] * 3)


def test_marginal_transition_three_stops_left() -> None:
    model = load_scenario(SAMPLE)

    np.testing.assert_allclose(
        model.marginal_transition[2, CONTINUE],
        [[0.9, 0.1, 0.0], [0.0, 0.9 * 5 / 6, 0.9 / 6 + 0.1], [0.0, 0.0, 1.0]],
        rtol=0,
        atol=1e-15,
    )


def test_marginal_reward_three_stops_left() -> None:
    model = load_scenario(SAMPLE)

    np.testing.assert_allclose(
        model.marginal_reward[2],
        [[1.0, 0.9 * -4.0 + 0.1 * 1.0, 0.0], [-5 / 3, 0.9 * 5 / 3 + 0.1 * 1.0, 0.0]],
        rtol=0,
        atol=1e-15,
    )


@pytest.mark.parametrize("state, alpha, beta", [(0, 0.7, 3.0), (1, 1.0, 0.7)])
def test_beta_binomial_rows(built, state: int, alpha: float, beta: float) -> None:
    expected = [beta_binomial_pmf(k, 99, alpha, beta) for k in range(100)]

    np.testing.assert_allclose(built.observation[state], expected, rtol=1e-10, atol=0)


@pytest.mark.parametrize("state, mean", [(0, 99 * 0.7 / 3.7), (1, 99 * 1.0 / 1.7)])
def test_beta_binomial_means(built, state: int, mean: float) -> None:
    # E[BB(n, alpha, beta)] = n alpha / (alpha + beta).
    assert built.observation[state] @ np.arange(100) == pytest.approx(mean, abs=1e-9)


def test_terminal_emits_largest_count(built) -> None:
    expected = np.zeros(100)
    expected[99] = 1.0

    np.testing.assert_array_equal(built.observation[2], expected)


def test_defaults_match_sample(built) -> None:
    model = load_scenario(SAMPLE)

    np.testing.assert_array_equal(model.transition, built.transition)
    np.testing.assert_array_equal(model.reward, built.reward)
    np.testing.assert_array_equal(model.observation, built.observation)
    np.testing.assert_array_equal(model.attacker, built.attacker)
    np.testing.assert_array_equal(model.initial_belief, [1.0, 0.0, 0.0])
    assert built.done_delay is True


def test_seven_stops(built) -> None:
    seven = intrusion_prevention({"stops": 7}, 100)

    assert seven.transition.shape == (7, 2, 2, 3, 3)
    assert seven.transition[6, CONTINUE, ATTACKER_CONTINUES, 1, 2] == 1 / 14
    np.testing.assert_array_equal(
        seven.reward[6, STOP, ATTACKER_CONTINUES], [-5 / 7, 5 / 7, 0]
    )
    np.testing.assert_array_equal(seven.transition[:3], built.transition)


def test_separate_terminal_observation(built) -> None:
    separate = intrusion_prevention({"terminal_observation": "separate"}, 101)

    assert separate.observation.shape == (3, 101)
    np.testing.assert_array_equal(separate.observation[:2, :100], built.observation[:2])
    np.testing.assert_array_equal(separate.observation[:2, 100], [0.0, 0.0])
    assert separate.observation[2, 100] == 1.0
    assert separate.done_delay is False


def test_done_delay_override() -> None:
    assert intrusion_prevention({"done_delay": False}, 100).done_delay is False


def test_rewards_from_parameters() -> None:
    custom = intrusion_prevention(
        {"R_SLA": 2, "R_INT": -10, "R_COST": -6, "R_ST": 9, "stops": 2}, 100
    )

    np.testing.assert_array_equal(
        custom.reward[1, CONTINUE, ATTACKER_CONTINUES], [2, -8, 0]
    )
    np.testing.assert_array_equal(
        custom.reward[1, STOP, ATTACKER_CONTINUES], [-3, 4.5, 0]
    )
    np.testing.assert_array_equal(
        custom.reward[0, STOP, ATTACKER_CONTINUES], [-6, 9, 0]
    )


def test_table_observation_model() -> None:
    model = load_scenario(DATA / "small_alerts.yaml")

    np.testing.assert_array_equal(
        model.observation,
        [[0.5, 0.3, 0.2, 0.0], [0.0, 0.2, 0.3, 0.5], [0.0, 0.0, 0.0, 1.0]],
    )


BUILDER_ERRORS = [
    ({"stops": 0}, 100, "stops", "stops must be an integer >= 1, got 0"),
    ({"stops": 2.5}, 100, "stops", "stops must be an integer >= 1"),
    ({"R_ST": "high"}, 100, "R_ST", "R_ST must be a number, got 'high'"),
    ({"R_SLA": True}, 100, "R_SLA", "R_SLA must be a number"),
    (
        {"attacker_start_probability": 1.5},
        100,
        "attacker_start_probability",
        "attacker_start_probability 1.5 is not in [0, 1]",
    ),
    (
        {"terminal_observation": "min"},
        100,
        "terminal_observation",
        "terminal_observation must be 'max' or 'separate', got 'min'",
    ),
    ({"done_delay": "yes"}, 100, "done_delay", "done_delay must be true or false"),
    ({}, 1, "terminal_observation", "needs at least 2 alert counts"),
    ({"R_STT": 5}, 100, "R_STT", "unknown parameter 'R_STT'; known: stops"),
    (
        {"observation_model": {"kind": "poisson", "no_intrusion": {}, "intrusion": {}}},
        100,
        "observation_model",
        "observation_model.kind 'poisson' is unknown; use beta-binomial or table",
    ),
    (
        {
            "observation_model": {
                "kind": "beta-binomial",
                "intrusion": {"alpha": 1, "beta": 1},
            }
        },
        100,
        "observation_model",
        "observation_model has no entry for state 'no_intrusion'",
    ),
    (
        {
            "observation_model": {
                "no_intrusion": {"alpha": -1, "beta": 3},
                "intrusion": {"alpha": 1, "beta": 0.7},
            }
        },
        100,
        "observation_model",
        "observation_model.no_intrusion: alpha and beta must be positive",
    ),
    (
        {
            "observation_model": {
                "kind": "table",
                "no_intrusion": [0.5, 0.5],
                "intrusion": [0.25, 0.25, 0.25, 0.25],
            }
        },
        4,
        "observation_model",
        "observation_model.no_intrusion has 2 probabilities, expected 4",
    ),
    (
        {
            "observation_model": {
                "kind": "table",
                "no_intrusion": [0.5, 0.5, 0.5, 0.5],
                "intrusion": [0.25, 0.25, 0.25, 0.25],
            }
        },
        4,
        "observation_model",
        "must be non-negative and sum to 1 (sums to 2)",
    ),
    (
        {
            "observation_model": {
                "kind": "table",
                "no_intrusion": ["a", "b", "c", "d"],
                "intrusion": [0.25, 0.25, 0.25, 0.25],
            }
        },
        4,
        "observation_model",
        "observation_model.no_intrusion must be a list of probabilities",
    ),
]


@pytest.mark.parametrize("params, values, key, message", BUILDER_ERRORS)
def test_builder_error_names_parameter(
    params: dict, values: int, key: str, message: str
) -> None:
    with pytest.raises(BuilderError) as caught:
        intrusion_prevention(params, values)

    assert caught.value.key == key
    assert message in str(caught.value)
