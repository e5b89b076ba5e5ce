"""The DAP client of `adapter.client`, validating every message against the DAP schema.

    with DapClient.start() as client:
        client.request("initialize", {"adapterID": "pomdp"})
        launch_seq = client.send_request("launch", {"scenario": "..."})
        client.wait_event("initialized")
        client.request("configurationDone")
        assert client.wait_response(launch_seq)["success"]
        stopped = client.wait_event("stopped")

Each received message is checked with `adapter.schema.validate_message`; the first
invalid one fails the next `request`/`wait_*` call. Pass `validate=None` to skip it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adapter import client as base
from adapter.client import DEFAULT_TIMEOUT, Message
from adapter.schema import validate_message

REPO_ROOT = Path(__file__).resolve().parent.parent

__all__ = ["DEFAULT_TIMEOUT", "DapClient", "Message", "REPO_ROOT"]

Validator = Callable[[Message], None] | None


class DapClient(base.DapClient):
    """A DAP client for tests: schema validation on, adapter started in the checkout."""

    @classmethod
    def start(
        cls,
        command: Sequence[str] | None = None,
        *,
        cwd: str | Path | None = None,
        env: dict[str, str] | None = None,
        validate: Validator | bool = True,
    ) -> DapClient:
        return super().start(
            command, cwd=cwd or REPO_ROOT, env=env, validate=_validator(validate)
        )

    @classmethod
    def connect(
        cls,
        port: int,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        validate: Validator | bool = True,
    ) -> DapClient:
        return super().connect(port, timeout=timeout, validate=_validator(validate))


def _validator(validate: Any) -> Validator:
    if validate is True:
        return validate_message
    return validate or None
