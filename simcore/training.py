"""The `pomdb train` command: train, evaluate and save a policy with its metadata."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import numpy as np

from simcore.cli import confidence_interval
from simcore.episode import Simulator, episode_seed
from simcore.model import POMDP
from simcore.neural import NeuralPolicy, save_neural_policy
from simcore.policies import Policy
from simcore.ppo import train
from simcore.ppo_config import ConfigError, PPOConfig, config_fields
from simcore.scenario import load_scenario

logger = logging.getLogger(__name__)

ALGORITHMS = ("ppo",)
DEFAULT_EVAL_EPISODES = 1000


def add_train_parser(subparsers: Any) -> None:
    """Register `pomdb train` with one option per PPO hyperparameter."""
    parser = subparsers.add_parser(
        "train",
        help="train a defender policy with PPO and save it as a policy file",
        description="Train a neural defender policy on a scenario, evaluate it on "
        "simulated episodes, and write POLICY.json with its weights in POLICY.pt.",
    )
    parser.add_argument("scenario", help="scenario file (YAML)")
    parser.add_argument(
        "--algorithm", choices=ALGORITHMS, default="ppo", help="training algorithm"
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="POLICY.json",
        help="policy metadata file to write; the weights go beside it as POLICY.pt",
    )
    parser.add_argument(
        "--metrics", metavar="FILE.csv", help="write one CSV row of metrics per update"
    )
    parser.add_argument(
        "--eval-episodes",
        type=int,
        default=DEFAULT_EVAL_EPISODES,
        metavar="N",
        help="episodes simulated to evaluate the trained policy "
        f"(episodes; default {DEFAULT_EVAL_EPISODES})",
    )
    hyperparameters = parser.add_argument_group("PPO hyperparameters")
    for name, default, text, unit in config_fields():
        default_text = str(default)
        if isinstance(default, tuple):
            default_text = ",".join(map(str, default))
        if name == "gamma":
            default_text = "the scenario's discount"
        unit_text = f"{unit}; " if unit else ""
        help_text = f"{text} ({unit_text}default: {default_text})"
        option = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            hyperparameters.add_argument(
                option, action=argparse.BooleanOptionalAction, help=help_text
            )
        elif isinstance(default, tuple):
            hyperparameters.add_argument(option, metavar="SIZES", help=help_text)
        elif isinstance(default, str):
            hyperparameters.add_argument(option, metavar="NAME", help=help_text)
        else:
            value_type = int if isinstance(default, int) else float
            metavar = "N" if value_type is int else "X"
            hyperparameters.add_argument(
                option, type=value_type, metavar=metavar, help=help_text
            )
    parser.set_defaults(handler=train_command)


def config_from_args(args: argparse.Namespace) -> PPOConfig:
    """Return the validated PPOConfig; options not given keep their defaults."""
    options: dict[str, Any] = {}
    for name, default, _, _ in config_fields():
        value = getattr(args, name, None)
        if value is None:
            continue
        if isinstance(default, tuple):
            value = _parse_sizes(name, value)
        options[name] = value
    config = PPOConfig(**options)
    config.validate()
    return config


def _parse_sizes(name: str, text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(
            f"{name} {text!r} is not a comma-separated list of integers, e.g. 64,64"
        ) from None


def canonical_command(args: argparse.Namespace, config: PPOConfig) -> str:
    """Return a `pomdb train` command line that names every hyperparameter."""
    words = ["pomdb", "train", str(args.scenario), "--algorithm", args.algorithm]
    words += ["--out", str(args.out)]
    if args.metrics:
        words += ["--metrics", str(args.metrics)]
    words += ["--eval-episodes", str(args.eval_episodes)]
    for name, _, _, _ in config_fields():
        value = getattr(config, name)
        option = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            words.append(option if value else "--no-" + option[2:])
        elif isinstance(value, tuple):
            words += [option, ",".join(map(str, value))]
        elif value is not None:
            words += [option, str(value)]
    return shlex.join(words)


def evaluate_policy(
    model: POMDP, policy: Policy, episodes: int, seed: int
) -> dict[str, Any]:
    """Simulate episodes as `pomdb run --seed SEED` does and return the figures."""
    returns, lengths = [], []
    for episode in range(episodes):
        steps = list(Simulator(model, policy, episode_seed(seed, episode)))
        returns.append(steps[-1].ret)
        lengths.append(len(steps))
    values = np.asarray(returns, dtype=float)
    return {
        "episodes": episodes,
        "seed": seed,
        "mean_return": float(values.mean()),
        "ci95": confidence_interval(values),
        "mean_length": float(np.mean(lengths)),
    }


def pomdb_version() -> str:
    try:
        return package_metadata.version("pomdb")
    except package_metadata.PackageNotFoundError:
        return "unknown"


def train_command(args: argparse.Namespace) -> int:
    """Train, evaluate and save a policy, and return the exit code."""
    try:
        config = config_from_args(args)
        if args.eval_episodes < 2:
            raise ConfigError(
                f"--eval-episodes must be at least 2 for a confidence interval, "
                f"got {args.eval_episodes}"
            )
    except ConfigError as error:
        print(f"pomdb train: error: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.suffix != ".json":
        print(
            f"pomdb train: error: --out {out} must end in .json; the weights are "
            f"written beside it as {out.with_suffix('.pt').name}",
            file=sys.stderr,
        )
        return 2

    scenario = Path(args.scenario)
    model = load_scenario(scenario)
    out.parent.mkdir(parents=True, exist_ok=True)
    metrics = Path(args.metrics) if args.metrics else None
    print(
        f"training {args.algorithm} on {scenario} (seed {config.seed})", file=sys.stderr
    )
    result = train(model, config, metrics_path=metrics, progress=sys.stderr)

    policy = NeuralPolicy(model, result.actor, name=out.stem)
    evaluation = evaluate_policy(model, policy, args.eval_episodes, config.seed)
    relative_scenario = os.path.relpath(scenario.resolve(), out.resolve().parent)
    extra = {
        "scenario": Path(relative_scenario).as_posix(),
        "training": {
            "algorithm": args.algorithm,
            "command": canonical_command(args, config),
            "seed": config.seed,
            "pomdb_version": pomdb_version(),
            "hyperparameters": _hyperparameters(config, model),
            "timesteps": result.global_step,
            "seconds": round(result.seconds, 1),
            "steps_per_second": round(result.steps_per_second),
        },
        "evaluation": evaluation,
    }
    save_neural_policy(
        out, result.actor, model, list(config.hidden), config.activation, extra
    )
    logger.info("wrote %s and %s", out, out.with_suffix(".pt"))
    print(f"policy       {out} (weights {out.with_suffix('.pt').name})")
    print(f"trained      {result.global_step} steps in {result.seconds:.1f} s")
    print(
        f"mean return  {evaluation['mean_return']:.4f} ± {evaluation['ci95']:.4f} "
        f"(95% CI, {evaluation['episodes']} episodes, seed {evaluation['seed']})"
    )
    return 0


def _hyperparameters(config: PPOConfig, model: POMDP) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, _, _, _ in config_fields():
        value = getattr(config, name)
        values[name] = list(value) if isinstance(value, tuple) else value
    if config.gamma is None:
        values["gamma"] = model.discount
    return values
