"""Benchmark 1: the time of one debugger step over DAP, pomdb against debugpy.

Each variant runs in blocks that alternate (pomdb, debugpy, pomdb with all scopes,
debugpy with TCP_NODELAY, then again), so a change in the machine's speed during the
run reaches every variant. Every block starts a fresh adapter process, discards a few
warm-up round trips, then times a fixed number of round trips (see dap_steppers.py).
Sessions have the same length on both sides, so each client's cost per round trip
is the same whatever the session's length.

    .venv/bin/python bench/dap_round_trip.py [--blocks 4] [--json FILE]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass

from dap_steppers import PHASES, RoundTrip, Stepper, start_debugpy, start_pomdb
from machine import describe, write_results
from stats import ratio, summarize

GOAL_RATIO = 50.0
WARMUP = 5
# Each pomdb round trip needs a step left in the episode. An episode of the sample
# lasts 13 steps on average, so this many episodes per round trip leaves a margin.
EPISODES_PER_ROUND_TRIP = 0.25


@dataclass(frozen=True)
class Variant:
    name: str
    start: Callable[[int], Stepper]
    round_trips: int


def variants(pomdb_trips: int, debugpy_trips: int) -> list[Variant]:
    """Return the variants in the order each block runs them."""

    def pomdb(all_scopes: bool) -> Callable[[int], Stepper]:
        episodes = int((pomdb_trips + WARMUP) * EPISODES_PER_ROUND_TRIP) + 10
        return lambda block: start_pomdb(block + 1, episodes, all_scopes)

    return [
        Variant("pomdb", pomdb(False), pomdb_trips),
        Variant("debugpy", lambda block: start_debugpy(nodelay=False), debugpy_trips),
        Variant("pomdb, all scopes", pomdb(True), pomdb_trips),
        Variant(
            "debugpy, TCP_NODELAY",
            lambda block: start_debugpy(nodelay=True),
            pomdb_trips,
        ),
    ]


@dataclass
class Block:
    """The timed round trips of one block, and what else the block measured."""

    trips: list[RoundTrip]
    skipped: int
    startup_seconds: float


def run_block(variant: Variant, block: int) -> Block:
    """Time one block; `skipped` counts round trips that found an episode's end."""
    stepper = variant.start(block)
    try:
        for _ in range(WARMUP):
            stepper.round_trip()
        timed: list[RoundTrip] = []
        skipped = 0
        while len(timed) < variant.round_trips:
            trip = stepper.round_trip()
            if trip.stepped:
                timed.append(trip)
            else:
                skipped += 1
        return Block(timed, skipped, stepper.startup_seconds)
    finally:
        stepper.close()


def micros(values: list[float]) -> list[float]:
    return [value * 1e6 for value in values]


def measure(blocks: int, pomdb_trips: int, debugpy_trips: int) -> dict[str, object]:
    """Run every variant in `blocks` alternating blocks; summarise in microseconds."""
    order = variants(pomdb_trips, debugpy_trips)
    blocks_of: dict[str, list[Block]] = {v.name: [] for v in order}
    for block in range(blocks):
        for variant in order:
            measured = run_block(variant, block)
            blocks_of[variant.name].append(measured)
            block_median = statistics.median(t.seconds for t in measured.trips) * 1e6
            print(
                f"block {block + 1}: {variant.name}: median {block_median:,.0f} µs",
                file=sys.stderr,
            )

    results: dict[str, object] = {}
    for name, per_block in blocks_of.items():
        flat = [trip for measured in per_block for trip in measured.trips]
        results[name] = {
            "round_trip_us": summarize(micros([t.seconds for t in flat])),
            "block_medians_us": [
                statistics.median(micros([t.seconds for t in measured.trips]))
                for measured in per_block
            ],
            "phase_medians_us": {
                phase: statistics.median(micros([t.phases[i] for t in flat]))
                for i, phase in enumerate(PHASES)
            },
            "skipped_at_episode_end": sum(m.skipped for m in per_block),
            "startup_to_first_stop_ms": statistics.median(
                m.startup_seconds * 1e3 for m in per_block
            ),
        }
    return {"variants": results, "ratios": ratios(results)}


