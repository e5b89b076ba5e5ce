"""A reference policy beside the examined one: its action, Q(b, a) and the regret.

The launch attribute `reference` names a policy in the forms of `policy`, usually
`optimal`. At a step the debugger compares the examined policy with it:

- the reference's action (its most probable action, the first one on a tie) and its
  action probabilities at the step;
- Q(b, a) for every action: the expected return from this step on, discounted from
  this step, when the defender takes a now and follows the reference afterwards. A
  reference with `action_values(belief, stops_left)` (the optimal policy of
  simcore.solver) gives it exactly. Any other reference gets a Monte Carlo estimate
  from `adapter.rollouts`, seeded by the launch seed and the step's belief, stops left
  and time, and cached per step;
- the regret of the chosen action, max_a Q(b, a) - Q(b, action), and the expected
  regret under the examined policy, max_a Q(b, a) - sum_a pi(a) Q(b, a).

Nothing is computed until a scope, an expression or the deviation filter reads it.
This module does not depend on the Debug Adapter Protocol.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from adapter.rollouts import estimate_action_values, standard_error
from simcore.episode import Step
from simcore.model import POMDP
from simcore.policies import Policy

logger = logging.getLogger(__name__)

DEFAULT_ROLLOUTS = 500
MAX_ROLLOUTS = 1_000_000
# NOTE: a rollout stops after this many steps even when the episode has no step limit
# or a longer one. Such truncated rollouts are counted and shown in the Reference scope.
MAX_ROLLOUT_STEPS = 1000
# Steps whose action values are kept. One entry stores rollouts x actions returns.
_CACHE_SIZE = 1024


@dataclass(frozen=True)
class Comparison:
    """The examined policy's choice at one step against the reference.

    The standard errors are None for exact action values. `rollouts` is the number
    of rollouts per action (0 when exact), and `truncated` the number of them that
    reached MAX_ROLLOUT_STEPS without a terminal state.
    """

    reference_probs: np.ndarray
    reference_action: int
    values: np.ndarray
    standard_errors: np.ndarray | None
    regret: float
    regret_error: float | None
    expected_regret: float
    expected_regret_error: float | None
    rollouts: int
    truncated: int


class Reference:
    """A reference policy for the steps of one model, with its action values."""

    def __init__(
        self,
        model: POMDP,
        policy: Policy,
        *,
        rollouts: int = DEFAULT_ROLLOUTS,
        seed: int = 0,
        max_steps: int | None = None,
    ):
        if not 2 <= rollouts <= MAX_ROLLOUTS:
            raise ValueError(
                f"referenceRollouts must be between 2 and {MAX_ROLLOUTS}, got {rollouts}"
            )
        self.model = model
        self.policy = policy
        self.rollouts = rollouts
        self.seed = seed
        self.step_limit = max_steps if max_steps is not None else model.max_steps
        self._exact = getattr(policy, "action_values", None)
        if self._exact is not None:
            self._check_exact()
        self._cache: OrderedDict[bytes, tuple[np.ndarray, np.ndarray | None, int]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.policy.name

    @property
    def optimal(self) -> bool:
        """True when the reference is the optimal policy solved by simcore.solver."""
        from simcore.solver import OptimalPolicy

        return isinstance(self.policy, OptimalPolicy)

    @property
    def exact(self) -> bool:
        """True when the reference gives Q(b, a) itself, so no rollouts are played."""
        return self._exact is not None

    def describe(self) -> str:
        """Return the reference and how its action values are found."""
        if self.exact:
            return f"{self.name} (exact action values)"
        return f"{self.name} (Monte Carlo, {self.rollouts} rollouts per action)"

    def action_probs(self, step: Step) -> np.ndarray:
        """Return the reference's action probabilities at `step`."""
        return self.policy.action_probs(
            step.belief, step.stops_left, step.t, step.observation
        )

    def action(self, step: Step) -> int:
        """Return the reference's action at `step`: its most probable action."""
        return int(np.argmax(self.action_probs(step)))

    def compare(self, step: Step) -> Comparison:
        """Return the reference's action, Q(b, a) and the regrets at `step`."""
        probs = self.action_probs(step)
        values, returns, truncated = self._action_values(step)
        best = int(np.argmax(values))
        pi = np.asarray(step.action_probs, dtype=float)
        regret = float(values[best] - values[step.action])
        # Weighting the gaps, not the values, keeps a deterministic choice of the
        # best action at exactly 0.
        expected = float((values[best] - values) @ pi)
        errors = regret_error = expected_error = None
        if returns is not None:
            errors = standard_error(returns)
            regret_error = float(standard_error(returns[:, best] - returns[:, step.action]))
            expected_error = float(standard_error((returns[:, [best]] - returns) @ pi))
        return Comparison(
            reference_probs=probs,
            reference_action=int(np.argmax(probs)),
            values=values,
            standard_errors=errors,
            regret=regret,
            regret_error=regret_error,
            expected_regret=expected,
            expected_regret_error=expected_error,
            rollouts=0 if returns is None else returns.shape[0],
            truncated=truncated,
        )

    def deviation(self, step: Step) -> str | None:
        """Describe how the chosen action differs from the reference's, or return None."""
        reference_action = self.action(step)
        if step.action == reference_action:
            return None
        actions = self.model.actions
        return (
            f"t={step.t}: the policy chooses {actions[step.action]}, "
            f"the reference {actions[reference_action]}"
        )

    def regret_text(self, step: Step) -> str:
        """Return the regret at `step` for a stop description, e.g. 'regret 0.84'."""
        comparison = self.compare(step)
        text = f"regret {comparison.regret:.4g}"
        if comparison.regret_error is not None:
            text += f" ± {comparison.regret_error:.2g}"
        return text

    def environment(self, step: Step, env: dict[str, Any]) -> dict[str, Any]:
        """Return `env` with the reference's values, computed when first read."""
        return _ReferenceEnvironment(env, self, step)

    def _action_values(self, step: Step) -> tuple[np.ndarray, np.ndarray | None, int]:
        """Return Q(b, a), the paired rollout returns (None when exact) and the
        number of truncated rollouts, from the cache when the step was seen."""
        key = _step_key(step)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        if self._exact is not None:
            values = np.asarray(self._exact(step.belief, step.stops_left), dtype=float)
            result: tuple[np.ndarray, np.ndarray | None, int] = (values, None, 0)
        else:
            result = self._estimate(step, key)
        with self._lock:
            self._cache[key] = result
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def _estimate(self, step: Step, key: bytes) -> tuple[np.ndarray, np.ndarray, int]:
        steps, truncates = MAX_ROLLOUT_STEPS, True
        if self.step_limit is not None and self.step_limit - step.t <= MAX_ROLLOUT_STEPS:
            steps, truncates = max(1, self.step_limit - step.t), False
        digest = int.from_bytes(hashlib.blake2b(key, digest_size=16).digest(), "big")
        estimate = estimate_action_values(
            self.model, self.policy, step.belief, step.stops_left, step.t,
            rollouts=self.rollouts,
            seed=np.random.SeedSequence([self.seed, digest]),
            steps=steps,
            truncates=truncates,
        )  # fmt: skip
        logger.debug(
            "t=%d: %d rollouts per action, Q = %s", step.t, self.rollouts, estimate.values
        )
        return estimate.values, estimate.returns, estimate.truncated

    def _check_exact(self) -> None:
        belief = self.model.initial_belief
        values = np.asarray(self._exact(belief, self.model.stops), dtype=float)
        if values.shape != (len(self.model.actions),) or not np.all(np.isfinite(values)):
            raise ValueError(
                f"reference {self.name}: action_values returned {values!r}; expected one "
                f"finite value per action of the scenario ({', '.join(self.model.actions)})"
            )


