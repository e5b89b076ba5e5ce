"""Scenario files: YAML that declares a POMDP line by line.

A scenario declares each state, action, attacker action and observation on a line of its
own, so a debugger can put a breakpoint there, and then either calls a builder
(`builder: {name: intrusion-prevention, ...}`) or lists the tensors. The format is
documented in docs/scenarios.md.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from simcore.builders import BUILDERS, BuilderError
from simcore.model import POMDP, Declaration, ModelError, ObservationComponent
from simcore.yaml_lines import LineDict, LineList, YamlError, load_yaml_with_lines

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
TOP_LEVEL_KEYS = {
    "pomdb", "name", "description", "states", "actions", "observations",
    "attacker_actions", "attacker", "builder", "transition", "observation", "reward",
    "initial_belief", "discount", "max_steps", "provenance", "licence", "license",
}  # fmt: skip


class ScenarioError(ModelError):
    """An invalid scenario file; the message starts with `path:line:`."""


class _Reader:
    """Reads one scenario document and reports errors at the right line."""

    def __init__(self, path: Path, document: LineDict):
        self.path = path
        self.document = document

    def error(self, message: str, line: int | None = None) -> ScenarioError:
        return ScenarioError(message, self.path, line)

    def line_of(self, key: str) -> int:
        return self.document.lines.get(key, self.document.line)

    def declarations(self, key: str, required: bool = True) -> list[tuple[str, Any, int]]:
        """Return (name, options, line) for each item of a declaration list."""
        items = self.document.get(key)
        if items is None:
            if required:
                raise self.error(
                    f"missing '{key}:' list; declare one name per line under it", 1
                )
            return []
        if not isinstance(items, LineList) or not items:
            raise self.error(f"'{key}' must be a non-empty list", self.line_of(key))
        result: list[tuple[str, Any, int]] = []
        seen: set[str] = set()
        for item, line in zip(items, items.lines):
            if isinstance(item, str):
                name, options = item, {}
            elif isinstance(item, dict) and len(item) == 1:
                name, options = next(iter(item.items()))
                options = options if options is not None else {}
            else:
                raise self.error(
                    f"each item of '{key}' must be a name or 'name: {{options}}'", line
                )
            if not isinstance(name, str) or not name.isidentifier():
                raise self.error(
                    f"{key} name {name!r} must be an identifier (letters, digits, _)",
                    line,
                )
            if name in seen:
                raise self.error(
                    f"{key} name {name!r} is declared twice; give each a unique name",
                    line,
                )
            if not isinstance(options, dict):
                raise self.error(f"the options of {name!r} must be a mapping", line)
            seen.add(name)
            result.append((name, options, line))
        return result

    def observation_components(self) -> tuple[list[ObservationComponent], list[Declaration]]:
        items = self.declarations("observations")
        plain = [(name, line) for name, options, line in items if not options]
        if plain and len(plain) != len(items):
            raise self.error(
                "observations must be all plain names or all components "
                "('name: {range: [lo, hi]}' or 'name: {values: [..]}')",
                self.line_of("observations"),
            )
        if plain:
            component = ObservationComponent("o", len(plain), 0, tuple(n for n, _ in plain))
            declarations = [
                Declaration("observation", name, i, line)
                for i, (name, line) in enumerate(plain)
            ]
            return [component], declarations
        components, declarations = [], []
        for i, (name, options, line) in enumerate(items):
            components.append(self._component(name, options, line))
            declarations.append(Declaration("observation_component", name, i, line))
        return components, declarations

    def _component(self, name: str, options: dict, line: int) -> ObservationComponent:
        if "range" in options:
            bounds = options["range"]
            if (
                not isinstance(bounds, list)
                or len(bounds) != 2
                or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
                or bounds[1] < bounds[0]
            ):
                raise self.error(
                    f"observation {name!r}: range must be [low, high] integers, "
                    f"low <= high",
                    line,
                )
            width = options.get("bin_width", 1)
            if isinstance(width, bool) or not isinstance(width, int) or width < 1:
                raise self.error(
                    f"observation {name!r}: bin_width must be a positive integer, "
                    f"got {width!r}",
                    line,
                )
            size = bounds[1] - bounds[0] + 1
            return ObservationComponent(name, size, bounds[0], bin_width=width)
        if "values" in options:
            if "bin_width" in options:
                raise self.error(
                    f"observation {name!r}: bin_width needs 'range', not 'values'", line
                )
            values = options["values"]
            if not isinstance(values, list) or not values:
                raise self.error(f"observation {name!r}: values must be a list", line)
            return ObservationComponent(name, len(values), 0, tuple(map(str, values)))
        raise self.error(f"observation {name!r} needs 'range' or 'values'", line)

    def number(self, key: str, default: float | None, kind: type = float) -> Any:
        value = self.document.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"'{key}' must be a number, got {value!r}", self.line_of(key))
        if kind is int and value != int(value):
            raise self.error(f"'{key}' must be an integer, got {value!r}", self.line_of(key))
        return kind(value)


def load_scenario(path: str | Path) -> POMDP:
    """Load the scenario at `path` and return its validated model.

    Raises ScenarioError naming the file and line of the first problem.
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioError("scenario file not found", path)
    try:
        document = load_yaml_with_lines(path)
    except YamlError as error:
        # The message already starts with path:line; keep both for the caller.
        scenario_error = ScenarioError(str(error))
        scenario_error.path, scenario_error.line = error.path, error.line
        raise scenario_error from None
    if not isinstance(document, LineDict):
        raise ScenarioError("a scenario must be a YAML mapping", path, 1)
    reader = _Reader(path, document)
    version = document.get("pomdb")
    if version != FORMAT_VERSION:
        raise reader.error(
            f"first key must be 'pomdb: {FORMAT_VERSION}' (the format version), "
            f"got {version!r}",
            reader.line_of("pomdb") if "pomdb" in document else 1,
        )
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            raise reader.error(
                f"unknown key {key!r}; known keys: {', '.join(sorted(TOP_LEVEL_KEYS))}",
                reader.line_of(key),
            )
    model = _build(reader)
    logger.info(
        "loaded scenario %s: %d states, %d actions, %d observations",
        path, len(model.states), len(model.actions), model.num_observations,
    )  # fmt: skip
    return model


