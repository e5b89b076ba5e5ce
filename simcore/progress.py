"""Training progress: a bar on a terminal, JSON Lines for programs, or nothing.

`Progress(total_steps, mode)` receives `.update(step, metrics)` after every update of
a trainer. The mean return is read from `metrics[RETURN_KEY]`.

- "bar" draws one line on `stream` (stderr by default): a bar, the percentage,
  steps done, steps per second, mean return and remaining time. On a terminal the
  line is redrawn in place at most 10 times a second. On a file or pipe a full line
  is printed each time another 5% of the steps is done, and at the end.
- "json" prints one JSON object per update on its own line to stdout, with the fields
  of `json_record`. NaN and infinities become null, because JSON has neither.
- "none" prints nothing.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any, Callable, TextIO

MODES = ("bar", "json", "none")
RETURN_KEY = "charts/episodic_return"
BAR_WIDTH = 24
REDRAW_SECONDS = 0.1
LINE_PERCENT = 5


class Progress:
    """Reports training progress in one of MODES; see the module docstring."""

    def __init__(
        self,
        total_steps: int,
        mode: str,
        stream: TextIO | None = None,
        initial_step: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ):
        """`initial_step` is the step a resumed run starts from, so the speed and the
        remaining time count only the steps of this run."""
        if mode not in MODES:
            raise ValueError(f"progress mode {mode!r} is unknown; use {', '.join(MODES)}")
        if total_steps < 1:
            raise ValueError(f"total_steps must be at least 1, got {total_steps}")
        self.total_steps = total_steps
        self.mode = mode
        self.stream = sys.stderr if stream is None else stream
        self.initial_step = initial_step
        self._clock = clock
        self._start = clock()
        self._last_draw = -math.inf
        self._last_percent = -1
        self._drawn = False
        self._is_terminal = _is_terminal(self.stream)

    def update(self, step: int, metrics: dict[str, float]) -> None:
        """Report that `step` of `total_steps` steps are done, with their metrics."""
        record = self.json_record(step, metrics)
        if self.mode == "json":
            print(json.dumps(record), file=sys.stdout, flush=True)
        elif self.mode == "bar":
            self._draw(record)

    def json_record(self, step: int, metrics: dict[str, float]) -> dict[str, Any]:
        """Return the JSON object of one update.

        Fields: "type" ("progress"), "step", "total_steps", "fraction" (0 to 1),
        "elapsed_seconds", "steps_per_second" (of this run), "remaining_seconds"
        (estimated from that speed), "mean_return" and "metrics" (every metric by its
        key). Numbers that are not finite are null.
        """
        elapsed = self._clock() - self._start
        done = step - self.initial_step
        speed = done / elapsed if elapsed > 0 and done > 0 else math.nan
        left = max(self.total_steps - step, 0)
        remaining = left / speed if left else 0.0
        return {
            "type": "progress",
            "step": int(step),
            "total_steps": self.total_steps,
            "fraction": _finite(min(step / self.total_steps, 1.0)),
            "elapsed_seconds": _finite(elapsed),
            "steps_per_second": _finite(speed),
            "remaining_seconds": _finite(remaining),
            "mean_return": _finite(metrics.get(RETURN_KEY, math.nan)),
            "metrics": {key: _finite(value) for key, value in metrics.items()},
        }

    def close(self) -> None:
        """End the bar's line on a terminal; the other modes have nothing to finish."""
        if self.mode == "bar" and self._is_terminal and self._drawn:
            print(file=self.stream, flush=True)
            self._drawn = False

    def _draw(self, record: dict[str, Any]) -> None:
        now = self._clock()
        last = record["step"] >= self.total_steps
        line = bar_line(record)
        if self._is_terminal:
            if now - self._last_draw < REDRAW_SECONDS and not last:
                return
            # Carriage return, the line, then clear the rest of a longer earlier line.
            print(f"\r{line}\x1b[K", end="", file=self.stream, flush=True)
            self._drawn = True
        else:
            percent = int(100 * record["fraction"]) // LINE_PERCENT * LINE_PERCENT
            if percent <= self._last_percent and not last:
                return
            self._last_percent = percent
            print(line, file=self.stream, flush=True)
        self._last_draw = now


def bar_line(record: dict[str, Any]) -> str:
    """Return the bar line of a `Progress.json_record`."""
    fraction = record["fraction"] or 0.0
    filled = round(fraction * BAR_WIDTH)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    speed = record["steps_per_second"]
    mean_return = record["mean_return"]
    return (
        f"[{bar}] {100 * fraction:3.0f}%  {record['step']}/{record['total_steps']} "
        f"steps  {'-' if speed is None else f'{speed:,.0f}'} steps/s  "
        f"mean return {'-' if mean_return is None else f'{mean_return:.3f}'}  "
        f"remaining {format_duration(record['remaining_seconds'])}"
    )


def format_duration(seconds: float | None) -> str:
    """Return seconds as m:ss or h:mm:ss, or "-" when unknown."""
    if seconds is None:
        return "-"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
