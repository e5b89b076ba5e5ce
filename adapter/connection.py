"""Dispatch of Debug Adapter Protocol requests to a handler object.

`Connection` reads framed messages from a binary stream, calls the handler's method
for each request and writes responses and events to the output stream.

Handler interface, implemented by the debug session:

- The connection creates the handler by calling `handler_factory(connection)`. The
  handler keeps the connection and calls `connection.send_event(event, body)` to send
  events from any thread.
- A request with command `C` calls the method `on_C(args)`, with the command name
  unchanged, e.g. `on_initialize`, `on_setBreakpoints`, `on_configurationDone`.
  `args` is an `Arguments` with typed getters, and `args.request` is the request.
  A command that is not a Python identifier, or has no such method, gets the error
  response "unsupported request".
- The method returns the response body (a dict, or None for no body), raises
  `RequestError` for an error response, or returns a `Deferred` and calls its
  `resolve(body)` or `reject(error)` later from any thread. Any other exception
  becomes an error response too, and the connection goes on reading.
- Optional `connection_lost(error)`: called once when reading stops, with None after
  end of input or `Connection.close()`, or the FramingError that ended the stream.

Requests are dispatched one at a time on the thread that runs `Connection.serve`, in
the order they arrive, so a handler that blocks delays all later requests. Every
message in either direction is logged at DEBUG level on this module's logger.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

from adapter.arguments import (
    ERROR_INTERNAL,
    ERROR_UNSUPPORTED_REQUEST,
    Arguments,
    RequestError,
)
from adapter.framing import (
    FramingError,
    InvalidMessageError,
    MessageReader,
    describe_message,
    encode_message,
)

logger = logging.getLogger(__name__)

HandlerFactory = Callable[["Connection"], object]
Outcome = Mapping[str, Any] | RequestError | None

_READ_SIZE = 65536


class Deferred:
    """Response that a handler sends later, e.g. `launch` after `configurationDone`.

    Return it from a request handler and keep it. Call `resolve` or `reject` once, from
    any thread, even before the handler returns. A second call raises RuntimeError.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcome: Outcome = None
        self._settled = False
        self._send: Callable[[Outcome], None] | None = None

    @property
    def settled(self) -> bool:
        """True once `resolve` or `reject` was called."""
        return self._settled

    def resolve(self, body: Mapping[str, Any] | None = None) -> None:
        """Send the successful response with `body`."""
        self._settle(body)

    def reject(self, error: RequestError | str) -> None:
        """Send an error response."""
        self._settle(error if isinstance(error, RequestError) else RequestError(error))

    def _settle(self, outcome: Outcome) -> None:
        with self._lock:
            if self._settled:
                raise RuntimeError("this Deferred response was already resolved")
            self._settled = True
            self._outcome = outcome
            send = self._send
        if send is not None:
            send(outcome)

    def _bind(self, send: Callable[[Outcome], None]) -> None:
        with self._lock:
            if self._send is not None:
                raise RuntimeError("a Deferred can respond to only one request")
            self._send = send
            settled, outcome = self._settled, self._outcome
        if settled:
            send(outcome)


