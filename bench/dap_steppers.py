"""Debug sessions stepped the way VS Code steps them, for timing DAP round trips.

A `Stepper` drives one debug adapter process over stdio with the project's production
client (`adapter.client.DapClient`, no schema validation). One round trip is what
pressing F10 costs in VS Code. It sends `next`, waits for the `stopped` event, then
requests `stackTrace` with levels 20 and `scopes`. Last come `variables` of the scope
that VS Code expands (the first one that is not `expensive`), or of every scope.
VS Code itself splits the stackTrace into levels 1 and then 19 more when the adapter
supports delayed stack trace loading, as both adapters here do.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from machine import REPO, SAMPLE_SCENARIO

sys.path.insert(0, str(REPO))

from adapter.client import DapClient

DEBUGGEE = Path(__file__).resolve().parent / "debuggee_loop.py"
BREAKPOINT_MARKER = "# the benchmark's breakpoint"
PHASES = ("next", "stopped", "stackTrace", "scopes", "variables")
# The stop reason pomdb's runtime sends when `next` finds the episode already ended.
END_OF_EPISODE = "end of episode"
# Initialize arguments as VS Code's DebugSession.initialize sends them (clientName and
# locale filled in), less the reverse requests that this client does not serve
# (runInTerminal with its shell option, startDebugging).
INITIALIZE = {
    "clientID": "vscode",
    "clientName": "Visual Studio Code",
    "pathFormat": "path",
    "linesStartAt1": True,
    "columnsStartAt1": True,
    "supportsVariableType": True,
    "supportsVariablePaging": True,
    "supportsRunInTerminalRequest": False,
    "supportsProgressReporting": True,
    "supportsInvalidatedEvent": True,
    "supportsMemoryReferences": True,
    "supportsMemoryEvent": True,
    "supportsANSIStyling": True,
    "locale": "en",
}
START_TIMEOUT = 60.0

Message = dict[str, Any]


@dataclass(frozen=True)
class RoundTrip:
    """One timed round trip; `phases` are the seconds of each entry of PHASES."""

    seconds: float
    phases: tuple[float, ...]
    stepped: bool


def _succeeded(response: Message) -> Message:
    if not response.get("success"):
        raise RuntimeError(
            f"{response.get('command')} failed: {response.get('message')} "
            f"({response.get('body')})"
        )
    return response


class Stepper:
    """A stopped debug session that `round_trip` steps one step at a time.

    `startup_seconds` is the time from starting the adapter process to the first
    `stopped` event, as F5 in VS Code waits for it.
    """

    def __init__(
        self,
        name: str,
        client: DapClient,
        thread_id: int,
        all_scopes: bool,
        last_thread_id: int,
        startup_seconds: float,
    ) -> None:
        self.name = name
        self.client = client
        self.thread_id = thread_id
        self.last_thread_id = last_thread_id
        self.all_scopes = all_scopes
        self.startup_seconds = startup_seconds

    def round_trip(self) -> RoundTrip:
        """Step once and fetch what VS Code shows.

        `stepped` is False when `next` found the episode already ended; the stepper
        then moves on to the next episode's thread.
        """
        client, thread = self.client, self.thread_id
        start = time.perf_counter()
        next_response = client.request("next", {"threadId": thread})
        after_next = time.perf_counter()
        stopped = client.wait_event(
            "stopped", predicate=lambda event: event["body"]["threadId"] == thread
        )
        after_stopped = time.perf_counter()
        trace = client.request(
            "stackTrace", {"threadId": thread, "startFrame": 0, "levels": 20}
        )
        after_trace = time.perf_counter()
        frame_id = _succeeded(trace)["body"]["stackFrames"][0]["id"]
        scopes = client.request("scopes", {"frameId": frame_id})
        after_scopes = time.perf_counter()
        all_scopes = _succeeded(scopes)["body"]["scopes"]
        if self.all_scopes:
            chosen = all_scopes
        else:
            chosen = [next(scope for scope in all_scopes if not scope.get("expensive"))]
        variables = [
            client.request(
                "variables", {"variablesReference": scope["variablesReference"]}
            )
            for scope in chosen
        ]
        end = time.perf_counter()

        for response in (next_response, *variables):
            _succeeded(response)
        stepped = stopped["body"]["reason"] != END_OF_EPISODE
        if not stepped:
            self._next_thread()
        phases = (
            after_next - start,
            after_stopped - after_next,
            after_trace - after_stopped,
            after_scopes - after_trace,
            end - after_scopes,
        )
        return RoundTrip(end - start, phases, stepped)

    def _next_thread(self) -> None:
        if self.thread_id == self.last_thread_id:
            raise RuntimeError(
                f"{self.name}: all {self.last_thread_id} episodes have ended; "
                "launch more episodes"
            )
        self.thread_id += 1

    def close(self) -> None:
        """Disconnect, ending the debuggee, and stop the adapter process."""
        try:
            self.client.request("disconnect", {"terminateDebuggee": True})
        finally:
            self.client.close()


def start_pomdb(seed: int, episodes: int, all_scopes: bool) -> Stepper:
    """Launch pomdb's adapter on the sample scenario, stopped at t=0 of each episode."""
    start = time.perf_counter()
    client = DapClient.start([sys.executable, "-m", "adapter"], cwd=REPO)
    try:
        _succeeded(client.request("initialize", {**INITIALIZE, "adapterID": "pomdp"}))
        launch = client.send_request(
            "launch",
            {
                "type": "pomdp",
                "request": "launch",
                "name": "benchmark",
                "scenario": str(SAMPLE_SCENARIO),
                "policy": "threshold:0.5",
                "seed": seed,
                "episodes": episodes,
                "maxSteps": 100_000,
                "stopOnEntry": True,
            },
        )
        client.wait_event("initialized", START_TIMEOUT)
        _succeeded(client.request("setExceptionBreakpoints", {"filters": []}))
        _succeeded(client.request("configurationDone"))
        _succeeded(client.wait_response(launch, START_TIMEOUT))
        client.wait_event("stopped", START_TIMEOUT)
        startup = time.perf_counter() - start
        for _ in range(episodes - 1):
            client.wait_event("stopped", START_TIMEOUT)
    except BaseException:
        client.close()
        raise
    name = "pomdb, all scopes" if all_scopes else "pomdb"
    return Stepper(name, client, 1, all_scopes, episodes, startup)


