"""The discrete POMDP model that every other part of simcore works on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Tolerance for rows of probabilities that must sum to one.
PROBABILITY_TOLERANCE = 1e-6


class ModelError(ValueError):
    """An invalid model, with the scenario file and line where it was declared."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None):
        self.path = path
        self.line = line
        location = ""
        if path is not None:
            location = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(location + message)


@dataclass(frozen=True)
class Declaration:
    """Where a state, action, attacker action or observation was declared (1-based line)."""

    kind: str
    name: str
    index: int
    line: int


@dataclass(frozen=True)
class ObservationComponent:
    """One named part of an observation: an integer range or a list of named values.

    `bin_width` is the scale of an integer range: a raw measurement v (for example
    weighted IDS alerts in one step) maps to the value
    min(low + max(v, 0) // bin_width, high), with high = low + size - 1. With low = 0
    this is min(v // bin_width, high), the rule that `pomdb fit` uses. A scenario with
    `terminal_observation: separate` keeps `high` for the terminal state, so there
    measurements are clipped at high - 1 instead.
    """

    name: str
    size: int
    low: int = 0
    labels: tuple[str, ...] | None = None
    bin_width: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.bin_width, bool) or not isinstance(self.bin_width, int):
            raise ModelError(
                f"observation {self.name!r}: bin_width must be an integer, "
                f"got {self.bin_width!r}"
            )
        if self.bin_width < 1:
            raise ModelError(
                f"observation {self.name!r}: bin_width must be >= 1, "
                f"got {self.bin_width}"
            )
        if self.labels is not None and self.bin_width != 1:
            raise ModelError(
                f"observation {self.name!r}: bin_width applies only to an integer "
                "range, not to named values"
            )

    def value(self, index: int) -> int | str:
        """Return the value of the component's `index`-th outcome."""
        if self.labels is not None:
            return self.labels[index]
        return self.low + index


@dataclass
class POMDP:
    """A discrete POMDP with an optional static attacker and an optional stop counter.

    Tensor shapes, with K = stops (1 without a stop counter) and index k = stops left - 1:
    transition (K, A, A2, S, S) is T(s' | s, a, a2); observation (S, O) is Z(o | s');
    reward (K, A, A2, S) is R(s, a, a2); attacker (S, A2) is pi2(a2 | s).
    """

    states: tuple[str, ...]
    actions: tuple[str, ...]
    observation_components: tuple[ObservationComponent, ...]
    attacker_actions: tuple[str, ...]
    attacker: np.ndarray
    transition: np.ndarray
    observation: np.ndarray
    reward: np.ndarray
    initial_belief: np.ndarray
    discount: float = 1.0
    max_steps: int | None = None
    stops: int | None = None
    stop_action: int | None = None
    terminal_states: frozenset[int] = frozenset()
    done_delay: bool = False
    name: str = ""
    path: Path | None = None
    declarations: tuple[Declaration, ...] = ()
    metadata: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()
        # pi2-weighted transitions, used by the belief filter: Tm[k][a][s][s'].
        self.marginal_transition = np.einsum(
            "kabst,sb->kast", self.transition, self.attacker
        )
        self.marginal_reward = np.einsum("kabs,sb->kas", self.reward, self.attacker)
        # Z(o | .) as contiguous rows, one per observation, for the belief filter.
        self.observation_rows = np.ascontiguousarray(self.observation.T)
        # Cumulative distributions as nested lists, for inverse-CDF sampling.
        self.cumulative_transition = np.cumsum(self.transition, axis=-1).tolist()
        self.cumulative_observation = np.cumsum(self.observation, axis=-1).tolist()
        self.cumulative_attacker = np.cumsum(self.attacker, axis=-1).tolist()
        self.cumulative_initial_belief = np.cumsum(self.initial_belief).tolist()

    @property
    def num_observations(self) -> int:
        return self.observation.shape[1]

    def stage(self, stops_left: int | None) -> int:
        """Return the tensor index k for `stops_left` (0 without a stop counter)."""
        if self.stops is None or stops_left is None:
            return 0
        if 1 <= stops_left <= self.stops:
            return stops_left - 1
        return 0 if stops_left < 1 else self.stops - 1

    def state_index(self, name: str) -> int:
        return _index_of(self.states, name, "state")

    def action_index(self, name: str) -> int:
        return _index_of(self.actions, name, "action")

    def observation_values(self, observation: int) -> dict[str, int | str]:
        """Split a joint observation index into the values of its components."""
        sizes = [component.size for component in self.observation_components]
        indices = np.unravel_index(observation, sizes)
        return {
            component.name: component.value(int(i))
            for component, i in zip(self.observation_components, indices)
        }

    def declaration(self, line: int) -> Declaration | None:
        """Return what is declared on scenario line `line` (1-based), if anything."""
        for declaration in self.declarations:
            if declaration.line == line:
                return declaration
        return None

    def validate(self) -> None:
        """Check shapes and that every probability row sums to one."""
        S, A, A2 = len(self.states), len(self.actions), len(self.attacker_actions)
        K = self.stops or 1
        expected = {
            "transition": (self.transition, (K, A, A2, S, S)),
            "reward": (self.reward, (K, A, A2, S)),
            "attacker": (self.attacker, (S, A2)),
            "initial_belief": (self.initial_belief, (S,)),
        }
        for name, (array, shape) in expected.items():
            if array.shape != shape:
                raise self._error(f"{name} has shape {array.shape}, expected {shape}")
        if self.observation.ndim != 2 or self.observation.shape[0] != S:
            raise self._error(
                f"observation has shape {self.observation.shape}, expected ({S}, O)"
            )
        sizes = [component.size for component in self.observation_components]
        if int(np.prod(sizes)) != self.observation.shape[1]:
            raise self._error(
                f"observation has {self.observation.shape[1]} columns but the "
                f"components {[c.name for c in self.observation_components]} "
                f"have {int(np.prod(sizes))} joint values"
            )
        self._check_rows("transition", self.transition)
        self._check_rows("observation", self.observation)
        self._check_rows("attacker", self.attacker)
        self._check_rows("initial_belief", self.initial_belief)
        if not np.all(np.isfinite(self.reward)):
            raise self._error("reward contains a value that is not finite")
        if not 0.0 < self.discount <= 1.0:
            raise self._error(f"discount {self.discount} is not in (0, 1]")
        if self.stops is not None and self.stop_action is None:
            raise self._error("a stop counter needs an action that uses a stop")
        if self.discount == 1.0 and self.max_steps is None and not self.terminal_states:
            raise self._error(
                "an undiscounted model needs terminal states or max_steps, "
                "or episodes never end"
            )

    def _check_rows(self, name: str, array: np.ndarray) -> None:
        if np.any(array < 0) or not np.all(np.isfinite(array)):
            raise self._error(f"{name} contains a negative or non-finite probability")
        sums = array.sum(axis=-1)
        worst = np.unravel_index(np.argmax(np.abs(sums - 1.0)), sums.shape)
        if abs(sums[worst] - 1.0) > PROBABILITY_TOLERANCE:
            raise self._error(
                f"{name} row {tuple(int(i) for i in worst)} sums to "
                f"{sums[worst]:.9g}, expected 1"
            )

    def _error(self, message: str) -> ModelError:
        return ModelError(message, self.path)


def _index_of(names: tuple[str, ...], name: str, kind: str) -> int:
    try:
        return names.index(name)
    except ValueError:
        raise KeyError(f"unknown {kind} {name!r}; known: {', '.join(names)}") from None
