"""Check the options of `pomdb train` and prepare the run: config, attacker, resume.

Every check here runs before training starts, so a mistake costs no training time.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from simcore.algorithms import (
    ALGORITHMS,
    config_class,
    config_from_values,
    config_values,
    given_options,
    train_function,
)
from simcore.checkpoint import (
    CheckpointError,
    file_sha256,
    is_checkpoint,
    load_checkpoint,
)
from simcore.model import POMDP
from simcore.policies import POLICY_FORMAT
from simcore.scenario import load_scenario
from simcore.trainer import TrainingRun
from simcore.vector_env import VectorEnv

logger = logging.getLogger(__name__)

# The start of the first line of every metrics CSV that `pomdb train` writes.
METRICS_HEADER = b"global_step,"


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
    metrics = Path(args.metrics) if args.metrics else None
    outputs = {
        "--out": out,
        "--plot": plot,
        "--checkpoint": checkpoint,
        "--metrics": metrics,
    }
    _check_outputs(args, outputs)

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
        if checkpoint is not None:
            _check_new_checkpoint(checkpoint)
        config = config_type(**given)
    config.validate()

    for option, path in outputs.items():
        if path is not None:
            _check_writable_folder(option, path)
    run = TrainingRun(
        algorithm=algorithm,
        scenario_sha256=scenario_sha256,
        world=world,
        metrics_path=metrics,
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
            f"delete or move {checkpoint} and start a new run without --resume"
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
            f"resume with that --attacker, or delete or move {checkpoint} and start a "
            "new run without --resume"
        )


def _check_new_checkpoint(checkpoint: Path) -> None:
    """Reject an existing file where a new run would write its checkpoint."""
    if not checkpoint.exists():
        return
    if not is_checkpoint(checkpoint):
        raise ValueError(
            f"{checkpoint} exists and is not a pomdb checkpoint, so training would "
            f"overwrite it; pass another --checkpoint FILE, or move {checkpoint}"
        )
    raise ValueError(
        f"checkpoint {checkpoint} exists from an earlier run; continue that run with "
        f"--resume, or delete or move {checkpoint} to start a new one"
    )


def _check_outputs(args: argparse.Namespace, outputs: dict[str, Path | None]) -> None:
    """Reject outputs that would replace an input, each other or a file that no
    earlier `pomdb train` wrote."""
    out, metrics = outputs["--out"], outputs["--metrics"]
    saves_weights = ALGORITHMS[args.algorithm].saves_weights
    _check_distinct(args, outputs, saves_weights)
    _check_policy_file(out)
    if saves_weights:
        _check_weights(out)
    if metrics is not None:
        _check_metrics_file(metrics)


def _check_policy_file(out: Path) -> None:
    """Reject an existing `out` that is not a pomdb policy file, which training
    would replace."""
    if out.exists() and _policy_metadata(out) is None:
        raise ValueError(
            f"--out {out} exists and is not a pomdb policy file, so training would "
            f"replace it; choose another --out, or delete or move {out}"
        )


def _check_weights(out: Path) -> None:
    """Reject an existing POLICY.pt unless `out` is the neural policy that uses it."""
    weights = out.with_suffix(".pt")
    if not weights.exists():
        return
    metadata = _policy_metadata(out) or {}
    if metadata.get("kind") != "neural" or metadata.get("weights") != weights.name:
        raise ValueError(
            f"--out {out}: {weights} exists and {out.name} is not a pomdb neural "
            f"policy that uses it, so training would replace it; choose another "
            f"--out, or delete or move {weights}"
        )


def remove_unused_weights(out: Path) -> None:
    """Delete POLICY.pt unless `out` is the neural policy that uses it.

    Call it only after this run failed to write `out`: `prepare` rejects any other
    POLICY.pt, so such weights are the ones this run wrote, and left in place they
    would make `--resume` reject its own output.
    """
    weights = out.with_suffix(".pt")
    metadata = _policy_metadata(out) or {}
    if metadata.get("kind") != "neural" or metadata.get("weights") != weights.name:
        weights.unlink(missing_ok=True)


def _policy_metadata(path: Path) -> dict[str, Any] | None:
    """Return the JSON object of a pomdb policy file, or None for any other file."""
    try:
        with path.open("rb") as f:
            metadata = json.load(f)
    except (OSError, ValueError):  # ValueError includes JSON and UTF-8 errors
        return None
    if not isinstance(metadata, dict) or metadata.get("format") != POLICY_FORMAT:
        return None
    return metadata


def _check_metrics_file(metrics: Path) -> None:
    """Reject a metrics path without .csv, or an existing file that training did not
    write (its first line is not a metrics header), which training would replace."""
    if metrics.suffix.lower() != ".csv":
        raise ValueError(f"--metrics {metrics} must end in .csv")
    if not metrics.exists():
        return
    try:
        with metrics.open("rb") as f:
            start = f.read(len(METRICS_HEADER))
    except OSError as error:
        raise ValueError(f"--metrics {metrics}: cannot read it ({error})") from None
    # An empty file is what a run stopped before its first update leaves.
    if start and start != METRICS_HEADER:
        raise ValueError(
            f"--metrics {metrics} exists and is not a pomdb metrics file (its first "
            "line is not global_step,...), so training would replace it; choose "
            f"another --metrics file, or delete or move {metrics}"
        )


def _check_distinct(
    args: argparse.Namespace, outputs: dict[str, Path | None], saves_weights: bool
) -> None:
    """Reject an output that is also an input or another output."""
    files = [("the scenario", Path(args.scenario))]
    if args.attacker != "static":
        files.append(("the --attacker file", Path(args.attacker)))
    for option, path in outputs.items():
        if path is not None:
            files.append((option, path))
        if option == "--out" and path is not None and saves_weights:
            files.append(("the weights of --out", path.with_suffix(".pt")))
    seen: dict[Path, str] = {}
    for name, path in files:
        resolved = path.resolve()
        if resolved in seen:
            raise ValueError(
                f"{name} {path} is also {seen[resolved]}; give each output a file "
                "of its own"
            )
        seen[resolved] = name


def _check_writable_folder(option: str, path: Path) -> None:
    """Create the folder of output `path` and check that a file can be written there,
    so that a read-only folder fails before training instead of after it."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(
            f"{option} {path}: cannot create the folder {folder} "
            f"({error.strerror or error}); choose another path"
        ) from None
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".pomdb-write-test."):
            pass
    except OSError as error:
        raise ValueError(
            f"{option} {path}: cannot write to the folder {folder} "
            f"({error.strerror or error}); choose a writable folder or change its "
            "permissions"
        ) from None


def _remove_partial_writes(checkpoint: Path) -> None:
    """Delete the temporary files of checkpoint writes that a killed run left."""
    for partial in checkpoint.parent.glob(f".{checkpoint.name}.*.tmp"):
        logger.info("removing %s, the partial write of a stopped run", partial)
        partial.unlink(missing_ok=True)


def _beside(out: Path, suffix: str) -> Path:
    return out.with_name(out.stem + suffix)
