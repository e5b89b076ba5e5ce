"""The interface between `pomdb train` and a training algorithm: run and result.

An algorithm is a function `train(model, config, run=None) -> TrainingResult`. It
calls `run.record(row)` once per update with that update's metrics, which appends
the row to `run.history`, writes it to the CSV file and reports progress. When
`run.checkpoint_due(updates_done, total_updates)` is true it calls
`run.save_checkpoint(state)` with its own resumable state, and when
`run.resume_state` is set it continues from that state, which `load_checkpoint`
returned. It calls `run.start_clock()` after its set-up, right before the first
update, and measures its training time with `run.elapsed()`, which is also the clock
of the progress, so that the recorded time and the progress agree. `run.world`, when
set, is the attacker profile that generates the hidden states and observations
(`VectorEnv(model, ..., world=run.world)`).
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from simcore.checkpoint import save_checkpoint
from simcore.model import POMDP
from simcore.policies import Policy
from simcore.progress import RETURN_KEY, Progress


class TrainingResult(Protocol):
    """A trained policy with the run's figures, as every algorithm returns it."""

    global_step: int
    seconds: float
    history: list[dict[str, float]]

    def policy(self, model: POMDP, name: str) -> Policy:
        """Return the trained policy for `model`."""
        ...

    def save(self, path: Path, model: POMDP, extra: dict[str, Any]) -> None:
        """Write the policy file `path` with `extra` added to its metadata."""
        ...


@dataclass
class TrainingRun:
    """The sink of a training run's metrics, progress and checkpoints.

    `identity` is stored in every checkpoint, beside the algorithm and the scenario's
    SHA-256, so that `--resume` can check the checkpoint against the command.
    `checkpoint_every` counts updates. The default run records only `history`.
    """

    algorithm: str = ""
    scenario_sha256: str | None = None
    world: POMDP | None = None
    progress: Progress | None = None
    metrics_path: Path | None = None
    checkpoint_path: Path | None = None
    checkpoint_every: int = 10
    identity: dict[str, Any] = field(default_factory=dict)
    resume_state: dict[str, Any] | None = None
    history: list[dict[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.checkpoint_every < 1:
            raise ValueError(
                f"checkpoint_every must be at least 1, got {self.checkpoint_every}"
            )
        if self.resume_state is not None:
            self.history = [dict(row) for row in self.resume_state["history"]]
        self._metrics = _MetricsWriter(self.metrics_path, self.history)
        self._started: float | None = None

    @property
    def first_step(self) -> int:
        """The global step this process starts from: 0, or the resumed run's last."""
        return int(self.history[-1]["global_step"]) if self.history else 0

    def start_clock(self) -> None:
        """Start the training time of this process, after the algorithm's set-up."""
        self._started = time.perf_counter()

    def elapsed(self) -> float:
        """Return the seconds since `start_clock` in this process, 0 before it."""
        return 0.0 if self._started is None else time.perf_counter() - self._started

    def record(self, row: dict[str, float]) -> None:
        """Append one update's metrics, which include "global_step", and report them."""
        self.history.append(row)
        self._metrics.write(row)
        if self.progress is not None:
            metrics = {key: value for key, value in row.items() if key != "global_step"}
            self.progress.update(int(row["global_step"]), metrics)

    def checkpoint_due(self, updates_done: int, total_updates: int) -> bool:
        """Return whether to save a checkpoint after `updates_done` updates."""
        if self.checkpoint_path is None:
            return False
        return updates_done % self.checkpoint_every == 0 or updates_done == total_updates

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Save an algorithm's state with the history and the run's identity."""
        assert self.checkpoint_path is not None, "no checkpoint path in this run"
        save_checkpoint(
            self.checkpoint_path,
            {
                **state,
                "algorithm": self.algorithm,
                "scenario_sha256": self.scenario_sha256,
                "identity": self.identity,
                "history": self.history,
            },
        )

    def close(self) -> None:
        self._metrics.close()
        if self.progress is not None:
            self.progress.close()


class _MetricsWriter:
    """Writes one CSV row per update: global_step, then the keys of the first row.

    A resumed run rewrites the rows of the checkpoint first, so the file matches the
    run even when rows were written after the checkpoint was saved.
    """

    def __init__(self, path: Path | None, previous: list[dict[str, float]]):
        self._file = None
        self._keys: list[str] | None = None
        if path is None:
            return
        self._file = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        for row in previous:
            self.write(row)

    def write(self, row: dict[str, float]) -> None:
        if self._file is None:
            return
        if self._keys is None:
            self._keys = [key for key in row if key != "global_step"]
            self._writer.writerow(["global_step", *self._keys])
        values = [row.get(key, math.nan) for key in self._keys]
        self._writer.writerow([int(row["global_step"]), *values])
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def mean_return(row: dict[str, float]) -> float:
    """Return the mean episodic return of a metrics row, NaN when none ended."""
    return float(row.get(RETURN_KEY, math.nan))