def _build(reader: _Reader) -> POMDP:
    states = reader.declarations("states")
    actions = reader.declarations("actions")
    attacker_actions = reader.declarations("attacker_actions", required=False)
    components, observation_declarations = reader.observation_components()
    declarations = [
        Declaration("state", name, i, line) for i, (name, _, line) in enumerate(states)
    ]
    declarations += [
        Declaration("action", name, i, line) for i, (name, _, line) in enumerate(actions)
    ]
    declarations += [
        Declaration("attacker_action", name, i, line)
        for i, (name, _, line) in enumerate(attacker_actions)
    ]
    declarations += observation_declarations
    num_observations = int(np.prod([c.size for c in components]))

    if "builder" in reader.document:
        fields = _from_builder(reader, states, actions, attacker_actions, num_observations)
    else:
        for key in ("attacker_actions", "attacker"):
            if key in reader.document:
                raise reader.error(
                    f"'{key}' needs a builder: explicit tensors describe a POMDP "
                    "without an attacker, so fold the attacker into 'transition' "
                    "and 'reward'",
                    reader.line_of(key),
                )
        fields = _from_tensors(reader, states, actions, num_observations)

    discount = reader.number("discount", 1.0)
    if not 0.0 < discount <= 1.0:
        raise reader.error(
            f"'discount' must be in (0, 1], got {discount}", reader.line_of("discount")
        )
    max_steps = reader.number("max_steps", None, int)
    if max_steps is not None and max_steps < 1:
        raise reader.error("'max_steps' must be at least 1", reader.line_of("max_steps"))
    metadata = {
        key: reader.document[key]
        for key in ("description", "provenance", "licence", "license")
        if key in reader.document
    }
    try:
        return POMDP(
            observation_components=tuple(components),
            discount=discount,
            max_steps=max_steps,
            name=str(reader.document.get("name", reader.path.stem)),
            path=reader.path,
            declarations=tuple(declarations),
            metadata=metadata,
            **fields,
        )
    except ModelError as error:
        raise ScenarioError(str(error)) from None


