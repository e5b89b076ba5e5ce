"""Synchronous Debug Adapter Protocol client, used by `pomdb debug` and the tests.

`DapClient.start()` runs `python -m adapter` (or another command) with the protocol
on its stdin and stdout. `DapClient.connect(port)` uses a TCP server on 127.0.0.1.
A reader thread keeps every received message in arrival order in `messages`. By
`validate` is called on each received message; the first ValueError it raises fails
the next `request`/`wait_*` call (the tests pass the DAP schema validator).

    with DapClient.start() as client:
        client.request("initialize", {"adapterID": "pomdp"})
        launch_seq = client.send_request("launch", {"scenario": "..."})
        client.wait_event("initialized")
        client.request("configurationDone")
        assert client.wait_response(launch_seq)["success"]
        stopped = client.wait_event("stopped")
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adapter.framing import (
    FramingError,
    InvalidMessageError,
    MessageReader,
    encode_message,
)

DEFAULT_TIMEOUT = 10.0

Message = dict[str, Any]


class DapClient:
    """Client side of one DAP connection, made by `start` or `connect`."""

    def __init__(
        self,
        send: Callable[[bytes], None],
        receive: Callable[[], bytes],
        *,
        process: subprocess.Popen[bytes] | None = None,
        sock: socket.socket | None = None,
        validate: Callable[[Message], None] | None = None,
    ) -> None:
        self.process = process
        self.validate = validate
        self._send_bytes = send
        self._receive = receive
        self._sock = sock
        self._next_seq = 1
        self._send_lock = threading.Lock()
        self._changed = threading.Condition()
        self._messages: list[Message] = []
        # Indices of responses by request seq and of events not yet returned by
        # wait_event by event name, so a wait does not rescan the whole session.
        self._responses: dict[int, int] = {}
        self._unconsumed_events: dict[str, list[int]] = {}
        self._errors: list[Exception] = []
        self._input_ended = False
        self._stderr_chunks: list[bytes] = []
        self._threads = [threading.Thread(target=self._read_messages, daemon=True)]
        if process is not None and process.stderr is not None:
            self._threads.append(
                threading.Thread(target=self._read_stderr, daemon=True)
            )
        for thread in self._threads:
            thread.start()

    @classmethod
    def start(
        cls,
        command: Sequence[str] | None = None,
        *,
        cwd: str | Path | None = None,
        env: dict[str, str] | None = None,
        validate: Callable[[Message], None] | None = None,
    ) -> DapClient:
        """Start an adapter process, by default `python -m adapter`, over stdio."""
        argv = list(command) if command else [sys.executable, "-m", "adapter"]
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
        )
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, process.stdout

        def send(data: bytes) -> None:
            stdin.write(data)
            stdin.flush()

        def receive() -> bytes:
            return os.read(stdout.fileno(), 65536)

        return cls(send, receive, process=process, validate=validate)

    @classmethod
    def connect(
        cls,
        port: int,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        validate: Callable[[Message], None] | None = None,
    ) -> DapClient:
        """Connect to an adapter listening on 127.0.0.1:`port`."""
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        sock.settimeout(None)
        return cls(sock.sendall, lambda: sock.recv(65536), sock=sock, validate=validate)

    def __enter__(self) -> DapClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Sending

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are, e.g. a malformed frame."""
        with self._send_lock:
            self._send_bytes(data)

    def send_request(self, command: str, arguments: Any = None) -> int:
        """Send a request without waiting and return its `seq`.

        `arguments` is sent as given, so tests can send invalid ones. None omits it.
        """
        with self._send_lock:
            seq = self._next_seq
            self._next_seq += 1
            request: Message = {"seq": seq, "type": "request", "command": command}
            if arguments is not None:
                request["arguments"] = arguments
            self._send_bytes(encode_message(request))
        return seq

    def request(
        self, command: str, arguments: Any = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Message:
        """Send a request and return its response, successful or not."""
        return self.wait_response(self.send_request(command, arguments), timeout)

    # Receiving

    @property
    def messages(self) -> list[Message]:
        """Copy of all messages received so far, in arrival order."""
        with self._changed:
            return list(self._messages)

    @property
    def stderr(self) -> str:
        """Text the adapter process wrote to stderr so far."""
        with self._changed:
            return b"".join(self._stderr_chunks).decode("utf-8", "replace")

    def events(self, event: str) -> list[Message]:
        """Return all received events named `event`, consumed or not."""
        return [
            m for m in self.messages if m["type"] == "event" and m["event"] == event
        ]

    def wait_response(self, seq: int, timeout: float = DEFAULT_TIMEOUT) -> Message:
        """Wait for the response to the request with `seq`."""

        def find() -> Message | None:
            index = self._responses.get(seq)
            return None if index is None else self._messages[index]

        return self._wait(find, f"the response to request {seq}", timeout)

    def wait_event(
        self,
        event: str,
        timeout: float = DEFAULT_TIMEOUT,
        predicate: Callable[[Message], bool] | None = None,
    ) -> Message:
        """Return the earliest event named `event` that no wait_event returned yet.

        Events received before the call count, so an event that arrived while a
        request was pending is not missed. `predicate` further filters on the event.
        """

        def find() -> Message | None:
            pending = self._unconsumed_events.get(event, [])
            for position, index in enumerate(pending):
                message = self._messages[index]
                if predicate is None or predicate(message):
                    del pending[position]
                    return message
            return None

        return self._wait(find, f"event {event!r}", timeout)

    def _wait(
        self, find: Callable[[], Message | None], description: str, timeout: float
    ) -> Message:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if self._errors:
                    raise self._errors[0]
                found = find()
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if self._input_ended or remaining <= 0:
                    break
                self._changed.wait(remaining)

        reason = (
            "the adapter closed the connection"
            if self._input_ended
            else (f"timed out after {timeout} s")
        )
        raise TimeoutError(
            f"{reason} while waiting for {description}\n{self._diagnostics()}"
        )

    def _diagnostics(self) -> str:
        recent = [json.dumps(m)[:300] for m in self.messages[-8:]]
        lines = ["last messages received:", *recent]
        if self.process is not None:
            lines += ["adapter stderr (end):", self.stderr[-3000:]]
        return "\n".join(lines)

    def _read_messages(self) -> None:
        reader = MessageReader()
        try:
            while data := self._receive():
                reader.feed(data)
                self._drain(reader)
        except (OSError, ValueError):
            pass  # close() closed the stream under the reading thread.
        except FramingError as error:
            with self._changed:
                self._errors.append(error)
        finally:
            with self._changed:
                self._input_ended = True
                self._changed.notify_all()

    def _drain(self, reader: MessageReader) -> None:
        while True:
            try:
                message = reader.next_message()
            except InvalidMessageError as error:
                with self._changed:
                    self._errors.append(error)
                continue
            if message is None:
                return
            self._add(message)

    def _add(self, message: Message) -> None:
        error: Exception | None = None
        if self.validate is not None:
            try:
                self.validate(message)
            except ValueError as exc:
                error = exc
        with self._changed:
            index = len(self._messages)
            self._messages.append(message)
            if message.get("type") == "response":
                self._responses[message.get("request_seq")] = index
            elif message.get("type") == "event":
                self._unconsumed_events.setdefault(message.get("event"), []).append(index)
            if error is not None:
                self._errors.append(error)
            self._changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        while chunk := os.read(self.process.stderr.fileno(), 65536):
            with self._changed:
                self._stderr_chunks.append(chunk)

    # Shutdown

    def close(self, timeout: float = 5.0) -> int | None:
        """Close the connection, end the adapter process and return its exit code.

        The process first gets end of input on stdin, then SIGTERM to its pid, then
        SIGKILL, each after `timeout` seconds.
        """
        returncode = None
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
        if self.process is not None:
            returncode = self._stop_process(self.process, timeout)
        for thread in self._threads:
            thread.join(timeout)
        if self.process is not None:
            for pipe in (self.process.stdout, self.process.stderr):
                if pipe is not None:
                    pipe.close()
        return returncode

    @staticmethod
    def _stop_process(process: subprocess.Popen[bytes], timeout: float) -> int:
        try:
            assert process.stdin is not None
            process.stdin.close()
        except OSError:
            pass
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout)
