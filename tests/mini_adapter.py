"""Small DAP handler for protocol tests, also runnable as an adapter process.

    python tests/mini_adapter.py          serve one client over stdio
    python tests/mini_adapter.py --tcp    serve one client on 127.0.0.1, free port

It logs at DEBUG level to stderr, so tests can check that logs never reach stdout.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Any

from adapter.protocol import (
    Arguments,
    Connection,
    Deferred,
    FramingError,
    RequestError,
    serve_stdio,
    serve_tcp,
)

CAPABILITIES = {
    "supportsConfigurationDoneRequest": True,
    "supportsStepBack": True,
    "supportsConditionalBreakpoints": True,
}


class MiniSession:
    """Handler with one method per behaviour that the protocol tests exercise."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.launch_response: Deferred | None = None
        self.lost: list[FramingError | None] = []

    def on_initialize(self, args: Arguments) -> dict[str, Any]:
        args.get_str("adapterID")
        return CAPABILITIES

    def on_launch(self, args: Arguments) -> Deferred:
        self.launch_response = Deferred()
        self.connection.send_event("initialized")
        return self.launch_response

    def on_configurationDone(self, args: Arguments) -> None:
        if self.launch_response is None:
            raise RequestError("configurationDone before launch")
        self.launch_response.resolve()

    def on_evaluate(self, args: Arguments) -> dict[str, Any]:
        expression = args.get_str("expression")
        return {"result": expression.upper(), "variablesReference": 0}

    def on_output(self, args: Arguments) -> None:
        text = args.get_str("text")
        self.connection.send_event("output", {"category": "console", "output": text})

    def on_fail(self, args: Arguments) -> None:
        raise RequestError("failed on purpose", error_id=4242, show_user=False)

    def on_crash(self, args: Arguments) -> None:
        raise ZeroDivisionError("division by zero in the handler")

    def on_noise(self, args: Arguments) -> dict[str, Any]:
        # Three ways a process can write to stdout, and none may corrupt the frames.
        print("noise from print")
        os.write(1, b"noise from file descriptor 1\n")
        subprocess.run(["echo", "noise from a child process"], check=True)
        return {}

    def on_disconnect(self, args: Arguments) -> None:
        self.connection.close()

    def connection_lost(self, error: FramingError | None) -> None:
        self.lost.append(error)


if __name__ == "__main__":
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    if sys.argv[1:] == ["--tcp"]:
        serve_tcp(0, MiniSession, max_clients=1)
    else:
        serve_stdio(MiniSession)
