"""Episodes: seeding, step semantics, CSLE's delayed end, replays and `pomdb run`."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import accumulate, pairwise
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from simcore.belief import update
from simcore.cli import main
from simcore.episode import ObservationReplay, Simulator, Step, episode_seed, simulate
from simcore.policies import load_policy
from simcore.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
DATA = Path(__file__).resolve().parent / "data" / "scenarios"
POMDB = Path(sys.executable).with_name("pomdb")

NO_INTRUSION, INTRUSION, TERMINAL = 0, 1, 2
CONTINUE, STOP = 0, 1


@pytest.fixture(scope="module")
def model():
    return load_scenario(SAMPLE)


def episodes(model, spec: str, seed: int, count: int) -> list[list[Step]]:
    policy = load_policy(spec, model)
    return [simulate(model, policy, seed, episode) for episode in range(count)]


def fields(step: Step) -> tuple:
    return (
        step.t, step.state, step.stops_left, step.observation, step.belief.tolist(),
        step.action_probs.tolist(), step.action, step.attacker_action, step.reward,
        step.ret, step.done,
    )  # fmt: skip


def test_same_seed_same_episode(model) -> None:
    policy = load_policy("threshold:0.5", model)

    first = simulate(model, policy, 7, 3)
    second = simulate(model, policy, 7, 3)

    assert [fields(step) for step in first] == [fields(step) for step in second]


def test_episode_index_changes_episode(model) -> None:
    policy = load_policy("threshold:0.5", model)

    first = simulate(model, policy, 7, 0)
    second = simulate(model, policy, 7, 1)

    assert [s.observation for s in first] != [s.observation for s in second]


def test_episode_seed_sequence() -> None:
    assert episode_seed(7, 3).entropy == [7, 3]


def test_first_step(model) -> None:
    (first, *_) = simulate(model, load_policy("threshold:0.5", model), 1, 0)

    assert first.t == 0
    assert first.state == NO_INTRUSION
    assert first.stops_left == 3
    assert first.observation is None
    np.testing.assert_array_equal(first.belief, [1.0, 0.0, 0.0])


def test_steps_count_from_zero(model) -> None:
    for steps in episodes(model, "threshold:0.5", 2, 10):
        assert [step.t for step in steps] == list(range(len(steps)))


def test_delayed_done_in_terminal_state(model) -> None:
    for steps in episodes(model, "threshold:0.5", 3, 30):
        last = steps[-1]
        assert last.state == TERMINAL
        assert last.reward == 0.0
        assert last.observation == 99
        assert last.done is True
        assert last.ret == steps[-2].ret
        assert [step.done for step in steps[:-1]] == [False] * (len(steps) - 1)
        assert TERMINAL not in [step.state for step in steps[:-1]]


def test_done_without_delay() -> None:
    model = load_scenario(DATA / "separate_terminal.yaml")

    for steps in episodes(model, "threshold:0.5", 3, 30):
        assert steps[-1].done is True
        assert TERMINAL not in [step.state for step in steps]
        assert [step.done for step in steps[:-1]] == [False] * (len(steps) - 1)


def test_returns_add_up(model) -> None:
    for steps in episodes(model, "threshold:0.3", 4, 30):
        assert [step.ret for step in steps] == list(accumulate(s.reward for s in steps))


def test_discounted_returns_add_up() -> None:
    tiger = load_scenario(DATA / "tiger.yaml")

    steps = simulate(tiger, load_policy("random", tiger), 5, 0)

    expected = accumulate(step.reward * 0.95**step.t for step in steps)
    assert [step.ret for step in steps] == pytest.approx(list(expected), abs=1e-12)


def test_reward_is_tensor_entry(model) -> None:
    for steps in episodes(model, "random:0.3", 6, 20):
        for step in steps[:-1]:
            k = model.stage(step.stops_left)
            expected = model.reward[k, step.action, step.attacker_action, step.state]
            assert step.reward == expected


def test_stops_left_decrease_after_stop(model) -> None:
    for steps in episodes(model, "random:0.3", 8, 30):
        for step, following in pairwise(steps):
            used = 1 if step.action == STOP else 0
            assert following.stops_left == step.stops_left - used


def test_last_stop_reaches_terminal(model) -> None:
    for steps in episodes(model, "random:0.5", 9, 30):
        for step, following in pairwise(steps):
            if step.action == STOP and step.stops_left == 1:
                assert following.state == TERMINAL


def test_belief_follows_filter(model) -> None:
    for steps in episodes(model, "random:0.3", 10, 10):
        for step, following in pairwise(steps):
            expected = update(
                model, step.belief, step.action, following.observation, step.stops_left
            )
            np.testing.assert_array_equal(following.belief, expected)


def test_action_probs_from_policy(model) -> None:
    policy = load_policy("threshold:0.9,0.7,0.5", model)

    for step in simulate(model, policy, 11, 0):
        expected = policy.action_probs(step.belief, step.stops_left, step.t, None)
        np.testing.assert_array_equal(step.action_probs, expected)


def test_step_limit(model) -> None:
    simulator = Simulator(model, load_policy("threshold:0.99", model), 12, max_steps=3)

    steps = list(simulator)

    assert len(steps) <= 3
    assert steps[-1].done is True


def test_scenario_step_limit() -> None:
    tiger = load_scenario(DATA / "tiger.yaml")

    steps = simulate(tiger, load_policy("random", tiger), 13, 0)

    # Tiger has no terminal state, so every episode runs to max_steps: 100.
    assert len(steps) == 100
    assert steps[-1].done is True


def test_next_step_after_end(model) -> None:
    simulator = Simulator(model, load_policy("threshold:0.5", model), 14)
    list(simulator)

    with pytest.raises(StopIteration):
        simulator.next_step()


OBSERVATIONS = [3, 40, 85, 97, 12, 99]


def test_replay_hides_state(model) -> None:
    replay = ObservationReplay(
        model, load_policy("threshold:0.99", model), OBSERVATIONS, 0
    )

    steps = list(replay)

    assert len(steps) == len(OBSERVATIONS) + 1
    for step in steps:
        assert step.state is None
        assert step.attacker_action is None
        assert step.reward is None
        assert step.ret is None
    assert [step.observation for step in steps] == [None, *OBSERVATIONS]
    assert [step.done for step in steps] == [False] * len(OBSERVATIONS) + [True]


def test_replay_belief_recomputed(model) -> None:
    policy = load_policy("threshold:0.9,0.7,0.5", model)

    steps = list(ObservationReplay(model, policy, OBSERVATIONS, 1))

    belief, stops_left = model.initial_belief, 3
    np.testing.assert_array_equal(steps[0].belief, belief)
    for step, following in pairwise(steps):
        assert step.stops_left == stops_left
        belief = update(model, belief, step.action, following.observation, stops_left)
        np.testing.assert_array_equal(following.belief, belief)
        stops_left -= 1 if step.action == STOP else 0


def test_replay_ends_after_last_stop(model) -> None:
    steps = list(
        ObservationReplay(model, load_policy("random:1", model), OBSERVATIONS, 2)
    )

    assert [step.stops_left for step in steps] == [3, 2, 1]
    assert steps[-1].done is True


def test_replay_rejects_unknown_observation(model) -> None:
    with pytest.raises(ValueError) as caught:
        ObservationReplay(model, load_policy("threshold:0.5", model), [4, 100], 0)

    assert "observation 100 at position 1 is outside the scenario's 0..99" in str(
        caught.value
    )


def run_arguments(*extra: str) -> list[str]:
    return [
        "run", str(SAMPLE), "--policy", "threshold:0.5", "--episodes", "20",
        "--seed", "3", *extra,
    ]  # fmt: skip


def test_cli_run_json(model, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(run_arguments("--json"))

    out = capsys.readouterr().out
    assert code == 0
    assert len(out.splitlines()) == 1
    result = json.loads(out)
    returns = [steps[-1].ret for steps in episodes(model, "threshold:0.5", 3, 20)]
    assert result["episodes"] == 20
    assert result["policy"] == "threshold:0.5,0.5,0.5"
    assert result["mean_return"] == pytest.approx(np.mean(returns), abs=1e-12)
    half_width = stats.t.ppf(0.975, 19) * np.std(returns, ddof=1) / np.sqrt(20)
    assert result["ci95"] == pytest.approx(half_width, rel=1e-12)


def test_cli_run_subprocess(capsys: pytest.CaptureFixture[str]) -> None:
    main(run_arguments("--json"))
    in_process = json.loads(capsys.readouterr().out)

    finished = subprocess.run(
        [str(POMDB), *run_arguments("--json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout) == in_process


def test_cli_run_missing_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", str(tmp_path / "absent.yaml"), "--policy", "threshold:0.5"])

    assert code == 2
    assert capsys.readouterr().err == (
        f"pomdb: error: {tmp_path / 'absent.yaml'}: scenario file not found\n"
    )


def test_cli_one_episode_has_no_interval(capsys: pytest.CaptureFixture[str]) -> None:
    main(["run", str(SAMPLE), "--policy", "threshold:0.5", "--episodes", "1", "--json"])

    out = capsys.readouterr().out
    # Strict JSON: NaN would break JSON.parse in the editor.
    assert (
        json.loads(out, parse_constant=lambda name: pytest.fail(name))["ci95"] is None
    )
