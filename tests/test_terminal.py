"""`pomdb debug`: the terminal debugger, run as the `pomdb` console script.

A scripted session (`--script FILE`) and an interactive one on a pseudo-terminal
step through seed 3 of samples/intrusion_prevention.yaml under threshold:0.5, whose
intrusion lasts from t=28 to t=30; the policy gives P(stop) > 0.8 at t=29 and t=30.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dap_client import REPO_ROOT
from dap_session import INTRUSION, TIGER, cpu_seconds, simulate

POMDB = Path(sys.executable).with_name("pomdb")
DEBUG = [
    str(POMDB),
    "debug",
    str(INTRUSION),
    "--policy",
    "threshold:0.5",
    "--seed",
    "3",
]
PROMPT = "(pomdb) "
TIMEOUT = 60.0

SCRIPT = """\
# stopped on entry at t=0
break intrusion
continue
delete
break when pi.stop > 0.8
continue
continue
reverse
back
next
print b.intrusion
print pi.stop > 0.8 and b.intrusion < 0.5
frames 3
goto 5
quit
next
"""


def blocks(output: str) -> list[tuple[str, str]]:
    """Split scripted output into (command, what it printed); "" is the start."""
    result = [("", "")]
    for line in output.splitlines():
        if line.startswith(PROMPT):
            result.append((line[len(PROMPT) :], ""))
        else:
            command, text = result[-1]
            result[-1] = (command, text + line + "\n")
    return result


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess:
    script = tmp_path_factory.mktemp("terminal") / "session.pomdb"
    script.write_text(SCRIPT)
    return subprocess.run(
        [*DEBUG, "--script", str(script)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=TIMEOUT, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def steps() -> list:
    return simulate(3)


def output_of(scripted: subprocess.CompletedProcess, command: str, n: int = 0) -> str:
    """Return what the `n`-th run of `command` printed in the scripted session."""
    return [text for name, text in blocks(scripted.stdout) if name == command][n]


# The scripted session


def test_script_exits_cleanly(scripted: subprocess.CompletedProcess) -> None:
    assert scripted.returncode == 0, scripted.stderr
    assert scripted.stderr == ""


def test_script_starts_at_entry(scripted: subprocess.CompletedProcess) -> None:
    start = output_of(scripted, "")
    assert "stopped: entry: t=0\n" in start
    assert "  step        t=0 no_intrusion → continue\n" in start
    assert (
        "  belief      no_intrusion=1.000000, intrusion=0.000000, terminal=0.000000\n"
        in (start)
    )


def test_script_breaks_on_intrusion(scripted: subprocess.CompletedProcess) -> None:
    assert output_of(scripted, "break intrusion") == (
        "breakpoint 1: state intrusion (line 11)\n\n"
    )
    stop = output_of(scripted, "continue", 0)
    assert stop.startswith("stopped: breakpoint 1: t=28: state intrusion\n")
    assert "  hidden      state=intrusion, attacker action=continue\n" in stop


def test_script_breaks_when_expression(scripted: subprocess.CompletedProcess) -> None:
    assert output_of(scripted, "break when pi.stop > 0.8").startswith(
        "breakpoint 2: when pi.stop > 0.8\n"
    )
    first = output_of(scripted, "continue", 1)
    second = output_of(scripted, "continue", 2)
    assert first.startswith("stopped: function breakpoint 2: t=29: pi.stop > 0.8\n")
    assert second.startswith("stopped: function breakpoint 2: t=30: pi.stop > 0.8\n")


def test_script_reverse_and_back(scripted: subprocess.CompletedProcess) -> None:
    reverse = output_of(scripted, "reverse")
    back = output_of(scripted, "back")
    forward = output_of(scripted, "next")
    assert reverse.startswith("stopped: function breakpoint 2: t=29: pi.stop > 0.8\n")
    assert back.startswith("stopped: step: t=28\n")
    assert forward.startswith("stopped: step: t=29\n")
    assert forward.split("\n", 1)[1] == reverse.split("\n", 1)[1]


def test_script_prints_expressions(
    scripted: subprocess.CompletedProcess, steps: list
) -> None:
    belief = steps[29].belief[1]
    assert output_of(scripted, "print b.intrusion") == f"b.intrusion = {belief:.6f}\n\n"
    assert output_of(scripted, "print pi.stop > 0.8 and b.intrusion < 0.5") == (
        f"pi.stop > 0.8 and b.intrusion < 0.5 = {'true' if belief < 0.5 else 'false'}"
        "\n\n"
    )


def test_script_lists_frames(scripted: subprocess.CompletedProcess) -> None:
    assert output_of(scripted, "frames 3") == (
        "  t=29 intrusion → stop\n"
        "  t=28 intrusion → continue\n"
        "  t=27 no_intrusion → continue\n"
        "  ... 27 older step(s)\n\n"
    )


def test_script_goto(scripted: subprocess.CompletedProcess) -> None:
    assert output_of(scripted, "goto 5").startswith(
        "stopped: goto: t=5\n  step        t=5 no_intrusion → continue\n"
    )


def test_script_stops_at_quit(scripted: subprocess.CompletedProcess) -> None:
    commands = [name for name, _ in blocks(scripted.stdout)]
    assert commands[-1] == "quit"
    assert commands.count("next") == 1


def test_invalid_policy_exits_with_error() -> None:
    result = subprocess.run(
        [str(POMDB), "debug", str(INTRUSION), "--policy", "threshold:2"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=TIMEOUT,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        "pomdb: error: launch failed: threshold 2.0 is not a probability in [0, 1]\n"
    )


@pytest.mark.parametrize(
    "reference, label", [("threshold:0.4", "reference"), ("optimal:50", "optimal")]
)
def test_comparison_line_names_reference(
    tmp_path: Path, reference: str, label: str
) -> None:
    script = tmp_path / "next.txt"
    script.write_text("next\nquit\n")
    result = subprocess.run(
        [*DEBUG, "--reference", reference, "--reference-rollouts", "4",
         "--script", str(script)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=TIMEOUT,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    stdout = result.stdout.splitlines()
    labels = [line.split()[0] for line in stdout if "regret=" in line]
    # The step on entry and the one after `next`.
    assert labels == [label, label]


# An interactive session on a pseudo-terminal


class PseudoTerminal:
    """`pomdb debug` with a pseudo-terminal as its standard streams."""

    def __init__(self, argv: list[str]):
        master, slave = pty.openpty()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=REPO_ROOT
        )
        os.close(slave)
        self.master = master
        self.transcript = ""
        self._read = 0

    def expect(self, text: str) -> str:
        """Read until `text` appears; return the output since the last expect."""
        deadline = time.monotonic() + TIMEOUT
        while text not in self.transcript[self._read :]:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.master], [], [], max(remaining, 0))
            if not ready:
                raise TimeoutError(f"no {text!r} in:\n{self.transcript[self._read :]}")
            try:
                data = os.read(self.master, 4096)
            except OSError:  # the process closed the terminal
                data = b""
            if not data:
                raise EOFError(f"no {text!r} in:\n{self.transcript[self._read :]}")
            self.transcript += data.decode(errors="replace").replace("\r\n", "\n")
        end = self.transcript.index(text, self._read) + len(text)
        output, self._read = self.transcript[self._read : end], end
        return output

    def command(self, line: str) -> str:
        """Type `line` at the prompt and return its output up to the next prompt."""
        os.write(self.master, line.encode() + b"\n")
        self.expect(line + "\n")
        return self.expect(PROMPT)[: -len(PROMPT)]

    def close(self) -> int:
        try:
            return self.process.wait(TIMEOUT)
        finally:
            os.close(self.master)


def adapter_pid(pid: int) -> int:
    """Return the pid of the adapter process that `pomdb debug` started."""
    return int(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])


def wait_for_cpu(pid: int, seconds: float) -> None:
    """Wait until process `pid` has used `seconds` more CPU time, so a run is on."""

    start, deadline = cpu_seconds(pid), time.monotonic() + TIMEOUT
    while cpu_seconds(pid) - start < seconds:
        assert time.monotonic() < deadline, f"process {pid} is not running"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def interactive() -> Iterator[dict[str, str]]:
    """Run an interactive session on tiger.yaml and return each command's output."""
    terminal = PseudoTerminal(
        [str(POMDB), "debug", str(TIGER), "--policy", "random", "--seed", "1",
         "--max-steps", "10000000"]
    )  # fmt: skip
    outputs: dict[str, str] = {}
    try:
        outputs["start"] = terminal.expect(PROMPT)
        for line in ("next", "frobnicate", "print tiger_middle", "print b.tiger_left >",
                     "break nowhere", "goto soon", "next"):  # fmt: skip
            key = line if line not in outputs else f"{line} again"
            outputs[key] = terminal.command(line)
        os.write(terminal.master, b"continue\n")
        terminal.expect("continue\n")
        wait_for_cpu(adapter_pid(terminal.process.pid), seconds=0.3)
        terminal.process.send_signal(signal.SIGINT)
        outputs["continue"] = terminal.expect(PROMPT)
        outputs["print t"] = terminal.command("print t")
        os.write(terminal.master, b"quit\n")
        outputs["returncode"] = str(terminal.close())
        yield outputs
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
            terminal.close()


