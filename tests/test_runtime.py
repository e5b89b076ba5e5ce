"""Run control and time travel: next, step back, reverse continue, goto, pause, replay.

The DAP tests drive a `python -m adapter --port 0` process. Seed 3 of
samples/intrusion_prevention.yaml under threshold:0.5 runs 32 steps (t = 0..31): the
intrusion lasts from t=28 to t=30 and the defender stops at t=17, t=29 and t=30.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dap_client import REPO_ROOT
from dap_session import (
    INTRUSION,
    INTRUSION_LINE,
    STOP_LINE,
    TIGER,
    AdapterServer,
    DebugSession,
    simulate,
)

from adapter.runtime import Runtime
from simcore.episode import ObservationReplay, episode_seed
from simcore.policies import load_policy
from simcore.scenario import load_scenario

SCOPES = ["Belief", "Observation", "Policy", "Hidden", "Reward"]
POMDB = Path(sys.executable).with_name("pomdb")
OBSERVATIONS = [1, 5, 60, 90, 95, 99, 99]
# How long a run plays before a test pauses it.
RUN_SECONDS = 0.3


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return episodes 1 and 2 of seed 3, recorded by `pomdb run --record`."""
    path = tmp_path_factory.mktemp("recording") / "episodes.jsonl"
    subprocess.run(
        [POMDB, "run", str(INTRUSION), "--policy", "threshold:0.5", "--seed", "3",
         "--episodes", "2", "--record", str(path)],
        check=True, capture_output=True, cwd=REPO_ROOT,
    )  # fmt: skip
    return path


def start(session: DebugSession, **attributes: Any) -> dict[str, Any]:
    """Launch seed 3 of the intrusion scenario and return the entry stop."""
    defaults = {"scenario": str(INTRUSION), "policy": "threshold:0.5", "seed": 3}
    session.start(**{**defaults, **attributes})
    return session.stopped()


def snapshot(session: DebugSession) -> dict[str, Any]:
    """Return the top frame and every scope of the current step."""
    frame = session.top()
    scopes = {scope: session.variables(scope, frame["id"]) for scope in SCOPES}
    return {"name": frame["name"], "line": frame["line"], **scopes}


def intrusion_prevention_runtime(seed: int = 3) -> tuple[Runtime, Any]:
    model = load_scenario(INTRUSION)
    runtime = Runtime(model, load_policy("threshold:0.5", model))
    runtime.add_simulated(seed, 1, None)
    episode = runtime.episode(1)
    runtime.start(episode)
    return runtime, episode


# Stepping


def test_entry_at_first_step(session: DebugSession) -> None:
    stop = start(session)
    assert stop["description"] == "t=0"
    assert session.t() == 0
    assert session.top()["name"] == "t=0 no_intrusion → continue"


def test_next_plays_one_step(session: DebugSession) -> None:
    start(session)
    stop = session.run("next")
    assert stop["reason"] == "step"
    assert stop["description"] == "t=1"
    assert session.t() == 1


def test_step_in_plays_one_step(session: DebugSession) -> None:
    start(session)
    session.run("stepIn")
    assert session.t() == 1


def test_step_back_then_next_is_exact(session: DebugSession) -> None:
    start(session)
    session.run("goto", targetId=30)
    at_29 = snapshot(session)
    session.run("stepBack")
    at_28 = snapshot(session)
    session.run("next")
    assert snapshot(session) == at_29
    session.run("stepBack")
    assert snapshot(session) == at_28
    assert at_28["name"] == "t=28 intrusion → continue"


def test_step_back_at_first_step_stays(session: DebugSession) -> None:
    start(session)
    stop = session.run("stepBack")
    assert stop["description"] == "already at the first step (t=0)"
    assert session.t() == 0


def test_step_out_runs_past_next_stop(session: DebugSession) -> None:
    start(session)
    stop = session.run("stepOut")
    assert stop["reason"] == "step"
    assert stop["description"] == "t=18: after the stop at t=17"
    assert session.scope("Policy")["stops left"] == "2"


def test_continue_runs_to_end(session: DebugSession) -> None:
    steps = simulate(3)
    start(session)
    stop = session.run("continue")
    assert stop["reason"] == "end of episode"
    assert stop["description"] == f"the episode ended at t=31, return {steps[-1].ret:g}"
    assert len(steps) == 32