def _step_key(step: Step) -> bytes:
    """Return the key of a step's action values: its belief, stops left and time."""
    belief = np.ascontiguousarray(step.belief, dtype=float).tobytes()
    stops = -1 if step.stops_left is None else step.stops_left
    return belief + stops.to_bytes(8, "big", signed=True) + step.t.to_bytes(8, "big")


class _ReferenceEnvironment(dict):
    """An expression environment whose reference values are computed when read.

    The Monte Carlo estimate costs thousands of simulated steps, so a condition such
    as `action != ref and regret > 0.1` pays for it only where the action differs.
    """

    __slots__ = ("_reference", "_step")

    def __init__(self, env: dict[str, Any], reference: Reference, step: Step):
        super().__init__(env)
        self._reference = reference
        self._step = step

    def __missing__(self, key: str) -> Any:
        if key in ("ref", "ref."):
            probs = self._reference.action_probs(self._step)
            self["ref."] = probs.tolist()
            self["ref"] = int(np.argmax(probs))
        elif key in ("q", "regret", "expected_regret"):
            comparison = self._reference.compare(self._step)
            self["q"] = comparison.values.tolist()
            self["regret"] = comparison.regret
            self["expected_regret"] = comparison.expected_regret
        else:
            raise KeyError(key)
        return self[key]
