"""Benchmark: PPO wall time to 95% and 99% of the optimal value, pomdb against SB3.

pomdb's `simcore.ppo.train` and Stable-Baselines3's PPO train on the same scenario
(default samples/intrusion_prevention.yaml), SB3 through the Gymnasium environment
`simcore.gym_env`, with the same hyperparameters (pomdb's PPOConfig defaults mapped
onto SB3's arguments), the same network size and the same number of steps. The runs
alternate, seed by seed, so a change in the machine's load reaches both. Every K
steps (at the first update boundary at or after each multiple of K) the current
actor is evaluated with `simcore.evaluation.evaluate` on one fixed set of episodes
(common random numbers, the same for both), sampling actions from the policy. A
run's time to X% is its training wall time, evaluations excluded, at the first
evaluation whose mean return reaches X% of the optimal value V*, which comes from
`simcore.solver.solve` or from --optimal-value.

    .venv/bin/python bench/ppo_vs_sb3.py [--seeds 5] [--total-steps N] [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import statistics
import sys
from functools import partial
from pathlib import Path
from typing import Any, Callable

import torch

from machine import SAMPLE_SCENARIO, describe, write_results
from ppo_trainers import EVALUATION_SEED, Evaluator, train_pomdb, train_sb3
from simcore.evaluation import evaluate
from simcore.model import POMDP
from simcore.ppo_config import PPOConfig
from simcore.scenario import load_scenario

TARGETS = (0.95, 0.99)
TRAINERS = ("pomdb", "sb3")


def run_one(
    trainer: str,
    model: POMDP,
    config: PPOConfig,
    new_evaluator: Callable[[], Evaluator],
) -> dict[str, Any]:
    """Train with one trainer and seed, and return its curve and target times."""
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    train_with = train_pomdb if trainer == "pomdb" else train_sb3
    try:
        evaluator = new_evaluator()
        steps = train_with(model, config, evaluator)
    finally:
        torch.set_num_threads(threads)
    points = evaluator.points
    result: dict[str, Any] = {"trainer": trainer, "seed": config.seed, "steps": steps}
    for target in TARGETS:
        reached = [p for p in points if p["fraction"] >= target]
        key = f"{round(target * 100)}%"
        result[f"seconds_to_{key}"] = reached[0]["seconds"] if reached else None
        result[f"steps_to_{key}"] = reached[0]["step"] if reached else None
    result["train_seconds"] = points[-1]["seconds"]
    result["steps_per_second"] = steps / points[-1]["seconds"]
    result["final_fraction"] = points[-1]["fraction"]
    result["final_mean_return"] = points[-1]["mean_return"]
    result["curve"] = points
    return result


def summarise(runs: list[dict]) -> dict[str, Any]:
    """Return per trainer the medians over seeds, and SB3 / pomdb ratios of them."""
    summary: dict[str, Any] = {}
    for trainer in TRAINERS:
        mine = [r for r in runs if r["trainer"] == trainer]
        row: dict[str, Any] = {"seeds": len(mine)}
        for target in TARGETS:
            key = f"seconds_to_{round(target * 100)}%"
            times = [r[key] for r in mine if r[key] is not None]
            row[f"reached_{round(target * 100)}%"] = len(times)
            # A median over the seeds that reached it would hide the ones that did not.
            all_reached = len(times) == len(mine)
            row[f"median_{key}"] = statistics.median(times) if all_reached else None
        for key in ("final_fraction", "steps_per_second", "train_seconds"):
            row[f"median_{key}"] = statistics.median(r[key] for r in mine)
        summary[trainer] = row
    ratios = {}
    for key in ["median_steps_per_second", "median_train_seconds"] + [
        f"median_seconds_to_{round(t * 100)}%" for t in TARGETS
    ]:
        pomdb, sb3 = summary["pomdb"][key], summary["sb3"][key]
        ratios[f"sb3 / pomdb {key}"] = sb3 / pomdb if pomdb and sb3 else None
    summary["ratios"] = ratios
    return summary


def optimal_value(
    model: POMDP, override: float | None, episodes: int
) -> dict[str, Any]:
    """Return V* and where it came from. With the solver, add the optimal policy's
    mean return on the evaluation episodes, the ceiling that sampling leaves."""
    if override is not None:
        return {"value": override, "source": "--optimal-value"}
    from simcore.solver import solve

    solution = solve(model)
    optimal = [("optimal", solution.policy)]
    evaluation = evaluate(model, optimal, episodes, EVALUATION_SEED)
    returns = evaluation.policies[0].returns
    return {
        "value": solution.value,
        "source": "simcore.solver.solve",
        "lower": solution.lower,
        "upper": solution.upper,
        "error_bound": solution.error_bound,
        "grid": solution.grid,
        "seconds": solution.seconds,
        "optimal_policy_mean_return": float(returns.mean()),
        "optimal_policy_fraction": float(returns.mean() / solution.value),
    }


def warm_up(model: POMDP) -> None:
    """Train each trainer for one update, untimed, so that neither timed run pays
    for first imports and PyTorch's first-use initialisation."""
    config = PPOConfig(total_timesteps=PPOConfig().batch_size)
    for trainer in TRAINERS:
        run_one(trainer, model, config, partial(Evaluator, model, 1.0, 1, 10))


