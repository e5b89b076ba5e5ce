"""Benchmark 5: steps per second of pomdb's vectorised simulator against CSLE.

`simcore.vector_env.VectorEnv` steps samples/intrusion_prevention.yaml at several
batch sizes (episodes stepped at once) under the nested smooth threshold 0.5 of
`simcore.vector_threshold`, drawn for every slot in numpy. CSLE's
`StoppingGamePomdpDefenderEnv` plays the same model under the same threshold in a
subprocess (csle_worker.py), one step at a time as Gymnasium environments run. The
rows alternate in blocks, so a change in the machine's speed reaches every row. The
timed work of a pomdb row is the policy's draw and the step, for a VectorEnv built
before the clock starts; CSLE's includes its `reset` calls.

    POMDB_CSLE_DIR=.tools/csle .venv/bin/python bench/vector_rate.py [--blocks 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np

from continue_rate import CsleWorker
from machine import csle_dir, describe, write_results
from pomdb_rates import Rate, Timer, load_sample
from stats import ratio

from simcore.model import POMDP
from simcore.vector_env import VectorEnv
from simcore.vector_threshold import VectorThresholdPolicy

GOAL_RATIO = 1000.0
BATCH_SIZES = (64, 1024, 4096, 16384)
THRESHOLD = 0.5
# Steps between two looks at the clock.
STEPS_PER_CHECK = 20
CSLE = "CSLE StoppingGamePomdpDefenderEnv"


def row_name(batch: int) -> str:
    return f"pomdb VectorEnv, {batch} at once"


def vector_rate(model: POMDP, batch: int, seed: int, seconds: float) -> Rate:
    """Step `batch` episodes at once under the threshold for at least `seconds`."""
    env = VectorEnv(model, batch, seed)
    policy = VectorThresholdPolicy(model, [THRESHOLD])
    rng = np.random.default_rng(seed)
    uniforms = np.empty(batch)
    steps = episodes = 0
    timer = Timer()
    while timer.wall() < seconds:
        for _ in range(STEPS_PER_CHECK):
            rng.random(out=uniforms)
            result = env.step(policy.actions(env, uniforms))
            episodes += result.returns.size
        steps += STEPS_PER_CHECK * batch
    return timer.rate(steps, episodes)


def measure(batches: list[int], blocks: int, seconds: float) -> dict[str, object]:
    model, _ = load_sample()
    worker = CsleWorker(csle_dir(), seed=1)
    names = [CSLE] + [row_name(batch) for batch in batches]
    rates: dict[str, list[Rate]] = {name: [] for name in names}
    try:
        for block in range(blocks):
            rates[CSLE].append(worker.play(seconds))
            for batch in batches:
                rate = vector_rate(model, batch, block + 1, seconds)
                rates[row_name(batch)].append(rate)
            for name in names:
                print(
                    f"block {block + 1}: {name}: {rates[name][-1].per_second:,.0f} "
                    "steps/s",
                    file=sys.stderr,
                )
    finally:
        worker.close()

    rows = {}
    for name, per_block in rates.items():
        cpu_rates = [r.per_cpu_second for r in per_block if r.per_cpu_second]
        rows[name] = {
            "steps_per_second": statistics.median(r.per_second for r in per_block),
            "steps_per_cpu_second": statistics.median(cpu_rates) if cpu_rates else None,
            "block_steps_per_second": [r.per_second for r in per_block],
            "steps": sum(r.steps for r in per_block),
            "episodes": sum(r.episodes for r in per_block),
        }
    return {
        "rows": rows,
        "ratios": ratios(rows, batches),
        "csle_startup_seconds": worker.startup_seconds,
    }


def ratios(rows: dict[str, dict], batches: list[int]) -> dict[str, object]:
    """Return each VectorEnv row / CSLE: of the medians, per block and the median of
    the per-block ratios; the goal applies to the largest batch."""
    csle = rows[CSLE]
    found: dict[str, object] = {}
    for batch in batches:
        row = rows[row_name(batch)]
        per_block = [
            ratio(pomdb, other)
            for pomdb, other in zip(
                row["block_steps_per_second"],
                csle["block_steps_per_second"],
                strict=True,
            )
        ]
        found[f"{row_name(batch)} / CSLE"] = {
            "of_medians": ratio(row["steps_per_second"], csle["steps_per_second"]),
            "per_block": per_block,
            "median_per_block": statistics.median(per_block),
        }
    headline = found[f"{row_name(max(batches))} / CSLE"]["of_medians"]
    found["goal"] = {
        "ratio": GOAL_RATIO,
        "batch": max(batches),
        "met": headline >= GOAL_RATIO,
    }
    return found


def print_report(result: dict[str, object]) -> None:
    print(f"Steps per second, threshold {THRESHOLD} on b(intrusion)")
    print(f"{'row':<36} {'steps/s':>12} {'per CPU s':>12}  per block")
    for name, row in result["rows"].items():
        cpu = row["steps_per_cpu_second"]
        cpu_text = f"{cpu:>12,.0f}" if cpu else f"{'-':>12}"
        blocks = " ".join(f"{r:,.0f}" for r in row["block_steps_per_second"])
        print(f"{name:<36} {row['steps_per_second']:>12,.0f} {cpu_text}  {blocks}")
    print("\nratios to CSLE: of medians; per block")
    for label, data in result["ratios"].items():
        if label == "goal":
            continue
        blocks = " ".join(f"{r:,.0f}" for r in data["per_block"])
        print(f"{label:<43} {data['of_medians']:>8,.0f}  {blocks}")
    goal = result["ratios"]["goal"]
    verdict = "met" if goal["met"] else "not met"
    print(
        f"goal: {row_name(goal['batch'])} / CSLE >= {goal['ratio']:,.0f}: {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=4, help="blocks per row")
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="seconds per row and block"
    )
    parser.add_argument(
        "--batch-sizes",
        default=",".join(map(str, BATCH_SIZES)),
        metavar="N,N,...",
        help="episodes stepped at once, one row each "
        f"(default {','.join(map(str, BATCH_SIZES))})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="one block of 0.3 s per row: a smoke run"
    )
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.blocks, args.seconds = 1, 0.3
    try:
        batches = [int(part) for part in args.batch_sizes.split(",")]
    except ValueError:
        parser.error(
            f"--batch-sizes {args.batch_sizes!r}: expected integers, e.g. 64,1024"
        )
    if any(batch < 1 for batch in batches):
        parser.error(f"--batch-sizes {args.batch_sizes!r}: every size must be >= 1")

    try:
        result = measure(batches, args.blocks, args.seconds)
    except FileNotFoundError as error:
        print(f"vector_rate: {error}", file=sys.stderr)
        return 2
    result["settings"] = {
        "blocks": args.blocks,
        "seconds": args.seconds,
        "batch_sizes": batches,
    }
    result["machine"] = describe()
    print_report(result)
    write_results(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
