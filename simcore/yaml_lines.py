"""YAML loading that remembers the line of every mapping key and sequence item."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class LineDict(dict):
    """A mapping whose `lines[key]` is the 1-based line of that key."""

    lines: dict[Any, int]
    line: int


class LineList(list):
    """A sequence whose `lines[i]` is the 1-based line of item i."""

    lines: list[int]
    line: int


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.lines = {}
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a scalar", key_node.start_mark
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r}; remove or rename one of them",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(item, deep=True) for item in node.value)
    result.lines = [item.start_mark.line + 1 for item in node.value]
    result.line = node.start_mark.line + 1
    return result


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence
)


class YamlError(ValueError):
    """A YAML syntax error; the message starts with `path:line:`."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line


def load_yaml_with_lines(path: Path) -> Any:
    """Parse `path` and return its document, with line numbers on containers.

    Raises YamlError naming the file and line of a syntax error.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise YamlError(f"{path}: not UTF-8 text ({error})", path) from None
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "invalid YAML"
        if error.problem and error.context and error.context_mark is not None:
            # An unclosed bracket is found lines later; name where it was opened.
            problem += f" ({error.context} on line {error.context_mark.line + 1})"
        if mark is None:
            raise YamlError(f"{path}: {problem}", path) from None
        line = mark.line + 1
        raise YamlError(f"{path}:{line}: {problem}", path, line) from None
    except yaml.YAMLError as error:
        raise YamlError(f"{path}: {error}", path) from None
