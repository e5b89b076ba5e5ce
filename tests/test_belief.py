"""The Bayes filter, checked against updates worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simcore.belief import (
    ImpossibleObservation,
    observation_probability,
    predict,
    update,
)
from simcore.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
DATA = Path(__file__).resolve().parent / "data" / "scenarios"

LISTEN = 0
HEAR_LEFT, HEAR_RIGHT = 0, 1
CONTINUE, STOP = 0, 1


@pytest.fixture(scope="module")
def tiger():
    return load_scenario(DATA / "tiger.yaml")


@pytest.fixture(scope="module")
def small():
    # Alert counts 0..3, Z(o | no_intrusion) = (0.5, 0.3, 0.2, 0),
    # Z(o | intrusion) = (0, 0.2, 0.3, 0.5), the terminal state emits 3; L = 3.
    return load_scenario(DATA / "small_alerts.yaml")


def test_tiger_listen_once(tiger) -> None:
    belief = update(tiger, np.array([0.5, 0.5]), LISTEN, HEAR_LEFT, None)

    # 0.5 * 0.85 / (0.5 * 0.85 + 0.5 * 0.15) = 0.85
    np.testing.assert_allclose(belief, [0.85, 0.15], rtol=0, atol=1e-15)


def test_tiger_opposite_sound_returns_to_half(tiger) -> None:
    belief = update(tiger, np.array([0.85, 0.15]), LISTEN, HEAR_RIGHT, None)

    # 0.85 * 0.15 / (0.85 * 0.15 + 0.15 * 0.85) = 0.5
    np.testing.assert_allclose(belief, [0.5, 0.5], rtol=0, atol=1e-15)


def test_tiger_listen_sequence(tiger) -> None:
    beliefs = [np.array([0.5, 0.5])]
    for observation in (HEAR_LEFT, HEAR_RIGHT, HEAR_LEFT, HEAR_LEFT):
        beliefs.append(update(tiger, beliefs[-1], LISTEN, observation, None))

    # 0.85^2 / (0.85^2 + 0.15^2) = 0.7225 / 0.745 = 289 / 298
    expected_left = [0.5, 0.85, 0.5, 0.85, 289 / 298]
    np.testing.assert_allclose([b[0] for b in beliefs], expected_left, atol=1e-15)


def test_tiger_opening_resets_belief(tiger) -> None:
    open_left = tiger.action_index("open_left")

    belief = update(tiger, np.array([0.97, 0.03]), open_left, HEAR_LEFT, None)

    # The door resets the tiger to (0.5, 0.5); then hear_left weighs it 0.85 : 0.15.
    np.testing.assert_allclose(belief, [0.85, 0.15], atol=1e-15)


def test_hand_computed_intrusion_update(small) -> None:
    belief = np.array([0.6, 0.4, 0.0])

    # l = 3, continue; the attacker acts with probability 0.1, an intrusion ends
    # by itself with 1 / (2 * 3) = 1/6 when the attacker continues:
    #   from no_intrusion: 0.9 -> no_intrusion, 0.1 -> intrusion
    #   from intrusion:    0.9 * 5/6 = 0.75 -> intrusion, 0.9/6 + 0.1 = 0.25 -> terminal
    # predicted = 0.6 * (0.9, 0.1, 0) + 0.4 * (0, 0.75, 0.25) = (0.54, 0.36, 0.1)
    np.testing.assert_allclose(
        predict(small, belief, CONTINUE, 3), [0.54, 0.36, 0.1], atol=1e-15
    )

    # observation 1: Z(1 | s') = (0.3, 0.2, 0)
    # unnormalised = (0.54 * 0.3, 0.36 * 0.2, 0.1 * 0) = (0.162, 0.072, 0)
    # b' = (0.162, 0.072, 0) / 0.234 = (9/13, 4/13, 0)
    np.testing.assert_allclose(
        update(small, belief, CONTINUE, 1, 3), [9 / 13, 4 / 13, 0.0], atol=1e-15
    )


def test_hand_computed_two_stops_left(small) -> None:
    belief = np.array([0.6, 0.4, 0.0])

    # l = 2: an intrusion ends by itself with 1/4, so from intrusion
    #   0.9 * 3/4 = 0.675 -> intrusion, 0.9/4 + 0.1 = 0.325 -> terminal
    # predicted = (0.54, 0.06 + 0.27, 0.13) = (0.54, 0.33, 0.13)
    # observation 3: Z(3 | s') = (0, 0.5, 1)
    # unnormalised = (0, 0.165, 0.13), b' = (0, 0.165, 0.13) / 0.295 = (0, 33/59, 26/59)
    np.testing.assert_allclose(
        update(small, belief, CONTINUE, 3, 2), [0.0, 33 / 59, 26 / 59], atol=1e-15
    )


def test_last_stop_leaves_only_terminal(small) -> None:
    belief = update(small, np.array([0.3, 0.7, 0.0]), STOP, 3, 1)

    np.testing.assert_array_equal(belief, [0.0, 0.0, 1.0])


def test_impossible_observation_raises(small) -> None:
    # From a sure intrusion with l = 3 the next state is intrusion (0.75) or terminal
    # (0.25); neither emits count 0, so observing 0 has probability 0.
    belief = np.array([0.0, 1.0, 0.0])

    with pytest.raises(ImpossibleObservation) as caught:
        update(small, belief, CONTINUE, 0, 3)

    assert caught.value.observation == 0
    assert caught.value.action == CONTINUE
    assert "observation 0 has probability 0" in str(caught.value)
    assert "check the observation model or the recorded trace" in str(caught.value)


def test_impossible_observation_is_not_nan(small) -> None:
    with pytest.raises(ValueError):
        update(small, np.array([0.0, 1.0, 0.0]), CONTINUE, 0, 3)


def test_every_observation_normalises() -> None:
    model = load_scenario(SAMPLE)
    belief = np.array([0.7, 0.3, 0.0])

    for observation in range(model.num_observations):
        updated = update(model, belief, CONTINUE, observation, 3)
        assert updated.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.all(updated >= 0.0)


def test_observation_probability_sums_to_one() -> None:
    model = load_scenario(SAMPLE)

    probabilities = observation_probability(model, np.array([0.7, 0.3, 0.0]), STOP, 2)

    assert probabilities.shape == (100,)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-12)


def test_update_is_bayes_rule() -> None:
    model = load_scenario(SAMPLE)
    belief = np.array([0.5, 0.4, 0.1])

    # b'(s') = P(o, s' | b, a) / P(o | b, a)
    predicted = predict(model, belief, CONTINUE, 2)
    evidence = observation_probability(model, belief, CONTINUE, 2)
    for observation in (0, 17, 60, 99):
        joint = predicted * model.observation[:, observation]
        np.testing.assert_allclose(
            update(model, belief, CONTINUE, observation, 2),
            joint / evidence[observation],
            rtol=1e-13,
        )


def test_update_leaves_input_unchanged(small) -> None:
    belief = np.array([0.6, 0.4, 0.0])

    update(small, belief, CONTINUE, 1, 3)

    np.testing.assert_array_equal(belief, [0.6, 0.4, 0.0])
