"""A debug session of pomdb's adapter, driven step by step through `dap_client`.

    with AdapterServer.start(log_path) as server:
        session = server.connect()
        session.start(scenario=str(INTRUSION), policy="threshold:0.5", seed=3)
        session.stopped()          # the entry stop at t=0
        session.scope("Belief")    # {"no_intrusion": "1.000000", ...}

`AdapterServer` runs one `python -m adapter --port 0` process that serves the clients
of a test module one after another, so the tests pay its start-up (scipy) once. Every
message a client receives is checked against the DAP schema.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dap_client import REPO_ROOT, DapClient, Message

from simcore.episode import Simulator, Step, episode_seed
from simcore.model import POMDP
from simcore.policies import load_policy
from simcore.scenario import load_scenario

INTRUSION = REPO_ROOT / "samples" / "intrusion_prevention.yaml"
TIGER = REPO_ROOT / "tests" / "data" / "scenarios" / "tiger.yaml"

# Declaration lines of samples/intrusion_prevention.yaml.
NO_INTRUSION_LINE = 10
INTRUSION_LINE = 11
TERMINAL_LINE = 12
CONTINUE_LINE = 14
STOP_LINE = 15
ATTACK_LINE = 18
ALERTS_LINE = 20
DESCRIPTION_LINE = 3

STARTUP_TIMEOUT = 30.0
_LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


class AdapterServer:
    """A `python -m adapter --port 0` process; its stderr goes to `log_path`."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path):
        self.process = process
        self.port = port
        self.log_path = log_path

    @classmethod
    def start(cls, log_path: Path) -> AdapterServer:
        """Start the adapter and wait for its `listening on 127.0.0.1:PORT` line."""
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "adapter", "--port", "0"],
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            match = _LISTENING.search(log_path.read_text(errors="replace"))
            if match:
                return cls(process, int(match.group(1)), log_path)
            if process.poll() is not None:
                break
            time.sleep(0.05)
        process.kill()
        process.wait()
        raise RuntimeError(
            f"python -m adapter --port 0 printed no listening line:\n"
            f"{log_path.read_text(errors='replace')}"
        )

    def connect(self) -> DebugSession:
        return DebugSession(DapClient.connect(self.port))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> AdapterServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class DebugSession:
    """Requests of one debug session with the checks every test repeats."""

    def __init__(self, client: DapClient):
        self.client = client

    def close(self) -> None:
        self.client.close()

    # Start-up.

    def start(
        self,
        *,
        breakpoints: list[dict[str, Any]] | None = None,
        function_breakpoints: list[dict[str, Any]] | None = None,
        filters: list[dict[str, Any]] | None = None,
        source: Path = INTRUSION,
        **launch: Any,
    ) -> dict[str, Any]:
        """Run initialize, launch, the configuration requests and configurationDone.

        `breakpoints` are set in `source`. Returns the bodies of the configuration
        responses by command. Fails when the launch response is an error.
        """
        self.request("initialize", {"adapterID": "pomdp", "clientID": "pytest"})
        launch_seq = self.client.send_request("launch", launch)
        self.client.wait_event("initialized")
        configured = {}
        if breakpoints is not None:
            configured["setBreakpoints"] = self.set_breakpoints(breakpoints, source)
        if function_breakpoints is not None:
            configured["setFunctionBreakpoints"] = self.request(
                "setFunctionBreakpoints", {"breakpoints": function_breakpoints}
            )["breakpoints"]
        if filters is not None:
            configured["setExceptionBreakpoints"] = self.request(
                "setExceptionBreakpoints", {"filters": [], "filterOptions": filters}
            )["breakpoints"]
        self.request("configurationDone")
        response = self.client.wait_response(launch_seq)
        assert response["success"], response.get("message")
        return configured

    def launch_error(self, **launch: Any) -> str:
        """Send initialize and a launch that must fail; return the error message."""
        self.request("initialize", {"adapterID": "pomdp"})
        response = self.client.request("launch", launch)
        assert response["success"] is False
        return response["message"]

    # Requests.

    def request(self, command: str, arguments: Any = None) -> dict[str, Any]:
        """Send a request that must succeed and return its body."""
        response = self.client.request(command, arguments)
        assert response["success"], f"{command} failed: {response.get('message')}"
        return response.get("body") or {}

    def error(self, command: str, arguments: Any = None) -> str:
        """Send a request that must fail and return its message."""
        response = self.client.request(command, arguments)
        assert response["success"] is False, f"{command} succeeded: {response}"
        return response["message"]

    def set_breakpoints(
        self, breakpoints: list[dict[str, Any]], path: Path = INTRUSION
    ) -> list[dict[str, Any]]:
        body = self.request(
            "setBreakpoints",
            {"source": {"path": str(path)}, "breakpoints": breakpoints},
        )
        return body["breakpoints"]

    def stopped(
        self, thread: int | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Return the body of the next stopped event (of `thread`, if given)."""

        def of_thread(message: Message) -> bool:
            return thread is None or message["body"]["threadId"] == thread

        event = self.client.wait_event("stopped", timeout, predicate=of_thread)
        return event["body"]

    def run(self, command: str, thread: int = 1, **arguments: Any) -> dict[str, Any]:
        """Send a run request (next, continue, stepBack, ...) and return the stop."""
        self.request(command, {"threadId": thread, **arguments})
        return self.stopped(thread)

    # Frames and variables.

    def frames(self, thread: int = 1, **arguments: Any) -> dict[str, Any]:
        return self.request("stackTrace", {"threadId": thread, **arguments})

    def top(self, thread: int = 1) -> dict[str, Any]:
        return self.frames(thread, levels=1)["stackFrames"][0]

    def t(self, thread: int = 1) -> int:
        """Return the time step the episode is stopped at."""
        return self.frames(thread, levels=1)["totalFrames"] - 1

    def variables(self, scope: str, frame: int | None = None) -> list[dict[str, Any]]:
        frame = self.top()["id"] if frame is None else frame
        scopes = self.request("scopes", {"frameId": frame})["scopes"]
        reference = next(s["variablesReference"] for s in scopes if s["name"] == scope)
        return self.request("variables", {"variablesReference": reference})["variables"]

    def scope(self, scope: str, frame: int | None = None) -> dict[str, str]:
        """Return the variables of `scope` as {name: value}."""
        return {v["name"]: v["value"] for v in self.variables(scope, frame)}

    def evaluate(
        self, expression: str, context: str = "watch", **arguments: Any
    ) -> str:
        body = self.request(
            "evaluate", {"expression": expression, "context": context, **arguments}
        )
        return body["result"]

    def outputs(self) -> str:
        return "".join(e["body"]["output"] for e in self.client.events("output"))


def cpu_seconds(pid: int) -> float:
    """Return the user and system CPU time of process `pid`, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@functools.cache
def load_model(scenario: Path) -> POMDP:
    return load_scenario(scenario)


def simulate(
    seed: int,
    policy: str = "threshold:0.5",
    episode: int = 0,
    max_steps: int | None = None,
    scenario: Path = INTRUSION,
) -> list[Step]:
    """Return the steps of an episode simulated without the debugger."""
    model = load_model(scenario)
    simulator = Simulator(
        model, load_policy(policy, model), episode_seed(seed, episode), max_steps
    )
    return list(simulator)
