"""Benchmark 2: simulated steps per second while `continue` runs, pomdb against CSLE.

pomdb runs episodes of samples/intrusion_prevention.yaml to their end under a breakpoint
whose condition never holds: in process with `adapter.runtime.Runtime`, and over DAP
(one `continue` per episode thread). CSLE's `StoppingGamePomdpDefenderEnv` runs the same
model under the same threshold policy in a subprocess (csle_worker.py). pomdb's raw
simulator and its vectorised simulator are measured for context. The rows alternate
in blocks, so a change in the machine's speed reaches every row.

    POMDB_CSLE_DIR=.tools/csle .venv/bin/python bench/continue_rate.py [--blocks 6]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from machine import csle_dir, describe, write_results
from pomdb_rates import (
    NEVER,
    VECTOR_ENVS,
    Rate,
    dap_continue_rate,
    load_sample,
    runtime_rate,
    simulator_rate,
    vector_rate,
)
from stats import ratio

GOAL_RATIO = 20.0
HEADLINE = "pomdb Runtime, function breakpoint"
CSLE = "CSLE StoppingGamePomdpDefenderEnv"
WORKER = Path(__file__).resolve().parent / "csle_worker.py"


class CsleWorker:
    """csle_worker.py in a subprocess with PYTHONPATH set to CSLE's folder."""

    def __init__(self, directory: Path, seed: int) -> None:
        if not (directory / "gym_csle_stopping_game").is_dir():
            raise FileNotFoundError(
                f"CSLE is not installed in {directory}; run scripts/install-csle.sh "
                f"{directory}, or set POMDB_CSLE_DIR to a folder made by that script"
            )
        environment = {**os.environ, "PYTHONPATH": str(directory)}
        # -P keeps bench/ off sys.path, so the modules here (stats.py, machine.py)
        # cannot shadow a module that CSLE imports.
        self.process = subprocess.Popen(
            [sys.executable, "-P", str(WORKER), str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
        )
        self.startup_seconds = float(self._reply()["startup_seconds"])

    def play(self, seconds: float) -> Rate:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"seconds": seconds}) + "\n")
        self.process.stdin.flush()
        reply = self._reply()
        return Rate(
            reply["steps"], reply["episodes"], reply["seconds"], reply["cpu_seconds"]
        )

    def _reply(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise RuntimeError(
                f"{WORKER.name} exited with status {code}; its error is on stderr above"
            )
        return json.loads(line)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def rows(
    worker: CsleWorker, seconds: float, dap_episodes: int
) -> dict[str, Callable[[int], Rate]]:
    """Return each row's measurement, by name, in the order a block runs them."""
    model, policy = load_sample()
    return {
        HEADLINE: lambda seed: runtime_rate(model, policy, "function", seed, seconds),
        CSLE: lambda seed: worker.play(seconds),
        "pomdb Runtime, action breakpoint": lambda seed: runtime_rate(
            model, policy, "action", seed, seconds
        ),
        "pomdb over DAP, function breakpoint": lambda seed: dap_continue_rate(
            seed, dap_episodes
        ),
        "pomdb Runtime, no breakpoint": lambda seed: runtime_rate(
            model, policy, "none", seed, seconds
        ),
        "pomdb Simulator (no debugger)": lambda seed: simulator_rate(
            model, policy, seed, seconds
        ),
        f"pomdb VectorEnv ({VECTOR_ENVS} episodes at once)": lambda seed: vector_rate(
            model, seed, seconds
        ),
    }


def measure(blocks: int, seconds: float, dap_episodes: int) -> dict[str, object]:
    worker = CsleWorker(csle_dir(), seed=1)
    try:
        measurements = rows(worker, seconds, dap_episodes)
        rates: dict[str, list[Rate]] = {name: [] for name in measurements}
        for block in range(blocks):
            for name, run in measurements.items():
                rate = run(block + 1)
                rates[name].append(rate)
                print(
                    f"block {block + 1}: {name}: {rate.per_second:,.0f} steps/s",
                    file=sys.stderr,
                )
    finally:
        worker.close()

    results: dict[str, object] = {}
    for name, per_block in rates.items():
        cpu_rates = [r.per_cpu_second for r in per_block if r.per_cpu_second]
        results[name] = {
            "steps_per_second": statistics.median(r.per_second for r in per_block),
            "steps_per_cpu_second": statistics.median(cpu_rates) if cpu_rates else None,
            "block_steps_per_second": [r.per_second for r in per_block],
            "steps": sum(r.steps for r in per_block),
            "episodes": sum(r.episodes for r in per_block),
            "mean_episode_length": sum(r.steps for r in per_block)
            / sum(r.episodes for r in per_block),
        }
    return {
        "rows": results,
        "ratios": ratios(results),
        "csle_startup_seconds": worker.startup_seconds,
    }


def ratios(results: dict[str, dict]) -> dict[str, object]:
    """Return each pomdb row / CSLE: of the medians, of the CPU-time medians, per
    block, and the median of the per-block ratios."""
    csle = results[CSLE]
    found: dict[str, object] = {}
    for name, row in results.items():
        if name == CSLE:
            continue
        cpu = row["steps_per_cpu_second"]
        found[f"{name} / CSLE"] = {
            "of_medians": ratio(row["steps_per_second"], csle["steps_per_second"]),
            "of_cpu_medians": ratio(cpu, csle["steps_per_cpu_second"]) if cpu else None,
            "per_block": [
                ratio(pomdb_rate, csle_rate)
                for pomdb_rate, csle_rate in zip(
                    row["block_steps_per_second"],
                    csle["block_steps_per_second"],
                    strict=True,
                )
            ],
        }
        found[f"{name} / CSLE"]["median_per_block"] = statistics.median(
            found[f"{name} / CSLE"]["per_block"]
        )
    headline = found[f"{HEADLINE} / CSLE"]["of_medians"]
    found["goal"] = {"ratio": GOAL_RATIO, "met": headline >= GOAL_RATIO}
    return found


def print_report(result: dict[str, object]) -> None:
    print(f"Steps per second while continue runs (breakpoint {NEVER!r} never fires)")
    print(f"{'row':<42} {'steps/s':>9} {'per CPU s':>10} {'ep. len':>7}  per block")
    for name, row in result["rows"].items():
        cpu = row["steps_per_cpu_second"]
        cpu_text = f"{cpu:>10,.0f}" if cpu else f"{'-':>10}"
        blocks = " ".join(f"{r:,.0f}" for r in row["block_steps_per_second"])
        print(
            f"{name:<42} {row['steps_per_second']:>9,.0f} {cpu_text} "
            f"{row['mean_episode_length']:>7.1f}  {blocks}"
        )
    print("\nratios to CSLE: of medians (wall clock; CPU time); per block")
    for label, data in result["ratios"].items():
        if label == "goal":
            continue
        cpu = data["of_cpu_medians"]
        cpu_text = f"{cpu:>6.1f}" if cpu else f"{'-':>6}"
        blocks = " ".join(f"{r:.1f}" for r in data["per_block"])
        print(f"{label:<49} {data['of_medians']:>6.1f} {cpu_text}  {blocks}")
    goal = result["ratios"]["goal"]
    verdict = "met" if goal["met"] else "not met"
    print(f"goal: {HEADLINE} / CSLE >= {goal['ratio']:g}: {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=6, help="blocks per row")
    parser.add_argument(
        "--seconds",
        type=float,
        default=0.6,
        help="seconds of stepping per row and block",
    )
    parser.add_argument(
        "--dap-episodes",
        type=int,
        default=60,
        help="episodes continued over DAP per block",
    )
    parser.add_argument(
        "--quick", action="store_true", help="one block of 0.3 s per row: a smoke run"
    )
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.blocks, args.seconds, args.dap_episodes = 1, 0.3, 20

    try:
        result = measure(args.blocks, args.seconds, args.dap_episodes)
    except FileNotFoundError as error:
        print(f"continue_rate: {error}", file=sys.stderr)
        return 2
    result["settings"] = {
        "blocks": args.blocks,
        "seconds": args.seconds,
        "dap_episodes": args.dap_episodes,
    }
    result["machine"] = describe()
    print_report(result)
    write_results(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
