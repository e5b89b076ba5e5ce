"""PPO hyperparameters: one dataclass whose fields carry their help text and unit."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from simcore.neural import ACTIVATIONS


class ConfigError(ValueError):
    """An invalid hyperparameter. The message names it, its value and its range."""


def _option(
    default: Any, help: str, unit: str = "", default_text: str | None = None
) -> Any:
    metadata = {"help": help, "unit": unit}
    if default_text is not None:
        metadata["default_text"] = default_text
    return field(default=default, metadata=metadata)


@dataclass
class PPOConfig:
    """PPO hyperparameters; each field's metadata contains its help text and unit."""

    total_timesteps: int = _option(
        600_000,
        "environment steps over all parallel episodes, rounded down to whole batches",
        "steps",
    )
    num_envs: int = _option(64, "episodes simulated in parallel", "episodes")
    num_steps: int = _option(64, "steps of each parallel episode per rollout", "steps")
    learning_rate: float = _option(1e-3, "Adam learning rate at the first update")
    anneal_lr: bool = _option(
        True, "decrease the learning rate linearly to 0 over the updates"
    )
    gamma: float | None = _option(
        None,
        "discount of the returns in the advantage estimate",
        "per step",
        default_text="the scenario's discount",
    )
    gae_lambda: float = _option(
        0.95, "GAE lambda: the bias/variance trade-off of the advantage estimate"
    )
    num_minibatches: int = _option(4, "minibatches per epoch; must divide the batch")
    update_epochs: int = _option(4, "passes over each rollout batch", "epochs")
    normalize_advantages: bool = _option(
        True, "normalise the advantages of each minibatch to mean 0, std 1"
    )
    clip_coef: float = _option(
        0.2, "clip range of the probability ratio (1 - c, 1 + c)"
    )
    ent_coef: float = _option(0.01, "weight of the entropy bonus in the loss")
    vf_coef: float = _option(0.5, "weight of the value loss in the loss")
    max_grad_norm: float = _option(
        0.5, "maximum global L2 norm of the gradient before each step"
    )
    hidden: tuple[int, ...] = _option(
        (64, 64), "hidden layer sizes of the actor and the critic", "units"
    )
    activation: str = _option("tanh", "activation between layers: tanh or relu")
    seed: int = _option(0, "seed of the networks, the episodes and the minibatches")
    threads: int = _option(1, "PyTorch CPU threads during training", "threads")

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // self.batch_size

    def validate(self) -> None:
        """Raise ConfigError for the first hyperparameter outside its valid range."""
        positive = ("total_timesteps", "num_envs", "num_steps", "num_minibatches")
        for name in (*positive, "update_epochs", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        for name in ("learning_rate", "clip_coef", "max_grad_norm"):
            _check_range(name, getattr(self, name), 0.0, math.inf, low_open=True)
        for name in ("ent_coef", "vf_coef"):
            _check_range(name, getattr(self, name), 0.0, math.inf)
        if self.gamma is not None:
            _check_range("gamma", self.gamma, 0.0, 1.0, low_open=True)
        _check_range("gae_lambda", self.gae_lambda, 0.0, 1.0)
        if self.batch_size % self.num_minibatches:
            raise ConfigError(
                f"num_minibatches {self.num_minibatches} does not divide the batch of "
                f"num_envs * num_steps = {self.batch_size} steps; choose a divisor"
            )
        if self.total_timesteps < self.batch_size:
            raise ConfigError(
                f"total_timesteps {self.total_timesteps} is less than one batch of "
                f"num_envs * num_steps = {self.batch_size} steps; raise it"
            )
        if not self.hidden or any(
            isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in self.hidden
        ):
            raise ConfigError(
                "hidden must list positive layer sizes, e.g. 64,64, "
                f"got {self.hidden!r}"
            )
        if self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"activation {self.activation!r} is unknown; use "
                f"{' or '.join(ACTIVATIONS)}"
            )


def _check_range(
    name: str, value: float, low: float, high: float, low_open: bool = False
) -> None:
    """Raise ConfigError unless `value` is a finite number in the interval."""
    valid = isinstance(value, (int, float)) and not isinstance(value, bool)
    if valid:
        above = low < value if low_open else low <= value
        valid = math.isfinite(value) and above and value <= high
    if valid:
        return
    if math.isinf(high):
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        raise ConfigError(f"{name} must be a finite number {bound}, got {value!r}")
    bracket = "(" if low_open else "["
    raise ConfigError(f"{name} must be in {bracket}{low:g}, {high:g}], got {value!r}")


def config_fields() -> list[tuple[str, Any, str, str]]:
    """Return (name, default, help, unit) for every hyperparameter."""
    return [
        (f.name, f.default, f.metadata["help"], f.metadata["unit"])
        for f in fields(PPOConfig)
    ]
