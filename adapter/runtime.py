"""The debugger's engine: episodes with a history, a cursor and run control.

Each episode keeps every step it has played. The cursor is the step the user looks at;
stepping back moves the cursor, stepping forward replays the history and then plays new
steps. Runs check breakpoints at each step they arrive at. This module works on
episodes, steps and breakpoints and does not depend on the Debug Adapter Protocol.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from simcore.belief import ImpossibleObservation
from simcore.episode import ObservationReplay, Simulator, Step, episode_seed
from simcore.model import POMDP
from simcore.policies import Policy
from simcore.recording import RecordedEpisode

from adapter.breakpoints import BreakpointSet, Hit
from adapter.reference import Reference

logger = logging.getLogger(__name__)


class StepSource(Protocol):
    done: bool

    def next_step(self) -> Step: ...


class _RecordedSource:
    """Plays back the steps of a recorded episode exactly as they were recorded."""

    def __init__(self, steps: list[Step]):
        self._steps = steps
        self._next = 0
        self.done = not steps

    def next_step(self) -> Step:
        step = self._steps[self._next]
        self._next += 1
        self.done = self._next == len(self._steps) or step.done
        return step


@dataclass
class Stop:
    """The place and the reason a run stopped."""

    reason: str
    description: str
    breakpoint_ids: list[int]
    filter_id: str | None = None


class EpisodeRun:
    """One episode under the debugger: its steps so far and the step the user is at."""

    def __init__(self, id: int, name: str, source: StepSource):
        self.id = id
        self.name = name
        self.source = source
        self.steps: list[Step] = []
        self.cursor = -1
        self.error: str | None = None
        self.pause_requested = threading.Event()

    @property
    def current(self) -> Step:
        return self.steps[self.cursor]

    @property
    def at_end(self) -> bool:
        """True when the cursor is on the last step the episode will ever have."""
        return self.cursor == len(self.steps) - 1 and (self.source.done or self.error)

    def advance(self) -> bool:
        """Move the cursor one step forward, playing a new step when needed.

        Returns False at the end of the episode. A step that cannot be played (an
        impossible observation in a replay) ends the episode and sets `error`.
        """
        if self.cursor + 1 < len(self.steps):
            self.cursor += 1
            return True
        if self.source.done or self.error:
            return False
        try:
            self.steps.append(self.source.next_step())
        except ImpossibleObservation as error:
            self.error = (
                f"{self.name}: step t={len(self.steps)} cannot be played: {error}"
            )
            logger.warning("%s", self.error)
            return False
        self.cursor += 1
        return True


class Runtime:
    """Episodes of one model under one policy, and the breakpoints that stop them.

    A `reference` policy, when given, is what the policy's choices are compared with.
    """

    def __init__(
        self,
        model: POMDP,
        policy: Policy,
        output: Callable[[str], None] = lambda text: None,
        reference: Reference | None = None,
    ):
        self.model = model
        self.policy = policy
        self.output = output
        self.reference = reference
        self.breakpoints = BreakpointSet(model, output, reference)
        self.episodes: dict[int, EpisodeRun] = {}

    def add_simulated(self, seed: int, count: int, max_steps: int | None) -> None:
        """Add `count` simulated episodes; episode i uses the seed sequence (seed, i)."""
        for i in range(count):
            simulator = Simulator(
                self.model, self.policy, episode_seed(seed, i), max_steps
            )
            self._add(f"episode {i + 1} (seed {seed})", simulator)

    def add_recorded(self, path: Path, episodes: list[RecordedEpisode], seed: int,
                     max_steps: int | None) -> None:  # fmt: skip
        """Add recorded episodes, and replay observation traces through the policy."""
        for i, recorded in enumerate(episodes):
            label = f"{path.name} #{i + 1}" if len(episodes) > 1 else path.name
            if recorded.observations is not None:
                replay = ObservationReplay(
                    self.model, self.policy, recorded.observations, episode_seed(seed, i),
                    max_steps,
                )  # fmt: skip
                self._add(f"replay of {label}", replay)
            else:
                self._add(f"recording {label}", _RecordedSource(recorded.steps))

    def _add(self, name: str, source: StepSource) -> None:
        id = len(self.episodes) + 1
        self.episodes[id] = EpisodeRun(id, name, source)
        logger.info("episode %d: %s", id, name)

    def episode(self, id: int) -> EpisodeRun:
        if id not in self.episodes:
            raise KeyError(f"no episode with thread id {id}")
        return self.episodes[id]

    def start(self, episode: EpisodeRun) -> Stop | None:
        """Play step 0; return a Stop if a breakpoint fires there."""
        if not episode.advance():
            return Stop("exception", episode.error or "the episode has no steps", [])
        hit = self.breakpoints.check(episode.steps, episode.cursor)
        return self._stop_from_hit(hit) if hit else None

    def step_forward(self, episode: EpisodeRun) -> Stop:
        """Move one step forward (the debugger's next)."""
        if not episode.advance():
            return self._end_stop(episode)
        return Stop("step", f"t={episode.current.t}", [])

    def step_back(self, episode: EpisodeRun) -> Stop:
        """Move one step back in time."""
        if episode.cursor > 0:
            episode.cursor -= 1
            return Stop("step", f"t={episode.current.t}", [])
        return Stop("step", "already at the first step (t=0)", [])

    def run_forward(self, episode: EpisodeRun, until_stop_action: bool = False) -> Stop:
        """Continue until a breakpoint fires, the episode ends or a pause is requested.

        With `until_stop_action`, also stop after the next step whose action is a stop
        (the end of the current stage: one stop fewer is left). A pause request
        stops the run and is cleared.
        """
        stop_action = self.model.stop_action
        # Bound methods looked up once: this loop runs once per simulated step.
        paused, advance = episode.pause_requested.is_set, episode.advance
        check, steps = self.breakpoints.check, episode.steps
        while True:
            if paused():
                return self._pause_stop(episode)
            if not advance():
                return self._end_stop(episode)
            hit = check(steps, episode.cursor)
            if hit is not None:
                return self._stop_from_hit(hit)
            if not until_stop_action or episode.cursor == 0:
                continue
            previous = episode.steps[episode.cursor - 1]
            if previous.action == stop_action:
                return Stop(
                    "step",
                    f"t={episode.current.t}: after the stop at t={previous.t}",
                    [],
                )

    def run_backward(self, episode: EpisodeRun) -> Stop:
        """Run back in time to the previous step where a breakpoint fires, or to t=0."""
        while episode.cursor > 0:
            if episode.pause_requested.is_set():
                return self._pause_stop(episode)
            episode.cursor -= 1
            hit = self.breakpoints.check(episode.steps, episode.cursor)
            if hit is not None:
                return self._stop_from_hit(hit)
        return Stop("step", "reached the first step (t=0)", [])

    def goto(self, episode: EpisodeRun, t: int) -> Stop:
        """Jump to step t, playing the steps up to it without checking breakpoints."""
        if t < 0:
            raise ValueError(f"step {t} is before the first step (t=0)")
        start = episode.cursor
        while episode.cursor < t:
            if not episode.advance():
                end = episode.current.t
                # A failed goto leaves the user at the step they were at.
                episode.cursor = start
                raise ValueError(f"the episode ends at t={end}; cannot go to t={t}")
        episode.cursor = t
        return Stop("goto", f"t={t}", [])

    @staticmethod
    def _pause_stop(episode: EpisodeRun) -> Stop:
        episode.pause_requested.clear()
        return Stop("pause", f"paused at t={episode.current.t}", [])

    def _end_stop(self, episode: EpisodeRun) -> Stop:
        if episode.error:
            return Stop("exception", episode.error, [])
        step = episode.current
        result = f", return {step.ret:g}" if step.ret is not None else ""
        return Stop("end of episode", f"the episode ended at t={step.t}{result}", [])

    @staticmethod
    def _stop_from_hit(hit: Hit) -> Stop:
        return Stop(hit.reason, hit.description, hit.breakpoint_ids, hit.filter_id)
