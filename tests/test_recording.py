"""Recordings in JSON Lines: writing, reading back, and invalid lines."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from simcore.cli import main
from simcore.episode import ObservationReplay, Step, simulate
from simcore.policies import load_policy
from simcore.recording import (
    RecordingError,
    header,
    read_trace,
    step_record,
    write_episode,
    write_recording,
)
from simcore.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"


@pytest.fixture(scope="module")
def model():
    return load_scenario(SAMPLE)


def fields(step: Step) -> tuple:
    return (
        step.t, step.state, step.stops_left, step.observation, step.belief.tolist(),
        step.action_probs.tolist(), step.action, step.attacker_action, step.reward,
        step.ret, step.done,
    )  # fmt: skip


def test_cli_record_round_trip(model, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"

    code = main(
        ["run", str(SAMPLE), "--policy", "threshold:0.5", "--episodes", "3",
         "--seed", "4", "--record", str(path), "--json"]
    )  # fmt: skip

    assert code == 0
    recorded = read_trace(path, model)
    policy = load_policy("threshold:0.5", model)
    assert len(recorded) == 3
    for episode, record in enumerate(recorded):
        simulated = simulate(model, policy, 4, episode)
        assert [fields(step) for step in record.steps] == [fields(s) for s in simulated]


def test_cli_record_headers(model, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"

    main(["run", str(SAMPLE), "--policy", "threshold:0.5", "--episodes", "2",
          "--seed", "4", "--record", str(path), "--json"])  # fmt: skip

    headers = [episode.header for episode in read_trace(path, model)]
    assert headers == [
        {
            "format": "pomdb-trace",
            "version": 1,
            "kind": "episode",
            "scenario": str(SAMPLE),
            "policy": "threshold:0.5,0.5,0.5",
            "seed": 4,
            "episode": episode,
            "states": ["no_intrusion", "intrusion", "terminal"],
            "actions": ["continue", "stop"],
            "attacker_actions": ["continue", "attack"],
        }
        for episode in (0, 1)
    ]


def test_step_record_fields(model) -> None:
    step = simulate(model, load_policy("threshold:0.5", model), 1, 0)[0]

    record = step_record(model, step)

    assert list(record) == [
        "t", "state", "l", "o", "b", "pi", "action", "attacker_action", "reward",
        "return", "done",
    ]  # fmt: skip
    assert record["t"] == 0
    assert record["state"] == "no_intrusion"
    assert record["l"] == 3
    assert record["o"] is None
    assert record["b"] == [1.0, 0.0, 0.0]


def test_write_episode_round_trip(model, tmp_path: Path) -> None:
    steps = simulate(model, load_policy("random:0.2", model), 5, 2)
    out = io.StringIO()

    write_episode(out, model, steps, "random:0.2", 5, 2)
    path = tmp_path / "episode.jsonl"
    path.write_text(out.getvalue())

    (recorded,) = read_trace(path, model)
    assert recorded.kind == "episode"
    assert recorded.observations is None
    assert [fields(step) for step in recorded.steps] == [fields(s) for s in steps]


def test_write_recording_replaces_atomically(model, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text("old contents\n")
    steps = simulate(model, load_policy("threshold:0.5", model), 6, 0)
    records = [step_record(model, step) for step in steps]

    write_recording(path, [(header(model, "threshold:0.5", 6, 0), records)])

    assert len(read_trace(path, model)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl"]


def recording_lines(model) -> list[str]:
    """Return the lines of a valid two-step recording to break one line at a time."""
    steps = simulate(model, load_policy("threshold:0.5", model), 7, 0)[:2]
    head = header(model, "threshold:0.5", 7, 0)
    return [json.dumps(head)] + [json.dumps(step_record(model, s)) for s in steps]


def changed(line: str, **fields: object) -> str:
    record = json.loads(line)
    record.update(fields)
    return json.dumps(record)


def without(line: str, key: str) -> str:
    record = json.loads(line)
    del record[key]
    return json.dumps(record)


# Each case: a function from the valid lines to invalid ones, the line number that
# the error must name, and a fragment of the message.
MALFORMED = {
    "invalid JSON": (lambda x: [x[0], x[1], '{"t": 1,'], 3, "invalid JSON"),
    "not an object": (lambda x: [x[0], "[1, 2]"], 2, "expected a JSON object"),
    "missing header": (
        lambda x: x[1:],
        1,
        'must start with a {"format": "pomdb-trace"',
    ),
    "wrong version": (
        lambda x: [changed(x[0], version=2), *x[1:]],
        1,
        "version 2 is not supported (this pomdb reads version 1)",
    ),
    "other format": (
        lambda x: [changed(x[0], format="csle-trace"), *x[1:]],
        1,
        "format 'csle-trace' is not 'pomdb-trace'",
    ),
    "unknown kind": (
        lambda x: [changed(x[0], kind="movie"), *x[1:]],
        1,
        "kind 'movie' must be 'episode' or 'observations'",
    ),
    "other scenario": (
        lambda x: [changed(x[0], states=["up", "down"]), *x[1:]],
        1,
        "replay it with the scenario that recorded it",
    ),
    "unknown state": (
        lambda x: [x[0], changed(x[1], state="breach"), x[2]],
        2,
        "state 'breach' is not one of ['no_intrusion', 'intrusion', 'terminal']",
    ),
    "unknown action": (
        lambda x: [x[0], x[1], changed(x[2], action="block")],
        3,
        "action 'block' is not one of ['continue', 'stop']",
    ),
    "missing field": (
        lambda x: [x[0], without(x[1], "b"), x[2]],
        2,
        "missing field 'b'",
    ),
    "t out of order": (
        lambda x: [x[0], x[1], changed(x[2], t=5)],
        3,
        "expected step t=1, got t=5; number the steps 0, 1, 2",
    ),
    "t not a number": (
        lambda x: [x[0], changed(x[1], t="zero"), x[2]],
        2,
        "invalid step",
    ),
    "belief size": (
        lambda x: [x[0], changed(x[1], b=[1.0, 0.0]), x[2]],
        2,
        "'b' needs 3 values and 'pi' 2",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_line(model, tmp_path: Path, case: str) -> None:
    breaks, line, fragment = MALFORMED[case]
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(breaks(recording_lines(model))) + "\n")

    with pytest.raises(RecordingError) as caught:
        read_trace(path, model)

    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert fragment in str(caught.value)


def test_empty_recording(model, tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")

    with pytest.raises(RecordingError) as caught:
        read_trace(path, model)

    assert str(caught.value) == f"{path}: the recording is empty"


def test_header_without_steps(model, tmp_path: Path) -> None:
    path = tmp_path / "headless.jsonl"
    path.write_text(recording_lines(model)[0] + "\n")

    with pytest.raises(RecordingError) as caught:
        read_trace(path, model)

    assert str(caught.value) == f"{path}: an episode has a header but no steps"


def test_missing_recording(model, tmp_path: Path) -> None:
    with pytest.raises(RecordingError) as caught:
        read_trace(tmp_path / "absent.jsonl", model)

    assert str(caught.value).startswith(f"{tmp_path / 'absent.jsonl'}: cannot read")


OBSERVATION_HEADER = {
    "format": "pomdb-trace",
    "version": 1,
    "kind": "observations",
    "source": "fast.log",
    "step_seconds": 30,
    "observation_component": "alerts",
    "max_observation": 99,
}


def write_observations(path: Path, records: list[dict]) -> Path:
    lines = [json.dumps(OBSERVATION_HEADER)] + [json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_observation_trace(model, tmp_path: Path) -> None:
    path = write_observations(
        tmp_path / "alerts.jsonl",
        [{"t": 0, "o": 12, "alerts": 5}, {"t": 1, "o": 0}, {"t": 2, "o": 99}],
    )

    (trace,) = read_trace(path, model)

    assert trace.kind == "observations"
    assert trace.header == OBSERVATION_HEADER
    assert trace.observations == [12, 0, 99]
    assert trace.steps == []


def test_observation_trace_replays(model, tmp_path: Path) -> None:
    path = write_observations(
        tmp_path / "alerts.jsonl", [{"t": 0, "o": 12}, {"t": 1, "o": 70}]
    )
    (trace,) = read_trace(path, model)

    steps = list(
        ObservationReplay(
            model, load_policy("threshold:0.99", model), trace.observations, 0
        )
    )

    assert [step.observation for step in steps] == [None, 12, 70]
    assert np.isclose(steps[-1].belief.sum(), 1.0)


OBSERVATION_ERRORS = {
    "out of range": (
        [{"t": 0, "o": 100}],
        2,
        "'o' must be an observation in 0..99, got 100",
    ),
    "boolean": (
        [{"t": 0, "o": True}],
        2,
        "'o' must be an observation in 0..99, got True",
    ),
    "missing o": ([{"t": 0, "alerts": 3}], 2, "got None"),
    "t out of order": (
        [{"t": 0, "o": 1}, {"t": 2, "o": 1}],
        3,
        "expected step t=1, got t=2; number the steps 0, 1, 2",
    ),
}


@pytest.mark.parametrize("case", list(OBSERVATION_ERRORS))
def test_observation_trace_errors(model, tmp_path: Path, case: str) -> None:
    records, line, fragment = OBSERVATION_ERRORS[case]
    path = write_observations(tmp_path / "alerts.jsonl", records)

    with pytest.raises(RecordingError) as caught:
        read_trace(path, model)

    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert fragment in str(caught.value)


def test_observation_trace_without_steps(model, tmp_path: Path) -> None:
    path = write_observations(tmp_path / "alerts.jsonl", [])

    with pytest.raises(RecordingError) as caught:
        read_trace(path, model)

    assert (
        str(caught.value) == f"{path}: an observation trace has a header but no steps"
    )
