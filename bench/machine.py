"""The machine and the software versions a benchmark ran on, and where CSLE lives."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE_SCENARIO = REPO / "samples" / "intrusion_prevention.yaml"


def csle_dir() -> Path:
    """Return the folder made by scripts/install-csle.sh (env POMDB_CSLE_DIR)."""
    return Path(os.environ.get("POMDB_CSLE_DIR", REPO / ".tools" / "csle")).resolve()


def cpu_model() -> str:
    """Return the first `model name` of /proc/cpuinfo, or the platform's processor."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(distribution: str, path: Path | None = None) -> str | None:
    if path is None:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return None
    for found in importlib.metadata.distributions(path=[str(path)]):
        if found.metadata["Name"].lower().replace("_", "-") == distribution:
            return found.version
    return None


def describe() -> dict[str, object]:
    """Return CPU, core count, OS, load average and the versions of Python and of the
    packages compared."""
    csle = csle_dir()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "load_average_1_5_15_min": list(os.getloadavg()),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "debugpy": _version("debugpy"),
        "gym-csle-stopping-game": _version("gym-csle-stopping-game", csle),
        "csle-common": _version("csle-common", csle),
        "numpy (CSLE folder)": _version("numpy", csle),
    }


def write_results(path: str | Path | None, results: dict[str, object]) -> None:
    """Write a benchmark's results to `path` as indented JSON, if a path is given."""
    if path:
        text = json.dumps(results, indent=2) + "\n"
        Path(path).write_text(text, encoding="utf-8")
