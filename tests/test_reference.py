"""Debugging with a reference policy: the Optimal scope, regret names, the deviation event.

Action values are checked against values worked out by hand for
tests/data/scenarios/guard.yaml. There, waiting in `safe` leads to `attacked` with
probability 0.2, blocking ends the episode, R(wait) = (1, -5) and R(block) = (-1, 3)
in (safe, attacked), and the discount is 0.9. With b_s = b(safe) and b_a = b(attacked):

- under "always block" (random:1): Q(b, block) = -b_s + 3 b_a and
  Q(b, wait) = b_s - 5 b_a + 0.9 (-0.8 b_s + 3 (0.2 b_s + b_a)) = 0.82 b_s - 2.3 b_a;
- under "always wait" (random:0) with H steps left: Q(b, block) = -b_s + 3 b_a and
  Q(b, wait) = sum_k<H 0.9^k (6 b_s 0.8^k - 5 (b_s + b_a))
             = 6 b_s (1 - 0.72^H) / 0.28 - 50 (b_s + b_a) (1 - 0.9^H).
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dap_client import REPO_ROOT, DapClient
from dap_session import INTRUSION, TIGER, DebugSession, load_model, simulate

from adapter.reference import Reference
from adapter.rollouts import estimate_action_values
from adapter.runtime import Runtime
from simcore.episode import Step
from simcore.policies import Policy, load_policy

GUARD = REPO_ROOT / "tests" / "data" / "scenarios" / "guard.yaml"
PPO = REPO_ROOT / "samples" / "policies" / "ppo_emulation.json"
POMDB = Path(sys.executable).with_name("pomdb")
# The comparison scope is "Reference" for any reference but the optimal policy.
SCOPES = ["Belief", "Observation", "Policy", "Hidden", "Reward", "Reference"]
# The sample's threshold policy with stricter thresholds for the first stops,
# compared with threshold:0.5; in seed 3 they first differ at t=29.
EXAMINED = "threshold:0.9,0.7,0.5"


def block_values(belief: np.ndarray) -> np.ndarray:
    """Return (Q(b, wait), Q(b, block)) under "always block" in the guard scenario."""
    safe, attacked = belief[0], belief[1]
    return np.array([0.82 * safe - 2.3 * attacked, -safe + 3 * attacked])


def wait_values(belief: np.ndarray, steps: int) -> np.ndarray:
    """Return (Q(b, wait), Q(b, block)) under "always wait" with `steps` steps left."""
    safe, attacked = belief[0], belief[1]
    wait = 6 * safe * (1 - 0.72**steps) / 0.28 - 50 * (safe + attacked) * (1 - 0.9**steps)
    return np.array([wait, -safe + 3 * attacked])


class FixedAction(Policy):
    """Always the same action; `values` gives its exact action values."""

    def __init__(self, action: int, values: Any):
        self.action = action
        self.values = values
        self.name = f"always action {action}"

    def action_probs(self, belief, stops_left, t, observation):
        return np.eye(2)[self.action]


class ExactFixedAction(FixedAction):
    def action_values(self, belief: np.ndarray, stops_left: int | None) -> np.ndarray:
        return self.values(belief)


class CountingPolicy(Policy):
    """Wraps a policy and counts the calls of `action_probs`."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.name = policy.name
        self.calls = 0

    def action_probs(self, belief, stops_left, t, observation):
        self.calls += 1
        return self.policy.action_probs(belief, stops_left, t, observation)


def guard_step(belief: list[float], t: int = 0, action: int = 0) -> Step:
    probs = np.eye(2)[action]
    return Step(t, None, None, 1, np.array(belief), probs, action, None, None, None, False)


# Action values in process


