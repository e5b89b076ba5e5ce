"""Benchmark 3: the cost of each part of pomdb's continue loop, per simulated step.

Runs `Runtime.run_forward` under cProfile over episodes of the sample scenario, with
the function breakpoint `pi.stop > 2` as in continue_rate.py. Then it lists the
functions of simcore/ and adapter/ by cumulative time, and all functions by own time.
Each figure is in microseconds per simulated step and as a share of the profiled
time. cProfile slows Python calls down, so the CPU time per step without the profiler
is measured first and printed beside the profile.

    .venv/bin/python bench/profile_continue.py [--seconds 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys

from machine import describe, write_results
from pomdb_rates import NEVER, load_sample, runtime_rate
from profiles import print_table, profile_rows


def measure(seconds: float, limit: int) -> dict[str, object]:
    model, policy = load_sample()
    plain = runtime_rate(model, policy, "function", 1, seconds)

    profiler = cProfile.Profile()
    profiler.enable()
    profiled = runtime_rate(model, policy, "function", 2, seconds)
    profiler.disable()
    stats = pstats.Stats(profiler)
    return {
        "breakpoint": NEVER,
        "unprofiled_us_per_step": plain.cpu_seconds / plain.steps * 1e6,
        "unprofiled_steps": plain.steps,
        "profiled_us_per_step": stats.total_tt / profiled.steps * 1e6,  # type: ignore[attr-defined]
        "profiled_steps": profiled.steps,
        "mean_episode_length": profiled.steps / profiled.episodes,
        "cumulative": profile_rows(stats, profiled.steps, limit, "cumulative", True),
        "own": profile_rows(stats, profiled.steps, limit, "own", False),
    }


def print_report(result: dict[str, object]) -> None:
    print(f"Profile of Runtime.run_forward, breakpoint {result['breakpoint']!r}")
    print(
        f"unprofiled: {result['unprofiled_us_per_step']:.1f} µs CPU per step "
        f"({result['unprofiled_steps']:,} steps); under cProfile: "
        f"{result['profiled_us_per_step']:.1f} µs per step "
        f"({result['profiled_steps']:,} steps, "
        f"{result['mean_episode_length']:.1f} per episode)"
    )
    print_table(
        "simcore/ and adapter/ functions by cumulative time",
        result["cumulative"],
        "step",
    )
    print_table("all functions by own time", result["own"], "step")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=3.0,
        help="seconds of stepping, once plain and once profiled",
    )
    parser.add_argument("--top", type=int, default=20, help="functions per table")
    parser.add_argument("--quick", action="store_true", help="0.5 s each: a smoke run")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 0.5

    result = measure(args.seconds, args.top)
    result["settings"] = {"seconds": args.seconds, "top": args.top}
    result["machine"] = describe()
    print_report(result)
    write_results(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
