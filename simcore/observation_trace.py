"""The observation trace: a replayable sequence of real observations as JSON Lines.

The first line is a header object, for example

    {"format": "pomdb-trace", "version": 1, "kind": "observations",
     "source": "fast.log", "step_seconds": 30, "start": "2026-11-21T10:15:00",
     "observation_component": "alerts", "max_observation": 99, "bin_width": 4,
     "weighting": "priority"}

and every further line is one time step:

    {"t": 0, "o": 3, "alerts": 5, "weighted": 12, "time": "2026-11-21T10:15:00"}

`o` is the observation min(weighted // bin_width, max_observation), `alerts` the
number of alerts, `weighted` the weighted count before binning and clipping, and `time`
the step's start. A header without `bin_width`, as older traces have, means bin width 1.
A trace of kind "observations" carries no hidden state, so a debugger replays it with
the state, attacker action and reward unknown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

TRACE_FORMAT = "pomdb-trace"
TRACE_VERSION = 1
TRACE_KIND = "observations"
DEFAULT_MAX_OBSERVATION = 99
DEFAULT_BIN_WIDTH = 1
DEFAULT_COMPONENT = "alerts"

_MICROSECOND = timedelta(microseconds=1)


class TraceError(ValueError):
    """An invalid observation trace file, with the file and line."""


@dataclass(frozen=True)
class ObservationTrace:
    """Weighted alert counts per time step, binned and clipped to the observation range.

    Step t covers [start + t * step_seconds, start + (t + 1) * step_seconds). Steps
    without alerts have count 0. `start` is naive local time for fast alert logs and UTC
    for EVE logs.
    """

    sources: tuple[str, ...]
    step_seconds: float
    start: datetime
    alert_counts: tuple[int, ...]
    weighted_counts: tuple[int, ...]
    max_observation: int = DEFAULT_MAX_OBSERVATION
    bin_width: int = DEFAULT_BIN_WIDTH
    weighting: str = "priority"
    component: str = DEFAULT_COMPONENT
    skipped_lines: int = 0
    alerts_before_start: int = 0

    @property
    def observations(self) -> tuple[int, ...]:
        """The observation of each step: min(weighted // bin_width, max_observation)."""
        return tuple(self.observation(count) for count in self.weighted_counts)

    @property
    def clipped_steps(self) -> int:
        """The number of steps whose binned count exceeds max_observation."""
        return sum(
            count // self.bin_width > self.max_observation
            for count in self.weighted_counts
        )

    def observation(self, weighted: int) -> int:
        """Return the observation of a step with the weighted count `weighted`."""
        return min(weighted // self.bin_width, self.max_observation)

    def step_time(self, t: int) -> datetime:
        """Return when step `t` starts."""
        return self.start + step_delta(self.step_seconds) * t

    def header(self) -> dict[str, object]:
        """Return the first JSON Lines object of the trace file."""
        return {
            "format": TRACE_FORMAT,
            "version": TRACE_VERSION,
            "kind": TRACE_KIND,
            "source": ", ".join(self.sources),
            "step_seconds": _json_number(self.step_seconds),
            "start": self.start.isoformat(),
            "observation_component": self.component,
            "max_observation": self.max_observation,
            "bin_width": self.bin_width,
            "weighting": self.weighting,
        }

    def records(self) -> Iterator[dict[str, object]]:
        """Yield one JSON object per time step."""
        for t, (alerts, weighted) in enumerate(
            zip(self.alert_counts, self.weighted_counts)
        ):
            yield {
                "t": t,
                "o": self.observation(weighted),
                "alerts": alerts,
                "weighted": weighted,
                "time": self.step_time(t).isoformat(),
            }

    def to_jsonl(self) -> str:
        """Return the trace as JSON Lines text: the header, then one line per step."""
        lines = [json.dumps(self.header())]
        lines.extend(json.dumps(record) for record in self.records())
        return "\n".join(lines) + "\n"


def write_observation_trace(trace: ObservationTrace, path: str | Path) -> None:
    """Write `trace` as JSON Lines to `path`."""
    Path(path).write_text(trace.to_jsonl(), encoding="utf-8")


def read_observation_trace(path: str | Path) -> list[int]:
    """Validate the observation trace at `path` and return its observations in order.

    Raises TraceError naming the file and line of the first problem.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        message = f"{path}: cannot read the trace ({error.strerror})"
        raise TraceError(message) from None
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not lines:
        raise TraceError(f"{path}: the trace is empty, with no header line")

    header_line, header_text = lines[0]
    header = _json_object(path, header_line, header_text)
    maximum = _check_header(path, header_line, header)

    observations: list[int] = []
    for number, line in lines[1:]:
        record = _json_object(path, number, line)
        where = f"{path}:{number}"
        t = record.get("t")
        if not _is_int(t) or t != len(observations):
            raise TraceError(
                f"{where}: expected step 't': {len(observations)}, got {t!r}. "
                "Steps must be numbered 0, 1, 2, ... without gaps."
            )
        o = record.get("o")
        if not _is_int(o) or o < 0 or (maximum is not None and o > maximum):
            upper = "" if maximum is None else f" and <= max_observation {maximum}"
            raise TraceError(
                f"{where}: observation 'o' must be an integer >= 0{upper}, got {o!r}"
            )
        alerts = record.get("alerts", 0)
        if not _is_int(alerts) or alerts < 0:
            raise TraceError(
                f"{where}: 'alerts' must be an integer >= 0, got {alerts!r}"
            )
        observations.append(o)
    if not observations:
        raise TraceError(f"{path}: the trace has a header but no steps")
    return observations


def _check_header(path: Path, line: int, header: dict[str, object]) -> int | None:
    """Check an observation trace header and return its max_observation, if any."""
    where = f"{path}:{line}"
    if header.get("format") != TRACE_FORMAT:
        raise TraceError(
            f"{where}: not a pomdb trace: expected 'format': {TRACE_FORMAT!r}, "
            f"got {header.get('format')!r}"
        )
    if header.get("version") != TRACE_VERSION:
        raise TraceError(
            f"{where}: unsupported trace version {header.get('version')!r}. "
            f"This pomdb reads version {TRACE_VERSION}."
        )
    if header.get("kind") != TRACE_KIND:
        raise TraceError(
            f"{where}: expected 'kind': {TRACE_KIND!r}, got {header.get('kind')!r}"
        )
    if not isinstance(header.get("observation_component"), str):
        raise TraceError(f"{where}: missing or non-string 'observation_component'")
    step = header.get("step_seconds")
    if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
        raise TraceError(f"{where}: 'step_seconds' must be a number > 0, got {step!r}")
    width = header.get("bin_width", DEFAULT_BIN_WIDTH)
    if not _is_int(width) or width < 1:
        raise TraceError(f"{where}: 'bin_width' must be an integer >= 1, got {width!r}")
    maximum = header.get("max_observation")
    if maximum is None:
        return None
    if isinstance(maximum, bool) or not isinstance(maximum, int) or maximum < 0:
        raise TraceError(
            f"{where}: 'max_observation' must be an integer >= 0, got {maximum!r}"
        )
    return maximum


def _json_object(path: Path, line: int, text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise TraceError(f"{path}:{line}: invalid JSON ({error.msg})") from None
    if not isinstance(value, dict):
        raise TraceError(f"{path}:{line}: expected a JSON object")
    return value


def step_delta(step_seconds: float) -> timedelta:
    """Return the length of a time step of `step_seconds` seconds."""
    step = timedelta(seconds=step_seconds)
    if step < _MICROSECOND:
        raise ValueError(f"step_seconds {step_seconds} is shorter than 1 microsecond")
    return step


def _json_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
