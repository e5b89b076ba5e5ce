"""Training progress output: the bar, JSON Lines and the silent mode."""

from __future__ import annotations

import io
import json
import math

import pytest

from simcore.progress import Progress, bar_line, format_duration


class Clock:
    """A fake clock whose time changes only when a test sets `now`."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TerminalStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_lines_on_stdout(capsys) -> None:
    clock = Clock()
    progress = Progress(1000, "json", clock=clock)
    clock.now += 2.0
    progress.update(400, {"charts/episodic_return": 1.5, "losses/entropy": math.nan})
    progress.close()
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record == {
        "type": "progress",
        "step": 400,
        "total_steps": 1000,
        "fraction": 0.4,
        "elapsed_seconds": 2.0,
        "steps_per_second": 200.0,
        "remaining_seconds": 3.0,
        "mean_return": 1.5,
        "metrics": {"charts/episodic_return": 1.5, "losses/entropy": None},
    }


def test_json_counts_resumed_steps_only(capsys) -> None:
    clock = Clock()
    progress = Progress(1000, "json", initial_step=600, clock=clock)
    clock.now += 1.0
    progress.update(700, {})
    record = json.loads(capsys.readouterr().out)
    assert record["steps_per_second"] == 100.0
    assert record["remaining_seconds"] == 3.0
    assert record["mean_return"] is None


def test_bar_on_file_prints_every_five_percent() -> None:
    stream = io.StringIO()
    clock = Clock()
    progress = Progress(100, "bar", stream=stream, clock=clock)
    for step in range(1, 101):
        clock.now += 0.01
        progress.update(step, {"charts/episodic_return": -2.0})
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 21  # 0%, 5%, ..., 100%
    assert "\r" not in stream.getvalue()
    assert lines[-1].startswith("[" + "#" * 24 + "] 100%  100/100 steps")
    assert "mean return -2.000" in lines[-1]
    assert "remaining 0:00" in lines[-1]


def test_bar_on_terminal_redraws_one_line() -> None:
    stream = TerminalStream()
    clock = Clock()
    progress = Progress(100, "bar", stream=stream, clock=clock)
    for step in range(1, 101):
        clock.now += 0.0625  # redraws at most every 0.1 s: every other update
        progress.update(step, {"charts/episodic_return": 0.5})
    progress.close()
    text = stream.getvalue()
    assert text.count("\r") == 51
    assert text.endswith("\x1b[K\n")
    assert text.count("\n") == 1


def test_bar_shows_speed_and_remaining_time() -> None:
    stream = io.StringIO()
    clock = Clock()
    progress = Progress(10_000, "bar", stream=stream, clock=clock)
    clock.now += 2.0
    progress.update(2_500, {"charts/episodic_return": 3.25})
    line = stream.getvalue().strip()
    assert line == (
        "[######------------------]  25%  2500/10000 steps  1,250 steps/s  "
        "mean return 3.250  remaining 0:06"
    )


def test_none_prints_nothing(capsys) -> None:
    stream = io.StringIO()
    progress = Progress(10, "none", stream=stream)
    progress.update(10, {"charts/episodic_return": 1.0})
    progress.close()
    assert stream.getvalue() == ""
    assert capsys.readouterr() == ("", "")


def test_unknown_mode() -> None:
    with pytest.raises(ValueError, match="progress mode 'fancy' is unknown"):
        Progress(10, "fancy")


def test_bar_line_without_figures() -> None:
    record = {
        "step": 0,
        "total_steps": 10,
        "fraction": 0.0,
        "steps_per_second": None,
        "mean_return": None,
        "remaining_seconds": None,
    }
    assert bar_line(record) == (
        "[------------------------]   0%  0/10 steps  - steps/s  mean return -  "
        "remaining -"
    )


@pytest.mark.parametrize(
    "seconds, text", [(None, "-"), (0.4, "0:00"), (75, "1:15"), (3725, "1:02:05")]
)
def test_format_duration(seconds, text) -> None:
    assert format_duration(seconds) == text
