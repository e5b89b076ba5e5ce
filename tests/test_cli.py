"""The `pomdb` command itself: exit statuses and messages shared by every subcommand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simcore.cli import main

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"


def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def main_status(argv: list[str]) -> int:
    """Return main's exit status; a KeyboardInterrupt that escapes fails the test
    instead of stopping pytest."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped main")


def test_interrupted_run_exits_130(capsys, monkeypatch) -> None:
    monkeypatch.setattr("simcore.cli.Simulator", interrupt)

    code = main_status(["run", str(SAMPLE), "--policy", "random", "--episodes", "3"])

    assert code == 130
    assert capsys.readouterr().err == "pomdb: interrupted\n"


def test_interrupt_while_importing_exits_130(capsys, monkeypatch) -> None:
    monkeypatch.setattr("simcore.cli.importlib.import_module", interrupt)

    code = main_status(["solve", str(SAMPLE)])

    assert code == 130
    assert capsys.readouterr().err == "pomdb: interrupted\n"


# Sends SIGINT to itself in the middle of the first episode of `pomdb run`.
SIGINT_DRIVER = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
import simcore.cli
real_simulator = simcore.cli.Simulator
def simulator_then_sigint(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGINT)
    return real_simulator(*args, **kwargs)
simcore.cli.Simulator = simulator_then_sigint
sys.exit(simcore.cli.main(sys.argv[1:]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_prints_no_traceback() -> None:
    command = [sys.executable, "-c", SIGINT_DRIVER, "run", str(SAMPLE)]
    command += ["--policy", "random", "--episodes", "3"]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}

    finished = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=120
    )

    assert finished.returncode == 130
    assert "Traceback" not in finished.stderr
    assert finished.stderr == "pomdb: interrupted\n"
