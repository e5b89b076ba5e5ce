"""Launch attributes of a debug session, and the runtime they describe."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from adapter.breakpoints import EVENT_FILTERS
from adapter.protocol import Arguments, RequestError
from adapter.reference import DEFAULT_ROLLOUTS, MAX_ROLLOUTS, Reference
from adapter.runtime import Runtime
from simcore.model import POMDP, ModelError
from simcore.policies import PolicyError, load_policy
from simcore.recording import RecordingError, read_trace
from simcore.scenario import load_scenario


def capabilities() -> dict[str, Any]:
    """Return the body of the initialize response: what this adapter supports."""
    return {
        "supportsConfigurationDoneRequest": True,
        "supportsFunctionBreakpoints": True,
        "supportsConditionalBreakpoints": True,
        "supportsHitConditionalBreakpoints": True,
        "supportsLogPoints": True,
        "supportsEvaluateForHovers": True,
        "supportsStepBack": True,
        "supportsGotoTargetsRequest": True,
        "supportsExceptionInfoRequest": True,
        "supportsExceptionFilterOptions": True,
        "supportsTerminateRequest": True,
        "supportsSingleThreadExecutionRequests": True,
        "supportsDelayedStackTraceLoading": True,
        "exceptionBreakpointFilters": [
            {
                "filter": filter_id,
                "label": label,
                "description": description,
                "default": False,
                "supportsCondition": True,
                "conditionDescription": _CONDITION_DESCRIPTIONS.get(
                    filter_id, "expression over the step, e.g. b.intrusion < 0.5"
                ),
            }
            for filter_id, (label, description) in EVENT_FILTERS.items()
        ],
    }


_CONDITION_DESCRIPTIONS = {
    "missed_intrusion": "number of steps, e.g. 5",
    "deviation": "expression over the step, e.g. regret > 0.1",
}


@dataclass(frozen=True)
class LaunchConfiguration:
    """The launch request's attributes, checked."""

    scenario: str
    policy: str
    episodes: int
    seed: int
    max_steps: int | None
    stop_on_entry: bool
    trace: str | None
    log_file: str | None
    reference: str | None = None
    reference_rollouts: int = DEFAULT_ROLLOUTS

    @classmethod
    def from_arguments(cls, args: Arguments) -> LaunchConfiguration:
        """Read the attributes; raise RequestError naming a missing or invalid one."""
        scenario = args.get_str("scenario", None)
        if not scenario:
            raise RequestError(
                "launch: 'scenario' is missing; set it to a scenario file "
                "(e.g. \"${workspaceFolder}/intrusion_prevention.yaml\")"
            )
        policy = args.get_str("policy", None)
        if not policy:
            raise RequestError(
                "launch: 'policy' is missing; give a policy file or e.g. threshold:0.5"
            )
        episodes = args.get_int("episodes", 1)
        max_steps = args.get_int("maxSteps", None)
        if episodes < 1 or (max_steps is not None and max_steps < 1):
            raise RequestError("launch: 'episodes' and 'maxSteps' must be at least 1")
        rollouts = args.get_int("referenceRollouts", DEFAULT_ROLLOUTS)
        if not 2 <= rollouts <= MAX_ROLLOUTS:
            raise RequestError(
                f"launch: 'referenceRollouts' must be between 2 and {MAX_ROLLOUTS}, "
                f"got {rollouts}"
            )
        return cls(
            scenario=scenario,
            policy=policy,
            episodes=episodes,
            seed=args.get_int("seed", 0),
            max_steps=max_steps,
            stop_on_entry=args.get_bool("stopOnEntry", True),
            trace=args.get_str("trace", None),
            log_file=args.get_str("logFile", None),
            reference=args.get_str("reference", None) or None,
            reference_rollouts=rollouts,
        )

    def build_runtime(self, output: Callable[[str], None]) -> Runtime:
        """Load the scenario, policy and trace; raise RequestError on any problem."""
        try:
            model = load_scenario(self.scenario)
            policy = load_policy(self.policy, model)
            reference = self._load_reference(model)
            runtime = Runtime(model, policy, output, reference)
            if self.trace:
                recorded = read_trace(Path(self.trace), model)
                runtime.add_recorded(Path(self.trace), recorded, self.seed, self.max_steps)
            else:
                runtime.add_simulated(self.seed, self.episodes, self.max_steps)
        except (ModelError, PolicyError, RecordingError, OSError, ValueError) as error:
            raise RequestError(f"launch failed: {error}") from None
        return runtime

    def _load_reference(self, model: POMDP) -> Reference | None:
        if self.reference is None:
            return None
        try:
            policy = load_policy(self.reference, model)
            return Reference(
                model, policy, rollouts=self.reference_rollouts, seed=self.seed,
                max_steps=self.max_steps,
            )  # fmt: skip
        except ValueError as error:
            raise ValueError(f"reference {self.reference!r}: {error}") from None

    def describe(self) -> str:
        """Return what the session plays, for the Debug Console."""
        if self.trace:
            return f"replaying {self.trace}"
        return f"{self.episodes} episode(s), seed {self.seed}"
