"""Debug Adapter Protocol server: transports and the public protocol API.

`serve_stdio` and `serve_tcp` run a `Connection` over the process's standard streams
or over a socket on 127.0.0.1. This module also re-exports the pieces a debug session
needs, so `from adapter.protocol import ...` is the one import for them:

- `adapter.framing`: `MessageReader`, `encode_message` and the `ProtocolError` family
  (Content-Length framing, without I/O).
- `adapter.arguments`: `Arguments` (typed access to request arguments) and
  `RequestError` (an error response).
- `adapter.connection`: `Connection` and `Deferred`, and the handler interface: a
  request `C` calls `handler.on_C(args)`, with the DAP command name unchanged.
"""

from __future__ import annotations

import logging
import os
import socket
import sys

from adapter.arguments import Arguments, RequestError
from adapter.connection import Connection, Deferred, HandlerFactory
from adapter.framing import (
    FramingError,
    InvalidMessageError,
    MessageReader,
    ProtocolError,
    encode_message,
)

__all__ = [
    "Arguments",
    "Connection",
    "Deferred",
    "FramingError",
    "HandlerFactory",
    "InvalidMessageError",
    "MessageReader",
    "ProtocolError",
    "RequestError",
    "TcpServer",
    "encode_message",
    "serve_stdio",
    "serve_tcp",
]

logger = logging.getLogger(__name__)

LOCALHOST = "127.0.0.1"


def serve_stdio(handler_factory: HandlerFactory) -> None:
    """Serve one client over standard input and output until input ends.

    The protocol uses duplicates of descriptors 0 and 1. While serving, descriptor 1
    points at stderr and descriptor 0 at the null device. So prints, C extensions and
    child processes cannot write into or read from the protocol streams. Both
    descriptors are restored on return.
    """
    sys.stdout.flush()
    stdin_fd, stdout_fd = sys.stdin.fileno(), sys.stdout.fileno()
    protocol_in = os.fdopen(os.dup(stdin_fd), "rb")
    protocol_out = os.fdopen(os.dup(stdout_fd), "wb")
    saved_stdout = sys.stdout
    os.dup2(sys.stderr.fileno(), stdout_fd)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, stdin_fd)
    os.close(null_fd)
    sys.stdout = sys.stderr
    try:
        Connection(protocol_in, protocol_out, handler_factory, name="stdio").serve()
    finally:
        sys.stdout = saved_stdout
        os.dup2(protocol_in.fileno(), stdin_fd)
        os.dup2(protocol_out.fileno(), stdout_fd)
        protocol_in.close()
        protocol_out.close()


class TcpServer:
    """Listening socket on 127.0.0.1 that serves one client at a time."""

    def __init__(self, port: int, handler_factory: HandlerFactory) -> None:
        self.handler_factory = handler_factory
        self._listener = socket.create_server((LOCALHOST, port), backlog=1)
        self._client: socket.socket | None = None
        self._stopped = False

    @property
    def address(self) -> tuple[str, int]:
        """Host and port the server listens on (the port is never 0)."""
        host, port = self._listener.getsockname()[:2]
        return host, port

    def serve(self, max_clients: int | None = None) -> None:
        """Accept and serve clients one after another until `close()`.

        Returns after `max_clients` clients when it is not None. A client whose
        stream breaks the protocol is disconnected and logged, and the server goes on.
        """
        served = 0
        while not self._stopped and (max_clients is None or served < max_clients):
            try:
                client, peer = self._listener.accept()
            except OSError:
                if self._stopped:
                    return
                raise
            served += 1
            self._client = client
            logger.info("client %s:%d connected", peer[0], peer[1])
            try:
                self._serve_client(client, f"tcp {peer[0]}:{peer[1]}")
            except ProtocolError as exc:
                logger.error("client %s:%d disconnected: %s", peer[0], peer[1], exc)
            finally:
                self._client = None
                _close_socket(client)

    def _serve_client(self, client: socket.socket, name: str) -> None:
        reader, writer = client.makefile("rb"), client.makefile("wb")
        try:
            Connection(reader, writer, self.handler_factory, name=name).serve()
        finally:
            for stream in (reader, writer):
                # Closing flushes, which fails once the client has gone.
                try:
                    stream.close()
                except OSError:
                    pass

    def close(self) -> None:
        """Stop accepting and disconnect the current client, from any thread."""
        self._stopped = True
        client = self._client
        if client is not None:
            _close_socket(client)
        _close_socket(self._listener)


def _close_socket(sock: socket.socket) -> None:
    # On Linux shutdown() wakes a thread blocked in accept() or recv(), but close()
    # alone does not.
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def serve_tcp(
    port: int, handler_factory: HandlerFactory, *, max_clients: int | None = None
) -> None:
    """Listen on 127.0.0.1:`port` and serve clients one at a time.

    Port 0 picks a free port. The line `listening on 127.0.0.1:PORT` goes to stderr
    once the socket accepts connections. Returns after `max_clients` clients when it
    is not None, otherwise serves until the process is stopped.
    """
    server = TcpServer(port, handler_factory)
    host, bound_port = server.address
    print(f"listening on {host}:{bound_port}", file=sys.stderr, flush=True)
    try:
        server.serve(max_clients)
    finally:
        server.close()
