"""The `pomdb solve` command: bound the optimal value and write the optimal policy."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from simcore.cli import positive_int
from simcore.model import POMDP
from simcore.policies import POLICY_FORMAT
from simcore.scenario import load_scenario
from simcore.solver import (
    DEFAULT_GRID,
    DEFAULT_MAX_ITERATIONS,
    DEFAULT_TOLERANCE,
    Solution,
    SolverError,
    solve,
)
from simcore.solver_file import save_optimal_policy, solution_metadata


def add_solve_parser(subparsers: Any) -> None:
    """Register `pomdb solve`."""
    parser = subparsers.add_parser(
        "solve",
        help="compute the optimal policy and bounds on its value",
        description="Solve a scenario's POMDP by value iteration with a lower and an "
        "upper bound on the optimal value, and optionally write the optimal policy "
        "as a policy file for pomdb run, evaluate and debug.",
    )
    parser.add_argument("scenario", help="scenario file (YAML)")
    parser.add_argument(
        "--grid",
        type=positive_int,
        default=DEFAULT_GRID,
        metavar="N",
        help="belief points: values of b(intrusion) on [0, 1] for a model with two "
        "non-terminal states, points per stage otherwise "
        f"(points; default {DEFAULT_GRID})",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        metavar="X",
        help="stop when no bound moves by more than X at any point "
        f"(units of return; default {DEFAULT_TOLERANCE:g})",
    )
    parser.add_argument(
        "--max-iterations",
        type=positive_int,
        default=DEFAULT_MAX_ITERATIONS,
        metavar="N",
        help=f"iteration limit (backups of every point; default {DEFAULT_MAX_ITERATIONS})",
    )
    parser.add_argument(
        "--method",
        choices=("auto", "grid", "pbvi"),
        default="auto",
        help="grid: belief-line grid, two non-terminal states only; pbvi: point-based "
        "value iteration; auto: grid where it applies (default auto)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the pbvi belief points (default 0)"
    )
    parser.add_argument(
        "--out", metavar="POLICY.json", help="write the optimal policy to this file"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=solve_command)


def solve_command(args: argparse.Namespace) -> int:
    """Solve the scenario, print the figures and write the policy file if asked."""
    if not args.tolerance > 0:
        raise SolverError(f"--tolerance {args.tolerance} must be positive")
    if Path(args.scenario).is_dir():
        raise SolverError(
            f"{args.scenario} is a folder, not a scenario file; name a YAML file"
        )
    if args.out:
        check_output_path(Path(args.out))
    model = load_scenario(args.scenario)
    solution = solve(
        model,
        grid=args.grid,
        tolerance=args.tolerance,
        max_iterations=args.max_iterations,
        method=args.method,
        seed=args.seed,
    )
    if args.out:
        save_optimal_policy(Path(args.out), model, solution)
    if args.json:
        result = solution_metadata(model, solution)
        del result["alpha_vectors"]
        result["scenario_path"] = str(args.scenario)
        result["out"] = args.out
        print(json.dumps(result))
    else:
        print_summary(args.scenario, model, solution, args.out)
    return 0


def check_output_path(out: Path) -> None:
    """Reject an --out path that does not end in .json, or whose existing file is
    anything but an optimal-policy file, so that solving never overwrites a scenario,
    a trained policy or any other file."""
    if out.suffix != ".json":
        raise SolverError(f"--out {out} must end in .json (a policy file)")
    if out.is_dir():
        raise SolverError(f"--out {out} is a folder; name a policy file to write")
    if not out.exists():
        return
    try:
        existing = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        existing = None
    if (
        not isinstance(existing, dict)
        or existing.get("format") != POLICY_FORMAT
        or existing.get("kind") != "optimal"
    ):
        raise SolverError(
            f"--out {out} exists and is not a policy file written by pomdb solve; "
            "choose another file name, or move the file away first"
        )


def print_summary(
    scenario: str, model: POMDP, solution: Solution, out: str | None
) -> None:
    print(f"scenario       {scenario}")
    print(f"method         {solution.method}, {solution.grid} belief points")
    print(f"optimal value  {solution.value:.6f} ± {solution.error_bound / 2:.2e}")
    print(f"bounds         [{solution.lower:.6f}, {solution.upper:.6f}] at b0")
    print(f"error bound    {solution.error_bound:.3e} at b0, max gap {solution.max_gap:.3e}")
    if solution.truncation_bound > 0:
        print(f"step limit     contributes at most {solution.truncation_bound:.3e}")
    print(
        f"iterations     {solution.iterations} "
        f"(residual {solution.residual:.1e}, {solution.seconds:.2f} s)"
    )
    if solution.thresholds is not None:
        watched = model.states[solution.policy.solver_model.states[1]]
        for l, alpha in enumerate(solution.thresholds, start=1):
            label = f"alpha_{l}"
            print(f"{label:<14} {alpha:.6f}  (stop when b({watched}) >= {label})")
    if out:
        print(f"policy         {out}")
