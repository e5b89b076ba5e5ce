"""The training algorithms of `pomdb train` and their hyperparameter options.

Each algorithm is one entry of ALGORITHMS: a config class and a train function,
both named as "module:attribute" and imported only when used. The config class is a
dataclass whose fields have `metadata={"help": ..., "unit": ...}` (and optionally
"default_text"), a `validate()` method that raises ValueError, and the fields `seed`
and `total_timesteps` (the step count that the metrics' "global_step" reaches). The
train function is `train(model, config, run: simcore.trainer.TrainingRun)` and
returns a `simcore.trainer.TrainingResult`.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import MISSING, dataclass, fields
from typing import Any, Callable


@dataclass(frozen=True)
class Algorithm:
    """A training algorithm: what it trains, and where its code is."""

    summary: str
    config: str
    train: str
    # Whether the policy file has its weights beside it as POLICY.pt.
    saves_weights: bool = False


ALGORITHMS = {
    "ppo": Algorithm(
        "proximal policy optimisation of a neural policy",
        "simcore.ppo_config:PPOConfig",
        "simcore.ppo:train",
        saves_weights=True,
    ),
    # T-SPSA: its entry follows the same form, with its config class and train.
    "tspsa": Algorithm(
        "T-SPSA: stochastic approximation of threshold policies",
        "simcore.tspsa_config:TSPSAConfig",
        "simcore.tspsa:train",
    ),
}


class AlgorithmUnavailable(ValueError):
    """An algorithm whose code is not part of this installation."""


@dataclass(frozen=True)
class Hyperparameter:
    """One config field as a command-line option."""

    name: str
    default: Any
    help: str
    unit: str
    value_type: type
    default_text: str

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


def resolve(text: str) -> Any:
    """Return the attribute named "module:attribute"."""
    module, _, attribute = text.partition(":")
    return getattr(importlib.import_module(module), attribute)


def config_class(name: str) -> type:
    """Return the config class of algorithm `name`, or raise AlgorithmUnavailable."""
    return _resolve_part(name, "config")


def train_function(name: str) -> Callable[..., Any]:
    """Return the train function of algorithm `name`, or raise AlgorithmUnavailable."""
    return _resolve_part(name, "train")


def _resolve_part(name: str, part: str) -> Any:
    """Import the `part` entry ("config" or "train") of algorithm `name`."""
    try:
        return resolve(getattr(ALGORITHMS[name], part))
    except ModuleNotFoundError as error:
        raise AlgorithmUnavailable(
            f"algorithm {name!r} is not available in this installation "
            f"(module {error.name} not found); use --algorithm ppo"
        ) from None


def hyperparameters(config: type) -> list[Hyperparameter]:
    """Return the fields of a config dataclass as options."""
    result = []
    for field in fields(config):
        default = field.default
        if default is MISSING:
            raise TypeError(f"{config.__name__}.{field.name} needs a default")
        text = field.metadata.get("default_text")
        if text is None:
            text = ",".join(map(str, default)) if isinstance(default, tuple) else str(default)
        result.append(
            Hyperparameter(
                name=field.name,
                default=default,
                help=field.metadata.get("help", ""),
                unit=field.metadata.get("unit", ""),
                value_type=_value_type(default, str(field.type)),
                default_text=text,
            )
        )
    return result


def _value_type(default: Any, annotation: str) -> type:
    if default is None:
        return int if "int" in annotation and "float" not in annotation else float
    return type(default)


def available_hyperparameters() -> dict[str, dict[str, Hyperparameter]]:
    """Return {algorithm: {field name: Hyperparameter}} for the importable algorithms."""
    result = {}
    for name in ALGORITHMS:
        try:
            result[name] = {h.name: h for h in hyperparameters(config_class(name))}
        except AlgorithmUnavailable:
            continue
    return result


def add_hyperparameter_options(parser: argparse.ArgumentParser) -> None:
    """Add one option per hyperparameter; algorithms share options of the same name."""
    by_algorithm = available_hyperparameters()
    names: dict[str, list[str]] = {}
    for algorithm, fields_ in by_algorithm.items():
        for name in fields_:
            names.setdefault(name, []).append(algorithm)

    groups: dict[tuple[str, ...], Any] = {}
    for name, owners in names.items():
        key = tuple(owners)
        if key not in groups:
            groups[key] = parser.add_argument_group(
                f"hyperparameters of {' and '.join(key)}"
            )
        first = by_algorithm[owners[0]][name]
        defaults = {a: by_algorithm[a][name].default_text for a in owners}
        if len(set(defaults.values())) == 1:
            default_text = first.default_text
        else:
            default_text = ", ".join(f"{text} for {a}" for a, text in defaults.items())
        unit = f"{first.unit}; " if first.unit else ""
        _add_option(groups[key], first, f"{first.help} ({unit}default: {default_text})")


def _add_option(group: Any, parameter: Hyperparameter, help_text: str) -> None:
    if parameter.value_type is bool:
        group.add_argument(
            parameter.option, action=argparse.BooleanOptionalAction, help=help_text
        )
    elif parameter.value_type is tuple:
        group.add_argument(parameter.option, metavar="SIZES", help=help_text)
    elif parameter.value_type is str:
        group.add_argument(parameter.option, metavar="NAME", help=help_text)
    else:
        metavar = "N" if parameter.value_type is int else "X"
        group.add_argument(
            parameter.option, type=parameter.value_type, metavar=metavar, help=help_text
        )


def given_options(args: argparse.Namespace, algorithm: str) -> dict[str, Any]:
    """Return the hyperparameters given on the command line, parsed, by field name.

    Raises ValueError for an option of another algorithm or an invalid list.
    """
    own = {h.name: h for h in hyperparameters(config_class(algorithm))}
    options: dict[str, Any] = {}
    for algorithm_fields in available_hyperparameters().values():
        for name, parameter in algorithm_fields.items():
            value = getattr(args, name, None)
            if value is None or name in options:
                continue
            if name not in own:
                raise ValueError(
                    f"{parameter.option} is not a hyperparameter of {algorithm}; "
                    f"remove it or choose the algorithm it belongs to"
                )
            if own[name].value_type is tuple:
                value = parse_sizes(name, value)
            options[name] = value
    return options


def parse_sizes(name: str, text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(
            f"{name} {text!r} is not a comma-separated list of integers, e.g. 64,64"
        ) from None


def config_values(config: Any) -> dict[str, Any]:
    """Return a config's fields as JSON values, lists in place of tuples."""
    values = {}
    for field in fields(config):
        value = getattr(config, field.name)
        values[field.name] = list(value) if isinstance(value, tuple) else value
    return values


def config_from_values(config: type, values: dict[str, Any]) -> Any:
    """Return a config built from `config_values` output."""
    result = dict(values)
    for parameter in hyperparameters(config):
        if parameter.value_type is tuple and parameter.name in result:
            result[parameter.name] = tuple(result[parameter.name])
    return config(**result)


def option_words(config: Any) -> list[str]:
    """Return command-line words that set every hyperparameter of `config`."""
    words: list[str] = []
    for field in fields(config):
        value = getattr(config, field.name)
        option = "--" + field.name.replace("_", "-")
        if isinstance(value, bool):
            words.append(option if value else "--no-" + option[2:])
        elif isinstance(value, tuple):
            words += [option, ",".join(map(str, value))]
        elif value is not None:
            words += [option, str(value)]
    return words
