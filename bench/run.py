"""Run every benchmark, print a summary table and write bench/results.json.

Each benchmark runs in its own process and prints its full report. Then this script
prints pomdb's figure, the competitor's, their ratio and the goal of each. CSLE must be
installed in POMDB_CSLE_DIR (default .tools/csle, made by scripts/install-csle.sh).

    POMDB_CSLE_DIR=.tools/csle .venv/bin/python bench/run.py [--quick] [--only NAME]
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from machine import describe

BENCH = Path(__file__).resolve().parent
BENCHMARKS = {
    "dap_round_trip": "dap_round_trip.py",
    "continue_rate": "continue_rate.py",
    "profile_continue": "profile_continue.py",
    "profile_requests": "profile_requests.py",
    "ppo_vs_sb3": "ppo_vs_sb3.py",
    "solver_grid": "solver_grid.py",
    "vector_rate": "vector_rate.py",
}


def run_benchmark(script: str, quick: bool, folder: Path) -> dict[str, object]:
    """Run one benchmark script; return its JSON results, or the error it ended with."""
    output = folder / f"{Path(script).stem}.json"
    command = [sys.executable, str(BENCH / script), "--json", str(output)]
    if quick:
        command.append("--quick")
    print(f"\n=== {' '.join(command[1:])}", flush=True)
    completed = subprocess.run(command, cwd=BENCH.parent)
    if completed.returncode != 0:
        return {"error": f"{script} exited with status {completed.returncode}"}
    return json.loads(output.read_text(encoding="utf-8"))


def summary_rows(results: dict[str, dict]) -> list[tuple[str, str, str, str, str]]:
    """Return (measure, pomdb, competitor, ratio, goal) rows for the summary table."""
    rows = []
    trips = results.get("dap_round_trip", {})
    if "variants" in trips:
        variants, ratios = trips["variants"], trips["ratios"]

        def median(name: str) -> str:
            return f"{variants[name]['round_trip_us']['median']:,.0f} µs"

        goal = ratios["goal"]
        verdict = f">= {goal['ratio']:g}: {'met' if goal['met'] else 'not met'}"
        rows += [
            (
                "DAP step, Belief scope vs debugpy",
                median("pomdb"),
                median("debugpy"),
                f"{ratios['debugpy / pomdb']['of_medians']:.1f}",
                verdict,
            ),
            (
                "DAP step, all 5 scopes vs debugpy",
                median("pomdb, all scopes"),
                median("debugpy"),
                f"{ratios['debugpy / pomdb, all scopes']['of_medians']:.1f}",
                "",
            ),
            (
                "DAP step vs debugpy with TCP_NODELAY",
                median("pomdb"),
                median("debugpy, TCP_NODELAY"),
                f"{ratios['debugpy TCP_NODELAY / pomdb']['of_medians']:.1f}",
                "",
            ),
        ]
    rates = results.get("continue_rate", {})
    if "rows" in rates:
        csle = rates["rows"]["CSLE StoppingGamePomdpDefenderEnv"]["steps_per_second"]
        goal = rates["ratios"]["goal"]
        verdict = f">= {goal['ratio']:g}: {'met' if goal['met'] else 'not met'}"
        for name, row in rates["rows"].items():
            if name.startswith("CSLE"):
                continue
            label = f"{name} / CSLE"
            rows.append(
                (
                    f"steps/s: {name}",
                    f"{row['steps_per_second']:,.0f}",
                    f"{csle:,.0f}",
                    f"{rates['ratios'][label]['of_medians']:.1f}",
                    verdict
                    if name.endswith("function breakpoint") and "DAP" not in name
                    else "",
                )
            )
    vector = results.get("vector_rate", {})
    if "rows" in vector:
        csle = vector["rows"]["CSLE StoppingGamePomdpDefenderEnv"]["steps_per_second"]
        goal = vector["ratios"]["goal"]
        for name, data in vector["ratios"].items():
            if name == "goal":
                continue
            row = vector["rows"][name.removesuffix(" / CSLE")]
            at_goal = name.startswith(f"pomdb VectorEnv, {goal['batch']} ")
            verdict = f">= {goal['ratio']:g}: {'met' if goal['met'] else 'not met'}"
            rows.append(
                (
                    f"steps/s: {name.removesuffix(' / CSLE')}",
                    f"{row['steps_per_second']:,.0f}",
                    f"{csle:,.0f}",
                    f"{data['of_medians']:.1f}",
                    verdict if at_goal else "",
                )
            )
    profile = results.get("profile_continue", {})
    if "unprofiled_us_per_step" in profile:
        rows.append(
            (
                "continue loop, CPU µs per step",
                f"{profile['unprofiled_us_per_step']:.1f}",
                "",
                "",
                "",
            )
        )
    return rows


def print_summary(rows: list[tuple[str, str, str, str, str]]) -> None:
    headers = ("measure", "pomdb", "competitor", "ratio", "goal")
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(5)]
    print("\n=== summary (ratio: competitor / pomdb for times, pomdb / CSLE for rates)")
    for row in [headers, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            row[i].rjust(widths[i]) for i in range(1, 5)
        ]
        print("  ".join(cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: one short block of each benchmark",
    )
    parser.add_argument(
        "--only",
        choices=sorted(BENCHMARKS),
        action="append",
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=BENCH / "results.json",
        help="JSON file for all results (default: bench/results.json)",
    )
    args = parser.parse_args(argv)

    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    machine_at_start = describe()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="pomdb-bench-") as folder:
        for name in args.only or list(BENCHMARKS):
            results[name] = run_benchmark(BENCHMARKS[name], args.quick, Path(folder))

    print_summary(summary_rows(results))
    report = {
        "started": started,
        "quick": args.quick,
        "machine": machine_at_start,
        "load_average_at_end": describe()["load_average_1_5_15_min"],
        "benchmarks": results,
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")
    failed = [name for name, result in results.items() if "error" in result]
    for name in failed:
        print(f"failed: {name}: {results[name]['error']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