class Connection:
    """One DAP client: reads requests from `reader` and writes to `writer`.

    `reader` must return at least one byte per `read1`/`read` call unless the input
    has ended (buffered files, socket files and pipes do). Writes are serialised by a
    lock, and `seq` increases by one per message in the order written.
    """

    def __init__(
        self,
        reader: BinaryIO,
        writer: BinaryIO,
        handler_factory: HandlerFactory,
        *,
        name: str = "dap",
    ) -> None:
        self.name = name
        self._reader = reader
        self._writer = writer
        self._frames = MessageReader()
        self._write_lock = threading.Lock()
        self._next_seq = 1
        self._closing = False
        self._output_closed = False
        self._after_response: list[Callable[[], None]] = []
        self.handler = handler_factory(self)

    def close(self) -> None:
        """Stop reading after the request being handled, then drop later writes.

        The response of the current request is still sent. A read that is already
        blocked is not interrupted, so close the transport to stop at once.
        """
        self._closing = True

    def after_response(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the response of the request being handled is sent.

        Use it from a request handler for events that must follow the response, such
        as `initialized` after `initialize`. Callbacks run on the dispatch thread in
        the order given, and are dropped when the request fails. When the handler
        returns a `Deferred`, they run as soon as the handler returns, which may be
        before the deferred response.
        """
        self._after_response.append(callback)

    def send_event(
        self, event: str, body: Mapping[str, Any] | None = None
    ) -> int | None:
        """Send an event and return its `seq`, or None if the output is closed."""
        message: dict[str, Any] = {"type": "event", "event": event}
        if body is not None:
            message["body"] = body
        return self._send(message)

    def serve(self) -> None:
        """Read and dispatch messages until end of input or `close()`.

        Raises FramingError when the input cannot be parsed any more. Messages with
        an intact frame but an invalid body are logged and skipped.
        """
        logger.info("%s: serving", self.name)
        error: FramingError | None = None
        try:
            self._read_loop()
        except FramingError as exc:
            logger.error("%s: closing the connection: %s", self.name, exc)
            error = exc
            raise
        finally:
            self._output_closed = True
            logger.info("%s: stopped serving", self.name)
            lost = getattr(self.handler, "connection_lost", None)
            if callable(lost):
                lost(error)

    def _read_loop(self) -> None:
        read = getattr(self._reader, "read1", None) or self._reader.read
        while not self._closing:
            try:
                data = read(_READ_SIZE)
            except OSError as exc:
                logger.warning("%s: reading failed, closing: %s", self.name, exc)
                return
            if not data:
                logger.info("%s: end of input", self.name)
                return
            self._frames.feed(data)
            while not self._closing:
                try:
                    message = self._frames.next_message()
                except InvalidMessageError as exc:
                    logger.error("%s: skipped an invalid message: %s", self.name, exc)
                    continue
                if message is None:
                    break
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s: received %s", self.name, json.dumps(message))
        if message["type"] == "request":
            self._handle_request(message)
        else:
            logger.warning(
                "%s: ignored %s, the adapter handles only requests",
                self.name,
                describe_message(message),
            )

    def _find_method(self, command: str) -> Callable[[Arguments], object] | None:
        if not command.isidentifier():
            return None
        method = getattr(self.handler, f"on_{command}", None)
        return method if callable(method) else None

    def _handle_request(self, request: dict[str, Any]) -> None:
        self._after_response = []
        self._handle(request)
        callbacks, self._after_response = self._after_response, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception(
                    "%s: callback after %s raised", self.name, describe_message(request)
                )

    def _handle(self, request: dict[str, Any]) -> None:
        command = request["command"]
        try:
            method = self._find_method(command)
            if method is None:
                raise RequestError(
                    f"unsupported request {command!r}",
                    error_id=ERROR_UNSUPPORTED_REQUEST,
                )
            result = method(Arguments.of_request(request))
        except RequestError as exc:
            logger.info("%s: %s failed: %s", self.name, describe_message(request), exc)
            self._after_response = []
            self._respond(request, exc)
            return
        except Exception as exc:
            logger.exception(
                "%s: handler of %s raised", self.name, describe_message(request)
            )
            self._after_response = []
            self._respond(request, _internal_error(command, exc))
            return

        if isinstance(result, Deferred):
            result._bind(lambda outcome: self._respond(request, outcome))
        elif result is None or isinstance(result, Mapping):
            self._respond(request, result)
        else:
            logger.error(
                "%s: handler of %s returned %s, expected a dict, None or Deferred",
                self.name,
                describe_message(request),
                type(result).__name__,
            )
            error = TypeError(f"handler returned {type(result).__name__}")
            self._respond(request, _internal_error(command, error))

    def _respond(self, request: Mapping[str, Any], outcome: Outcome) -> None:
        response: dict[str, Any] = {
            "type": "response",
            "request_seq": request["seq"],
            "success": not isinstance(outcome, RequestError),
            "command": request["command"],
        }
        if isinstance(outcome, RequestError):
            response["message"] = outcome.message
            response["body"] = outcome.to_body()
        elif outcome is not None:
            response["body"] = outcome

        try:
            self._send(response)
        except (TypeError, ValueError) as exc:
            logger.error("%s: %s", self.name, exc)
            self._send(
                {**response, **_error_fields(_internal_error(request["command"], exc))}
            )

    def _send(self, message: dict[str, Any]) -> int | None:
        with self._write_lock:
            if self._output_closed:
                logger.debug("%s: output closed, dropped %s", self.name, message)
                return None
            seq = self._next_seq
            full = {"seq": seq, **message}
            data = encode_message(full)
            try:
                _write_all(self._writer, data)
            except OSError as exc:
                self._output_closed = True
                logger.warning("%s: writing failed, output closed: %s", self.name, exc)
                return None
            self._next_seq += 1
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s: sent %s", self.name, data.partition(b"\r\n\r\n")[2].decode()
            )
        return seq


def _internal_error(command: str, error: BaseException) -> RequestError:
    return RequestError(
        f"internal error in the debug adapter while handling {command!r}: "
        f"{type(error).__name__}: {error}",
        error_id=ERROR_INTERNAL,
    )


def _error_fields(error: RequestError) -> dict[str, Any]:
    return {"success": False, "message": error.message, "body": error.to_body()}


def _write_all(writer: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = writer.write(view)
        # Raw files may write only part of the data, so write the rest in a loop.
        view = view[len(view) if written is None else written :]
    writer.flush()
