"""Shared pytest fixtures."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from dap_client import DapClient

from dap_session import AdapterServer, DebugSession

from adapter.protocol import HandlerFactory, TcpServer


@pytest.fixture
def dap_client_factory() -> Iterator[Callable[..., DapClient]]:
    """Start adapters with `DapClient.start(...)` and close them all afterwards."""
    clients: list[DapClient] = []

    def start(command: Sequence[str] | None = None, **options: Any) -> DapClient:
        client = DapClient.start(command, **options)
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.close()


@pytest.fixture
def dap_client(dap_client_factory: Callable[..., DapClient]) -> DapClient:
    """Client of a `python -m adapter` process over stdio."""
    return dap_client_factory()


@pytest.fixture
def tcp_adapter() -> Iterator[Callable[..., TcpServer]]:
    """Run a `TcpServer` on 127.0.0.1 in a thread, closed and joined afterwards.

    Call it with a handler factory and optionally `max_clients`. It returns the
    listening server, whose `address[1]` is the port to connect to.
    """
    running: list[tuple[TcpServer, threading.Thread]] = []

    def start(
        handler_factory: HandlerFactory, max_clients: int | None = None
    ) -> TcpServer:
        server = TcpServer(0, handler_factory)
        thread = threading.Thread(target=server.serve, args=(max_clients,), daemon=True)
        thread.start()
        running.append((server, thread))
        return server

    yield start
    for server, thread in running:
        server.close()
        thread.join(5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdapterServer]:
    """One `python -m adapter --port 0` process per test module."""
    log = tmp_path_factory.mktemp("adapter") / "stderr.log"
    with AdapterServer.start(log) as running:
        yield running


@pytest.fixture
def session(server: AdapterServer) -> Iterator[DebugSession]:
    """A debug session on the module's adapter, closed after the test."""
    debug = server.connect()
    yield debug
    debug.close()