def breakpoint_line() -> int:
    """Return the 1-based line of the debuggee that carries BREAKPOINT_MARKER."""
    lines = DEBUGGEE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if BREAKPOINT_MARKER in line:
            return number
    raise RuntimeError(f"{DEBUGGEE}: no line is marked {BREAKPOINT_MARKER!r}")


def start_debugpy(nodelay: bool) -> Stepper:
    """Launch debuggee_loop.py under debugpy's adapter, stopped at its breakpoint.

    The launch arguments are those of a VS Code launch configuration with
    `"console": "internalConsole"`, so the adapter starts the program itself and
    sends no runInTerminal request.
    """
    start = time.perf_counter()
    client = DapClient.start(
        [sys.executable, "-m", "debugpy.adapter"], cwd=DEBUGGEE.parent
    )
    try:
        _succeeded(client.request("initialize", {**INITIALIZE, "adapterID": "debugpy"}))
        launch = client.send_request(
            "launch",
            {
                "type": "debugpy",
                "request": "launch",
                "name": "benchmark",
                "program": str(DEBUGGEE),
                "console": "internalConsole",
                "justMyCode": True,
                "showReturnValue": True,
                "cwd": str(DEBUGGEE.parent),
                "python": [sys.executable],
                "env": {"POMDB_BENCH_NODELAY": "1" if nodelay else "0"},
            },
        )
        client.wait_event("initialized", START_TIMEOUT)
        source = {"path": str(DEBUGGEE), "name": DEBUGGEE.name}
        breakpoints = client.request(
            "setBreakpoints",
            {"source": source, "breakpoints": [{"line": breakpoint_line()}]},
        )
        if not _succeeded(breakpoints)["body"]["breakpoints"][0]["verified"]:
            raise RuntimeError(f"debugpy did not verify the breakpoint: {breakpoints}")
        _succeeded(client.request("setExceptionBreakpoints", {"filters": ["uncaught"]}))
        _succeeded(client.request("configurationDone"))
        _succeeded(client.wait_response(launch, START_TIMEOUT))
        stopped = client.wait_event("stopped", START_TIMEOUT)
        startup = time.perf_counter() - start
    except BaseException:
        client.close()
        raise
    thread = stopped["body"]["threadId"]
    name = "debugpy, TCP_NODELAY" if nodelay else "debugpy"
    return Stepper(name, client, thread, False, thread, startup)
