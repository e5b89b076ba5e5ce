"""Breakpoints on scenario lines, conditions, hit conditions, logpoints and events.

Each test runs an episode of samples/intrusion_prevention.yaml under threshold:0.5 in
a `python -m adapter --port 0` process and compares where it stops with the same
episode simulated by `simcore.episode.Simulator` (seed sequence (seed, 0)).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from dap_session import (
    ALERTS_LINE,
    ATTACK_LINE,
    CONTINUE_LINE,
    DESCRIPTION_LINE,
    INTRUSION,
    INTRUSION_LINE,
    NO_INTRUSION_LINE,
    STOP_LINE,
    TIGER,
    DebugSession,
    load_model,
    simulate,
)

from simcore.episode import Step

NO_INTRUSION, INTRUSION_STATE = 0, 1
CONTINUE, STOP = 0, 1
SEARCHED_SEEDS = range(200)


def run(session: DebugSession, seed: int = 3, **options: Any) -> dict[str, Any]:
    """Launch without an entry stop and return the first stop."""
    session.start(scenario=str(INTRUSION), policy="threshold:0.5", seed=seed,
                  stopOnEntry=False, **options)  # fmt: skip
    return session.stopped()


def first_step(steps: list[Step], matches: Callable[[Step], bool]) -> int:
    return next(step.t for step in steps if matches(step))


@functools.cache
def find_seed(event: str) -> tuple[int, int]:
    """Return the first seed whose episode has `event`, and the step of the event."""
    for seed in SEARCHED_SEEDS:
        steps = simulate(seed)
        for i, step in enumerate(steps):
            if event == "false_alarm":
                found = step.action == STOP and step.state == NO_INTRUSION
            else:  # "missed_intrusion_N": the Nth intrusion step, no stop so far
                n = int(event.rsplit("_", 1)[1])
                window = steps[i - n + 1 : i + 1] if i >= n - 1 else []
                found = (
                    bool(window)
                    and (i < n or steps[i - n].state != INTRUSION_STATE)
                    and all(s.state == INTRUSION_STATE for s in window)
                    and all(s.action == CONTINUE for s in window)
                )
            if found:
                return seed, step.t
    raise AssertionError(f"no seed in {SEARCHED_SEEDS} has a {event}")


# Scenario lines


def test_declaration_lines_of_sample() -> None:
    lines = {(d.kind, d.name): d.line for d in load_model(INTRUSION).declarations}
    assert lines[("state", "no_intrusion")] == NO_INTRUSION_LINE
    assert lines[("state", "intrusion")] == INTRUSION_LINE
    assert lines[("action", "continue")] == CONTINUE_LINE
    assert lines[("action", "stop")] == STOP_LINE
    assert lines[("attacker_action", "attack")] == ATTACK_LINE
    assert lines[("observation_component", "alerts")] == ALERTS_LINE


@pytest.mark.parametrize("seed", [3, 4, 9])
def test_state_line_stops_at_first_intrusion(session: DebugSession, seed: int) -> None:
    expected = first_step(simulate(seed), lambda s: s.state == INTRUSION_STATE)
    stop = run(session, seed, breakpoints=[{"line": INTRUSION_LINE}])
    assert stop["reason"] == "breakpoint"
    assert stop["description"] == f"t={expected}: state intrusion"
    assert session.t() == expected
    assert session.scope("Hidden")["state"] == "intrusion"


def test_state_line_stops_at_each_match(session: DebugSession) -> None:
    expected = [s.t for s in simulate(3) if s.state == INTRUSION_STATE]
    run(session, breakpoints=[{"line": INTRUSION_LINE}])
    stops = [session.t()]
    for _ in expected[1:]:
        session.run("continue")
        stops.append(session.t())
    assert stops == expected
    assert session.run("continue")["reason"] == "end of episode"


def test_stopped_event_names_breakpoint(session: DebugSession) -> None:
    configured = session.start(
        scenario=str(INTRUSION), policy="threshold:0.5", seed=3, stopOnEntry=False,
        breakpoints=[{"line": INTRUSION_LINE}, {"line": CONTINUE_LINE,
                                                "condition": "t == 28"}],
    )  # fmt: skip
    ids = [b["id"] for b in configured["setBreakpoints"]]
    stop = session.stopped()
    assert stop["hitBreakpointIds"] == ids
    assert stop["description"] == "t=28: state intrusion, action continue"


def test_action_line_stops_when_action_chosen(session: DebugSession) -> None:
    expected = first_step(simulate(3), lambda s: s.action == STOP)
    stop = run(session, breakpoints=[{"line": STOP_LINE}])
    assert stop["description"] == f"t={expected}: action stop"
    assert session.scope("Policy")["action"] == "stop"


def test_action_condition_on_p(session: DebugSession) -> None:
    steps = simulate(3)
    expected = first_step(steps, lambda s: s.action_probs[STOP] > 0.8)
    run(session, breakpoints=[{"line": STOP_LINE, "condition": "p > 0.8"}])
    assert session.t() == expected == 29
    assert float(session.scope("Policy")["stop"]) > 0.8


def test_action_condition_ignores_sampled_action(session: DebugSession) -> None:
    # At seed 263 the policy first gives P(stop) > 0.8 at t=8, but samples continue.
    steps = simulate(263)
    likely = [s for s in steps if s.action_probs[STOP] > 0.8]
    assert (likely[0].t, likely[0].action) == (8, CONTINUE)
    run(session, 263, breakpoints=[{"line": STOP_LINE, "condition": "p > 0.8"}])
    assert session.t() == 8
    assert session.scope("Policy")["action"] == "continue"


def test_observation_component_line_with_condition(session: DebugSession) -> None:
    expected = first_step(
        simulate(3), lambda s: s.observation is not None and s.observation > 50
    )
    run(session, breakpoints=[{"line": ALERTS_LINE, "condition": "o > 50"}])
    assert session.t() == expected
    assert int(session.scope("Observation")["alerts"]) > 50


def test_observation_value_line(session: DebugSession) -> None:
    steps = simulate(1, policy="random", scenario=TIGER)
    expected = first_step(steps, lambda s: s.observation == 0)
    configured = session.start(
        scenario=str(TIGER), policy="random", seed=1, stopOnEntry=False,
        breakpoints=[{"line": 17}], source=TIGER,
    )  # fmt: skip
    stop = session.stopped()
    assert configured["setBreakpoints"][0]["verified"] is True
    assert stop["description"] == f"t={expected}: observation hear_left"
    assert session.scope("Observation")["o"] == "hear_left"


def test_attacker_action_line(session: DebugSession) -> None:
    expected = first_step(simulate(3), lambda s: s.attacker_action == 1)
    run(session, breakpoints=[{"line": ATTACK_LINE}])
    assert session.t() == expected
    assert session.scope("Hidden")["attacker action"] == "attack"


# Unverified breakpoints


@pytest.mark.parametrize("line", [1, DESCRIPTION_LINE, 9, 13, 21, 36])
def test_line_without_declaration_unverified(session: DebugSession, line: int) -> None:
    configured = session.start(
        scenario=str(INTRUSION), policy="threshold:0.5", breakpoints=[{"line": line}]
    )
    breakpoint = configured["setBreakpoints"][0]
    assert breakpoint["verified"] is False
    assert breakpoint["line"] == line
    assert breakpoint["message"].startswith(
        f"line {line} declares no state, action or observation"
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"condition": "b.intrusoin > 0.5"}, "invalid condition: unknown member"),
        ({"condition": "pi.stop >"}, "invalid condition: expected a value after '>'"),
        ({"condition": "p > 0.5"}, "invalid condition: unknown name 'p'"),
        ({"hitCondition": "every 2"}, "invalid hit condition 'every 2'; write"),
        ({"hitCondition": "%0"}, "invalid hit condition '%0': the modulus must be"),
        ({"logMessage": "t={t"}, "invalid log message: missing '}'"),
    ],
)
def test_invalid_option_unverified(
    session: DebugSession, options: dict[str, str], expected: str
) -> None:
    configured = session.start(
        scenario=str(INTRUSION), policy="threshold:0.5",
        breakpoints=[{"line": INTRUSION_LINE, **options}],
    )  # fmt: skip
    breakpoint = configured["setBreakpoints"][0]
    assert breakpoint["verified"] is False
    assert breakpoint["message"].startswith(expected)


def test_invalid_condition_shows_caret(session: DebugSession) -> None:
    configured = session.start(
        scenario=str(INTRUSION), policy="threshold:0.5",
        breakpoints=[{"line": INTRUSION_LINE, "condition": "b.intrusion >> 1"}],
    )  # fmt: skip
    message = configured["setBreakpoints"][0]["message"]
    assert message.splitlines()[1:] == ["  b.intrusion >> 1", "               ^"]


def test_unverified_breakpoint_never_stops(session: DebugSession) -> None:
    stop = run(session, breakpoints=[{"line": INTRUSION_LINE, "condition": "p > 0"}])
    assert stop["reason"] == "end of episode"


def test_other_file_unverified(session: DebugSession) -> None:
    session.start(scenario=str(INTRUSION), policy="threshold:0.5")
    breakpoint = session.set_breakpoints([{"line": 11}], path=TIGER)[0]
    assert breakpoint["verified"] is False
    assert breakpoint["message"] == f"not the scenario of this session ({INTRUSION})"


# Hit conditions and logpoints


def test_hit_condition_count(session: DebugSession) -> None:
    quiet = [s.t for s in simulate(3) if s.state == NO_INTRUSION]
    stop = run(session, breakpoints=[{"line": NO_INTRUSION_LINE, "hitCondition": "3"}])
    assert stop["reason"] == "breakpoint"
    assert session.t() == quiet[2]
    assert session.run("continue")["reason"] == "end of episode"


def test_hit_condition_modulo(session: DebugSession) -> None:
    quiet = [s.t for s in simulate(3) if s.state == NO_INTRUSION]
    run(session, breakpoints=[{"line": NO_INTRUSION_LINE, "hitCondition": "% 2"}])
    stops = [session.t()]
    for _ in range(3):
        session.run("continue")
        stops.append(session.t())
    assert stops == [quiet[1], quiet[3], quiet[5], quiet[7]]


def test_hit_condition_counts_condition_hits(session: DebugSession) -> None:
    alerted = [
        s.t for s in simulate(3) if s.observation is not None and s.observation > 10
    ]
    run(session, breakpoints=[
        {"line": NO_INTRUSION_LINE, "condition": "o > 10", "hitCondition": ">= 2"}
    ])  # fmt: skip
    assert session.t() == alerted[1]


def test_logpoint_prints_and_does_not_stop(session: DebugSession) -> None:
    steps = [s for s in simulate(3) if s.state == INTRUSION_STATE]
    message = "t={t} P(stop)={pi.stop:.3f}"
    stop = run(session, breakpoints=[{"line": INTRUSION_LINE, "logMessage": message}])
    assert stop["reason"] == "end of episode"
    lines = [line for line in session.outputs().splitlines() if line.startswith("t=")]
    assert lines == [f"t={s.t} P(stop)={s.action_probs[STOP]:.3f}" for s in steps]


def test_logpoint_with_hit_condition(session: DebugSession) -> None:
    logpoint = {
        "line": INTRUSION_LINE,
        "logMessage": "hit at t={t}",
        "hitCondition": "2",
    }
    run(session, breakpoints=[logpoint])
    assert "hit at t=29\n" in session.outputs()
    assert "hit at t=28" not in session.outputs()


# Function breakpoints


def test_function_breakpoint_expression(session: DebugSession) -> None:
    expected = first_step(
        simulate(3), lambda s: s.state == INTRUSION_STATE and s.belief[1] < 0.5
    )
    name = "state == intrusion and b.intrusion < 0.5"
    stop = run(session, function_breakpoints=[{"name": name}])
    assert stop["reason"] == "function breakpoint"
    assert stop["description"] == f"t={expected}: {name}"
    assert session.evaluate("b.intrusion < 0.5") == "true"


def test_function_breakpoint_on_policy(session: DebugSession) -> None:
    expected = first_step(simulate(3), lambda s: s.action_probs[STOP] > 0.8)
    configured = session.start(
        scenario=str(INTRUSION), policy="threshold:0.5", seed=3, stopOnEntry=False,
        function_breakpoints=[{"name": "pi.stop > 0.8"}],
    )  # fmt: skip
    stop = session.stopped()
    assert stop["hitBreakpointIds"] == [configured["setFunctionBreakpoints"][0]["id"]]
    assert session.t() == expected


def test_function_breakpoint_options(session: DebugSession) -> None:
    expected = [s.t for s in simulate(3) if s.state == NO_INTRUSION and s.t % 5 == 0]
    breakpoint = {
        "name": "state == no_intrusion",
        "condition": "t % 5 == 0",
        "hitCondition": "2",
    }
    run(session, function_breakpoints=[breakpoint])
    assert session.t() == expected[1]


def test_invalid_function_breakpoint_unverified(session: DebugSession) -> None:
    configured = session.start(
        scenario=str(INTRUSION), policy="threshold:0.5",
        function_breakpoints=[{"name": "b.nope > 1"}, {"name": "t / 0 > 1"}],
    )  # fmt: skip
    first, second = configured["setFunctionBreakpoints"]
    assert first["verified"] is False
    assert first["message"].startswith("invalid expression: unknown member 'b.nope'")
    assert second["verified"] is False
    assert second["message"].startswith("invalid expression: division by zero")


def test_evaluation_error_printed_without_stop(session: DebugSession) -> None:
    stop = run(session, function_breakpoints=[{"name": "ret / (t - 5) > 100"}])
    assert stop["reason"] == "end of episode"
    assert "t=5: cannot evaluate 'ret / (t - 5) > 100'" in session.outputs()


def test_breakpoints_replaced_while_stopped(session: DebugSession) -> None:
    session.start(scenario=str(INTRUSION), policy="threshold:0.5", seed=3,
                  breakpoints=[{"line": INTRUSION_LINE}])  # fmt: skip
    session.stopped()
    session.set_breakpoints([{"line": STOP_LINE}])
    assert session.run("continue")["description"] == "t=17: action stop"
    session.set_breakpoints([])
    assert session.run("continue")["reason"] == "end of episode"


# Security events


def event_stop(session: DebugSession, seed: int, filters: list[dict[str, Any]]) -> str:
    """Run with event filters and return the description of the event stop."""
    configured = run(session, seed, filters=filters)
    assert configured["reason"] == "exception"
    info = session.request("exceptionInfo", {"threadId": 1})
    assert info["exceptionId"] == filters[0]["filterId"]
    return configured["description"]


def test_event_defender_stops(session: DebugSession) -> None:
    expected = first_step(simulate(3), lambda s: s.action == STOP)
    description = event_stop(session, 3, [{"filterId": "stop"}])
    assert description == f"t={expected}: the defender stops (3 stops left before)"


def test_event_intrusion_starts(session: DebugSession) -> None:
    expected = first_step(simulate(4), lambda s: s.state == INTRUSION_STATE)
    description = event_stop(session, 4, [{"filterId": "intrusion_start"}])
    assert description == f"t={expected}: the intrusion starts"
    assert session.client.events("stopped")[-1]["body"]["text"] == "Intrusion starts"


def test_event_false_alarm(session: DebugSession) -> None:
    seed, t = find_seed("false_alarm")
    description = event_stop(session, seed, [{"filterId": "false_alarm"}])
    assert description == f"t={t}: false alarm, the defender stops with no intrusion"
    assert session.scope("Hidden")["state"] == "no_intrusion"
    assert session.scope("Policy")["action"] == "stop"


@pytest.mark.parametrize("steps", [3, 5])
def test_event_missed_intrusion(session: DebugSession, steps: int) -> None:
    seed, t = find_seed(f"missed_intrusion_{steps}")
    option = {"filterId": "missed_intrusion"}
    if steps != 5:
        option["condition"] = str(steps)
    description = event_stop(session, seed, [option])
    assert description == (
        f"t={t}: the intrusion has gone on for {steps} steps without a stop"
    )


def test_event_condition(session: DebugSession) -> None:
    stops = [s.t for s in simulate(3) if s.action == STOP]
    later = [s.t for s in simulate(3) if s.action == STOP and s.t > 20]
    description = event_stop(session, 3, [{"filterId": "stop", "condition": "t > 20"}])
    assert description.startswith(f"t={later[0]}:")
    assert stops[0] < later[0]


def test_invalid_event_filters_rejected(session: DebugSession) -> None:
    configured = session.start(
        scenario=str(INTRUSION), policy="threshold:0.5",
        filters=[{"filterId": "stop"}, {"filterId": "bogus"},
                 {"filterId": "missed_intrusion", "condition": "0"},
                 {"filterId": "false_alarm", "condition": "b.x"}],
    )  # fmt: skip
    results = configured["setExceptionBreakpoints"]
    assert [r["verified"] for r in results] == [True, False, False, False]
    assert results[1]["message"] == "unknown event filter 'bogus'"
    assert "at least 1" in results[2]["message"]
    assert "unknown member 'b.x'" in results[3]["message"]


def test_filters_by_id(session: DebugSession) -> None:
    session.start(scenario=str(INTRUSION), policy="threshold:0.5", seed=3)
    session.stopped()
    body = session.request("setExceptionBreakpoints", {"filters": ["intrusion_start"]})
    assert body["breakpoints"] == [{"verified": True}]
    assert session.run("continue")["description"] == "t=28: the intrusion starts"
