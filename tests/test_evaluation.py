"""Paired evaluation: common random numbers, metric definitions, statistics, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from simcore.batched_policies import batched_action_probs
from simcore.cli import main
from simcore.common_random_numbers import ATTACKER, SOURCES, CommonRandomNumbers
from simcore.episode import Simulator, episode_seed
from simcore.evaluation import evaluate
from simcore.evaluation_cli import (
    INTRUSION_BASELINES,
    OTHER_BASELINES,
    load_policies,
    policy_specs,
)
from simcore.evaluation_report import report
from simcore.intrusion_metrics import IntrusionTracker
from simcore.model import POMDP, ObservationComponent
from simcore.policies import load_policy
from simcore.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
EMULATION = REPO / "samples" / "intrusion_prevention_emulation.yaml"
PPO = REPO / "samples" / "policies" / "ppo_emulation.json"
DATA = Path(__file__).resolve().parent / "data" / "scenarios"
TIGER = DATA / "tiger.yaml"
SEPARATE = DATA / "separate_terminal.yaml"


@pytest.fixture(scope="module")
def model() -> POMDP:
    return load_scenario(SAMPLE)


def policies(model: POMDP, *specs: str) -> list:
    return [(spec, load_policy(spec, model)) for spec in specs]


# Common random numbers


def test_streams_are_numpy_generators_per_episode_and_source():
    streams = CommonRandomNumbers(seed=7, episodes=4)
    for episode in range(4):
        children = np.random.SeedSequence([7, episode]).spawn(len(SOURCES))
        for source, child in enumerate(children):
            expected = np.random.Generator(np.random.PCG64(child)).random(150)
            drawn = [
                streams.uniforms(source, np.array([episode]), t)[0] for t in range(150)
            ]
            assert np.array_equal(drawn, expected), (episode, SOURCES[source])


def test_streams_do_not_depend_on_request_order():
    first = CommonRandomNumbers(seed=3, episodes=5)
    second = CommonRandomNumbers(seed=3, episodes=5)
    first.uniforms(ATTACKER, np.array([2]), 500)
    everyone = np.arange(5)
    for t in (0, 63, 64, 200, 500):
        for source in range(len(SOURCES)):
            assert np.array_equal(
                first.uniforms(source, everyone, t),
                second.uniforms(source, everyone, t),
            )


def test_intrusion_starts_at_same_step_for_every_policy(model):
    specs = ("random:0", "first-alert", "threshold:0.5", "random:0.3")
    evaluation = evaluate(model, policies(model, *specs), episodes=400, seed=11)
    never = evaluation.policies[0].intrusion

    # Without stops the attacker alone decides: its first "attack" draw at step t
    # (u >= 1 - 0.1 by inverse CDF) starts the intrusion at step t + 1.
    streams = CommonRandomNumbers(seed=11, episodes=400)
    for episode in range(400):
        t = 0
        while streams.uniforms(ATTACKER, np.array([episode]), t)[0] < 0.9:
            t += 1
        assert never.intrusion_start[episode] == t + 1

    # A policy meets the same start unless its final stop ended the episode before.
    for result in evaluation.policies[1:]:
        tracker = result.intrusion
        stopped_before = (tracker.final_stop >= 0) & (
            tracker.final_stop < never.intrusion_start
        )
        expected = np.where(stopped_before, -1, never.intrusion_start)
        assert np.array_equal(tracker.intrusion_start, expected), result.name
        assert stopped_before.any(), result.name
        assert not stopped_before.all(), result.name


# Metric definitions on hand-built episodes


def feed(tracker: IntrusionTracker, episodes: list[list[tuple]]) -> None:
    """Record episodes given as lists of (state, stops left, action) per step."""
    for t in range(max(len(e) for e in episodes)):
        alive = [i for i, e in enumerate(episodes) if t < len(e)]
        steps = [episodes[i][t] for i in alive]
        states, stops_left, actions = (np.array(column) for column in zip(*steps))
        stops_left = None if stops_left[0] is None else stops_left
        tracker.record(np.array(alive), t, states, stops_left, actions)


def test_metrics_of_hand_built_episodes(model):
    # States 0 no_intrusion, 1 intrusion, 2 terminal; action 1 is the stop.
    episodes = [
        # Early stop at 0, intrusion from 2, stops at 3 and (final) 4, then the
        # delayed terminal step whose stop action is no stop.
        [(0, 3, 1), (0, 2, 0), (1, 2, 0), (1, 2, 1), (1, 1, 1), (2, 0, 1)],
        # No intrusion and no stop.
        [(0, 3, 0), (0, 3, 0), (0, 3, 0)],
        # Intrusion from 1, ended by the attacker at 2 without a stop.
        [(0, 3, 0), (1, 3, 0), (2, 3, 1)],
        # Intrusion from the first step, stopped there with the last stop.
        [(1, 1, 1), (2, 0, 0)],
        # All three stops before the intrusion.
        [(0, 3, 1), (0, 2, 1), (0, 1, 1), (2, 0, 0)],
        # Intrusion from 1; the final stop at 3 comes after it ended by itself.
        [(0, 3, 0), (1, 1, 0), (0, 1, 0), (0, 1, 1), (2, 0, 0)],
    ]
    tracker = IntrusionTracker(model, len(episodes))
    feed(tracker, episodes)

    assert tracker.intrusion_start.tolist() == [2, -1, 1, 0, -1, 1]
    assert tracker.early_stop.tolist() == [True, False, False, False, True, False]
    assert tracker.prevented.tolist() == [True, False, False, True, False, False]
    assert tracker.final_stop.tolist() == [4, -1, -1, 0, 2, 3]
    assert tracker.first_stop_after_start.tolist() == [3, -1, -1, 0, -1, 3]
    assert tracker.stops.tolist() == [3, 0, 0, 1, 3, 1]
    assert tracker.delays.tolist() == [1, 0, 2]


def test_metrics_without_stop_counter_count_every_stop_final():
    model = POMDP(
        states=("no_intrusion", "intrusion"),
        actions=("continue", "stop"),
        observation_components=(ObservationComponent("alerts", 2),),
        attacker_actions=("none",),
        attacker=np.ones((2, 1)),
        transition=np.array([[[[[0.9, 0.1], [0.0, 1.0]]], [[[1.0, 0.0], [1.0, 0.0]]]]]),
        observation=np.array([[0.8, 0.2], [0.3, 0.7]]),
        reward=np.zeros((1, 2, 1, 2)),
        initial_belief=np.array([1.0, 0.0]),
        max_steps=10,
        stop_action=1,
    )
    tracker = IntrusionTracker(model, 2)
    feed(tracker, [
        [(0, None, 1), (1, None, 0), (1, None, 1)],
        [(0, None, 0), (0, None, 1)],
    ])  # fmt: skip
    assert tracker.prevented.tolist() == [True, False]
    assert tracker.early_stop.tolist() == [True, True]
    assert tracker.final_stop.tolist() == [0, 1]
    assert tracker.delays.tolist() == [1]


def test_tracker_rejects_model_without_intrusion():
    with pytest.raises(ValueError, match="state named 'intrusion'"):
        IntrusionTracker(load_scenario(TIGER), 3)


# Agreement with the step-by-step simulator


def simulator_episodes(
    model: POMDP, policy, episodes: int, seed: int, max_steps: int | None
) -> dict:
    """Return returns, lengths and metrics computed plainly from Simulator steps."""
    intrusion = model.states.index("intrusion") if "intrusion" in model.states else None
    returns, lengths, prevented, early = [], [], [], []
    for i in range(episodes):
        steps = list(Simulator(model, policy, episode_seed(seed, i), max_steps))
        returns.append(steps[-1].ret)
        lengths.append(len(steps))
        if intrusion is None:
            continue
        live = [s for s in steps if s.state not in model.terminal_states]
        stops = [s for s in live if s.action == model.stop_action]
        start = next((s.t for s in steps if s.state == intrusion), math.inf)
        prevented.append(any(s.stops_left <= 1 and s.state == intrusion for s in stops))
        early.append(any(s.t < start for s in stops))
    return {
        "returns": np.array(returns),
        "lengths": np.array(lengths, dtype=float),
        "prevented": np.array(prevented, dtype=float),
        "early": np.array(early, dtype=float),
    }


def assert_same_mean(a: np.ndarray, b: np.ndarray, quantity: str) -> None:
    """Assert that the 99.9% CI of mean(a) - mean(b) contains 0."""
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    z = stats.norm.ppf(0.9995)
    assert abs(a.mean() - b.mean()) <= z * se, (quantity, a.mean(), b.mean(), se)


@pytest.mark.parametrize(
    "scenario, spec, max_steps",
    [
        (SAMPLE, "threshold:0.3,0.5,0.7", None),
        (SAMPLE, "random:0.2", None),
        (SAMPLE, "random:0.05", 12),
        (SEPARATE, "first-alert", None),
        (TIGER, "random", 15),
    ],
)
def test_returns_agree_with_simulator(scenario, spec, max_steps):
    model = load_scenario(scenario)
    policy = load_policy(spec, model)
    episodes = 4000
    reference = simulator_episodes(model, policy, episodes, 5, max_steps)
    result = evaluate(model, [(spec, policy)], episodes, 6, max_steps).policies[0]

    assert_same_mean(result.returns, reference["returns"], "return")
    assert_same_mean(result.lengths.astype(float), reference["lengths"], "length")
    if result.intrusion is not None:
        tracker = result.intrusion
        assert_same_mean(
            tracker.prevented.astype(float), reference["prevented"], "prevented"
        )
        assert_same_mean(
            tracker.early_stop.astype(float), reference["early"], "early stop"
        )


def test_step_limit_caps_lengths(model):
    result = evaluate(model, policies(model, "random:0"), 200, seed=0, max_steps=5)
    assert result.max_steps == 5
    assert result.policies[0].lengths.max() == 5
    assert np.all(result.policies[0].lengths <= 5)


# Statistics


def test_paired_interval_narrower_than_unpaired(model):
    evaluation = evaluate(
        model, policies(model, "threshold:0.5", "threshold:0.6"), 2000, seed=2
    )
    difference = report(evaluation)["policies"][1]["difference"]
    assert difference["paired_ci95"] < 0.5 * difference["unpaired_ci95"]

    # Independent runs of the two policies give the unpaired width, not the paired one.
    a = evaluate(model, policies(model, "threshold:0.5"), 2000, seed=2).policies[0]
    b = evaluate(model, policies(model, "threshold:0.6"), 2000, seed=3).policies[0]
    independent = math.sqrt(a.returns.var(ddof=1) / 2000 + b.returns.var(ddof=1) / 2000)
    assert difference["paired_ci95"] < 0.5 * 1.96 * independent


def test_reference_best_is_highest_mean(model):
    evaluation = evaluate(
        model, policies(model, "random:0.5", "threshold:0.5"), 500, seed=0
    )
    result = report(evaluation, reference="best")
    assert result["reference"] == "threshold:0.5"
    assert result["policies"][1]["difference"] is None
    assert result["policies"][0]["difference"]["mean"] < 0


def test_batched_probabilities_match_action_probs(model):
    emulation = load_scenario(EMULATION)
    rng = np.random.default_rng(0)
    cases = [
        (model, "threshold:0.3,0.5,0.7"),
        (model, "first-alert"),
        (model, "random:0.25"),
        (load_scenario(TIGER), "random"),
        (emulation, str(PPO)),
    ]
    for scenario, spec in cases:
        policy = load_policy(spec, scenario)
        n, S = 50, len(scenario.states)
        beliefs = rng.dirichlet(np.ones(S), size=n)
        beliefs[:3] = np.eye(S)[:3] if S >= 3 else beliefs[:3]
        stops_left = rng.integers(1, 4, size=n) if scenario.stops else None
        observations = rng.integers(-1, scenario.num_observations, size=n)
        batched = batched_action_probs(policy, scenario)(
            beliefs, stops_left, 4, observations
        )
        for j in range(n):
            l = None if stops_left is None else int(stops_left[j])
            o = None if observations[j] < 0 else int(observations[j])
            expected = policy.action_probs(beliefs[j], l, 4, o)
            assert np.allclose(batched[j], expected, atol=1e-12), (spec, j)


# Output and the command line


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["evaluate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_output_shape(capsys):
    args = [str(SAMPLE), "--policy", "threshold:0.5", "--policy", "random:0"]
    code, out, _ = run_cli(capsys, *args, "--episodes", "300", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["episodes"] == 300
    assert result["intrusion_metrics"] is True
    assert result["reference"] == "threshold:0.5,0.5,0.5"
    assert [p["spec"] for p in result["policies"]] == ["threshold:0.5", "random:0"]
    first, never = result["policies"]
    assert first["difference"] is None
    assert set(never["difference"]) == {"mean", "paired_ci95", "unpaired_ci95"}
    for key in ("mean_return", "ci95", "p_prevented", "p_early_stop", "mean_length"):
        assert isinstance(first[key], float), key
    # A policy that never stops has no delay: NaN is written as null.
    assert never["mean_delay"] is None
    assert never["delay_episodes"] == 0
    assert never["p_prevented"] == 0.0


def test_json_without_intrusion_metrics(capsys):
    code, out, _ = run_cli(
        capsys, str(TIGER), "--policy", "random", "--episodes", "50", "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert result["intrusion_metrics"] is False
    assert "only the return" in result["note"]
    assert "p_prevented" not in result["policies"][0]


def test_table_lists_policies_and_differences(capsys):
    args = [str(SAMPLE), "--policy", "first-alert", "--policy", "threshold:0.5"]
    code, out, _ = run_cli(capsys, *args, "--episodes", "200")
    assert code == 0
    assert "P[prevented]" in out
    assert "paired 95% CI" in out
    rows = [line for line in out.splitlines() if line.startswith("first-alert")]
    assert len(rows) == 1


def test_baselines_added_when_no_policy_given(model):
    assert policy_specs([], False, model) == list(INTRUSION_BASELINES)
    assert policy_specs(["first-alert"], True, model) == list(INTRUSION_BASELINES)
    assert policy_specs(["random:0.2"], False, model) == ["random:0.2"]
    assert policy_specs([], False, load_scenario(TIGER)) == list(OTHER_BASELINES)


def test_baselines_option_evaluates_optimal(capsys):
    args = [str(SAMPLE), "--policy", "random:0.1", "--baselines", "--episodes", "300"]
    code, out, _ = run_cli(capsys, *args, "--json")
    assert code == 0
    result = json.loads(out)
    specs = [p["spec"] for p in result["policies"]]
    assert specs == ["random:0.1", *INTRUSION_BASELINES]
    names = [p["name"] for p in result["policies"]]
    assert names[-1] == "optimal"


def test_same_names_labelled_by_spec(model):
    loaded = load_policies(["threshold:0.5", "threshold:0.5,0.5,0.5", "random"], model)
    assert [name for name, _ in loaded] == [
        "threshold:0.5",
        "threshold:0.5,0.5,0.5",
        "random",
    ]


def test_unknown_policy_is_an_error(capsys):
    code, _, err = run_cli(capsys, str(SAMPLE), "--policy", "bogus-spec")
    assert code == 2
    assert "--policy bogus-spec" in err
    assert "neither a file nor a known policy" in err


def test_policy_for_other_model_is_an_error(capsys):
    code, _, err = run_cli(capsys, str(TIGER), "--policy", str(PPO))
    assert code == 2
    assert "ppo_emulation.json" in err
    assert "states" in err


def test_episodes_below_one_rejected(capsys, model):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(SAMPLE), "--policy", "first-alert", "--episodes", "0"])
    assert exit_info.value.code == 2
    assert "not a positive integer" in capsys.readouterr().err
    with pytest.raises(ValueError, match="at least 1"):
        evaluate(model, policies(model, "first-alert"), 0, seed=0)


def test_endless_model_needs_step_limit():
    tiger = load_scenario(TIGER)
    tiger.max_steps = None
    with pytest.raises(ValueError, match="--max-steps"):
        evaluate(tiger, [("random", load_policy("random", tiger))], 10, seed=0)


# `wait` keeps `quiet` forever, so `random:0` (always wait) never ends an episode.
AVOIDABLE_TERMINAL = """pomdb: 1
name: Avoidable terminal
states: [quiet, attacked, {done: {terminal: true}}]
actions: [wait, block]
observations: [calm, noisy]
transition:
  wait: {quiet: [1, 0, 0], attacked: [0, 0.8, 0.2], done: [0, 0, 1]}
  block: {quiet: [0, 0, 1], attacked: [0, 0, 1], done: [0, 0, 1]}
