"""T-SPSA hyperparameters: one dataclass whose fields carry their help text and unit.

The defaults are those of CSLE's T-SPSA example for the defender's stopping POMDP
(examples/training/t_spsa/stopping_pomdp_defender in CSLE's repository): 200
iterations, a = 1, A = 100, epsilon = 0.101, c = 10, lambda = 0.602, 100 episodes
per evaluation and one gradient estimate per iteration. The gain sequences are
a_k = a / (k + 1 + A)^epsilon and c_k = c / (k + 1)^lambda for k = 0, 1, ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from simcore.ppo_config import ConfigError


def _option(default: Any, help: str, unit: str = "") -> Any:
    return field(default=default, metadata={"help": help, "unit": unit})


@dataclass
class TSPSAConfig:
    """T-SPSA hyperparameters, each field's metadata with its help text and unit."""

    iterations: int = _option(
        200, "T-SPSA iterations: gradient estimates and steps", "iterations"
    )
    episodes_per_evaluation: int = _option(
        100, "episodes simulated for each estimate of the mean return J", "episodes"
    )
    gradient_batch_size: int = _option(
        1, "independent gradient estimates averaged in each iteration", "estimates"
    )
    step_scale: float = _option(1.0, "a in the step size a_k = a / (k + 1 + A)^epsilon")
    step_offset: float = _option(
        100.0, "A in the step size a_k = a / (k + 1 + A)^epsilon", "iterations"
    )
    step_decay: float = _option(
        0.101, "epsilon in the step size a_k = a / (k + 1 + A)^epsilon"
    )
    perturbation_scale: float = _option(
        10.0, "c in the perturbation size c_k = c / (k + 1)^lambda"
    )
    perturbation_decay: float = _option(
        0.602, "lambda in the perturbation size c_k = c / (k + 1)^lambda"
    )
    initial_theta: float = _option(
        -4.0, "initial parameter theta of every threshold, alpha = sigmoid(theta)"
    )
    seed: int = _option(0, "seed of the perturbations and the simulated episodes")

    @property
    def total_timesteps(self) -> int:
        """The steps that the metrics' global_step counts: one per iteration."""
        return self.iterations

    def validate(self) -> None:
        """Raise ConfigError for the first hyperparameter outside its valid range."""
        for name in ("iterations", "episodes_per_evaluation", "gradient_batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
        for name in ("step_scale", "perturbation_scale"):
            _check_number(name, getattr(self, name), positive=True)
        for name in ("step_offset", "step_decay", "perturbation_decay"):
            _check_number(name, getattr(self, name), positive=False)
        _check_number("initial_theta", self.initial_theta, positive=None)


def _check_number(name: str, value: Any, positive: bool | None) -> None:
    """Raise ConfigError unless `value` is finite and > 0 (positive), >= 0 (False),
    or any real number (None)."""
    valid = isinstance(value, (int, float)) and not isinstance(value, bool)
    valid = valid and math.isfinite(value)
    if valid and positive is not None:
        valid = value > 0 if positive else value >= 0
    if valid:
        return
    bound = {True: " > 0", False: " >= 0", None: ""}[positive]
    raise ConfigError(f"{name} must be a finite number{bound}, got {value!r}")


def step_size(config: TSPSAConfig, k: int) -> float:
    """Return a_k = a / (k + 1 + A)^epsilon for iteration k (0-based)."""
    return config.step_scale / (k + 1 + config.step_offset) ** config.step_decay


def perturbation_size(config: TSPSAConfig, k: int) -> float:
    """Return c_k = c / (k + 1)^lambda for iteration k (0-based)."""
    return config.perturbation_scale / (k + 1) ** config.perturbation_decay
