"""The batched simulator: alias sampling, common random numbers and the world model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from simcore.alias_table import AliasTable
from simcore.model import ModelError
from simcore.scenario import load_scenario
from simcore.vector_env import VectorEnv, batched_update

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
CONTINUE, STOP = 0, 1
NO_INTRUSION, INTRUSION, TERMINAL = 0, 1, 2


@pytest.fixture(scope="module")
def model():
    return load_scenario(SAMPLE)


def variant(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """Write a copy of the sample scenario with one text replaced."""
    text = SAMPLE.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return path


def test_alias_table_frequencies() -> None:
    probs = np.array([[0.5, 0.0, 0.3, 0.2], [0.0, 0.0, 1.0, 0.0], [0.1, 0.2, 0.3, 0.4]])
    table = AliasTable(probs)
    draws = 200_000
    rng = np.random.default_rng(0)

    for row in range(len(probs)):
        out = np.empty(draws, dtype=np.int64)
        samples = table.sample(row, rng.random(draws), out=out)
        frequencies = np.bincount(samples, minlength=4) / draws
        # 5 standard errors of a frequency estimated from 200,000 draws.
        bound = 5 * np.sqrt(probs[row] * (1 - probs[row]) / draws) + 1e-12
        assert np.all(np.abs(frequencies - probs[row]) <= bound), (row, frequencies)
        assert np.all(frequencies[probs[row] == 0] == 0)


def test_alias_table_edges_of_unit_interval() -> None:
    table = AliasTable(np.array([[0.25, 0.0, 0.75]]))
    uniforms = np.array([0.0, 1e-17, 0.5, np.nextafter(1.0, 0.0)])

    samples = table.sample(0, uniforms, out=np.empty(4, dtype=np.int64))

    assert np.all(samples != 1)
    assert np.all((samples >= 0) & (samples <= 2))


def test_alias_table_rejects_zero_row() -> None:
    with pytest.raises(ValueError, match="positive sum"):
        AliasTable(np.array([[0.5, 0.5], [0.0, 0.0]]))


def test_same_seed_same_episodes(model) -> None:
    first, second = VectorEnv(model, 500, seed=7), VectorEnv(model, 500, seed=7)
    for _ in range(30):
        actions = (first.beliefs[:, INTRUSION] > 0.6).astype(np.int64)
        a, b = first.step(actions), second.step(actions)
        np.testing.assert_array_equal(a.rewards, b.rewards)
        np.testing.assert_array_equal(first.states, second.states)
        np.testing.assert_array_equal(first.beliefs, second.beliefs)


def test_random_numbers_do_not_depend_on_actions(model) -> None:
    # Never stopping and always stopping: the attacker's start of the intrusion
    # uses the same uniforms, so both see it in the same slots at step 1.
    passive, active = VectorEnv(model, 2000, seed=3), VectorEnv(model, 2000, seed=3)
    np.testing.assert_array_equal(passive.states, active.states)
    passive.step(np.full(2000, CONTINUE))
    active.step(np.full(2000, STOP))

    started = passive.states == INTRUSION
    assert started.sum() > 100
    np.testing.assert_array_equal(active.states == INTRUSION, started)


def test_features_after_reset(model) -> None:
    env = VectorEnv(model, 64, seed=0, max_steps=2)
    env.step(np.full(64, CONTINUE))
    step = env.step(np.full(64, CONTINUE))

    assert step.dones.all()
    np.testing.assert_array_equal(step.features, np.tile([1.0, 0.0, 0.0, 1.0], (64, 1)))
    assert np.all(step.final_features[:, 3] == 1.0)
    assert not np.array_equal(step.final_features, step.features)


def test_world_generates_states(model, tmp_path: Path) -> None:
    no_attack = load_scenario(
        variant(
            tmp_path,
            "no_attack.yaml",
            "attacker_start_probability: 0.1",
            "attacker_start_probability: 0",
        )
    )
    env = VectorEnv(model, 1000, seed=0, world=no_attack)

    for _ in range(20):
        env.step(np.full(1000, CONTINUE))
        assert not np.any(env.states == INTRUSION)
    # The defender's model still expects attacks, so its belief rises above 0.
    assert env.beliefs[:, INTRUSION].max() > 0.1


def test_world_belief_follows_model(model, tmp_path: Path) -> None:
    world = load_scenario(
        variant(
            tmp_path,
            "eager.yaml",
            "attacker_start_probability: 0.1",
            "attacker_start_probability: 0.5",
        )
    )
    env = VectorEnv(model, 2000, seed=1, world=world)
    env.step(np.full(2000, CONTINUE))
    beliefs = env.beliefs.copy()
    stages = env.stages()
    actions = np.full(2000, CONTINUE)

    env.step(actions)

    live = ~env.in_terminal & (env.t == 2)
    expected = batched_update(model, beliefs, actions, env.observations, stages)
    by_world = batched_update(world, beliefs, actions, env.observations, stages)
    np.testing.assert_allclose(env.beliefs[live], expected[live], rtol=1e-12)
    assert not np.allclose(env.beliefs[live], by_world[live])
    # Half the attackers start at once in the world, a tenth in the model.
    assert 0.4 < np.mean(env.states[env.t == 2] != NO_INTRUSION) < 0.9


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("  stops: 3", "  stops: 2", "stops 2"),
        ("range: [0, 99]", "range: [0, 49]", "observations"),
    ],
)
def test_world_must_match_model(model, tmp_path: Path, old, new, message) -> None:
    path = variant(tmp_path, "other.yaml", old, new)
    world = load_scenario(path)

    with pytest.raises(ModelError, match=message) as error:
        VectorEnv(model, 4, seed=0, world=world)
    assert str(path) in str(error.value)
    assert "same states, actions and observations" in str(error.value)


@pytest.mark.parametrize(
    "field, names",
    [("states", ("idle", "compromised", "terminal")), ("actions", ("wait", "stop"))],
)
def test_world_names_must_match(model, field, names) -> None:
    world = replace(model, **{field: names}, path=None, name="renamed")

    with pytest.raises(ModelError, match=f"the world model has {field}"):
        VectorEnv(model, 4, seed=0, world=world)
