"""Content-Length framing of Debug Adapter Protocol messages, without any I/O.

On the wire every DAP message is a header block followed by a JSON body::

    Content-Length: 49\\r\\n
    \\r\\n
    {"seq":1,"type":"request","command":"initialize"}

`Content-Length` counts the bytes of the UTF-8 encoded body, not its characters.
Header names are matched case-insensitively and headers other than `Content-Length`
are ignored.

`MessageReader` turns bytes into message dicts: feed it whatever the transport
delivered and take complete messages out. `encode_message` does the reverse. Two
kinds of error can happen while reading:

- `FramingError`: the header block is unusable (missing or invalid `Content-Length`,
  a body larger than the limit). The reader cannot find the next message boundary,
  so it stays failed and the connection has to be closed.
- `InvalidMessageError`: the frame was intact but its body is not a DAP message
  (invalid UTF-8 or JSON, not an object, a required field missing or of the wrong
  type). The reader has already dropped that frame and can go on with the next one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, NoReturn

logger = logging.getLogger(__name__)

# Largest body accepted, in bytes. A larger value is taken as a corrupt stream.
MAX_CONTENT_LENGTH = 16 * 1024 * 1024

# Largest header block accepted, in bytes, up to and including the blank line.
MAX_HEADER_LENGTH = 8 * 1024

_HEADER_END = b"\r\n\r\n"
_MESSAGE_TYPES = ("request", "response", "event")


class ProtocolError(Exception):
    """Bytes or a message that break the DAP base protocol."""


class FramingError(ProtocolError):
    """Header block that cannot be parsed, so the next message boundary is lost."""


class InvalidMessageError(ProtocolError):
    """Intact frame whose body is not a DAP message, already skipped by the reader."""

    def __init__(self, reason: str, message: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.message = message


def describe_message(message: Mapping[str, Any]) -> str:
    """Return a short label for logs and errors, e.g. `request 3 'threads'`."""
    kind = message.get("type", "message")
    seq = message.get("seq", "?")
    if kind == "request":
        return f"request {seq} {message.get('command')!r}"
    if kind == "response":
        command = message.get("command")
        return f"response {seq} to {command!r} (request {message.get('request_seq')})"
    if kind == "event":
        return f"event {seq} {message.get('event')!r}"
    return f"{kind} {seq}"


def encode_message(message: Mapping[str, Any]) -> bytes:
    """Encode one message as a header block and a UTF-8 JSON body.

    Raises ValueError or TypeError naming the message when a value has no JSON form
    (NaN and infinities included, because JSON has no literal for them).
    """
    try:
        text = json.dumps(
            message, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
    except (TypeError, ValueError) as error:
        raise type(error)(
            f"{describe_message(message)} cannot be encoded as JSON: {error}. "
            "Convert numpy values with float(), int() or .tolist() first"
        ) from error
    body = text.encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _check_field(message: dict[str, Any], name: str, kind: type, label: str) -> None:
    value = message.get(name)
    # bool is a subclass of int in Python but a different type in JSON.
    valid = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if name not in message:
        raise InvalidMessageError(
            f"{describe_message(message)} has no {name!r} field", message
        )
    if not valid:
        raise InvalidMessageError(
            f"field {name!r} of {describe_message(message)} must be {label}, "
            f"got {json.dumps(value)}",
            message,
        )


def check_envelope(message: object) -> dict[str, Any]:
    """Check the fields that every request, response or event must carry.

    Returns the message unchanged, or raises InvalidMessageError naming the field.
    """
    if not isinstance(message, dict):
        raise InvalidMessageError(
            f"message body must be a JSON object, got {type(message).__name__}"
        )
    _check_field(message, "seq", int, "an integer")
    _check_field(message, "type", str, "a string")
    kind = message["type"]
    if kind == "request":
        _check_field(message, "command", str, "a string")
    elif kind == "response":
        _check_field(message, "request_seq", int, "an integer")
        _check_field(message, "command", str, "a string")
        _check_field(message, "success", bool, "a boolean")
    elif kind == "event":
        _check_field(message, "event", str, "a string")
    else:
        raise InvalidMessageError(
            f"message {message['seq']} has type {kind!r}, "
            f"expected one of {', '.join(_MESSAGE_TYPES)}",
            message,
        )
    return message


class MessageReader:
    """Incremental parser from framed bytes to message dicts.

    Feed bytes with `feed` in chunks of any size, then call `next_message` until it
    returns None. Iterating over the reader does the same.
    """

    def __init__(self, max_content_length: int = MAX_CONTENT_LENGTH) -> None:
        self.max_content_length = max_content_length
        self._buffer = bytearray()
        self._failure: FramingError | None = None

    @property
    def buffered(self) -> int:
        """Number of received bytes that do not yet form a complete message."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes, or raise the earlier FramingError if one occurred."""
        if self._failure is not None:
            raise self._failure
        self._buffer += data

    def __iter__(self) -> MessageReader:
        return self

    def __next__(self) -> dict[str, Any]:
        message = self.next_message()
        if message is None:
            raise StopIteration
        return message

    def next_message(self) -> dict[str, Any] | None:
        """Remove and return the next complete message, or None if none is complete.

        Raises FramingError (and keeps raising it) for an unusable header block, and
        InvalidMessageError for a frame whose body is not a DAP message.
        """
        if self._failure is not None:
            raise self._failure

        header_end = self._buffer.find(_HEADER_END, 0, MAX_HEADER_LENGTH)
        if header_end < 0:
            if len(self._buffer) >= MAX_HEADER_LENGTH:
                self._fail(
                    f"no blank line within the first {MAX_HEADER_LENGTH} bytes of a "
                    f"header block starting {bytes(self._buffer[:40])!r}"
                )
            return None

        header_block = bytes(self._buffer[:header_end])
        length = self._content_length(header_block)
        body_start = header_end + len(_HEADER_END)
        if len(self._buffer) < body_start + length:
            return None

        body = bytes(self._buffer[body_start : body_start + length])
        del self._buffer[: body_start + length]
        return self._decode_body(body)

    def _fail(self, reason: str) -> NoReturn:
        self._failure = FramingError(reason)
        raise self._failure

    def _content_length(self, header_block: bytes) -> int:
        lengths: set[str] = set()
        for line in header_block.split(b"\r\n"):
            name, colon, value = line.partition(b":")
            if not colon or not name.strip():
                self._fail(f"invalid header line {line!r}, expected 'Name: value'")
            if name.strip().lower() == b"content-length":
                lengths.add(value.strip().decode("latin-1"))

        if not lengths:
            self._fail(f"missing Content-Length header in {header_block!r}")
        if len(lengths) > 1:
            self._fail(f"conflicting Content-Length headers: {sorted(lengths)}")
        text = lengths.pop()
        # str.isdigit would accept non-ASCII digits, and int() accepts "+1" and "1_0".
        if not text or not all("0" <= char <= "9" for char in text):
            self._fail(f"invalid Content-Length {text!r}, expected a decimal number")
        length = int(text)
        if length > self.max_content_length:
            self._fail(
                f"Content-Length {length} exceeds the limit of "
                f"{self.max_content_length} bytes"
            )
        return length

    @staticmethod
    def _decode_body(body: bytes) -> dict[str, Any]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidMessageError(
                f"message body is not valid UTF-8: {error}"
            ) from None
        try:
            message = json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidMessageError(
                f"message body is not valid JSON: {error} in {text[:200]!r}"
            ) from None
        return check_envelope(message)
