"""The debug adapter as a DAP client sees it: start-up, launch, frames, scopes, errors.

Every test talks to a real `python -m adapter` process, over TCP (`--port 0`) or
stdio, through `dap_client`, which checks every received message against the DAP
JSON schema.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from dap_client import REPO_ROOT, DapClient
from dap_session import (
    INTRUSION,
    TIGER,
    AdapterServer,
    DebugSession,
    cpu_seconds,
    simulate,
)

from adapter.schema import capability_names

INVALID = REPO_ROOT / "tests" / "data" / "scenarios" / "invalid"
COMPONENTS = REPO_ROOT / "tests" / "data" / "scenarios" / "components.yaml"
SCOPES = ["Belief", "Observation", "Policy", "Hidden", "Reward"]
EVENT_FILTERS = {
    "stop", "intrusion_start", "false_alarm", "missed_intrusion", "deviation"
}  # fmt: skip


def launch(session: DebugSession, **attributes: Any) -> dict[str, Any]:
    """Launch seed 3 of the intrusion scenario under threshold:0.5 by default."""
    defaults = {"scenario": str(INTRUSION), "policy": "threshold:0.5", "seed": 3}
    return session.start(**{**defaults, **attributes})


def listening_addresses(port: int) -> list[str]:
    """Return the local addresses of listening TCP sockets on `port`."""
    addresses = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, port_hex = fields[1].split(":")
        if fields[3] == "0A" and int(port_hex, 16) == port:
            addresses.append(".".join(str(b) for b in bytes.fromhex(address)[::-1]))
    return addresses


# Start-up


def test_capabilities_are_schema_names(session: DebugSession) -> None:
    body = session.request("initialize", {"adapterID": "pomdp"})
    names = set(body) - {"exceptionBreakpointFilters"}
    assert names <= capability_names(), names - capability_names()
    assert body["supportsStepBack"] is True
    assert body["supportsGotoTargetsRequest"] is True


def test_exception_filters_are_security_events(session: DebugSession) -> None:
    body = session.request("initialize", {"adapterID": "pomdp"})
    filters = {f["filter"] for f in body["exceptionBreakpointFilters"]}
    assert filters == EVENT_FILTERS


def test_startup_order(session: DebugSession) -> None:
    launch(
        session,
        breakpoints=[{"line": 11}],
        function_breakpoints=[{"name": "t == 4"}],
        filters=[{"filterId": "stop"}],
    )
    log = [
        (m["type"], m.get("command") or m.get("event"))
        for m in session.client.messages
        if m.get("event") != "output"
    ]
    assert log[:7] == [
        ("response", "initialize"),
        ("event", "initialized"),
        ("response", "setBreakpoints"),
        ("response", "setFunctionBreakpoints"),
        ("response", "setExceptionBreakpoints"),
        ("response", "configurationDone"),
        ("response", "launch"),
    ]


def test_launch_sends_thread_then_entry_stop(session: DebugSession) -> None:
    launch(session)
    stopped = session.stopped()
    thread = session.client.wait_event("thread")["body"]
    assert thread == {"reason": "started", "threadId": 1}
    assert stopped["reason"] == "entry"
    assert stopped["threadId"] == 1


def test_launch_prints_model_and_policy(session: DebugSession) -> None:
    launch(session, policy="threshold:0.9,0.7,0.5")
    session.stopped()
    assert "under threshold:0.9,0.7,0.5, 1 episode(s), seed 3" in session.outputs()


def test_without_stop_on_entry_continues(session: DebugSession) -> None:
    launch(session, stopOnEntry=False, maxSteps=5)
    continued = session.client.wait_event("continued")["body"]
    assert continued["threadId"] == 1
    stopped = session.stopped()
    assert stopped["reason"] == "end of episode"
    assert session.t() == 4


@pytest.mark.parametrize(
    "policy", ["threshold:0.5", "threshold:0.9,0.7,0.5", "first-alert", "random"]
)
def test_policy_specifications(session: DebugSession, policy: str) -> None:
    launch(session, policy=policy)
    assert session.stopped()["reason"] == "entry"
    assert session.scope("Policy")["action"] in ("continue", "stop")


# Launch errors


def test_missing_scenario_file(session: DebugSession) -> None:
    message = session.launch_error(scenario="/nonexistent/x.yaml", policy="random")
    assert "/nonexistent/x.yaml" in message
    assert "not found" in message


def test_missing_scenario_attribute(session: DebugSession) -> None:
    message = session.launch_error(policy="random")
    assert "'scenario' is missing" in message


def test_missing_policy_attribute(session: DebugSession) -> None:
    message = session.launch_error(scenario=str(INTRUSION))
    assert "'policy' is missing" in message


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("threshold:abc", "invalid policy 'threshold:abc'"),
        ("threshold:0.9,0.7", "got 2 thresholds but the model has 3 stops"),
        ("threshold:1.5", "threshold 1.5 is not a probability"),
        ("no-such-policy", "policy 'no-such-policy' is neither a file"),
    ],
)
def test_invalid_policy(session: DebugSession, policy: str, expected: str) -> None:
    message = session.launch_error(scenario=str(INTRUSION), policy=policy)
    assert expected in message


def test_scenario_error_names_file_and_line(session: DebugSession) -> None:
    path = INVALID / "row_sum.yaml"
    message = session.launch_error(scenario=str(path), policy="random")
    assert f"{path}:13:" in message


def test_yaml_syntax_error_names_file_and_line(session: DebugSession) -> None:
    path = INVALID / "yaml_syntax.yaml"
    message = session.launch_error(scenario=str(path), policy="random")
    assert f"{path}:7:" in message


def test_missing_trace_file(session: DebugSession) -> None:
    message = session.launch_error(
        scenario=str(INTRUSION), policy="random", trace="/nonexistent/t.jsonl"
    )
    assert "/nonexistent/t.jsonl" in message


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"episodes": 0}, "'episodes' and 'maxSteps' must be at least 1"),
        ({"maxSteps": -1}, "'episodes' and 'maxSteps' must be at least 1"),
        (
            {"episodes": "3"},
            "argument 'episodes' of request 'launch' must be an integer",
        ),
        ({"seed": 1.5}, "argument 'seed' of request 'launch' must be an integer"),
        ({"stopOnEntry": "yes"}, "argument 'stopOnEntry' of request 'launch'"),
        ({"logFile": "/nonexistent/dir/a.log"}, "cannot open logFile"),
    ],
)
def test_invalid_launch_attribute(
    session: DebugSession, attributes: dict[str, Any], expected: str
) -> None:
    message = session.launch_error(
        scenario=str(INTRUSION), policy="random", **attributes
    )
    assert expected in message


def test_second_launch_rejected(session: DebugSession) -> None:
    launch(session)
    message = session.error("launch", {"scenario": str(INTRUSION), "policy": "random"})
    assert "already launched" in message


def test_breakpoints_before_failed_launch_answered(session: DebugSession) -> None:
    session.request("initialize", {"adapterID": "pomdp"})
    breakpoints_seq = session.client.send_request(
        "setBreakpoints", {"source": {"path": str(INTRUSION)}, "breakpoints": []}
    )
    session.error("launch", {"scenario": "/nonexistent/x.yaml", "policy": "random"})
    response = session.client.wait_response(breakpoints_seq)
    assert response["success"] is False
    assert "/nonexistent/x.yaml" in response["message"]


# Frames


def test_stack_trace_pages_frames(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    session.run("goto", targetId=11)
    body = session.frames(startFrame=2, levels=3)
    assert body["totalFrames"] == 11
    names = [frame["name"].split()[0] for frame in body["stackFrames"]]
    assert names == ["t=8", "t=7", "t=6"]


def test_stack_trace_without_levels_lists_all(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    session.run("goto", targetId=6)
    frames = session.frames()["stackFrames"]
    assert [f["name"].split()[0] for f in frames] == [
        f"t={t}" for t in range(5, -1, -1)
    ]


def test_frame_shows_hidden_state_line(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    session.run("goto", targetId=29)
    frame = session.top()
    assert frame["name"] == "t=28 intrusion → continue"
    assert frame["line"] == 11
    assert frame["source"]["path"] == str(INTRUSION)


def test_zero_based_lines(session: DebugSession) -> None:
    session.request("initialize", {"adapterID": "pomdp", "linesStartAt1": False})
    launch_seq = session.client.send_request(
        "launch", {"scenario": str(INTRUSION), "policy": "threshold:0.5", "seed": 3}
    )
    session.client.wait_event("initialized")
    breakpoint = session.set_breakpoints([{"line": 10}])[0]
    session.request("configurationDone")
    session.client.wait_response(launch_seq)
    session.stopped()
    assert breakpoint["verified"] is True
    assert breakpoint["line"] == 10
    assert session.run("continue")["hitBreakpointIds"] == [breakpoint["id"]]
    assert session.top()["line"] == 10


# Scopes and variables


def test_scopes_of_a_step(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    scopes = session.request("scopes", {"frameId": session.top()["id"]})["scopes"]
    assert [scope["name"] for scope in scopes] == SCOPES


def test_entry_belief_is_initial_belief(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    assert session.scope("Belief") == {
        "no_intrusion": "1.000000",
        "intrusion": "0.000000",
        "terminal": "0.000000",
    }


def test_policy_scope_has_actions_and_choice(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    session.run("goto", targetId=30)
    policy = session.scope("Policy")
    assert list(policy) == ["continue", "stop", "action", "stops left"]
    assert policy["action"] == "stop"
    assert policy["stops left"] == "2"


def test_probabilities_match_simulation(session: DebugSession) -> None:
    steps = simulate(3)
    launch(session)
    session.stopped()
    session.run("goto", targetId=30)
    belief = session.scope("Belief")
    policy = session.scope("Policy")
    assert [float(belief[s]) for s in belief] == pytest.approx(
        steps[29].belief.tolist(), abs=5e-7
    )
    assert float(policy["stop"]) == pytest.approx(steps[29].action_probs[1], abs=5e-7)


def test_hidden_and_reward_scopes(session: DebugSession) -> None:
    step = simulate(3)[28]
    launch(session)
    session.stopped()
    session.run("goto", targetId=29)
    assert session.scope("Hidden") == {
        "state": "intrusion",
        "attacker action": "continue",
    }
    reward = session.scope("Reward")
    assert float(reward["reward"]) == step.reward
    assert float(reward["return"]) == pytest.approx(step.ret, rel=1e-5)
    assert reward["t"] == "28"


def test_observation_scope(session: DebugSession) -> None:
    step = simulate(3)[28]
    launch(session)
    session.stopped()
    assert session.scope("Observation") == {
        "o": "none (no observation before the first action)"
    }
    session.run("goto", targetId=29)
    observation = session.scope("Observation")
    assert observation["o"] == str(step.observation)
    assert observation["alerts"] == str(step.observation)
    assert set(observation) >= {"Z(o | no_intrusion)", "Z(o | intrusion)"}


def test_variables_of_older_frame(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    session.run("goto", targetId=30)
    older = session.frames()["stackFrames"][2]
    assert session.scope("Hidden", older["id"])["state"] == "no_intrusion"
    assert session.scope("Reward", older["id"])["t"] == "27"


def evaluate_names(session: DebugSession) -> list[tuple[str, str, str]]:
    """Return (evaluateName, variable value, watch result) for every variable."""
    rows = []
    frame = session.top()["id"]
    for scope in SCOPES:
        for variable in session.variables(scope, frame):
            if "evaluateName" in variable:
                name = variable["evaluateName"]
                watch = session.evaluate(name, "watch", frameId=frame)
                rows.append((name, variable["value"], watch))
    return rows


@pytest.mark.parametrize("t", [0, 5, 28, 31])
def test_watch_of_evaluate_name_shows_value(session: DebugSession, t: int) -> None:
    launch(session)
    session.stopped()
    session.run("goto", targetId=t + 1)
    rows = evaluate_names(session)
    assert {name for name, _, _ in rows} >= {"b.intrusion", "pi.stop", "state", "o"}
    for name, value, watch in rows:
        assert watch == value, name


def test_watch_of_components_and_labels(session: DebugSession) -> None:
    session.start(scenario=str(COMPONENTS), policy="random", seed=1, maxSteps=20)
    session.stopped()
    session.run("goto", targetId=3)
    for name, value, watch in evaluate_names(session):
        assert watch == value, name


def test_component_of_named_values_compares_index(session: DebugSession) -> None:
    session.start(scenario=str(COMPONENTS), policy="random", seed=1, maxSteps=20)
    session.stopped()
    session.run("goto", targetId=3)
    login = session.scope("Observation")["login"]
    index = ["ok", "failed"].index(login)
    assert session.evaluate(f"o.login == {index}") == "true"
    assert session.evaluate(f"o.login == {1 - index}") == "false"


def test_hover_on_state_shows_belief(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    assert session.evaluate("intrusion", "hover") == "b.intrusion = 0.000000"
    assert session.evaluate("stop", "hover") == "pi.stop = 0.000000"


def test_repl_evaluates_expression(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    session.run("goto", targetId=30)
    assert session.evaluate("b.no_intrusion + b.intrusion + b.terminal", "repl") == "1"
    assert session.evaluate("pi.stop > 0.8 and action == stop", "repl") == "true"
    assert session.evaluate("state", "repl") == "intrusion"


def test_repl_without_frame_uses_first_episode(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    session.run("goto", targetId=6)
    body = session.request("evaluate", {"expression": "t", "context": "repl"})
    assert body["result"] == "5"


def test_invalid_expression_is_error(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    message = session.error(
        "evaluate", {"expression": "b.intrusoin", "context": "repl"}
    )
    assert message.startswith("invalid expression: unknown member 'b.intrusoin'")
    assert "did you mean 'intrusion'" in message


def test_python_is_not_evaluated(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    message = session.error("evaluate", {"expression": "__import__('os')"})
    assert "names that start with '__' are not allowed" in message


# Episodes as threads


def test_three_episodes_are_three_threads(session: DebugSession) -> None:
    launch(session, episodes=3)
    stops = [session.stopped() for _ in range(3)]
    started = session.client.events("thread")
    threads = session.request("threads")["threads"]
    assert [e["body"]["threadId"] for e in started] == [1, 2, 3]
    assert sorted(s["threadId"] for s in stops) == [1, 2, 3]
    assert {s["reason"] for s in stops} == {"entry"}
    assert [t["id"] for t in threads] == [1, 2, 3]


def test_episodes_step_independently(session: DebugSession) -> None:
    launch(session, episodes=3)
    for _ in range(3):
        session.stopped()
    session.run("next", thread=2)
    session.run("next", thread=2)
    assert [session.t(thread) for thread in (1, 2, 3)] == [0, 2, 0]


def test_episode_i_uses_seed_sequence_i(session: DebugSession) -> None:
    launch(session, episodes=3)
    for _ in range(3):
        session.stopped()
    for thread in (1, 2, 3):
        steps = simulate(3, episode=thread - 1)
        end = session.run("continue", thread=thread)
        assert end["reason"] == "end of episode"
        assert session.t(thread) == len(steps) - 1
        assert session.evaluate("ret", frameId=session.top(thread)["id"]) == (
            f"{steps[-1].ret:.6g}"
        )


def test_long_run_does_not_block_requests(session: DebugSession) -> None:
    session.start(
        scenario=str(TIGER), policy="random", seed=1, episodes=2, maxSteps=10**7
    )
    session.stopped()
    session.stopped()
    session.request("continue", {"threadId": 1})
    assert session.frames(2)["totalFrames"] == 1
    assert session.set_breakpoints([], path=TIGER) == []
    session.request("pause", {"threadId": 1})
    assert session.stopped(1)["reason"] == "pause"


def test_episodes_run_concurrently(session: DebugSession) -> None:
    session.start(
        scenario=str(TIGER), policy="random", seed=1, episodes=2, maxSteps=10**7
    )
    session.stopped()
    session.stopped()
    session.request("continue", {"threadId": 1})
    session.request("continue", {"threadId": 2})
    time.sleep(0.3)
    session.request("pause", {"threadId": 2})
    assert session.stopped(2)["reason"] == "pause"
    assert session.t(2) > 0
    session.request("pause", {"threadId": 1})
    assert session.stopped(1)["reason"] == "pause"


def test_repl_without_frame_while_running(session: DebugSession) -> None:
    session.start(scenario=str(TIGER), policy="random", seed=1, maxSteps=10**7)
    session.stopped()
    session.request("continue", {"threadId": 1})
    message = session.error("evaluate", {"expression": "t", "context": "repl"})
    session.request("pause", {"threadId": 1})
    session.stopped()
    assert message == "episode 1 is running; pause it first"


def test_running_episode_rejects_stack_trace(session: DebugSession) -> None:
    session.start(scenario=str(TIGER), policy="random", seed=1, maxSteps=10**7)
    session.stopped()
    session.request("continue", {"threadId": 1})
    message = session.error("stackTrace", {"threadId": 1})
    session.request("pause", {"threadId": 1})
    session.stopped()
    assert message == "episode 1 is running; pause it first"


# Ending a session


def test_terminate_ends_threads(session: DebugSession) -> None:
    launch(session, episodes=2)
    session.stopped()
    session.stopped()
    session.request("terminate")
    session.client.wait_event("terminated")
    exited = [e["body"] for e in session.client.events("thread")[2:]]
    assert exited == [
        {"reason": "exited", "threadId": 1},
        {"reason": "exited", "threadId": 2},
    ]
    assert session.client.events("exited")[0]["body"] == {"exitCode": 0}


def test_disconnect_during_run(session: DebugSession) -> None:
    session.start(scenario=str(TIGER), policy="random", seed=1, maxSteps=10**7)
    session.stopped()
    session.request("continue", {"threadId": 1})
    session.request("disconnect", {"terminateDebuggee": True})
    with pytest.raises(TimeoutError, match="the adapter closed the connection"):
        session.client.wait_event("never sent", timeout=5)


def test_dropped_client_stops_its_run(server: AdapterServer) -> None:
    dropped = server.connect()
    dropped.start(scenario=str(TIGER), policy="random", seed=1, maxSteps=10**7)
    dropped.stopped()
    dropped.request("continue", {"threadId": 1})
    dropped.close()
    next_session = server.connect()
    next_session.request("initialize", {"adapterID": "pomdp"})
    next_session.close()
    time.sleep(0.2)
    before = cpu_seconds(server.process.pid)
    time.sleep(1.0)
    assert cpu_seconds(server.process.pid) - before < 0.3


# Broken messages


def frame(body: str) -> bytes:
    data = body.encode()
    return b"Content-Length: %d\r\n\r\n" % len(data) + data


def test_invalid_frames_are_skipped(session: DebugSession) -> None:
    session.client.send_raw(frame("{not json"))
    session.client.send_raw(frame('{"seq": 1, "type": "request"}'))
    session.client.send_raw(frame('{"seq": 2, "type": "request", "command": 7}'))
    session.client.send_raw(frame("[1, 2]"))
    launch(session)
    assert session.stopped()["reason"] == "entry"
    assert session.client.messages[0]["command"] == "initialize"


def test_wrong_argument_type_is_error(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    message = session.error("stackTrace", {"threadId": "1"})
    assert message == (
        "argument 'threadId' of request 'stackTrace' must be an integer, "
        'got string "1"'
    )
    assert session.frames()["totalFrames"] == 1


def test_arguments_must_be_object(session: DebugSession) -> None:
    message = session.error("threads", [1])
    assert message == "arguments of request 'threads' must be an object, got array"


def test_unsupported_request(session: DebugSession) -> None:
    assert session.error("setVariable", {}) == "unsupported request 'setVariable'"


def test_requests_before_launch(session: DebugSession) -> None:
    session.request("initialize", {"adapterID": "pomdp"})
    assert session.request("threads") == {"threads": []}
    assert session.error("stackTrace", {"threadId": 1}) == (
        "no debug session: send launch first"
    )
    assert session.error("configurationDone") == "configurationDone before launch"


@pytest.mark.parametrize(
    ("command", "arguments", "expected"),
    [
        ("stackTrace", {"threadId": 9}, "unknown threadId 9"),
        ("scopes", {"frameId": 12345}, "unknown frameId 12345"),
        ("scopes", {"frameId": 0}, "unknown frameId 0"),
        ("evaluate", {"expression": "t", "frameId": 77}, "unknown frameId 77"),
        ("variables", {"variablesReference": -1}, "unknown variablesReference -1"),
        ("next", {"threadId": True}, "must be an integer, got boolean true"),
        ("exceptionInfo", {"threadId": 1}, "thread 1 did not stop on an event"),
    ],
)
def test_unknown_references(
    session: DebugSession, command: str, arguments: dict[str, Any], expected: str
) -> None:
    launch(session)
    session.stopped()
    assert expected in session.error(command, arguments)


def test_invalid_breakpoint_arguments(session: DebugSession) -> None:
    launch(session)
    session.stopped()
    message = session.error(
        "setBreakpoints",
        {"source": {"path": str(INTRUSION)}, "breakpoints": [{"line": "11"}]},
    )
    assert message == "setBreakpoints: each breakpoint needs an integer 'line'"
    message = session.error("setFunctionBreakpoints", {"breakpoints": [{"name": 5}]})
    assert message == "setFunctionBreakpoints: each breakpoint needs a 'name'"


# Transports


def test_port_zero_listens_on_loopback(server: AdapterServer) -> None:
    assert listening_addresses(server.port) == ["127.0.0.1"]
    assert f"listening on 127.0.0.1:{server.port}" in server.log_path.read_text()


def test_stdio_session_writes_only_frames(tmp_path: Path) -> None:
    log_file = tmp_path / "adapter.log"
    client = DapClient.start()
    session = DebugSession(client)
    try:
        session.start(scenario=str(INTRUSION), policy="threshold:0.5", seed=3,
                      logFile=str(log_file))  # fmt: skip
        session.stopped()
        session.run("next")
        session.request("disconnect")
    finally:
        returncode = client.close()
    assert returncode == 0
    assert all(m["type"] in ("response", "event") for m in client.messages)
    log = log_file.read_text()
    assert "received" in log
    assert '"command": "next"' in log


def test_stdio_logs_go_to_stderr(tmp_path: Path) -> None:
    client = DapClient.start()
    try:
        client.send_raw(frame("{not json"))
        assert client.request("initialize", {"adapterID": "pomdp"})["success"]
    finally:
        client.close()
    assert "skipped an invalid message" in client.stderr
    assert client.messages[0]["command"] == "initialize"
