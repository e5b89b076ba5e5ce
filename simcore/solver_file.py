"""Policy files of kind "optimal": the solved alpha vectors and the solution's figures.

    {"format": "pomdb-policy", "kind": "optimal", "version": 1,
     "scenario": NAME, "model_sha256": HEX, "states": [...], "actions": [...],
     "value": V, "lower": L, "upper": U, "error_bound": E, "thresholds": [...] | null,
     "alpha_vectors": {"states": [non-terminal states], "stages": [[[...], ...], ...]}}

`stages[k]` contains the vectors for l = k + 1 stops left (one stage without a stop
counter), one entry per non-terminal state. `model_sha256` is a digest of the model's
tensors, so a file solved for another model is rejected.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from simcore.files import atomic_write
from simcore.model import POMDP
from simcore.policies import POLICY_FORMAT, PolicyError
from simcore.solver import OptimalPolicy, Solution

FILE_VERSION = 1
SOLUTION_FIELDS = (
    "value", "lower", "upper", "error_bound", "max_gap", "truncation_bound",
    "residual", "iterations", "grid", "method", "seconds",
)  # fmt: skip


def model_sha256(model: POMDP) -> str:
    """Return a SHA-256 digest of everything in `model` that the solution depends on."""
    digest = hashlib.sha256()
    for array in (
        model.transition, model.observation, model.reward, model.attacker,
        model.initial_belief,
    ):  # fmt: skip
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    settings = [
        model.states, model.actions, model.attacker_actions, model.discount,
        model.max_steps, model.stops, model.stop_action,
        sorted(model.terminal_states), model.done_delay,
    ]  # fmt: skip
    digest.update(json.dumps(settings).encode("utf-8"))
    return digest.hexdigest()


def solution_metadata(model: POMDP, solution: Solution) -> dict[str, Any]:
    """Return the policy file's JSON object for `solution` of `model`."""
    policy = solution.policy
    states = [model.states[s] for s in policy.solver_model.states]
    metadata: dict[str, Any] = {
        "format": POLICY_FORMAT,
        "kind": "optimal",
        "version": FILE_VERSION,
        "scenario": model.name,
        "scenario_path": str(model.path) if model.path is not None else None,
        "model_sha256": model_sha256(model),
        "states": list(model.states),
        "actions": list(model.actions),
    }
    for name in SOLUTION_FIELDS:
        metadata[name] = getattr(solution, name)
    metadata["thresholds"] = solution.thresholds
    if solution.thresholds is not None:
        metadata["threshold_belief"] = f"b({states[1]}) / (b({states[0]}) + b({states[1]}))"
    metadata["alpha_vectors"] = {
        "states": states,
        "stages": [rows.tolist() for rows in policy.vectors],
    }
    return metadata


def save_optimal_policy(path: Path, model: POMDP, solution: Solution) -> None:
    """Write `solution` as a policy file, atomically."""
    text = json.dumps(solution_metadata(model, solution), indent=1) + "\n"
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def load_optimal_policy(path: Path, metadata: dict[str, Any], model: POMDP) -> OptimalPolicy:
    """Return the OptimalPolicy of a policy file of kind "optimal" for `model`.

    Raises PolicyError naming the file when it is from a newer pomdb, was solved for
    another model, or its vectors are malformed.
    """
    version = metadata.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise PolicyError(f"{path}: invalid 'version' {version!r}; expected an integer")
    if version > FILE_VERSION:
        raise PolicyError(
            f"{path}: policy file version {version} is newer than this pomdb "
            f"understands ({FILE_VERSION}); upgrade pomdb or solve again"
        )
    for key, expected in (("states", model.states), ("actions", model.actions)):
        if metadata.get(key) != list(expected):
            raise PolicyError(
                f"{path}: the policy's {key} {metadata.get(key)!r} differ from the "
                f"scenario's {list(expected)!r}; {_solve_hint(path, model)}"
            )
    if metadata.get("model_sha256") != model_sha256(model):
        raise PolicyError(
            f"{path}: the policy was solved for another model "
            f"(scenario {metadata.get('scenario')!r}); {_solve_hint(path, model)}"
        )
    vectors = _vectors(path, metadata.get("alpha_vectors"))
    try:
        return OptimalPolicy(model, vectors)
    except ValueError as error:
        raise PolicyError(f"{path}: invalid alpha vectors: {error}") from None


def _solve_hint(path: Path, model: POMDP) -> str:
    """Return the advice to solve `model` into a new file beside `path`. The file at
    `path` contains a valid policy for another model, so the advice never names it."""
    stem = model.path.stem if model.path is not None else "scenario"
    out = path.with_name(f"{stem}_optimal.json")
    number = 2
    while out == path or out.exists():
        out = path.with_name(f"{stem}_optimal_{number}.json")
        number += 1
    scenario = str(model.path) if model.path is not None else "SCENARIO"
    return (
        f"solve this scenario into a new file with pomdb solve {scenario} --out {out}"
    )


def _vectors(path: Path, value: Any) -> list[np.ndarray]:
    stages = value.get("stages") if isinstance(value, dict) else None
    if not isinstance(stages, list) or not stages:
        raise PolicyError(
            f"{path}: missing 'alpha_vectors.stages', a list of lists of vectors"
        )
    vectors = []
    for k, rows in enumerate(stages):
        try:
            array = np.array(rows, dtype=float)
        except (TypeError, ValueError):
            raise PolicyError(f"{path}: alpha_vectors.stages[{k}] is not numeric") from None
        if array.ndim != 2 or not np.all(np.isfinite(array)):
            raise PolicyError(
                f"{path}: alpha_vectors.stages[{k}] must be a list of equally long "
                "lists of finite numbers"
            )
        vectors.append(array)
    return vectors

