"""Training checkpoints: one PyTorch file with everything needed to resume a run.

A checkpoint is `torch.save` of a dict that holds only tensors, numbers, strings,
booleans, None, lists, tuples and dicts, so `torch.load(weights_only=True)` reads it
and opening a checkpoint can never run code. Every checkpoint contains
`"format": "pomdb-checkpoint"`, `"version"`, `"algorithm"` and `"scenario_sha256"`;
the trainer adds its networks, optimiser, random number generator states, update
index and metrics. Writes are atomic, so a run killed at any moment leaves either the
previous checkpoint or the new one.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simcore.files import atomic_write

CHECKPOINT_FORMAT = "pomdb-checkpoint"
CHECKPOINT_VERSION = 1

# The types that torch.load(weights_only=True) rebuilds without running code.
_PLAIN = (bool, int, float, str, type(None), torch.Tensor)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and what to do."""


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes, e.g. of a scenario file."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def numpy_rng_state(generator: np.random.Generator) -> dict[str, Any]:
    """Return the state of a numpy Generator as a dict of plain strings and ints."""
    return generator.bit_generator.state


def set_numpy_rng_state(generator: np.random.Generator, state: dict[str, Any]) -> None:
    """Restore a state returned by `numpy_rng_state` into `generator`."""
    generator.bit_generator.state = state


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write `state` to `path` atomically, adding the format and version fields.

    `state` must contain "algorithm" (a string) and "scenario_sha256" (a hex string,
    or None when the run has no scenario file). Raises ValueError naming the first
    value that `torch.load(weights_only=True)` could not read back.
    """
    path = Path(path)
    if not isinstance(state.get("algorithm"), str):
        raise ValueError("missing 'algorithm' string in the checkpoint state")
    if "scenario_sha256" not in state:
        raise ValueError(
            "missing 'scenario_sha256' (a hex string or None) in the checkpoint state"
        )
    state = {**state, "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION}
    _check_plain(state, "checkpoint")
    atomic_write(path, lambda f: torch.save(state, f))
    _fsync_folder(path.parent)


def load_checkpoint(
    path: Path, algorithm: str, scenario_sha256: str | None
) -> dict[str, Any]:
    """Return the state saved in `path` after checking that it fits this run.

    Raises CheckpointError when the file is missing, not a pomdb checkpoint, truncated
    or corrupt, written by a newer pomdb, or written for another algorithm or (when
    `scenario_sha256` is given) another scenario.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{path}: checkpoint not found; check the path, or start a new run "
            "without --resume"
        )
    state = _read(path)

    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path}: not a pomdb checkpoint (no \"format\": \"{CHECKPOINT_FORMAT}\"); "
            "pass a file written by pomdb train --checkpoint"
        )
    version = state.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{path}: invalid checkpoint version {version!r}")
    if version > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {version} was written by a newer pomdb, and "
            f"this one reads up to version {CHECKPOINT_VERSION}; upgrade pomdb"
        )
    if state.get("algorithm") != algorithm:
        raise CheckpointError(
            f"{path}: this is a checkpoint of algorithm {state.get('algorithm')!r}, "
            f"not {algorithm!r}; resume with --algorithm {state.get('algorithm')} or "
            "choose another checkpoint file"
        )
    saved_sha = state.get("scenario_sha256")
    if scenario_sha256 is not None and saved_sha != scenario_sha256:
        raise CheckpointError(
            f"{path}: the checkpoint was written for another scenario (SHA-256 "
            f"{str(saved_sha)[:12]}..., this scenario {scenario_sha256[:12]}...); "
            "resume with the scenario file it was trained on, unchanged, or delete or "
            f"move {path} and start a new run without --resume"
        )
    return state


def is_checkpoint(path: Path) -> bool:
    """Return whether `path` is a readable pomdb checkpoint of any algorithm."""
    try:
        state = _read(Path(path))
    except CheckpointError:
        return False
    return isinstance(state, dict) and state.get("format") == CHECKPOINT_FORMAT


def _read(path: Path) -> Any:
    """Return the object in a PyTorch file, or raise CheckpointError saying why not."""
    with path.open("rb") as f:
        magic = f.read(4)
    # torch.save writes a zip archive; a file with another start was never one.
    if magic != b"PK\x03\x04":
        raise CheckpointError(
            f"{path}: not a pomdb checkpoint (not a PyTorch file); pass a file "
            "written by pomdb train --checkpoint"
        )
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path}: the checkpoint is truncated or corrupt; delete it and start a "
            "new run without --resume"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for unsafe or broken files
        if "weights_only" in str(error) or "Weights only" in str(error):
            raise CheckpointError(
                f"{path}: not a pomdb checkpoint (it contains objects that cannot "
                "be loaded safely); pass a file written by pomdb train --checkpoint"
            ) from None
        raise CheckpointError(
            f"{path}: the checkpoint is corrupt ({type(error).__name__}: {error}); "
            "delete it and start a new run without --resume"
        ) from None


def _check_plain(value: Any, where: str) -> None:
    """Raise ValueError naming the first value that is not plain data."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise ValueError(f"{where}: key {key!r} must be a string or an int")
            _check_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")
    elif isinstance(value, np.generic) or not isinstance(value, _PLAIN):
        # np.float64 subclasses float but pickles as a numpy object.
        raise ValueError(
            f"{where} is a {type(value).__name__}; a checkpoint can contain only tensors, "
            "numbers, strings, lists and dicts; convert it first"
        )


def _fsync_folder(folder: Path) -> None:
    """Make the rename of a new file durable across a power loss, where supported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename is still atomic
    finally:
        os.close(fd)