def test_prompt_shown_on_terminal(interactive: dict[str, str]) -> None:
    assert interactive["start"].endswith("\n" + PROMPT)
    assert "stopped: entry: t=0\n" in interactive["start"]


def test_interactive_next(interactive: dict[str, str]) -> None:
    assert interactive["next"].startswith("stopped: step: t=1\n")


def test_session_goes_on_after_errors(interactive: dict[str, str]) -> None:
    assert interactive["next again"].startswith("stopped: step: t=2\n")


def test_unknown_command_keeps_session(interactive: dict[str, str]) -> None:
    assert interactive["frobnicate"] == (
        "unknown command 'frobnicate'; type 'help' for the list\n"
    )


def test_unknown_name_keeps_session(interactive: dict[str, str]) -> None:
    assert interactive["print tiger_middle"].startswith(
        "error: invalid expression: unknown name 'tiger_middle'"
    )


def test_invalid_expression_keeps_session(interactive: dict[str, str]) -> None:
    assert interactive["print b.tiger_left >"] == (
        "error: invalid expression: expected a value after '>'\n"
        "  b.tiger_left >\n"
        "                ^\n"
    )


def test_unknown_breakpoint_name(interactive: dict[str, str]) -> None:
    assert interactive["break nowhere"] == (
        "error: 'nowhere' is not declared in the scenario; declared: tiger_left, "
        "tiger_right, listen, open_left, open_right, hear_left, hear_right\n"
    )


def test_invalid_goto_step(interactive: dict[str, str]) -> None:
    assert interactive["goto soon"] == "error: goto T: T must be a step number\n"


def test_interrupt_pauses_long_run(interactive: dict[str, str]) -> None:
    assert "pausing the run\n" in interactive["continue"]
    assert "stopped: pause: paused at t=" in interactive["continue"]
    paused_at = interactive["continue"].split("paused at t=")[1].split("\n")[0]
    assert interactive["print t"] == f"t = {paused_at}\n"
    assert int(paused_at) > 1


def test_quit_ends_session(interactive: dict[str, str]) -> None:
    assert interactive["returncode"] == "0"
