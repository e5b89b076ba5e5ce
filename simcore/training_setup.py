"""Check the options of `pomdb train` and prepare the run: config, attacker, resume.

Every check here runs before training starts, so a mistake costs no training time.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from simcore.algorithms import (
    config_class,
    config_from_values,
    config_values,
    given_options,
    train_function,
)
from simcore.checkpoint import CheckpointError, file_sha256, load_checkpoint
from simcore.model import POMDP
from simcore.scenario import load_scenario
from simcore.trainer import TrainingRun
from simcore.vector_env import VectorEnv

logger = logging.getLogger(__name__)


@dataclass
class TrainingSetup:
    """A checked `pomdb train` run, ready to call `train(model, config, run)`."""

    model: POMDP
    config: Any
    run: TrainingRun
    train: Callable[..., Any]
    out: Path
    plot: Path | None
    checkpoint: Path | None
    attacker: dict[str, Any]


def prepare(args: argparse.Namespace) -> TrainingSetup:
    """Return the run the options describe, or raise ValueError saying what is wrong.

    Raises CheckpointError (a ValueError) for a checkpoint that does not fit.
    """
    algorithm = args.algorithm
    config_type, train = config_class(algorithm), train_function(algorithm)
    given = given_options(args, algorithm)
    if args.eval_episodes < 2:
        raise ValueError(
            f"--eval-episodes must be at least 2 for a confidence interval, "
            f"got {args.eval_episodes}"
        )
    out = Path(args.out)
    if out.suffix != ".json":
        raise ValueError(
            f"--out {out} must end in .json; the weights are written beside it as "
            f"{out.with_suffix('.pt').name}"
        )
    plot = None
    if not args.no_plot:
        plot = Path(args.plot) if args.plot else _beside(out, "_learning_curve.png")
        if plot.suffix.lower() != ".png":
            raise ValueError(f"--plot {plot} must end in .png")
    checkpoint = None
    if not args.no_checkpoint:
        checkpoint = Path(args.checkpoint) if args.checkpoint else out.with_suffix(".ckpt")
    if args.resume and checkpoint is None:
        raise ValueError("--resume needs a checkpoint; remove --no-checkpoint")

    scenario = Path(args.scenario)
    model = load_scenario(scenario)
    scenario_sha256 = file_sha256(scenario)
    world, attacker = load_attacker(args.attacker, model, scenario)

    resume_state = None
    if args.resume:
        resume_state = load_checkpoint(checkpoint, algorithm, scenario_sha256)
        _remove_partial_writes(checkpoint)
        config = _resumed_config(checkpoint, resume_state, config_type, given)
        _check_attacker(checkpoint, resume_state, attacker)
    else:
        if checkpoint is not None and checkpoint.exists():
            raise ValueError(
                f"checkpoint {checkpoint} exists from an earlier run; continue that "
                "run with --resume, or delete the file to start a new one"
            )
        config = config_type(**given)
    config.validate()

    for path in (out, plot, checkpoint, Path(args.metrics) if args.metrics else None):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    run = TrainingRun(
        algorithm=algorithm,
        scenario_sha256=scenario_sha256,
        world=world,
        metrics_path=Path(args.metrics) if args.metrics else None,
        checkpoint_path=checkpoint,
        checkpoint_every=args.checkpoint_every,
        identity={"config": config_values(config), "attacker": attacker},
        resume_state=resume_state,
    )
    return TrainingSetup(model, config, run, train, out, plot, checkpoint, attacker)


def load_attacker(
    spec: str, model: POMDP, scenario: Path
) -> tuple[POMDP | None, dict[str, Any]]:
    """Return the attacker profile model (None for static) and its description.

    Raises ValueError when the profile's states, actions, attacker actions,
    observations or stops differ from the scenario's.
    """
    if spec == "static":
        return None, {"kind": "static"}
    path = Path(spec)
    if not path.is_file():
        raise ValueError(
            f"--attacker {spec}: file not found; pass static or an attacker profile "
            "scenario such as samples/attackers/novice.yaml"
        )
    if "world" not in inspect.signature(VectorEnv).parameters:
        raise ValueError(
            "--attacker SCENARIO needs simcore.vector_env.VectorEnv with a world "
            "argument, which this installation lacks; use --attacker static"
        )
    world = load_scenario(path)
    differences = [
        name
        for name, ours, theirs in (
            ("states", model.states, world.states),
            ("actions", model.actions, world.actions),
            ("attacker actions", model.attacker_actions, world.attacker_actions),
            ("observations", model.observation.shape, world.observation.shape),
            ("stops", model.stops, world.stops),
        )
        if ours != theirs
    ]
    if differences:
        raise ValueError(
            f"--attacker {path}: its {', '.join(differences)} differ from those of "
            f"{scenario}; an attacker profile must have the same states, actions, "
            "attacker actions, observations and stops as the training scenario"
        )
    relative = os.path.relpath(path.resolve(), Path.cwd())
    return world, {
        "kind": "profile",
        "scenario": Path(relative).as_posix(),
        "sha256": file_sha256(path),
    }


def _resumed_config(
    checkpoint: Path, state: dict[str, Any], config_type: type, given: dict[str, Any]
) -> Any:
    """Return the checkpoint's config, rejecting options that would change it."""
    try:
        config = config_from_values(config_type, state["identity"]["config"])
    except (KeyError, TypeError) as error:
        raise CheckpointError(
            f"{checkpoint}: the checkpoint has no usable hyperparameters ({error}); "
            "start a new run without --resume"
        ) from None
    for name, value in given.items():
        saved = getattr(config, name)
        if saved != value:
            option = "--" + name.replace("_", "-")
            raise ValueError(
                f"{option} {value} differs from the checkpoint's {saved}; a resumed run "
                f"keeps the hyperparameters it started with, so remove {option}"
            )
    return config


def _check_attacker(
    checkpoint: Path, state: dict[str, Any], attacker: dict[str, Any]
) -> None:
    saved = state.get("identity", {}).get("attacker")
    if saved is None or saved.get("sha256") != attacker.get("sha256"):
        described = "static" if not saved else saved.get("scenario", "static")
        raise CheckpointError(
            f"{checkpoint}: the run was trained against attacker {described}; "
            "resume with that --attacker, or start a new run without --resume"
        )


def _remove_partial_writes(checkpoint: Path) -> None:
    """Delete the temporary files of checkpoint writes that a killed run left."""
    for partial in checkpoint.parent.glob(f".{checkpoint.name}.*.tmp"):
        logger.info("removing %s, the partial write of a stopped run", partial)
        partial.unlink(missing_ok=True)


def _beside(out: Path, suffix: str) -> Path:
    return out.with_name(out.stem + suffix)
