"""Validation of DAP messages against the protocol's JSON schema.

The schema is `debugProtocol.json` as vendored in the debugpy wheel (pydevd's copy of
the official Debug Adapter Protocol schema, JSON Schema draft 4). Each message is
checked against the most specific definition the schema has for it:

- request `C`: `CRequest` (with the first letter upper-cased), else `Request`
- response with `success: false`: `ErrorResponse`, which needs `body.error`
- response to `C`: `CResponse`, else `Response`
- event `E`: `EEvent`, else `Event`

Commands and events the schema does not define, such as pomdb's own, are checked
against the generic definition only.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from jsonschema import Draft4Validator
from jsonschema.exceptions import best_match

from adapter.framing import describe_message

SCHEMA_IN_DEBUGPY = Path("_vendored/pydevd/_pydevd_bundle/_debug_adapter")
SCHEMA_FILE = "debugProtocol.json"

_GENERIC = {"request": "Request", "response": "Response", "event": "Event"}


class MessageValidationError(ValueError):
    """Message that does not match its definition in the DAP schema."""

    def __init__(
        self, text: str, definition: str, schema_path: str, message_path: str
    ) -> None:
        super().__init__(text)
        self.definition = definition
        self.schema_path = schema_path
        self.message_path = message_path


def schema_path() -> Path:
    """Return the path of `debugProtocol.json` inside the installed debugpy."""
    spec = importlib.util.find_spec("debugpy")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "debugpy is not installed, so the DAP schema cannot be found. "
            "Install the project's dependencies with pip install -e ."
        )
    path = Path(spec.submodule_search_locations[0]) / SCHEMA_IN_DEBUGPY / SCHEMA_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist, so this debugpy build lacks the DAP schema. "
            "Install the debugpy version pinned in pyproject.toml"
        )
    return path


@functools.cache
def definitions() -> dict[str, Any]:
    """Return the schema's `definitions` object, read once."""
    with schema_path().open(encoding="utf-8") as file:
        return json.load(file)["definitions"]


@functools.cache
def _validator(definition: str) -> Draft4Validator:
    # "#/definitions/..." references resolve against this root, which holds them all.
    root = {"$ref": f"#/definitions/{definition}", "definitions": definitions()}
    return Draft4Validator(root)


def capability_names() -> frozenset[str]:
    """Return the property names of the schema's `Capabilities` definition."""
    return frozenset(definitions()["Capabilities"]["properties"])


def definition_for(message: Mapping[str, Any]) -> str:
    """Return the name of the schema definition that `message` is checked against."""
    kind = message.get("type")
    if kind not in _GENERIC:
        return "ProtocolMessage"
    if kind == "response" and message.get("success") is False:
        return "ErrorResponse"

    name = message.get("event" if kind == "event" else "command")
    if isinstance(name, str) and name:
        specific = name[0].upper() + name[1:] + _GENERIC[kind]
        if specific in definitions():
            return specific
    return _GENERIC[kind]


def validate_message(message: Mapping[str, Any]) -> None:
    """Validate a request, response or event against its schema definition.

    Raises MessageValidationError, which names the message, the definition, the
    failing location in the message and the path of the failing rule.
    """
    definition = definition_for(message)
    error = best_match(_validator(definition).iter_errors(message))
    if error is None and definition == "ProtocolMessage":
        error_text = f"type {message.get('type')!r} is not request, response or event"
        _raise(message, definition, "properties/type", "$.type", error_text)
    if error is not None:
        rule = "/".join(str(part) for part in error.schema_path)
        _raise(message, definition, rule, error.json_path, error.message)


def _raise(
    message: Mapping[str, Any],
    definition: str,
    rule: str,
    location: str,
    reason: str,
) -> NoReturn:
    path = f"#/definitions/{definition}/{rule}"
    raise MessageValidationError(
        f"{describe_message(message)} does not match the DAP schema: at {location}: "
        f"{reason} (schema path {path})",
        definition,
        path,
        location,
    )
