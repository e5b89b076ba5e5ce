"""Symbol table: the names that an expression may use, fixed when it is compiled.

There are three kinds of names:

- a scalar variable (`t`, `o`, `state`, `p`) is read from the step's environment;
- a namespace (`b`, `pi`) has members known in advance (`b.intrusion`), and its value
  in the environment is a sequence indexed by member position;
- a constant (`intrusion`, `stop`) is a number fixed at compile time, usually the
  index of a state, action or observation value.

A name may be both a scalar and a namespace, such as the joint observation `o` with
components `o.alerts`. Then `env["o"]` is the scalar value and `env[members_key("o")]`
(that is, `env["o."]`) is the member sequence.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from adapter.expression_lexer import KEYWORDS

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True, slots=True)
class Symbol:
    """A name of the symbol table and its kind."""

    name: str
    scalar: bool = False
    members: tuple[str, ...] | None = None
    constant: int | float | None = None

    @property
    def is_namespace(self) -> bool:
        return self.members is not None

    @property
    def is_constant(self) -> bool:
        return self.constant is not None

    @property
    def members_key(self) -> str:
        """Environment key of the member sequence: the name, plus "." for a scalar."""
        return f"{self.name}." if self.scalar else self.name

    def describe(self) -> str:
        """Return the kind of the symbol in the words of an error message."""
        if self.is_constant:
            return f"constant ({self.constant})"
        if self.scalar and self.is_namespace:
            return "variable with members"
        return "namespace" if self.is_namespace else "variable"


class SymbolTable:
    """The names an expression may use, built from scalars, namespaces and constants.

    `unavailable` maps names that are not declared in this table to the reason, which
    the compile error of an expression that reads one of them shows.

    Raises ValueError when a name is not an identifier, starts with "__", is a keyword
    of the language (and, or, not, true, false, null), is both a constant and a
    variable, or when a namespace repeats a member.
    """

    def __init__(
        self,
        scalars: Iterable[str] = (),
        namespaces: Mapping[str, Sequence[str]] | None = None,
        constants: Mapping[str, int | float] | None = None,
        unavailable: Mapping[str, str] | None = None,
    ) -> None:
        scalar_names = set(scalars)
        namespaces = dict(namespaces or {})
        constants = dict(constants or {})
        symbols: dict[str, Symbol] = {}

        for name in sorted(scalar_names | set(namespaces)):
            _check_identifier(name, "variable")
            members = namespaces.get(name)
            if members is not None:
                members = tuple(members)
                for member in members:
                    _check_identifier(member, f"member of '{name}'")
                if len(set(members)) != len(members):
                    raise ValueError(f"namespace '{name}' repeats a member: {members}")
            symbols[name] = Symbol(name, scalar=name in scalar_names, members=members)

        for name, value in constants.items():
            _check_identifier(name, "constant")
            if name in symbols:
                raise ValueError(
                    f"'{name}' is declared both as a constant and as a "
                    f"{symbols[name].describe()}; rename one of them"
                )
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"constant '{name}' must be a number, got {value!r}")
            symbols[name] = Symbol(name, constant=value)

        self._symbols = symbols
        self._unavailable = {
            name: reason for name, reason in (unavailable or {}).items()
            if name not in symbols
        }  # fmt: skip

    def lookup(self, name: str) -> Symbol | None:
        """Return the symbol called `name`, or None when there is none."""
        return self._symbols.get(name)

    def unavailable_reason(self, name: str) -> str | None:
        """Return why `name` is not declared in this session, if it is a known name."""
        return self._unavailable.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        """All names, sorted."""
        return tuple(sorted(self._symbols))

    def members_key(self, name: str) -> str:
        """Return the environment key of the member sequence of namespace `name`."""
        symbol = self._symbols.get(name)
        if symbol is None or not symbol.is_namespace:
            raise KeyError(f"'{name}' is not a namespace of this symbol table")
        return symbol.members_key

    def __repr__(self) -> str:
        return f"SymbolTable({', '.join(self.names)})"


def _check_identifier(name: str, role: str) -> None:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(
            f"{role} name {name!r} is not an identifier; use letters, digits "
            "and '_', and do not start with a digit"
        )
    if name.startswith("__"):
        raise ValueError(f"{role} name {name!r} must not start with '__'")
    if name in KEYWORDS:
        raise ValueError(
            f"{role} name {name!r} is a keyword of the expression language"
        )
