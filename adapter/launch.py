"""Launch attributes of a debug session, and the runtime they describe."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from adapter.breakpoints import EVENT_FILTERS
from adapter.protocol import Arguments, RequestError
from adapter.runtime import Runtime
from simcore.model import ModelError
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
                "conditionDescription": "number of steps, e.g. 5"
                if filter_id == "missed_intrusion"
                else "expression over the step, e.g. b.intrusion < 0.5",
            }
            for filter_id, (label, description) in EVENT_FILTERS.items()
        ],
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
        return cls(
            scenario=scenario,
            policy=policy,
            episodes=episodes,
            seed=args.get_int("seed", 0),
            max_steps=max_steps,
            stop_on_entry=args.get_bool("stopOnEntry", True),
            trace=args.get_str("trace", None),
            log_file=args.get_str("logFile", None),
        )

    def build_runtime(self, output: Callable[[str], None]) -> Runtime:
        """Load the scenario, policy and trace; raise RequestError on any problem."""
        try:
            model = load_scenario(self.scenario)
            policy = load_policy(self.policy, model)
            runtime = Runtime(model, policy, output)
            if self.trace:
                recorded = read_trace(Path(self.trace), model)
                runtime.add_recorded(Path(self.trace), recorded, self.seed, self.max_steps)
            else:
                runtime.add_simulated(self.seed, self.episodes, self.max_steps)
        except (ModelError, PolicyError, RecordingError, OSError, ValueError) as error:
            raise RequestError(f"launch failed: {error}") from None
        return runtime

    def describe(self) -> str:
        """Return what the session plays, for the Debug Console."""
        if self.trace:
            return f"replaying {self.trace}"
        return f"{self.episodes} episode(s), seed {self.seed}"
