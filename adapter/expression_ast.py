"""Syntax tree of the breakpoint expression language.

Every node records the 0-based `start` and `end` offsets of its text, so that the
compiler can point a caret at it and quote it in evaluation errors.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Node:
    start: int
    end: int

    @property
    def column(self) -> int:
        """1-based column of the node's first character."""
        return self.start + 1


@dataclass(frozen=True, slots=True)
class Number(Node):
    value: int | float


@dataclass(frozen=True, slots=True)
class Boolean(Node):
    value: bool


@dataclass(frozen=True, slots=True)
class Null(Node):
    pass


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Member(Node):
    """`namespace.member`, such as `b.intrusion`; `member_start` locates the member."""

    namespace: str
    member: str
    member_start: int


@dataclass(frozen=True, slots=True)
class Call(Node):
    function: str
    arguments: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Unary(Node):
    """Unary `-` or `+`, or `not` (also spelled `!`)."""

    operator: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """Arithmetic: `+ - * / %`."""

    operator: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Logical(Node):
    """`and` or `or` over two or more operands, evaluated left to right."""

    operator: str
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """A comparison chain: `a < b <= c` holds when `a < b` and `b <= c`."""

    operators: tuple[str, ...]
    operands: tuple[Node, ...]


def children(node: Node) -> tuple[Node, ...]:
    """Return the direct subexpressions of `node`."""
    if isinstance(node, Call):
        return node.arguments
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, (Logical, Compare)):
        return node.operands
    return ()


def deepest_node(root: Node) -> tuple[Node, int]:
    """Return the deepest node under `root` and its depth (the root has depth 1).

    The walk uses an explicit stack, so a tree of any depth cannot overflow Python's
    recursion limit.
    """
    deepest, max_depth = root, 1
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            deepest, max_depth = node, depth
        stack.extend((child, depth + 1) for child in children(node))
    return deepest, max_depth