@pytest.mark.parametrize("belief", [[1.0, 0.0, 0.0], [0.6, 0.4, 0.0], [0.1, 0.9, 0.0]])
def test_estimate_agrees_with_block_values(belief: list[float]) -> None:
    model = load_model(GUARD)
    exact = Reference(model, ExactFixedAction(1, block_values))
    estimated = Reference(model, FixedAction(1, None), rollouts=2000)
    step = guard_step(belief)
    expected = exact.compare(step).values
    comparison = estimated.compare(step)
    assert expected == pytest.approx(block_values(np.array(belief)))
    assert comparison.rollouts == 2000
    for a in range(2):
        error = abs(comparison.values[a] - expected[a])
        assert error <= 4 * comparison.standard_errors[a] + 1e-9, (a, error)


@pytest.mark.parametrize(("belief", "t"), [([1.0, 0.0, 0.0], 0), ([0.5, 0.5, 0.0], 35)])
def test_estimate_agrees_with_wait_values(belief: list[float], t: int) -> None:
    model = load_model(GUARD)
    steps_left = model.max_steps - t
    reference = Reference(model, FixedAction(0, None), rollouts=2000)
    comparison = reference.compare(guard_step(belief, t))
    expected = wait_values(np.array(belief), steps_left)
    assert comparison.truncated == 0
    for a in range(2):
        error = abs(comparison.values[a] - expected[a])
        assert error <= 4 * comparison.standard_errors[a] + 1e-9, (a, error)


def test_regret_of_exact_values() -> None:
    model = load_model(GUARD)
    reference = Reference(model, ExactFixedAction(1, block_values))
    step = guard_step([0.5, 0.5, 0.0], action=0)
    step = step._replace(action_probs=np.array([0.25, 0.75]))
    comparison = reference.compare(step)
    # Q = (0.41 - 1.15, -0.5 + 1.5) = (-0.74, 1.0): block is best.
    assert comparison.regret == pytest.approx(1.74)
    assert comparison.expected_regret == pytest.approx(0.25 * 1.74)
    assert comparison.regret_error is None
    assert comparison.reference_action == 1


def test_estimate_is_seeded_per_step() -> None:
    model = load_model(GUARD)
    policy = FixedAction(1, None)
    step = guard_step([0.6, 0.4, 0.0])
    first = Reference(model, policy, rollouts=50, seed=1).compare(step).values
    again = Reference(model, policy, rollouts=50, seed=1).compare(step).values
    other_seed = Reference(model, policy, rollouts=50, seed=2).compare(step).values
    other_step = Reference(model, policy, rollouts=50, seed=1).compare(
        step._replace(t=1)
    ).values
    assert first.tolist() == again.tolist()
    assert first.tolist() != other_seed.tolist()
    assert first.tolist() != other_step.tolist()


def test_rollouts_share_start_state() -> None:
    model = load_model(GUARD)
    estimate = estimate_action_values(
        model, FixedAction(1, None), np.array([0.5, 0.5, 0.0]), None, 0,
        rollouts=200, seed=np.random.SeedSequence(5), steps=1, truncates=False,
    )  # fmt: skip
    wait, block = estimate.returns[:, 0], estimate.returns[:, 1]
    # One step: R(safe) = (1, -1) and R(attacked) = (-5, 3) for (wait, block).
    assert set(wait.tolist()) == {1.0, -5.0}
    assert ((wait == 1.0) == (block == -1.0)).all()


def test_rollouts_cut_at_step_cap_are_counted() -> None:
    model = load_model(GUARD)
    estimate = estimate_action_values(
        model, FixedAction(0, None), np.array([1.0, 0.0, 0.0]), None, 0,
        rollouts=10, seed=np.random.SeedSequence(0), steps=3, truncates=True,
    )  # fmt: skip
    # Every rollout that waits plays on; every one that blocks ends at once.
    assert estimate.truncated == 10