def print_report(result: dict[str, Any]) -> None:
    optimal = result["optimal_value"]
    print(f"optimal value V* = {optimal['value']:.4f} ({optimal['source']})")
    if "optimal_policy_fraction" in optimal:
        fraction = optimal["optimal_policy_fraction"]
        print(f"the optimal policy reaches {fraction:.3f} of V* on these episodes")
    print(
        f"{'trainer':<7} {'seed':>4} {'steps/s':>8} {'train s':>8} "
        f"{'s to 95%':>9} {'s to 99%':>9} {'final/V*':>8}"
    )
    for run in result["runs"]:
        times = [run[f"seconds_to_{round(t * 100)}%"] for t in TARGETS]
        cells = [f"{s:>9.1f}" if s is not None else f"{'-':>9}" for s in times]
        print(
            f"{run['trainer']:<7} {run['seed']:>4} {run['steps_per_second']:>8,.0f} "
            f"{run['train_seconds']:>8.1f} {' '.join(cells)} "
            f"{run['final_fraction']:>8.3f}"
        )
    for name, value in result["summary"]["ratios"].items():
        text = "-" if value is None else f"{value:.2f}"
        print(f"{name}: {text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario",
        type=Path,
        default=SAMPLE_SCENARIO,
        help="scenario file (default: samples/intrusion_prevention.yaml)",
    )
    parser.add_argument(
        "--seeds", type=int, default=5, help="training seeds per trainer"
    )
    parser.add_argument(
        "--total-steps",
        type=int,
        default=PPOConfig.total_timesteps,
        help="environment steps per run, rounded down to whole batches (steps)",
    )
    parser.add_argument(
        "--eval-every",
        type=int,
        default=20_480,
        help="steps between evaluations of the current actor (steps)",
    )
    parser.add_argument(
        "--eval-episodes",
        type=int,
        default=10_000,
        help="episodes per evaluation, the same episodes every time",
    )
    parser.add_argument(
        "--optimal-value",
        type=float,
        help="V* from the initial belief (default: computed by simcore.solver.solve)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=PPOConfig.threads,
        help="PyTorch CPU threads of both trainers "
        f"(threads; default {PPOConfig.threads}, pomdb's default)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1 seed, 40,960 steps, 200 evaluation episodes",
    )
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.total_steps = 1, 40_960
        args.eval_every, args.eval_episodes = 8192, 200
    for name in ("seeds", "total_steps", "eval_every", "eval_episodes", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")

    model = load_scenario(args.scenario)
    optimal = optimal_value(model, args.optimal_value, args.eval_episodes)
    if not optimal["value"] > 0:
        print(
            f"ppo_vs_sb3: the optimal value {optimal['value']} is not positive, so "
            "fractions of it are meaningless; use a scenario with V* > 0",
            file=sys.stderr,
        )
        return 2
    new_evaluator = partial(
        Evaluator, model, optimal["value"], args.eval_every, args.eval_episodes
    )
    warm_up(model)
    runs = []
    for seed in range(args.seeds):
        config = PPOConfig(
            total_timesteps=args.total_steps, seed=seed, threads=args.threads
        )
        config.validate()
        # Alternate which trainer goes first, so that load drifts reach both.
        for trainer in TRAINERS if seed % 2 == 0 else TRAINERS[::-1]:
            run = run_one(trainer, model, config, new_evaluator)
            runs.append(run)
            print(
                f"{trainer} seed {seed}: {run['train_seconds']:.1f} s, "
                f"final {run['final_fraction']:.3f} of V*",
                file=sys.stderr,
            )

    settings = {key: value for key, value in vars(args).items() if key != "json"}
    settings["scenario"] = str(args.scenario)
    settings["evaluation_seed"] = EVALUATION_SEED
    settings["ppo"] = dataclasses.asdict(
        PPOConfig(total_timesteps=args.total_steps, threads=args.threads)
    )
    packages = ("torch", "stable-baselines3", "gymnasium", "numpy")
    result = {
        "scenario": str(args.scenario),
        "optimal_value": optimal,
        "settings": settings,
        "runs": runs,
        "summary": summarise(runs),
        "versions": {name: importlib.metadata.version(name) for name in packages},
        "machine": describe(),
    }
    print_report(result)
    write_results(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
