"""Recorded episodes in JSON Lines, written while simulating and replayed later.

A recording starts with a header object, then holds one object per step:

    {"format": "pomdb-trace", "version": 1, "kind": "episode", "scenario": "...",
     "policy": "...", "seed": 1, "episode": 0, "states": [...], "actions": [...],
     "attacker_actions": [...]}
    {"t": 0, "state": "no_intrusion", "l": 3, "o": null, "b": [1.0, 0.0, 0.0],
     "pi": [0.99, 0.01], "action": "continue", "attacker_action": "continue",
     "reward": 1.0, "return": 1.0, "done": false}

A trace of kind "observations" (from `pomdb import-alerts`) holds only observations;
`read_trace` returns those for a replay through a policy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, Iterable

import numpy as np

from simcore.episode import Step
from simcore.files import atomic_write
from simcore.model import POMDP

TRACE_FORMAT = "pomdb-trace"
TRACE_VERSION = 1


class RecordingError(ValueError):
    """An invalid recording, with the file and line."""


def header(model: POMDP, policy: str, seed: int | None, episode: int) -> dict[str, Any]:
    """Return the header object of an episode recording."""
    return {
        "format": TRACE_FORMAT,
        "version": TRACE_VERSION,
        "kind": "episode",
        "scenario": str(model.path) if model.path else model.name,
        "policy": policy,
        "seed": seed,
        "episode": episode,
        "states": list(model.states),
        "actions": list(model.actions),
        "attacker_actions": list(model.attacker_actions),
    }


def step_record(model: POMDP, step: Step) -> dict[str, Any]:
    """Return the JSON object of one step."""
    return {
        "t": step.t,
        "state": None if step.state is None else model.states[step.state],
        "l": step.stops_left,
        "o": step.observation,
        "b": step.belief.tolist(),
        "pi": step.action_probs.tolist(),
        "action": model.actions[step.action],
        "attacker_action": None
        if step.attacker_action is None
        else model.attacker_actions[step.attacker_action],
        "reward": step.reward,
        "return": step.ret,
        "done": step.done,
    }


def write_episode(
    out: IO[str], model: POMDP, steps: Iterable[Step], policy: str, seed: int | None, episode: int
) -> None:
    """Write one recorded episode (header and steps) to an open text stream."""
    out.write(json.dumps(header(model, policy, seed, episode)) + "\n")
    for step in steps:
        out.write(json.dumps(step_record(model, step)) + "\n")


def write_recording(path: Path, episodes: list[tuple[dict[str, Any], list[dict]]]) -> None:
    """Write header/step records to `path` atomically (a temporary file, then rename)."""

    def write(out: BinaryIO) -> None:
        for head, records in episodes:
            out.write((json.dumps(head) + "\n").encode("utf-8"))
            for record in records:
                out.write((json.dumps(record) + "\n").encode("utf-8"))

    atomic_write(path, write)


@dataclass
class RecordedEpisode:
    """A recorded episode, or an observation sequence with unknown hidden state."""

    header: dict[str, Any]
    steps: list[Step]
    observations: list[int] | None = None

    @property
    def kind(self) -> str:
        return self.header["kind"]


def read_trace(path: Path, model: POMDP) -> list[RecordedEpisode]:
    """Read every episode in `path`, checked against the names of `model`.

    Raises RecordingError naming the file and line of the first invalid record.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise RecordingError(f"{path}: cannot read the recording ({error})") from None
    episodes: list[RecordedEpisode] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            raise RecordingError(f"{path}:{number}: invalid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise RecordingError(f"{path}:{number}: expected a JSON object")
        if "format" in record:
            episodes.append(_read_header(path, number, record, model))
        elif not episodes:
            raise RecordingError(
                f"{path}:{number}: a recording must start with a "
                f'{{"format": "{TRACE_FORMAT}", ...}} header line'
            )
        else:
            _read_record(path, number, record, model, episodes[-1])
    if not episodes:
        raise RecordingError(f"{path}: the recording is empty")
    for episode in episodes:
        if episode.kind == "episode" and not episode.steps:
            raise RecordingError(f"{path}: an episode has a header but no steps")
        if episode.kind == "observations" and not episode.observations:
            raise RecordingError(
                f"{path}: an observation trace has a header but no steps"
            )
    return episodes


def _read_header(path: Path, number: int, record: dict, model: POMDP) -> RecordedEpisode:
    where = f"{path}:{number}"
    if record.get("format") != TRACE_FORMAT:
        raise RecordingError(f"{where}: format {record.get('format')!r} is not {TRACE_FORMAT!r}")
    if record.get("version") != TRACE_VERSION:
        raise RecordingError(
            f"{where}: version {record.get('version')!r} is not supported "
            f"(this pomdb reads version {TRACE_VERSION})"
        )
    kind = record.get("kind")
    if kind == "observations":
        return RecordedEpisode(record, [], [])
    if kind != "episode":
        raise RecordingError(f"{where}: kind {kind!r} must be 'episode' or 'observations'")
    for key, names in (("states", model.states), ("actions", model.actions)):
        if tuple(record.get(key, ())) != names:
            raise RecordingError(
                f"{where}: the recording's {key} {record.get(key)} differ from the "
                f"scenario's {list(names)}; replay it with the scenario that recorded it"
            )
    return RecordedEpisode(record, [])


def _name_index(where: str, names: tuple[str, ...], value: Any, field: str) -> int | None:
    if value is None:
        return None
    if value not in names:
        raise RecordingError(f"{where}: {field} {value!r} is not one of {list(names)}")
    return names.index(value)


def _read_record(
    path: Path, number: int, record: dict, model: POMDP, episode: RecordedEpisode
) -> None:
    where = f"{path}:{number}"
    if episode.observations is not None:
        t, count = record.get("t"), len(episode.observations)
        if isinstance(t, bool) or not isinstance(t, int) or t != count:
            raise RecordingError(
                f"{where}: expected step t={count}, got t={t!r}; "
                "number the steps 0, 1, 2, ... without gaps"
            )
        o = record.get("o")
        if isinstance(o, bool) or not isinstance(o, int) or not 0 <= o < model.num_observations:
            raise RecordingError(
                f"{where}: 'o' must be an observation in 0..{model.num_observations - 1}, "
                f"got {o!r}"
            )
        episode.observations.append(o)
        return
    try:
        belief = np.asarray(record["b"], dtype=float)
        probs = np.asarray(record["pi"], dtype=float)
        step = Step(
            t=int(record["t"]),
            state=_name_index(where, model.states, record.get("state"), "state"),
            stops_left=record.get("l"),
            observation=record.get("o"),
            belief=belief,
            action_probs=probs,
            action=_name_index(where, model.actions, record["action"], "action"),
            attacker_action=_name_index(
                where, model.attacker_actions, record.get("attacker_action"), "attacker_action"
            ),
            reward=record.get("reward"),
            ret=record.get("return"),
            done=bool(record.get("done", False)),
        )
    except KeyError as error:
        raise RecordingError(f"{where}: missing field {error.args[0]!r}") from None
    except (TypeError, ValueError) as error:
        raise RecordingError(f"{where}: invalid step ({error})") from None
    if belief.shape != (len(model.states),) or probs.shape != (len(model.actions),):
        raise RecordingError(
            f"{where}: 'b' needs {len(model.states)} values and 'pi' {len(model.actions)}"
        )
    if step.t != len(episode.steps):
        raise RecordingError(
            f"{where}: expected step t={len(episode.steps)}, got t={step.t}; "
            "number the steps 0, 1, 2, ... without gaps"
        )
    episode.steps.append(step)
