"""Benchmark: `pomdb solve` time and error bound against the grid size.

Solves samples/intrusion_prevention.yaml and samples/intrusion_prevention_emulation.yaml
on grids of 50 to 1600 values of b(intrusion) and reports the seconds, the iterations,
the bounds at the initial belief, the largest gap over the grid and the thresholds.

    .venv/bin/python bench/solver_grid.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from machine import REPO, describe, write_results

sys.path.insert(0, str(REPO))

from simcore.scenario import load_scenario  # noqa: E402
from simcore.solver import solve  # noqa: E402

SCENARIOS = ("intrusion_prevention.yaml", "intrusion_prevention_emulation.yaml")
GRIDS = (50, 100, 200, 400, 800, 1600)
QUICK_GRIDS = (50, 100)


def measure(grids: tuple[int, ...]) -> dict[str, list[dict[str, object]]]:
    """Return one row per grid size for each sample scenario."""
    results: dict[str, list[dict[str, object]]] = {}
    for name in SCENARIOS:
        model = load_scenario(REPO / "samples" / name)
        rows = []
        for grid in grids:
            solution = solve(model, grid=grid)
            row = {
                "grid": grid,
                "seconds": solution.seconds,
                "iterations": solution.iterations,
                "value": solution.value,
                "lower": solution.lower,
                "upper": solution.upper,
                "error_bound": solution.error_bound,
                "max_gap": solution.max_gap,
                "thresholds": solution.thresholds,
            }
            rows.append(row)
            print(
                f"{name:38} grid {grid:5}  {solution.seconds:7.2f} s  "
                f"{solution.iterations:4} it  value {solution.value:.6f}  "
                f"error bound {solution.error_bound:.2e}  max gap {solution.max_gap:.2e}  "
                "thresholds " + ", ".join(f"{a:.4f}" for a in solution.thresholds or []),
                flush=True,
            )
        results[name] = rows
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="grids of 50 and 100 only")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results")
    args = parser.parse_args(argv)
    report = {
        "machine": describe(),
        "scenarios": measure(QUICK_GRIDS if args.quick else GRIDS),
    }
    write_results(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
