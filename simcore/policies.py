"""Policies: each returns the action distribution pi(a | h) for the current step.

A policy sees what the defender sees: the belief, the number of stops left, the time
step and the latest observation (None at t = 0). Neural policies live in
`simcore.neural`; `load_policy` turns a command-line or launch specification into any of
them.
"""

from __future__ import annotations

import json
import math
import logging
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from simcore.model import POMDP

logger = logging.getLogger(__name__)

POLICY_FORMAT = "pomdb-policy"
# Steepness of CSLE's smooth threshold: P(stop | b) = 1 / (1 + (b(1-θ) / (θ(1-b)))^-20).
THRESHOLD_STEEPNESS = 20.0


class PolicyError(ValueError):
    """An invalid policy specification or file."""


class Policy(ABC):
    """A defender policy over the actions of one model."""

    name: str = "policy"

    @abstractmethod
    def action_probs(
        self,
        belief: np.ndarray,
        stops_left: int | None,
        t: int,
        observation: int | None,
    ) -> np.ndarray:
        """Return pi(a | h), one probability per action of the model."""


def _stop_distribution(model: POMDP, p_stop: float) -> np.ndarray:
    stop = model.stop_action if model.stop_action is not None else len(model.actions) - 1
    other = 0 if stop != 0 else 1
    if len(model.actions) == 2:
        return np.array((p_stop, 1.0 - p_stop) if stop == 0 else (1.0 - p_stop, p_stop))
    probs = np.zeros(len(model.actions))
    probs[stop] = p_stop
    probs[other] = 1.0 - p_stop
    return probs


def smooth_threshold(b: float, theta: float, steepness: float = THRESHOLD_STEEPNESS) -> float:
    """Return CSLE's smooth stopping probability for belief b(intrusion) and threshold θ.

    Evaluated in log space, so b = 0 gives 0 and b = 1 gives 1 exactly.
    """
    if b <= 0.0:
        return 0.0
    if b >= 1.0:
        return 1.0
    theta = min(max(theta, 1e-12), 1.0 - 1e-12)
    # logit(b) - logit(θ): grouped so that b == θ gives exactly 0 and P(stop) = 0.5.
    log_ratio = (math.log(b) - math.log1p(-b)) - (math.log(theta) - math.log1p(-theta))
    z = steepness * log_ratio
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class ThresholdPolicy(Policy):
    """Nested multi-threshold policy: with l stops left, stop when b(intrusion) >= alpha_l."""

    def __init__(self, model: POMDP, thresholds: list[float], state: str = "intrusion"):
        stops = model.stops or 1
        if len(thresholds) == 1:
            thresholds = thresholds * stops
        if len(thresholds) != stops:
            raise PolicyError(
                f"got {len(thresholds)} thresholds but the model has {stops} stops; "
                f"give one threshold, or alpha_1..alpha_{stops}"
            )
        for alpha in thresholds:
            if not 0.0 <= alpha <= 1.0:
                raise PolicyError(f"threshold {alpha} is not a probability in [0, 1]")
        if state not in model.states:
            raise PolicyError(
                f"a threshold policy needs a state {state!r} to watch; "
                f"the model's states are {', '.join(model.states)}"
            )
        self.model = model
        self.thresholds = [float(a) for a in thresholds]
        self.state = model.states.index(state)
        self.name = "threshold:" + ",".join(f"{a:g}" for a in self.thresholds)

    def action_probs(self, belief, stops_left, t, observation):
        alpha = self.thresholds[self.model.stage(stops_left)]
        b = float(belief[self.state])
        return _stop_distribution(self.model, smooth_threshold(b, alpha))


class FirstAlertPolicy(Policy):
    """Baseline: stop whenever the latest observation shows any alert (o > 0)."""

    name = "first-alert"

    def __init__(self, model: POMDP):
        self.model = model
        # With the terminal observation "max", the largest count also means "ended";
        # the baseline does not know that, as in CSLE's own baseline.

    def action_probs(self, belief, stops_left, t, observation):
        alert = observation is not None and observation > 0
        return _stop_distribution(self.model, 1.0 if alert else 0.0)