observation: {quiet: [0.8, 0.2], attacked: [0.3, 0.7], done: [0.5, 0.5]}
reward: {wait: [1, -3, 0], block: [-5, 5, 0]}
initial_belief: [1, 0, 0]
discount: 1.0
"""


def test_avoidable_terminal_needs_step_limit(capsys, tmp_path):
    scenario = tmp_path / "avoidable.yaml"
    scenario.write_text(AVOIDABLE_TERMINAL)
    code, _, err = run_cli(capsys, str(scenario), "--policy", "random:0")
    assert code == 2
    assert "some policy can keep an episode out of the terminal states forever" in err
    assert "set max_steps in the scenario or pass --max-steps N" in err

    code, out, _ = run_cli(
        capsys, str(scenario), "--policy", "random:0", "--max-steps", "7", "--json"
    )
    assert code == 0
    assert json.loads(out)["policies"][0]["mean_length"] == 7.0


def test_failing_baseline_named_as_baseline(capsys, tmp_path):
    # The optimal baseline cannot be solved for this model: its value is unbounded.
    scenario = tmp_path / "avoidable.yaml"
    scenario.write_text(AVOIDABLE_TERMINAL)
    code, _, err = run_cli(capsys, str(scenario), "--max-steps", "7")
    assert code == 2
    assert "baseline optimal (evaluated by default when no --policy is given" in err
    assert "--policy optimal" not in err
    assert err.rstrip().endswith("choose the policies with --policy")


# The solved optimal policy


@pytest.fixture(scope="module")
def solution(model):
    from simcore.solver import solve

    return solve(model, grid=100)


def test_batched_optimal_matches_action_probs(model, solution):
    rng = np.random.default_rng(1)
    beliefs = rng.dirichlet(np.ones(3), size=200)
    stops_left = rng.integers(1, 4, size=200)
    observations = rng.integers(0, model.num_observations, size=200)
    policy = solution.policy
    batched = batched_action_probs(policy, model)(beliefs, stops_left, 3, observations)
    for j in range(200):
        expected = policy.action_probs(beliefs[j], int(stops_left[j]), 3, None)
        assert np.array_equal(batched[j], expected), j


def test_optimal_mean_return_matches_solved_value(model, solution):
    result = evaluate(model, [("optimal", solution.policy)], 3000, seed=4).policies[0]
    half_width = (
        stats.t.ppf(0.9995, 2999) * result.returns.std(ddof=1) / math.sqrt(3000)
    )
    assert solution.lower - half_width <= result.returns.mean()
    assert result.returns.mean() <= solution.upper + half_width
