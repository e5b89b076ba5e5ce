"""Request errors and typed access to the `arguments` of a DAP request.

A handler raises `RequestError` to fail a request: the client receives a response
with `success: false`, the text in `message`, and a DAP `Message` object in
`body.error`. `Arguments` reads request arguments with a type check, so a missing or
mistyped field becomes such an error response instead of an exception in the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, overload

# Values of `body.error.id` (DAP `Message.id`) in error responses.
ERROR_REQUEST_FAILED = 1000
ERROR_UNSUPPORTED_REQUEST = 1001
ERROR_INVALID_ARGUMENT = 1002
ERROR_INTERNAL = 1003

_D = TypeVar("_D")


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


_REQUIRED: Any = _Missing()


class RequestError(Exception):
    """Failure of one request, sent to the client as an error response.

    `message` is shown to the user when `show_user` is true. Clients substitute
    `{name}` in it from `Message.variables`, which pomdb never sends, so braces in
    the text are shown as they are.
    """

    def __init__(
        self,
        message: str,
        *,
        error_id: int = ERROR_REQUEST_FAILED,
        show_user: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.show_user = show_user

    def to_body(self) -> dict[str, Any]:
        """Return the `body` of the error response (DAP `ErrorResponse.body`)."""
        error = {
            "id": self.error_id,
            "format": self.message,
            "showUser": self.show_user,
        }
        return {"error": error}


def _type_name(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number"
    return names.get(type(value), type(value).__name__)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Arguments(Mapping[str, Any]):
    """Read-only view of a request's `arguments` object with typed getters.

    Each getter returns the value when it has the expected JSON type. A missing value
    or a JSON null returns `default`, and raises RequestError if no default is given.
    A value of another type always raises RequestError naming the argument, the
    request and the expected type. Nested objects come back as `Arguments`, so their
    errors name the full path, e.g. `source.path`.
    """

    def __init__(
        self,
        values: Mapping[str, Any],
        *,
        command: str,
        path: str = "",
        request: Mapping[str, Any] | None = None,
    ) -> None:
        self._values = values
        self.command = command
        self.path = path
        self.request = request

    @classmethod
    def of_request(cls, request: Mapping[str, Any]) -> Arguments:
        """Wrap `request["arguments"]`, reading an absent or null value as `{}`."""
        command = str(request.get("command"))
        values = request.get("arguments")
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise RequestError(
                f"arguments of request {command!r} must be an object, "
                f"got {_type_name(values)}",
                error_id=ERROR_INVALID_ARGUMENT,
            )
        return cls(values, command=command, request=request)

    @property
    def seq(self) -> int | None:
        """`seq` of the request these arguments belong to."""
        return None if self.request is None else self.request.get("seq")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Arguments({self.command!r}, {self._values!r})"

    def _full_name(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _invalid(self, name: str, expected: str, value: object) -> RequestError:
        value_text = json.dumps(value, default=repr)
        if len(value_text) > 80:
            value_text = value_text[:77] + "..."
        return RequestError(
            f"argument {self._full_name(name)!r} of request {self.command!r} must be "
            f"{expected}, got {_type_name(value)} {value_text}",
            error_id=ERROR_INVALID_ARGUMENT,
        )

    def _get(self, name: str, default: Any, expected: str, check: Any) -> Any:
        value = self._values.get(name)
        if value is None:
            if default is _REQUIRED and name in self._values:
                raise self._invalid(name, expected, value)
            if default is _REQUIRED:
                raise RequestError(
                    f"missing argument {self._full_name(name)!r} of request "
                    f"{self.command!r}, expected {expected}",
                    error_id=ERROR_INVALID_ARGUMENT,
                )
            return default
        if not check(value):
            raise self._invalid(name, expected, value)
        return value

    @overload
    def get_int(self, name: str) -> int: ...
    @overload
    def get_int(self, name: str, default: _D) -> int | _D: ...
    def get_int(self, name: str, default: Any = _REQUIRED) -> Any:
        """Return an integer argument (JSON `true` and `1.5` are rejected)."""
        return self._get(name, default, "an integer", _is_int)

    @overload
    def get_float(self, name: str) -> float: ...
    @overload
    def get_float(self, name: str, default: _D) -> float | _D: ...
    def get_float(self, name: str, default: Any = _REQUIRED) -> Any:
        """Return a number argument as a float (integers are accepted)."""
        value = self._get(name, default, "a number", _is_number)
        return float(value) if _is_number(value) else value

    @overload
    def get_str(self, name: str) -> str: ...
    @overload
    def get_str(self, name: str, default: _D) -> str | _D: ...
    def get_str(self, name: str, default: Any = _REQUIRED) -> Any:
        """Return a string argument."""
        return self._get(name, default, "a string", lambda v: isinstance(v, str))

    @overload
    def get_bool(self, name: str) -> bool: ...
    @overload
    def get_bool(self, name: str, default: _D) -> bool | _D: ...
    def get_bool(self, name: str, default: Any = _REQUIRED) -> Any:
        """Return a boolean argument (0 and 1 are rejected)."""
        return self._get(name, default, "a boolean", lambda v: isinstance(v, bool))

    @overload
    def get_dict(self, name: str) -> Arguments: ...
    @overload
    def get_dict(self, name: str, default: _D) -> Arguments | _D: ...
    def get_dict(self, name: str, default: Any = _REQUIRED) -> Any:
        """Return an object argument wrapped as `Arguments` for typed access."""
        value = self._get(name, default, "an object", lambda v: isinstance(v, dict))
        if not isinstance(value, dict):
            return value
        return Arguments(
            value,
            command=self.command,
            path=self._full_name(name),
            request=self.request,
        )

    @overload
    def get_list(self, name: str, *, item_type: type | None = None) -> list[Any]: ...
    @overload
    def get_list(
        self, name: str, default: _D, *, item_type: type | None = None
    ) -> list[Any] | _D: ...
    def get_list(
        self, name: str, default: Any = _REQUIRED, *, item_type: type | None = None
    ) -> Any:
        """Return an array argument, checking each item when `item_type` is given.

        `item_type` is one of int, float, str, bool or dict. With dict the items come
        back as `Arguments`, named `name[i]` in errors.
        """
        items = self._get(name, default, "an array", lambda v: isinstance(v, list))
        if item_type is None or not isinstance(items, list):
            return items

        holder = Arguments(
            {f"{name}[{i}]": item for i, item in enumerate(items)},
            command=self.command,
            path=self.path,
            request=self.request,
        )
        getters: dict[type, Callable[[str], Any]] = {
            int: holder.get_int,
            float: holder.get_float,
            str: holder.get_str,
            bool: holder.get_bool,
            dict: holder.get_dict,
        }
        if item_type not in getters:
            raise TypeError(
                f"item_type must be one of {list(getters)}, got {item_type}"
            )
        # Without a default the getters reject null items too.
        return [getters[item_type](f"{name}[{i}]") for i in range(len(items))]
