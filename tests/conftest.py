"""Shared pytest fixtures."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from dap_client import DapClient

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