class RandomPolicy(Policy):
    """Baseline: stop with a fixed probability, or uniform over actions."""

    def __init__(self, model: POMDP, p_stop: float | None = None):
        if p_stop is not None and not 0.0 <= p_stop <= 1.0:
            raise PolicyError(f"random:{p_stop}: the probability must be in [0, 1]")
        self.model = model
        self.p_stop = p_stop
        self.name = "random" if p_stop is None else f"random:{p_stop:g}"

    def action_probs(self, belief, stops_left, t, observation):
        if self.p_stop is None:
            return np.full(len(self.model.actions), 1.0 / len(self.model.actions))
        return _stop_distribution(self.model, self.p_stop)


def _parse_numbers(spec: str, text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise PolicyError(
            f"invalid policy {spec!r}: expected comma-separated numbers after ':'"
        ) from None


def load_policy(spec: str, model: POMDP, base_dir: Path | None = None) -> Policy:
    """Return the policy that `spec` names for `model`.

    `spec` is `threshold:A` or `threshold:A1,...,AL` (alpha_1..alpha_L), `first-alert`,
    `random` or `random:P`, a Stable-Baselines3 PPO/A2C model file (`.zip`), or the
    path of a policy file (JSON metadata; neural policies keep their weights in a
    PyTorch state dict beside it).
    """
    kind, colon, rest = spec.partition(":")
    if kind in ("random", "optimal") and colon and not rest:
        raise PolicyError(
            f"invalid policy {spec!r}: nothing after ':'; use {kind} or "
            f"{kind}:{'P' if kind == 'random' else 'GRID'}"
        )
    if kind == "threshold" and rest:
        return ThresholdPolicy(model, _parse_numbers(spec, rest))
    if spec == "first-alert":
        return FirstAlertPolicy(model)
    if kind == "random":
        if not rest:
            return RandomPolicy(model)
        numbers = _parse_numbers(spec, rest)
        if len(numbers) != 1:
            raise PolicyError(f"invalid policy {spec!r}: use random:P with one number P")
        return RandomPolicy(model, numbers[0])
    if kind == "optimal":
        return _solve_optimal(spec, rest, model)
    path = Path(spec)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise PolicyError(
            f"policy {spec!r} is neither a file nor a known policy; use a policy file, "
            "threshold:A[,A...], first-alert, random, random:P, optimal or optimal:GRID"
        )
    if path.suffix == ".zip":
        from simcore.sb3_policy import load_sb3_policy

        return load_sb3_policy(path, model)
    return load_policy_file(path, model)


def _solve_optimal(spec: str, grid: str, model: POMDP) -> Policy:
    """Solve `model` (optimal or optimal:GRID) and return its OptimalPolicy."""
    from simcore.solver import DEFAULT_GRID, SolverError, solve

    if grid and not (grid.isdigit() and int(grid) >= 2):
        raise PolicyError(f"invalid policy {spec!r}: use optimal or optimal:GRID, GRID >= 2")
    try:
        return solve(model, int(grid) if grid else DEFAULT_GRID).policy
    except SolverError as error:
        raise PolicyError(f"policy {spec!r}: {error}") from None


def load_policy_file(path: Path, model: POMDP) -> Policy:
    """Load a policy metadata file (kind threshold or neural)."""
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PolicyError(f"{path}: not a readable JSON policy file ({error})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != POLICY_FORMAT:
        raise PolicyError(
            f"{path}: not a pomdb policy file (expected \"format\": \"{POLICY_FORMAT}\")"
        )
    kind = metadata.get("kind")
    if kind == "threshold":
        thresholds = metadata.get("thresholds")
        if not isinstance(thresholds, list):
            raise PolicyError(f"{path}: 'thresholds' must be a list of numbers")
        try:
            return ThresholdPolicy(model, [float(a) for a in thresholds])
        except (TypeError, ValueError) as error:
            raise PolicyError(f"{path}: {error}") from None
    if kind == "optimal":
        from simcore.solver import load_optimal_policy

        return load_optimal_policy(path, metadata, model)
    if kind == "neural":
        from simcore.neural import load_neural_policy

        return load_neural_policy(path, metadata, model)
    if kind == "sb3":
        from simcore.sb3_policy import load_sb3_policy_file

        return load_sb3_policy_file(path, metadata, model)
    raise PolicyError(
        f"{path}: unknown policy kind {kind!r}; use threshold, neural, optimal or sb3"
    )
