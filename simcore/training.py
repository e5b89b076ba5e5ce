"""The `pomdb train` command: train, evaluate and save a policy with its metadata.

The algorithms and their hyperparameter options are in `simcore.algorithms`, the
contract between the command and an algorithm in `simcore.trainer`, and the
checkpoint and attacker checks in `simcore.training_setup`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import numpy as np

from simcore.algorithms import (
    ALGORITHMS,
    AlgorithmUnavailable,
    add_hyperparameter_options,
    config_values,
    option_words,
)
from simcore.checkpoint import CheckpointError
from simcore.cli import confidence_interval, positive_int
from simcore.episode import Simulator, episode_seed
from simcore.model import POMDP
from simcore.policies import Policy
from simcore.progress import MODES, Progress
from simcore.training_setup import TrainingSetup, prepare, remove_unused_weights

logger = logging.getLogger(__name__)

DEFAULT_EVAL_EPISODES = 1000
DEFAULT_CHECKPOINT_EVERY = 10


def add_train_parser(subparsers: Any) -> None:
    """Register `pomdb train` with its run options and one option per hyperparameter."""
    parser = subparsers.add_parser(
        "train",
        help="train a defender policy and save it as a policy file",
        description="Train a defender policy on a scenario, evaluate it on simulated "
        "episodes, and write POLICY.json with its weights in POLICY.pt.",
    )
    parser.add_argument("scenario", help="scenario file (YAML)")
    algorithms = ", ".join(f"{name}: {a.summary}" for name, a in ALGORITHMS.items())
    parser.add_argument(
        "--algorithm",
        choices=list(ALGORITHMS),
        default="ppo",
        help=f"training algorithm ({algorithms}; default: ppo)",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="POLICY.json",
        help="policy metadata file to write; the weights go beside it as POLICY.pt",
    )
    parser.add_argument(
        "--attacker",
        default="static",
        metavar="static|SCENARIO.yaml",
        help="attacker that generates the episodes: static, the scenario's own "
        "attacker, or an attacker profile scenario with the same states, actions "
        "and observations (default: static)",
    )
    parser.add_argument(
        "--eval-episodes",
        type=int,
        default=DEFAULT_EVAL_EPISODES,
        metavar="N",
        help="episodes simulated to evaluate the trained policy "
        f"(episodes; default {DEFAULT_EVAL_EPISODES})",
    )
    output = parser.add_argument_group("progress, metrics and checkpoints")
    output.add_argument(
        "--progress",
        choices=MODES,
        default="bar",
        help="bar: a progress line on stderr; json: one JSON object per update on "
        "stdout; none: no progress (default: bar)",
    )
    output.add_argument(
        "--metrics", metavar="FILE.csv", help="write one CSV row of metrics per update"
    )
    output.add_argument(
        "--plot",
        metavar="FILE.png",
        help="learning-curve figure to write (default: POLICY_learning_curve.png "
        "beside --out)",
    )
    output.add_argument(
        "--no-plot", action="store_true", help="do not write a learning-curve figure"
    )
    output.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="checkpoint file, written atomically during training and deleted when "
        "the policy is saved (default: POLICY.ckpt beside --out)",
    )
    output.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=DEFAULT_CHECKPOINT_EVERY,
        metavar="N",
        help=f"updates between checkpoints (updates; default {DEFAULT_CHECKPOINT_EVERY})",
    )
    output.add_argument(
        "--no-checkpoint", action="store_true", help="do not write checkpoints"
    )
    output.add_argument(
        "--keep-checkpoint",
        action="store_true",
        help="keep the checkpoint after the policy is saved",
    )
    output.add_argument(
        "--resume",
        action="store_true",
        help="continue the run saved in the checkpoint, with its hyperparameters",
    )
    add_hyperparameter_options(parser)
    parser.set_defaults(handler=train_command)


def train_command(args: argparse.Namespace) -> int:
    """Train, evaluate and save a policy, and return the exit code."""
    try:
        setup = prepare(args)
    except (AlgorithmUnavailable, CheckpointError, ValueError) as error:
        print(f"pomdb train: error: {error}", file=sys.stderr)
        return 2

    model, config, run = setup.model, setup.config, setup.run
    resumed = "" if run.resume_state is None else f", resumed from {setup.checkpoint}"
    print(
        f"training {args.algorithm} on {args.scenario} (seed {config.seed}, "
        f"attacker {args.attacker}{resumed})",
        file=sys.stderr,
    )
    # The progress reads the run's clock, which the algorithm starts after its set-up,
    # so the progress and the recorded training time measure the same seconds.
    run.progress = Progress(
        config.total_timesteps,
        args.progress,
        initial_step=run.first_step,
        clock=run.elapsed,
    )
    out = setup.out
    try:
        result = setup.train(model, config, run)
        policy = result.policy(model, out.stem)
        evaluation = evaluate_policy(model, policy, args.eval_episodes, config.seed)
    except KeyboardInterrupt:
        run.close()
        print(f"pomdb train: interrupted; {_resume_hint(setup)}", file=sys.stderr)
        return 130

    try:
        result.save(out, model, _metadata(args, setup, result, evaluation))
    except OSError as error:
        print(f"pomdb train: error: cannot write the policy: {error}", file=sys.stderr)
        if ALGORITHMS[args.algorithm].saves_weights:
            remove_unused_weights(out)
        if setup.checkpoint is not None and setup.checkpoint.exists():
            print(
                f"pomdb train: the trained state is in {setup.checkpoint}; fix the "
                "cause and repeat the command with --resume to evaluate and save the "
                "policy without training again",
                file=sys.stderr,
            )
        return 1
    logger.info("wrote %s", out)
    if setup.checkpoint is not None and not args.keep_checkpoint:
        setup.checkpoint.unlink(missing_ok=True)

    plot_error = _write_plot(args, setup, result)
    plot = setup.plot if plot_error is None else None
    _print_summary(args, setup, result, evaluation, plot)
    if plot_error is not None:
        print(
            f"pomdb train: error: the policy is saved in {out}, but writing the "
            f"learning curve failed: {plot_error}",
            file=sys.stderr,
        )
        return 1
    return 0


def _write_plot(
    args: argparse.Namespace, setup: TrainingSetup, result: Any
) -> OSError | None:
    """Draw the learning curve into `setup.plot`; return the error of a failed write."""
    if setup.plot is None:
        return None
    from simcore.learning_curve import plot_learning_curve

    title = f"{args.algorithm} on {setup.model.name or Path(args.scenario).name}"
    try:
        plot_learning_curve(result.history, setup.plot, title)
    except OSError as error:
        return error
    return None


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


def canonical_command(args: argparse.Namespace, config: Any) -> str:
    """Return a `pomdb train` command line that names every hyperparameter."""
    words = ["pomdb", "train", str(args.scenario), "--algorithm", args.algorithm]
    words += ["--out", str(args.out), "--attacker", str(args.attacker)]
    if args.metrics:
        words += ["--metrics", str(args.metrics)]
    words += ["--eval-episodes", str(args.eval_episodes)]
    return shlex.join(words + option_words(config))


def pomdb_version() -> str:
    try:
        return package_metadata.version("pomdb")
    except package_metadata.PackageNotFoundError:
        return "unknown"


def _metadata(
    args: argparse.Namespace, setup: TrainingSetup, result: Any, evaluation: dict
) -> dict[str, Any]:
    """Return what the policy file records about the scenario, training and score."""
    out, config = setup.out, setup.config
    relative_scenario = os.path.relpath(Path(args.scenario).resolve(), out.resolve().parent)
    hyperparameters = config_values(config)
    if hyperparameters.get("gamma", 0) is None:
        hyperparameters["gamma"] = setup.model.discount
    training = {
        "algorithm": args.algorithm,
        "command": canonical_command(args, config),
        "seed": config.seed,
        "pomdb_version": pomdb_version(),
        "attacker": setup.attacker,
        "hyperparameters": hyperparameters,
        "timesteps": result.global_step,
        "seconds": round(result.seconds, 3),
        "steps_per_second": round(result.global_step / max(result.seconds, 1e-9)),
    }
    return {
        "scenario": Path(relative_scenario).as_posix(),
        "training": training,
        "evaluation": evaluation,
    }


def _print_summary(
    args: argparse.Namespace,
    setup: TrainingSetup,
    result: Any,
    evaluation: dict,
    plot: Path | None,
) -> None:
    out = setup.out
    weights = out.with_suffix(".pt")
    if not weights.exists():
        weights = None  # a threshold policy file has no weights
    if args.progress == "json":
        record = {
            "type": "result",
            "policy": str(out),
            "weights": str(weights) if weights else None,
            "timesteps": result.global_step,
            "seconds": result.seconds,
            "evaluation": {
                key: (value if np.isfinite(value) else None)
                if isinstance(value, float)
                else value
                for key, value in evaluation.items()
            },
            "metrics": str(args.metrics) if args.metrics else None,
            "plot": str(plot) if plot else None,
        }
        print(json.dumps(record), flush=True)
        return
    print(f"policy       {out}" + (f" (weights {weights})" if weights else ""))
    print(f"trained      {result.global_step} steps in {result.seconds:.1f} s")
    print(
        f"mean return  {evaluation['mean_return']:.4f} ± {evaluation['ci95']:.4f} "
        f"(95% CI, {evaluation['episodes']} episodes, seed {evaluation['seed']})"
    )
    if plot is not None:
        print(f"curve        {plot}")


def _resume_hint(setup: TrainingSetup) -> str:
    if setup.checkpoint is None or not setup.checkpoint.exists():
        return "no checkpoint was saved"
    return f"repeat the command with --resume to continue from {setup.checkpoint}"
