"""Tables of cProfile statistics per unit of work (a simulated step, a round trip)."""

from __future__ import annotations

import pstats
from pathlib import Path

from machine import REPO

PROJECT_FOLDERS = ("simcore", "adapter")


def function_label(key: tuple[str, int, str]) -> str:
    """Return `path:line(function)`, the path relative to the repository, or only the
    file name for a file outside it (the standard library, site-packages)."""
    filename, line, name = key
    path = Path(filename)
    if path.is_absolute():
        filename = (
            str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name
        )
    return f"{filename}:{line}({name})" if line else name


def in_project(key: tuple[str, int, str]) -> bool:
    """Return whether the function lives in one of PROJECT_FOLDERS."""
    path = Path(key[0])
    if not path.is_relative_to(REPO):
        return False
    return path.relative_to(REPO).parts[0] in PROJECT_FOLDERS


def profile_rows(
    stats: pstats.Stats, units: int, limit: int, sort: str, project_only: bool
) -> list[dict[str, object]]:
    """Return the top `limit` functions by `sort`, "cumulative" or "own" time.

    Times and call counts are divided by `units`, the number of steps or round trips
    that the profile covers. `share` is the function's part of all profiled time.
    """
    entries = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for key, (_, calls, own, cumulative, _) in entries.items():
        if project_only and not in_project(key):
            continue
        seconds = cumulative if sort == "cumulative" else own
        rows.append(
            {
                "function": function_label(key),
                "calls_per_unit": calls / units,
                "us_per_unit": seconds / units * 1e6,
                "us_per_call": seconds / calls * 1e6 if calls else 0.0,
                "share": seconds / total,
            }
        )
    rows.sort(key=lambda row: row["us_per_unit"], reverse=True)
    return rows[:limit]


def print_table(title: str, rows: list[dict[str, object]], unit: str) -> None:
    """Print rows of `profile_rows`; `unit` names what they are divided by."""
    time_header, calls_header = f"µs/{unit}", f"calls/{unit}"
    time_width, calls_width = max(8, len(time_header)), max(8, len(calls_header))
    print(f"\n{title}")
    print(
        f"{time_header:>{time_width}} {'share':>6} {calls_header:>{calls_width}} "
        f"{'µs/call':>9}  function"
    )
    for row in rows:
        print(
            f"{row['us_per_unit']:>{time_width}.2f} {row['share']:>6.1%} "
            f"{row['calls_per_unit']:>{calls_width}.2f} {row['us_per_call']:>9.2f}  "
            f"{row['function']}"
        )