def test_next_at_end_stays(session: DebugSession) -> None:
    start(session)
    session.run("continue")
    stop = session.run("next")
    assert stop["reason"] == "end of episode"
    assert session.t() == 31


def test_reverse_continue_returns_to_previous_hit(session: DebugSession) -> None:
    start(session, breakpoints=[{"line": STOP_LINE}])
    first = session.run("continue")
    second = session.run("continue")
    third = session.run("continue")
    back = session.run("reverseContinue")
    assert [first["description"], second["description"], third["description"]] == [
        "t=17: action stop",
        "t=29: action stop",
        "t=30: action stop",
    ]
    assert back["reason"] == "breakpoint"
    assert back["description"] == "t=29: action stop"
    assert session.t() == 29


def test_reverse_continue_reaches_start(session: DebugSession) -> None:
    start(session)
    session.run("goto", targetId=11)
    stop = session.run("reverseContinue")
    assert stop["description"] == "reached the first step (t=0)"
    assert session.t() == 0


def test_continue_replays_history(session: DebugSession) -> None:
    start(session, breakpoints=[{"line": INTRUSION_LINE}])
    session.run("continue")
    before = snapshot(session)
    session.run("goto", targetId=3)
    stop = session.run("continue")
    assert stop["description"] == "t=28: state intrusion"
    assert snapshot(session) == before


# Goto


def test_goto_jumps_to_step(session: DebugSession) -> None:
    start(session)
    stop = session.run("goto", targetId=21)
    assert stop["reason"] == "goto"
    assert session.t() == 20
    session.run("goto", targetId=6)
    assert session.t() == 5


def test_goto_past_end_keeps_position(session: DebugSession) -> None:
    start(session)
    session.run("goto", targetId=6)
    message = session.error("goto", {"threadId": 1, "targetId": 100})
    assert message == "goto: the episode ends at t=31; cannot go to t=99"
    assert session.t() == 5


def test_goto_before_start_is_error(session: DebugSession) -> None:
    start(session)
    message = session.error("goto", {"threadId": 1, "targetId": 0})
    assert message == "goto: step -1 is before the first step (t=0)"


def test_goto_targets_on_intrusion_line(session: DebugSession) -> None:
    expected = [s.t for s in simulate(3) if s.state == 1]
    start(session)
    session.run("continue")
    body = session.request(
        "gotoTargets", {"source": {"path": str(INTRUSION)}, "line": INTRUSION_LINE}
    )
    assert [target["label"] for target in body["targets"]] == [
        f"t={t}" for t in expected
    ]
    assert expected == [28, 29, 30]
    session.run("goto", targetId=body["targets"][1]["id"])
    assert session.t() == 29


def test_goto_targets_on_other_line_empty(session: DebugSession) -> None:
    start(session)
    body = session.request(
        "gotoTargets", {"source": {"path": str(INTRUSION)}, "line": 3}
    )
    assert body == {"targets": []}


# Pause


def test_pause_long_run(session: DebugSession) -> None:
    session.start(scenario=str(TIGER), policy="random", seed=1, maxSteps=10**7)
    session.stopped()
    session.request("continue", {"threadId": 1})
    time.sleep(RUN_SECONDS)
    session.request("pause", {"threadId": 1})
    stop = session.stopped()
    assert stop["reason"] == "pause"
    assert stop["description"] == f"paused at t={session.t()}"
    assert 0 < session.t() < 10**7 - 1


def test_pause_right_after_continue(session: DebugSession) -> None:
    session.start(scenario=str(TIGER), policy="random", seed=1, maxSteps=10**7)
    session.stopped()
    session.request("continue", {"threadId": 1})
    session.request("pause", {"threadId": 1})
    assert session.stopped()["reason"] == "pause"


def test_pause_then_continue_runs_on(session: DebugSession) -> None:
    session.start(scenario=str(TIGER), policy="random", seed=1, maxSteps=10**7)
    session.stopped()
    session.request("continue", {"threadId": 1})
    session.request("pause", {"threadId": 1})
    session.stopped()
    paused_at = session.t()
    session.request("continue", {"threadId": 1})
    time.sleep(RUN_SECONDS)
    session.request("pause", {"threadId": 1})
    session.stopped()
    assert session.t() > paused_at


def test_pause_of_stopped_episode(session: DebugSession) -> None:
    start(session)
    session.request("pause", {"threadId": 1})
    assert session.stopped()["description"] == "paused at t=0"


# Replay


