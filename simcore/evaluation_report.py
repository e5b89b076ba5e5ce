"""Statistics of an `Evaluation`: per-policy metrics and paired differences.

`report` returns one JSON-ready dict (NaN becomes None) and `format_table` draws it
as aligned text. The metrics of intrusion prevention are defined in
`simcore.intrusion_metrics`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simcore.cli import confidence_interval
from simcore.evaluation import Evaluation, PolicyEvaluation

REFERENCES = ("first", "best")


def policy_metrics(
    evaluation: PolicyEvaluation, spec: str | None = None
) -> dict[str, Any]:
    """Return the metrics of one policy's episodes."""
    returns = evaluation.returns
    metrics: dict[str, Any] = {
        "name": evaluation.name,
        "spec": spec,
        "mean_return": float(returns.mean()),
        "ci95": confidence_interval(returns),
        "std_return": float(returns.std(ddof=1)) if returns.size > 1 else 0.0,
        "mean_length": float(evaluation.lengths.mean()),
    }
    tracker = evaluation.intrusion
    if tracker is not None:
        delays = tracker.delays
        metrics.update(
            p_intrusion=float(np.mean(tracker.intrusion_start >= 0)),
            p_prevented=float(tracker.prevented.mean()),
            p_early_stop=float(tracker.early_stop.mean()),
            mean_delay=float(delays.mean()) if delays.size else math.nan,
            delay_episodes=int(delays.size),
            mean_stops=float(tracker.stops.mean()),
        )
    metrics["seconds"] = evaluation.seconds
    return metrics


def paired_difference(returns: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Return the mean of returns - reference with its paired and unpaired 95% CIs.

    The paired interval is the Student t interval of the per-episode differences,
    which common random numbers make small. The unpaired one (Welch) is what two
    independent runs with the same variances would give.
    """
    differences = returns - reference
    return {
        "mean": float(differences.mean()),
        "paired_ci95": confidence_interval(differences),
        "unpaired_ci95": welch_half_width(returns, reference),
    }


def welch_half_width(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> float:
    """Return the half-width of Welch's t interval for mean(a) - mean(b)."""
    if a.size < 2 or b.size < 2:
        return math.nan
    from scipy import stats

    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0.0:
        return 0.0
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    return float(stats.t.ppf(0.5 + level / 2, dof) * se)


def report(
    evaluation: Evaluation,
    specs: list[str | None] | None = None,
    reference: str = "first",
    scenario: str | None = None,
) -> dict[str, Any]:
    """Return the evaluation as one JSON-ready dict, NaN as None.

    `reference` is "first" (the first policy) or "best" (the highest mean return):
    every other policy gets the paired difference of its mean return against it.
    `specs` (one per policy) and `scenario` are copied into the dict as given.
    """
    if reference not in REFERENCES:
        raise ValueError(f"unknown reference {reference!r}; use first or best")
    if specs is None:
        specs = [None] * len(evaluation.policies)
    policies = [policy_metrics(p, spec) for p, spec in zip(evaluation.policies, specs)]
    means = [p.returns.mean() for p in evaluation.policies]
    base = 0 if reference == "first" else int(np.argmax(means))
    for i, metrics in enumerate(policies):
        metrics["difference"] = None
        if i != base:
            metrics["difference"] = paired_difference(
                evaluation.policies[i].returns, evaluation.policies[base].returns
            )
    result: dict[str, Any] = {
        "scenario": scenario,
        "episodes": evaluation.episodes,
        "seed": evaluation.seed,
        "max_steps": evaluation.max_steps,
        "common_random_numbers": True,
        "intrusion_metrics": evaluation.has_intrusion_metrics,
        "reference": evaluation.policies[base].name,
        "seconds": evaluation.seconds,
        "policies": policies,
    }
    if not evaluation.has_intrusion_metrics:
        result["note"] = (
            "the model has no state named 'intrusion' or no stop action, so only the "
            "return and the episode length are reported"
        )
    return _without_nan(result)


def _without_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nan(item) for item in value]
    return value


def format_table(result: dict[str, Any]) -> str:
    """Return `report`'s dict as aligned text tables."""
    lines = [
        f"scenario  {result['scenario']}",
        (
            f"episodes  {result['episodes']} per policy (seed {result['seed']}, "
            "common random numbers)"
        ),
    ]
    if result["max_steps"] is not None:
        lines.append(f"limit     {result['max_steps']} steps per episode")
    intrusion = result["intrusion_metrics"]
    header = ["policy", "mean return (95% CI)"]
    if intrusion:
        header += ["P[prevented]", "P[early stop]", "mean delay (episodes)"]
    header += ["mean length"]
    rows = [header]
    for p in result["policies"]:
        row = [p["name"], _plus_minus(p["mean_return"], p["ci95"])]
        if intrusion:
            delay = "-" if p["mean_delay"] is None else f"{p['mean_delay']:.2f}"
            row += [
                f"{p['p_prevented']:.3f}",
                f"{p['p_early_stop']:.3f}",
                f"{delay} ({p['delay_episodes']})",
            ]
        row.append(f"{p['mean_length']:.2f}")
        rows.append(row)
    lines += ["", *_aligned(rows)]
    if not intrusion:
        lines += ["", f"note: {result['note']}"]

    differences = [p for p in result["policies"] if p["difference"] is not None]
    if differences:
        rows = [["policy", "difference", "paired 95% CI", "unpaired 95% CI"]]
        for p in differences:
            d = p["difference"]
            rows.append([
                p["name"],
                f"{d['mean']:+.4f}",
                _half_width(d["paired_ci95"]),
                _half_width(d["unpaired_ci95"]),
            ])  # fmt: skip
        lines += [
            "",
            f"mean return minus that of {result['reference']}, paired per episode:",
            *_aligned(rows),
        ]
    return "\n".join(lines)


def _plus_minus(mean: float, half_width: float | None) -> str:
    return f"{mean:.4f}" + ("" if half_width is None else f" ± {half_width:.4f}")


def _half_width(half_width: float | None) -> str:
    return "-" if half_width is None else f"± {half_width:.4f}"


def _aligned(rows: list[list[str]]) -> list[str]:
    """Return rows with the first column left-aligned and the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    return lines
