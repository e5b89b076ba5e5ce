"""The learning-curve figure of a training run, drawn with matplotlib's Agg backend."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from simcore.files import atomic_write
from simcore.progress import RETURN_KEY

LENGTH_KEY = "charts/episodic_length"
PANELS = 4
# Metrics drawn first when a run has them; other "losses/" keys fill the rest.
PREFERRED = (RETURN_KEY, LENGTH_KEY, "losses/entropy", "losses/value_loss")


def plot_learning_curve(
    history: list[dict[str, float]], path: Path, title: str
) -> list[str]:
    """Write a PNG of the metrics per update against the steps; return the keys drawn.

    The first panel is the mean episodic return with its moving average over a tenth
    of the updates. Up to three more show the PREFERRED metrics, then other
    "losses/" keys, skipping metrics without a finite value.
    """
    import matplotlib

    matplotlib.use("Agg")  # renders to files only, without a display
    from matplotlib import pyplot

    if not history:
        raise ValueError("no updates to plot")
    steps = np.array([row["global_step"] for row in history])
    keys = _panel_keys(history)

    figure, axes = pyplot.subplots(2, 2, figsize=(10, 6.5), squeeze=False)
    figure.suptitle(title)
    for axis, key in zip(axes.flat, keys):
        values = np.array([row.get(key, math.nan) for row in history], dtype=float)
        axis.plot(steps, values, color="tab:blue", linewidth=0.8, alpha=0.5)
        if key == RETURN_KEY:
            window = max(1, len(values) // 10)
            axis.plot(
                steps,
                moving_average(values, window),
                color="tab:blue",
                linewidth=2,
                label=f"moving average over {window} updates",
            )
            axis.legend(loc="lower right", fontsize="small")
        axis.set_title(_label(key), fontsize="medium")
        axis.set_xlabel("environment steps")
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(keys) :]:
        axis.set_visible(False)
    figure.tight_layout()

    try:
        atomic_write(Path(path), lambda f: figure.savefig(f, format="png", dpi=100))
    finally:
        pyplot.close(figure)
    return keys


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Return the mean of the last `window` finite values at each index (NaN if none)."""
    finite = np.isfinite(values)
    sums = np.cumsum(np.where(finite, values, 0.0))
    counts = np.cumsum(finite)
    shifted_sums = np.concatenate([np.zeros(window), sums[:-window]])
    shifted_counts = np.concatenate([np.zeros(window), counts[:-window]])
    totals = sums - shifted_sums[: len(values)]
    numbers = counts - shifted_counts[: len(values)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(numbers > 0, totals / numbers, np.nan)


def _panel_keys(history: list[dict[str, float]]) -> list[str]:
    candidates = list(PREFERRED)
    candidates += [
        key for key in history[0] if key.startswith("losses/") and key not in PREFERRED
    ]
    keys = []
    for key in candidates:
        values = [row.get(key, math.nan) for row in history]
        if key == RETURN_KEY or any(math.isfinite(value) for value in values):
            keys.append(key)
    return keys[:PANELS]


def _label(key: str) -> str:
    names = {RETURN_KEY: "mean episodic return", LENGTH_KEY: "mean episode length"}
    return names.get(key, key.split("/")[-1].replace("_", " "))