def test_replay_of_recording_reproduces_steps(
    session: DebugSession, recording: Path
) -> None:
    session.start(scenario=str(INTRUSION), policy="threshold:0.5", trace=str(recording))
    session.stopped()
    session.stopped()
    threads = session.request("threads")["threads"]
    assert [t["name"] for t in threads] == [
        "recording episodes.jsonl #1",
        "recording episodes.jsonl #2",
    ]
    for thread in (1, 2):
        steps = simulate(3, episode=thread - 1)
        assert session.run("continue", thread)["reason"] == "end of episode"
        frames = session.frames(thread)["stackFrames"]
        assert [f["name"] for f in reversed(frames)] == [
            f"t={s.t} {('no_intrusion', 'intrusion', 'terminal')[s.state]} → "
            f"{('continue', 'stop')[s.action]}"
            for s in steps
        ]


def test_replay_of_recording_has_same_variables(
    server: AdapterServer, recording: Path
) -> None:
    simulated = server.connect()
    try:
        start(simulated)
        simulated.run("goto", targetId=30)
        expected = snapshot(simulated)
    finally:
        simulated.close()
    replay = server.connect()
    try:
        start(replay, trace=str(recording))
        replay.stopped()
        replay.run("goto", targetId=30)
        assert snapshot(replay) == expected
    finally:
        replay.close()


def write_observation_trace(path: Path, observations: list[int]) -> None:
    lines = [{"format": "pomdb-trace", "version": 1, "kind": "observations"}]
    lines += [{"t": t, "o": o} for t, o in enumerate(observations)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_replay_of_observation_trace_hides_state(
    session: DebugSession, tmp_path: Path
) -> None:
    trace = tmp_path / "alerts.jsonl"
    write_observation_trace(trace, OBSERVATIONS)
    start(session, trace=str(trace))
    session.run("next")
    assert session.scope("Hidden") == {
        "state": "unknown (replayed observations)",
        "attacker action": "unknown (replayed observations)",
    }
    assert session.scope("Reward")["reward"] == "unknown"
    assert session.evaluate("state") == "unknown (replayed observations)"
    assert session.scope("Observation")["o"] == "1"
    assert session.top()["name"] == "t=1 o=1 → continue"


def test_replay_of_observation_trace_follows_filter(
    session: DebugSession, tmp_path: Path
) -> None:
    model = load_scenario(INTRUSION)
    expected = list(
        ObservationReplay(model, load_policy("threshold:0.5", model), OBSERVATIONS,
                          episode_seed(0, 0))
    )  # fmt: skip
    trace = tmp_path / "alerts.jsonl"
    write_observation_trace(trace, OBSERVATIONS)
    start(session, trace=str(trace), seed=0)
    stop = session.run("continue")
    assert stop["description"] == f"the episode ended at t={expected[-1].t}"
    for step in expected:
        session.run("goto", targetId=step.t + 1)
        belief = session.scope("Belief")
        assert np.allclose([float(v) for v in belief.values()], step.belief, atol=5e-7)
        assert session.scope("Policy")["action"] == model.actions[step.action]


def test_invalid_trace_names_file_and_line(
    session: DebugSession, tmp_path: Path
) -> None:
    trace = tmp_path / "alerts.jsonl"
    write_observation_trace(trace, [1, 2, 400])
    message = session.launch_error(
        scenario=str(INTRUSION), policy="threshold:0.5", trace=str(trace)
    )
    assert f"{trace}:4:" in message
    assert "0..99" in message


# The runtime without the protocol


def test_runtime_goto_failure_keeps_cursor() -> None:
    runtime, episode = intrusion_prevention_runtime()
    runtime.goto(episode, 4)
    with pytest.raises(ValueError, match="cannot go to t=500"):
        runtime.goto(episode, 500)
    assert episode.cursor == 4
    assert len(episode.steps) == 32


def test_runtime_pause_request_is_consumed() -> None:
    runtime, episode = intrusion_prevention_runtime()
    episode.pause_requested.set()
    assert runtime.run_forward(episode).reason == "pause"
    assert not episode.pause_requested.is_set()
    assert runtime.run_forward(episode).reason == "end of episode"


def test_runtime_step_back_keeps_history() -> None:
    runtime, episode = intrusion_prevention_runtime()
    runtime.run_forward(episode)
    runtime.step_back(episode)
    assert episode.cursor == 30
    assert len(episode.steps) == 32
    assert runtime.step_forward(episode).description == "t=31"