def test_cached_step_is_not_estimated_again() -> None:
    model = load_model(GUARD)
    policy = CountingPolicy(FixedAction(1, None))
    reference = Reference(model, policy, rollouts=20)
    step = guard_step([0.6, 0.4, 0.0], action=1)
    reference.compare(step)
    calls = policy.calls
    reference.compare(step)
    assert calls > 20
    assert policy.calls == calls + 1  # only the reference's own action


def test_plain_breakpoint_skips_reference() -> None:
    model = load_model(INTRUSION)
    counting = CountingPolicy(load_policy("threshold:0.5", model))
    runtime = Runtime(model, load_policy(EXAMINED, model), reference=Reference(model, counting))
    runtime.breakpoints.set_function_breakpoints([{"name": "pi.stop > 2"}])
    runtime.breakpoints.set_filters(["stop"], [{"filterId": "stop", "condition": "t > 1000"}])
    runtime.add_simulated(3, 1, None)
    episode = runtime.episodes[1]
    runtime.start(episode)
    assert runtime.run_forward(episode).reason == "end of episode"
    assert counting.calls == 0


def test_regret_condition_rolls_out_deviations(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = load_model(INTRUSION)
    reference = Reference(model, load_policy("threshold:0.5", model), rollouts=20)
    runtime = Runtime(model, load_policy(EXAMINED, model), reference=reference)
    runtime.breakpoints.set_function_breakpoints(
        [{"name": "action != ref and regret > 100"}]
    )
    runtime.add_simulated(3, 1, None)
    episode = runtime.episodes[1]
    runtime.start(episode)
    with caplog.at_level(logging.DEBUG, logger="adapter.reference"):
        assert runtime.run_forward(episode).reason == "end of episode"
    estimated = [r.getMessage() for r in caplog.records if "rollouts" in r.getMessage()]
    deviating = [s for s in episode.steps if s.action != reference.action(s)]
    assert 0 < len(deviating) < len(episode.steps)
    assert [m.split(":")[0] for m in estimated] == [f"t={s.t}" for s in deviating]


# Over DAP


def launch(session: DebugSession, **attributes: Any) -> dict[str, Any]:
    """Launch seed 3 of the intrusion scenario under EXAMINED with a threshold:0.5
    reference; an attribute given as None is left out."""
    defaults = {"scenario": str(INTRUSION), "policy": EXAMINED, "seed": 3,
                "reference": "threshold:0.5"}  # fmt: skip
    merged = {**defaults, **attributes}
    return session.start(**{k: v for k, v in merged.items() if v is not None})


def scopes(session: DebugSession) -> list[dict[str, Any]]:
    return session.request("scopes", {"frameId": session.top()["id"]})["scopes"]


def test_reference_scope_follows_reward(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    listed = scopes(session)
    assert [scope["name"] for scope in listed] == SCOPES
    assert listed[-1]["expensive"] is True
    assert all(scope["expensive"] is False for scope in listed[:-1])


def test_no_comparison_scope_without_reference(session: DebugSession) -> None:
    launch(session, reference=None)
    session.stopped()
    assert [scope["name"] for scope in scopes(session)] == SCOPES[:-1]


def test_reference_scope_variables(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    session.run("goto", targetId=30)
    variables = session.variables("Reference")
    names = [v["name"] for v in variables]
    assert names == [
        "reference", "action", "P(continue)", "P(stop)",
        "Q(b, continue)", "Q(b, continue) standard error",
        "Q(b, stop)", "Q(b, stop) standard error",
        "regret", "regret standard error",
        "expected regret", "expected regret standard error", "rollouts",
    ]  # fmt: skip
    values = {v["name"]: v["value"] for v in variables}
    assert values["reference"] == (
        "threshold:0.5,0.5,0.5 (Monte Carlo, 500 rollouts per action)"
    )
    assert values["action"] == "stop"
    assert session.scope("Policy")["action"] == "continue"
    regret = float(values["Q(b, stop)"]) - float(values["Q(b, continue)"])
    assert float(values["regret"]) == pytest.approx(regret, abs=1e-4)
    assert float(values["regret"]) > 0
    assert values["rollouts"] == "500 per action"


def test_optimal_values_match_in_process(session: DebugSession) -> None:
    model = load_model(INTRUSION)
    reference = Reference(model, load_policy("threshold:0.5", model), seed=3)
    expected = reference.compare(simulate(3, EXAMINED)[29])
    launch(session)
    session.stopped()
    session.run("goto", targetId=30)
    values = session.scope("Reference")
    assert float(values["Q(b, continue)"]) == pytest.approx(expected.values[0], rel=1e-5)
    assert float(values["Q(b, stop)"]) == pytest.approx(expected.values[1], rel=1e-5)
    assert float(values["regret standard error"]) == pytest.approx(
        expected.regret_error, rel=1e-5
    )


@pytest.mark.parametrize("t", [0, 12, 29])
def test_watch_of_optimal_evaluate_names(session: DebugSession, t: int) -> None:
    launch(session)
    session.stopped()
    session.run("goto", targetId=t + 1)
    frame = session.top()["id"]
    evaluated = 0
    for variable in session.variables("Reference", frame):
        if "evaluateName" in variable:
            watch = session.evaluate(variable["evaluateName"], frameId=frame)
            assert watch == variable["value"], variable["evaluateName"]
            evaluated += 1
    assert evaluated == 7


def test_reference_names_in_expressions(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    session.run("goto", targetId=30)
    assert session.evaluate("ref") == "stop"
    assert session.evaluate("action != ref") == "true"
    assert session.evaluate("ref == stop and ref.stop > 0.9") == "true"
    difference = session.evaluate("q.stop - q.continue")
    assert session.evaluate("regret") == difference
    assert session.evaluate(f"abs(regret - ({difference})) < 1e-9") == "true"


def test_regret_condition_on_action_line(session: DebugSession) -> None:
    model = load_model(INTRUSION)
    reference = Reference(model, load_policy("threshold:0.5", model), seed=3)
    steps = simulate(3, EXAMINED)
    expected = next(
        s.t for s in steps
        if s.action == 0 and s.action != reference.action(s)
        and reference.compare(s).regret > 0.5
    )  # fmt: skip
    launch(session, breakpoints=[{"line": 14, "condition": "ref != action and regret > 0.5"}])
    session.stopped()
    assert session.run("continue")["reason"] == "breakpoint"
    assert session.t() == expected


def test_deviation_filter_stops_at_difference(session: DebugSession) -> None:
    model = load_model(INTRUSION)
    reference = Reference(model, load_policy("threshold:0.5", model), seed=3)
    steps = simulate(3, EXAMINED)
    first = next(s for s in steps if s.action != reference.action(s))
    comparison = reference.compare(first)
    configured = launch(session, filters=[{"filterId": "deviation"}])
    assert configured["setExceptionBreakpoints"] == [{"verified": True}]
    session.stopped()
    stopped = session.run("continue")
    assert stopped["reason"] == "exception"
    assert stopped["text"] == "Deviates from the reference"
    assert session.t() == first.t
    assert stopped["description"] == (
        f"t={first.t}: the policy chooses continue, the reference stop "
        f"(regret {comparison.regret:.4g} ± {comparison.regret_error:.2g})"
    )
    info = session.request("exceptionInfo", {"threadId": 1})
    assert info["exceptionId"] == "deviation"


def test_deviation_filter_with_regret_condition(session: DebugSession) -> None:
    model = load_model(GUARD)
    reference = Reference(model, load_policy("random:1", model), seed=3)
    steps = simulate(3, "random:0.3", scenario=GUARD)
    deviating = [s for s in steps if s.action != 1]
    expected = next(s for s in deviating if reference.compare(s).regret > 2)
    # Seed 3 deviates with regrets of about 0, 0, 1.6, 0.1 and 2.8.
    assert expected is deviating[4]
    launch(session, scenario=str(GUARD), policy="random:0.3", seed=3, reference="random:1",
           filters=[{"filterId": "deviation", "condition": "regret > 2"}])  # fmt: skip
    session.stopped()
    stopped = session.run("continue")
    assert stopped["reason"] == "exception"
    assert session.t() == expected.t
    assert stopped["description"].startswith(
        f"t={expected.t}: the policy chooses wait, the reference block (regret "
    )


def test_dap_values_match_hand_values(session: DebugSession) -> None:
    launch(session, scenario=str(GUARD), policy="random:0.3", seed=3,
           reference="random:1", referenceRollouts=4000)  # fmt: skip
    session.stopped()
    session.run("goto", targetId=5)
    belief = np.array([float(v) for v in session.scope("Belief").values()])
    values = session.scope("Reference")
    expected = block_values(belief)
    for i, action in enumerate(("wait", "block")):
        estimate = float(values[f"Q(b, {action})"])
        error = float(values[f"Q(b, {action}) standard error"])
        assert abs(estimate - expected[i]) < 4 * error + 1e-5, action


def test_replayed_trace_has_reference_scope(session: DebugSession, tmp_path: Path) -> None:
    trace = tmp_path / "alerts.jsonl"
    trace.write_text(
        '{"format": "pomdb-trace", "version": 1, "kind": "observations"}\n'
        + "".join(f'{{"t": {t}, "o": {o}}}\n' for t, o in enumerate([1, 60, 95, 99]))
    )
    launch(session, trace=str(trace))
    session.stopped()
    session.run("goto", targetId=4)
    values = session.scope("Reference")
    assert values["action"] in ("continue", "stop")
    assert float(values["Q(b, stop) standard error"]) > 0


# Errors


def test_deviation_filter_needs_reference(session: DebugSession) -> None:
    configured = launch(session, reference=None, filters=[{"filterId": "deviation"}])
    (result,) = configured["setExceptionBreakpoints"]
    assert result["verified"] is False
    assert "needs a reference policy; set the launch attribute 'reference'" in (
        result["message"]
    )


def test_reference_names_need_reference(session: DebugSession) -> None:
    configured = launch(
        session, reference=None, function_breakpoints=[{"name": "regret > 0.1"}]
    )
    (result,) = configured["setFunctionBreakpoints"]
    assert result["verified"] is False
    assert "'regret' is not available in this session" in result["message"]
    session.stopped()
    message = session.error("evaluate", {"expression": "q.stop", "context": "watch"})
    assert "'q' is not available in this session" in message
    assert "set the launch attribute 'reference'" in message


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"reference": "no-such-policy"},
         "reference 'no-such-policy': policy 'no-such-policy' is neither a file"),
        ({"reference": "threshold:0.9,0.7"},
         "reference 'threshold:0.9,0.7': got 2 thresholds but the model has 3 stops"),
        ({"scenario": str(TIGER), "policy": "random", "reference": str(PPO)},
         "the policy was trained for states"),
        ({"referenceRollouts": 1}, "'referenceRollouts' must be between 2 and"),
    ],
)  # fmt: skip
def test_invalid_reference(
    session: DebugSession, attributes: dict[str, Any], expected: str
) -> None:
    defaults = {"scenario": str(INTRUSION), "policy": "random", "reference": "random"}
    message = session.launch_error(**{**defaults, **attributes})
    assert expected in message


