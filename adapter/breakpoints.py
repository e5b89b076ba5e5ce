"""Breakpoints over episode steps: scenario lines, expressions and security events.

A breakpoint on a scenario line fires on the steps that match the line's declaration. A
state line matches when the hidden state is that state, and an observation line when the
observation is that value. An observation component line matches every step that has an
observation. An action line matches where that action is chosen, but with a condition
it matches every step, and `p` in the condition is that action's probability.
Function breakpoints are expressions, and event filters fire on security events. This
module does not depend on the Debug Adapter Protocol.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from adapter.expressions import (
    EvaluationError,
    Expression,
    ExpressionError,
    SymbolTable,
    compile_expression,
)
from adapter.hit_conditions import HitCondition, parse_hit_condition
from adapter.logpoints import LogMessage, compile_log_message
from adapter.reference import Reference
from adapter.step_values import EnvironmentBuilder, symbol_table
from simcore.episode import Step
from simcore.model import POMDP, Declaration

logger = logging.getLogger(__name__)

# Security events a user can break on: id -> (label, description).
EVENT_FILTERS: dict[str, tuple[str, str]] = {
    "stop": ("Defender stops", "Break when the defender takes a stop action."),
    "intrusion_start": (
        "Intrusion starts",
        "Break on the first step of an intrusion (hidden state becomes 'intrusion').",
    ),
    "false_alarm": (
        "False alarm",
        "Break when the defender stops while there is no intrusion.",
    ),
    "missed_intrusion": (
        "Intrusion missed for N steps",
        "Break when an intrusion has gone on for N steps without a stop "
        "(condition: N, default 5).",
    ),
    "deviation": (
        "Deviates from the reference",
        "Break where the chosen action differs from the reference policy's action "
        "(needs the launch attribute 'reference'; condition e.g. regret > 0.1).",
    ),
}
DEFAULT_MISSED_STEPS = 5


@dataclass
class Breakpoint:
    """A breakpoint as the runtime checks it; an unverified one has a `message`."""

    id: int
    verified: bool
    message: str | None = None
    line: int | None = None
    declaration: Declaration | None = None
    condition: Expression | None = None
    hit_condition: HitCondition | None = None
    log_message: LogMessage | None = None
    expression: Expression | None = None
    hits: int = 0


@dataclass
class EventFilter:
    """An enabled security-event filter."""

    id: str
    condition: Expression | None = None
    missed_steps: int = DEFAULT_MISSED_STEPS


@dataclass
class Hit:
    """The reason the runtime stops at a step."""

    reason: str
    description: str
    breakpoint_ids: list[int] = field(default_factory=list)
    filter_id: str | None = None


class BreakpointSet:
    """The breakpoints of a session, checked against each step a run arrives at."""

    def __init__(
        self,
        model: POMDP,
        output: Callable[[str], None],
        reference: Reference | None = None,
    ):
        self.model = model
        self.output = output
        self.reference = reference
        self.symbols = symbol_table(model, reference=reference is not None)
        self.symbols_with_p = symbol_table(
            model, with_p=True, reference=reference is not None
        )
        self.source: list[Breakpoint] = []
        self.functions: list[Breakpoint] = []
        self.filters: list[EventFilter] = []
        self._environment = EnvironmentBuilder(model, frozenset({"t"}))
        self._next_id = 1
        # Episodes run on their own threads and share the hit counts.
        self._hits_lock = threading.Lock()

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def set_source_breakpoints(self, specs: list[dict[str, Any]]) -> list[Breakpoint]:
        """Replace the scenario-line breakpoints. Each spec has line and optional
        condition, hitCondition and logMessage, as in DAP's SourceBreakpoint."""
        result = []
        for spec in specs:
            line = spec["line"]
            declaration = self.model.declaration(line)
            if declaration is None:
                result.append(
                    Breakpoint(self._new_id(), False, _not_a_declaration(line), line)
                )
                continue
            symbols = (
                self.symbols_with_p if declaration.kind == "action" else self.symbols
            )
            breakpoint = Breakpoint(
                self._new_id(), True, line=line, declaration=declaration
            )
            result.append(self._compile_options(breakpoint, spec, symbols))
        self.source = result
        self._update_names()
        return result

    def set_function_breakpoints(self, specs: list[dict[str, Any]]) -> list[Breakpoint]:
        """Replace the expression breakpoints (DAP FunctionBreakpoint: name is the
        expression)."""
        result = []
        for spec in specs:
            breakpoint = Breakpoint(self._new_id(), True)
            try:
                breakpoint.expression = compile_expression(spec["name"], self.symbols)
            except ExpressionError as error:
                breakpoint.verified, breakpoint.message = (
                    False,
                    f"invalid expression: {error}",
                )
            result.append(self._compile_options(breakpoint, spec, self.symbols))
        self.functions = result
        self._update_names()
        return result

    def _compile_options(
        self, breakpoint: Breakpoint, spec: dict[str, Any], symbols: SymbolTable
    ) -> Breakpoint:
        compilers = (
            ("condition", "condition", lambda text: compile_expression(text, symbols)),
            ("hitCondition", "hit condition", parse_hit_condition),
            (
                "logMessage",
                "log message",
                lambda text: compile_log_message(text, symbols),
            ),
        )
        compiled = {}
        for key, name, compile_option in compilers:
            if not spec.get(key):
                continue
            try:
                compiled[key] = compile_option(spec[key])
            except ExpressionError as error:
                breakpoint.verified = False
                message = str(error)
                # Hit condition errors already start with "invalid hit condition".
                if not message.startswith(f"invalid {name}"):
                    message = f"invalid {name}: {message}"
                breakpoint.message = message
                return breakpoint
        breakpoint.condition = compiled.get("condition")
        breakpoint.hit_condition = compiled.get("hitCondition")
        breakpoint.log_message = compiled.get("logMessage")
        return breakpoint

    def set_filters(
        self, filter_ids: list[str], options: list[dict[str, Any]]
    ) -> list[str]:
        """Enable the named event filters; return an error message per rejected one."""
        errors = []
        enabled = []
        requested = [{"filterId": f} for f in filter_ids] + list(options)
        for option in requested:
            filter_id = option.get("filterId")
            if filter_id not in EVENT_FILTERS:
                errors.append(f"unknown event filter {filter_id!r}")
                continue
            if filter_id == "deviation" and self.reference is None:
                errors.append(
                    "filter deviation needs a reference policy; set the launch "
                    "attribute 'reference' (pomdb debug --reference), e.g. to optimal"
                )
                continue
            event_filter = EventFilter(filter_id)
            condition = option.get("condition")
            try:
                if condition and filter_id == "missed_intrusion":
                    event_filter.missed_steps = _positive_int(condition)
                elif condition:
                    event_filter.condition = compile_expression(condition, self.symbols)
            except (ExpressionError, ValueError) as error:
                errors.append(f"filter {filter_id}: {error}")
                continue
            enabled = [f for f in enabled if f.id != filter_id] + [event_filter]
        self.filters = enabled
        self._update_names()
        return errors

    def _update_names(self) -> None:
        """Collect the step names that any condition, expression or logpoint reads."""
        names = {"t"}
        for breakpoint in self.source + self.functions:
            for compiled in (
                breakpoint.condition, breakpoint.expression, breakpoint.log_message
            ):
                if compiled is not None:
                    names |= compiled.names
        for event_filter in self.filters:
            if event_filter.condition is not None:
                names |= event_filter.condition.names
        self._environment = EnvironmentBuilder(
            self.model, frozenset(names), self.reference
        )

    def check(self, steps: list[Step], index: int) -> Hit | None:
        """Return why the run stops at `steps[index]`, or None to run on.

        Logpoints that match print their message and do not stop.
        """
        if not (self.source or self.functions or self.filters):
            return None
        step = steps[index]
        env = self._environment.build(step)
        hit_ids = []
        for breakpoint in self.source:
            if breakpoint.verified and self._located(breakpoint, step):
                if breakpoint.declaration.kind == "action":
                    env["p"] = float(step.action_probs[breakpoint.declaration.index])
                if self._fires(breakpoint, env):
                    hit_ids.append(breakpoint.id)
                env["p"] = None
        source_hit = bool(hit_ids)
        for breakpoint in self.functions:
            if breakpoint.verified and self._truthy(breakpoint.expression, env):
                if self._fires(breakpoint, env):
                    hit_ids.append(breakpoint.id)
        if hit_ids:
            reason = "breakpoint" if source_hit else "function breakpoint"
            return Hit(reason, self._describe(hit_ids, step), hit_ids)
        for event_filter in self.filters:
            description = self._event(event_filter, steps, index)
            if description and (
                event_filter.condition is None
                or self._truthy(event_filter.condition, env)
            ):
                if event_filter.id == "deviation":
                    # The regret is computed only here, after the condition held.
                    description += f" ({self.reference.regret_text(step)})"
                return Hit("exception", description, filter_id=event_filter.id)
        return None

    @staticmethod
    def _located(breakpoint: Breakpoint, step: Step) -> bool:
        """Return whether a scenario-line breakpoint applies to `step`.

        An action line with a condition applies to every step. So `p > 0.8` stops
        where the policy's probability of that action first exceeds 0.8, whichever
        action was sampled. Without a condition it applies where that action is
        chosen.
        """
        if breakpoint.declaration.kind == "action" and breakpoint.condition is not None:
            return True
        return declaration_matches(breakpoint.declaration, step)

    def _fires(self, breakpoint: Breakpoint, env: dict[str, Any]) -> bool:
        if breakpoint.condition is not None and not self._truthy(
            breakpoint.condition, env
        ):
            return False
        with self._hits_lock:
            breakpoint.hits += 1
            hits = breakpoint.hits
        if breakpoint.hit_condition is not None and not breakpoint.hit_condition.matches(
            hits
        ):
            return False
        if breakpoint.log_message is not None:
            try:
                self.output(breakpoint.log_message.render(env) + "\n")
            except EvaluationError as error:
                self.output(f"logpoint {breakpoint.id}: {error}\n")
            return False
        return True

    def _truthy(self, expression: Expression, env: dict[str, Any]) -> bool:
        try:
            return bool(expression.evaluate(env))
        except EvaluationError as error:
            logger.info("t=%s: cannot evaluate %r: %s", env.get("t"), expression.text, error)
            self.output(f"t={env.get('t')}: cannot evaluate {expression.text!r}: {error}\n")
            return False

    def _describe(self, hit_ids: list[int], step: Step) -> str:
        names = []
        for breakpoint in self.source + self.functions:
            if breakpoint.id in hit_ids:
                if breakpoint.declaration is not None:
                    names.append(
                        f"{breakpoint.declaration.kind} {breakpoint.declaration.name}"
                    )
                else:
                    names.append(breakpoint.expression.text)
        return f"t={step.t}: " + ", ".join(names)

    def _event(
        self, event_filter: EventFilter, steps: list[Step], index: int
    ) -> str | None:
        model, step = self.model, steps[index]
        intrusion = _state_or_none(model, "intrusion")
        no_intrusion = _state_or_none(model, "no_intrusion")
        stop = model.stop_action
        if event_filter.id == "stop" and stop is not None and step.action == stop:
            return (
                f"t={step.t}: the defender stops ({step.stops_left} stops left before)"
            )
        if (
            event_filter.id == "false_alarm"
            and step.action == stop
            and stop is not None
        ):
            if no_intrusion is not None and step.state == no_intrusion:
                return f"t={step.t}: false alarm, the defender stops with no intrusion"
        if event_filter.id == "intrusion_start" and intrusion is not None:
            previous = steps[index - 1].state if index > 0 else None
            if step.state == intrusion and previous != intrusion:
                return f"t={step.t}: the intrusion starts"
        if event_filter.id == "missed_intrusion" and intrusion is not None:
            n = event_filter.missed_steps
            window = steps[max(0, index - n + 1) : index + 1]
            started = index - n < 0 or steps[index - n].state != intrusion
            if (
                len(window) == n
                and started
                and all(s.state == intrusion and s.action != stop for s in window)
            ):
                return f"t={step.t}: the intrusion has gone on for {n} steps without a stop"
        if event_filter.id == "deviation":
            return self.reference.deviation(step)
        return None


def declaration_matches(declaration: Declaration, step: Step) -> bool:
    """Return whether `step` is what the scenario line of `declaration` declares."""
    kind, index = declaration.kind, declaration.index
    if kind == "state":
        return step.state == index
    if kind == "action":
        return step.action == index
    if kind == "attacker_action":
        return step.attacker_action == index
    if kind == "observation":
        return step.observation == index
    return step.observation is not None  # an observation component line


def _state_or_none(model: POMDP, name: str) -> int | None:
    return model.states.index(name) if name in model.states else None


def _not_a_declaration(line: int) -> str:
    return (
        f"line {line} declares no state, action or observation; put the breakpoint "
        "on a line under states:, actions:, attacker_actions: or observations:"
    )


def _positive_int(text: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValueError(f"expected a number of steps, got {text!r}") from None
    if value < 1:
        raise ValueError(f"the number of steps must be at least 1, got {value}")
    return value