def ratios(results: dict[str, dict]) -> dict[str, dict[str, object]]:
    """Return debugpy / pomdb: of the medians, per block, and the median of the
    per-block ratios."""
    pairs = {
        "debugpy / pomdb": ("debugpy", "pomdb"),
        "debugpy / pomdb, all scopes": ("debugpy", "pomdb, all scopes"),
        "debugpy TCP_NODELAY / pomdb": ("debugpy, TCP_NODELAY", "pomdb"),
    }
    found = {}
    for label, (slow, fast) in pairs.items():
        slow_result, fast_result = results[slow], results[fast]
        found[label] = {
            "of_medians": ratio(
                slow_result["round_trip_us"]["median"],
                fast_result["round_trip_us"]["median"],
            ),
            "per_block": [
                ratio(slow_median, fast_median)
                for slow_median, fast_median in zip(
                    slow_result["block_medians_us"],
                    fast_result["block_medians_us"],
                    strict=True,
                )
            ],
        }
        found[label]["median_per_block"] = statistics.median(found[label]["per_block"])
    headline = found["debugpy / pomdb"]["of_medians"]
    found["goal"] = {"ratio": GOAL_RATIO, "met": headline >= GOAL_RATIO}
    return found


def print_report(result: dict[str, object]) -> None:
    print("DAP step round trip (next, stopped, stackTrace, scopes, variables), µs")
    print(f"{'variant':<22} {'median':>9} {'p90':>9} {'n':>5}  block medians")
    for name, data in result["variants"].items():
        summary = data["round_trip_us"]
        blocks = " ".join(f"{m:,.0f}" for m in data["block_medians_us"])
        print(
            f"{name:<22} {summary['median']:>9,.0f} {summary['p90']:>9,.0f} "
            f"{summary['n']:>5}  {blocks}"
        )
    print("\nmedian ms from starting the adapter to the first stop")
    for name, data in result["variants"].items():
        print(f"{name:<22} {data['startup_to_first_stop_ms']:>9,.0f}")
    print("\nmedian µs per phase")
    print(f"{'variant':<22}" + "".join(f"{p:>11}" for p in PHASES))
    for name, data in result["variants"].items():
        phases = data["phase_medians_us"]
        print(f"{name:<22}" + "".join(f"{phases[p]:>11,.0f}" for p in PHASES))
    print("\nratios")
    for label, data in result["ratios"].items():
        if label == "goal":
            continue
        blocks = " ".join(f"{r:.1f}" for r in data["per_block"])
        print(f"{label:<30} {data['of_medians']:>7.1f}  per block: {blocks}")
    goal = result["ratios"]["goal"]
    verdict = "met" if goal["met"] else "not met"
    print(f"goal: debugpy / pomdb >= {goal['ratio']:g}: {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=4, help="blocks per variant")
    parser.add_argument(
        "--round-trips",
        type=int,
        default=50,
        help="timed round trips per pomdb block (and TCP_NODELAY block)",
    )
    parser.add_argument(
        "--debugpy-round-trips",
        type=int,
        default=15,
        help="timed round trips per block of debugpy as shipped",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one block of 20 round trips (5 for debugpy): a smoke run",
    )
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.blocks, args.round_trips, args.debugpy_round_trips = 1, 20, 5

    result = measure(args.blocks, args.round_trips, args.debugpy_round_trips)
    result["settings"] = {
        "blocks": args.blocks,
        "round_trips": args.round_trips,
        "debugpy_round_trips": args.debugpy_round_trips,
        "warmup": WARMUP,
    }
    result["machine"] = describe()
    print_report(result)
    write_results(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