# Over stdio, with the adapter's log


def test_stdio_plain_breakpoint_plays_no_rollouts(
    tmp_path: Path,
) -> None:
    log_file = tmp_path / "adapter.log"
    client = DapClient.start()
    session = DebugSession(client)
    try:
        launch(session, logFile=str(log_file),
               function_breakpoints=[{"name": "pi.stop > 2"}])  # fmt: skip
        session.stopped()
        assert session.run("continue")["reason"] == "end of episode"
        quiet = log_file.read_text().count("rollouts per action, Q =")
        session.request(
            "setFunctionBreakpoints",
            {"breakpoints": [{"name": "action != ref and regret > 100"}]},
        )
        session.run("goto", targetId=1)
        session.run("continue")
        session.request("disconnect")
    finally:
        client.close()
    model = load_model(INTRUSION)
    reference = Reference(model, load_policy("threshold:0.5", model), seed=3)
    deviating = [s for s in simulate(3, EXAMINED) if s.action != reference.action(s)]
    assert quiet == 0
    assert log_file.read_text().count("rollouts per action, Q =") == len(deviating)


# At a terminal


def test_terminal_reference_and_deviation(tmp_path: Path) -> None:
    script = tmp_path / "session.pomdb"
    script.write_text("event deviation regret > 0.5\ncontinue\nprint regret\n")
    result = subprocess.run(
        [str(POMDB), "debug", str(INTRUSION), "--policy", EXAMINED, "--seed", "3",
         "--reference", "threshold:0.5", "--reference-rollouts", "200",
         "--script", str(script)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "pomdb: reference threshold:0.5,0.5,0.5 (Monte Carlo, 200 rollouts" in out
    assert "break on event deviation (regret > 0.5)" in out
    stop = re.search(r"stopped: exception \(Deviates from the reference\): (t=\d+): "
                     r"the policy chooses continue, the reference stop", out)  # fmt: skip
    assert stop is not None, out
    assert re.search(r"  reference   action=stop, P\(continue\)=\S+, P\(stop\)=", out)
    assert re.search(r"Q\(b, stop\)=[-\d.e]+ ± [\d.e-]+", out)
    assert re.search(r"print regret\nregret = [\d.]+\n", out)


# The optimal policy of simcore.solver as the reference


class WithoutValues(Policy):
    """A policy's action probabilities without its action values."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.name = policy.name

    def action_probs(self, belief, stops_left, t, observation):
        return self.policy.action_probs(belief, stops_left, t, observation)


def test_estimate_matches_optimal_values() -> None:
    model = load_model(GUARD)
    optimal = load_policy("optimal", model)
    exact = Reference(model, optimal)
    estimated = Reference(model, WithoutValues(optimal), rollouts=2000)
    assert exact.exact is True
    assert estimated.exact is False
    for step in simulate(3, "random:0.3", scenario=GUARD):
        expected = exact.compare(step).values
        comparison = estimated.compare(step)
        for a in range(2):
            error = abs(comparison.values[a] - expected[a])
            assert error <= 4 * comparison.standard_errors[a] + 1e-9, (step.t, a)


def test_optimal_reference_scope_is_exact(session: DebugSession) -> None:
    model = load_model(GUARD)
    optimal = load_policy("optimal", model)
    step = simulate(3, "random:0.3", scenario=GUARD)[2]
    values = optimal.action_values(step.belief, step.stops_left)
    launch(session, scenario=str(GUARD), policy="random:0.3", seed=3, reference="optimal")
    session.stopped()
    session.run("goto", targetId=3)
    assert scopes(session)[-1]["name"] == "Optimal"
    assert scopes(session)[-1]["expensive"] is False
    shown = session.scope("Optimal")
    assert list(shown) == [
        "reference", "action", "P(wait)", "P(block)", "Q(b, wait)", "Q(b, block)",
        "regret", "expected regret",
    ]  # fmt: skip
    assert shown["reference"] == "optimal (exact action values)"
    assert float(shown["Q(b, wait)"]) == pytest.approx(values[0], rel=1e-5)
    assert float(shown["Q(b, block)"]) == pytest.approx(values[1], rel=1e-5)
    regret = values.max() - values[step.action]
    assert float(shown["regret"]) == pytest.approx(regret, rel=1e-5, abs=1e-9)
    assert shown["action"] == ("wait", "block")[int(values.argmax())]