def _from_builder(
    reader: _Reader,
    states: list[tuple[str, Any, int]],
    actions: list[tuple[str, Any, int]],
    attacker_actions: list[tuple[str, Any, int]],
    num_observations: int,
) -> dict[str, Any]:
    spec = reader.document["builder"]
    line = reader.line_of("builder")
    if not isinstance(spec, LineDict) or "name" not in spec:
        raise reader.error("'builder' must be a mapping with 'name'", line)
    builder = BUILDERS.get(spec["name"])
    if builder is None:
        raise reader.error(
            f"unknown builder {spec['name']!r}; known: {', '.join(BUILDERS)}",
            spec.lines["name"],
        )
    params = {key: value for key, value in spec.items() if key != "name"}
    try:
        built = builder(params, num_observations)
    except BuilderError as error:
        key_line = spec.lines.get(error.key, line) if error.key else line
        raise reader.error(f"builder {spec['name']}: {error}", key_line) from None

    expected = (
        ("states", states, built.states),
        ("actions", actions, built.actions),
        ("attacker_actions", attacker_actions, built.attacker_actions),
    )
    for key, declared, names in expected:
        if key == "attacker_actions" and not declared:
            continue
        declared_names = tuple(name for name, _, _ in declared)
        if declared_names != names:
            raise reader.error(
                f"builder {spec['name']} defines {key} {list(names)} in this order, "
                f"but the scenario declares {list(declared_names)}; declare the "
                "builder's names in its order",
                reader.line_of(key),
            )
    return {
        "states": built.states,
        "actions": built.actions,
        "attacker_actions": built.attacker_actions,
        "attacker": built.attacker,
        "transition": built.transition,
        "observation": built.observation,
        "reward": built.reward,
        "initial_belief": built.initial_belief,
        "stops": built.stops,
        "stop_action": built.stop_action,
        "terminal_states": built.terminal_states,
        "done_delay": built.done_delay,
    }


def _from_tensors(
    reader: _Reader,
    states: list[tuple[str, Any, int]],
    actions: list[tuple[str, Any, int]],
    num_observations: int,
) -> dict[str, Any]:
    state_names = [name for name, _, _ in states]
    action_names = [name for name, _, _ in actions]
    S, A = len(state_names), len(action_names)
    T = np.zeros((1, A, 1, S, S))
    Z = np.zeros((S, num_observations))
    R = np.zeros((1, A, 1, S))

    transition = _section(reader, "transition")
    for a, action in enumerate(action_names):
        rows = _entry(reader, transition, action, "transition")
        for s, state in enumerate(state_names):
            T[0, a, 0, s] = _row(reader, rows, state, S, f"transition.{action}")
    observation = _section(reader, "observation")
    for s, state in enumerate(state_names):
        Z[s] = _row(reader, observation, state, num_observations, "observation")
    reward = _section(reader, "reward")
    for a, action in enumerate(action_names):
        R[0, a, 0] = _row(reader, reward, action, S, "reward", probabilities=False)

    if "initial_belief" in reader.document:
        belief = _row(reader, reader.document, "initial_belief", S, "scenario")
    else:
        belief = np.full(S, 1.0 / S)
    terminal = frozenset(
        i for i, (_, options, _) in enumerate(states) if options.get("terminal")
    )
    uses_stop = [i for i, (_, options, _) in enumerate(actions) if options.get("uses_stop")]
    if uses_stop:
        raise reader.error(
            "stop counters are only supported through a builder; use "
            "'builder: {name: intrusion-prevention}' or remove 'uses_stop'",
            actions[uses_stop[0]][2],
        )
    return {
        "states": tuple(state_names),
        "actions": tuple(action_names),
        "attacker_actions": ("none",),
        "attacker": np.ones((S, 1)),
        "transition": T,
        "observation": Z,
        "reward": R,
        "initial_belief": belief,
        "stops": None,
        "stop_action": None,
        "terminal_states": terminal,
        "done_delay": False,
    }


def _section(reader: _Reader, key: str) -> LineDict:
    section = reader.document.get(key)
    if not isinstance(section, LineDict):
        raise reader.error(
            f"missing '{key}:' mapping (or a 'builder:')",
            reader.line_of(key) if key in reader.document else 1,
        )
    return section


def _entry(reader: _Reader, section: LineDict, key: str, where: str) -> LineDict:
    value = section.get(key)
    if not isinstance(value, LineDict):
        raise reader.error(f"{where} has no mapping for {key!r}", section.line)
    return value


def _row(
    reader: _Reader,
    section: LineDict,
    key: str,
    size: int,
    where: str,
    probabilities: bool = True,
) -> np.ndarray:
    line = section.lines.get(key, section.line)
    if key not in section:
        raise reader.error(
            f"{where} has no row for {key!r}; give one row per declared name",
            section.line,
        )
    values = section[key]
    if not isinstance(values, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    ):
        raise reader.error(f"{where}.{key} must be a list of numbers", line)
    row = np.asarray(values, dtype=float)
    if row.size != size:
        raise reader.error(f"{where}.{key} has {row.size} values, expected {size}", line)
    if probabilities and (np.any(row < 0) or abs(row.sum() - 1.0) > 1e-6):
        raise reader.error(
            f"{where}.{key} must be probabilities that sum to 1 (sums to {row.sum():.9g})",
            line,
        )
    return row
