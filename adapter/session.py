"""The debug session: maps episodes, steps and beliefs onto DAP requests and events.

Episodes are threads and time steps are stack frames (the current step on top). Each
frame has the scopes Belief, Observation, Policy, Hidden and Reward. Runs (continue,
next, step back, reverse continue, goto) respond at once and then play on a worker
thread, which sends the stopped event.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from adapter.breakpoints import EVENT_FILTERS, declaration_matches
from adapter.launch import LaunchConfiguration, capabilities
from adapter.protocol import Arguments, Connection, Deferred, RequestError
from adapter.runtime import EpisodeRun, Runtime, Stop
from adapter.variables import (
    SCOPES,
    Formatter,
    comparison_scope,
    frame_name,
    optimal_variables,
    scope_variables,
)
from adapter.watch import Evaluator

logger = logging.getLogger(__name__)

# Frame and variable references pack (episode, step, scope) into one integer.
_STEP_SPAN = 1 << 22
_SCOPE_SPAN = 8


def frame_id(episode: int, t: int) -> int:
    return episode * _STEP_SPAN + t + 1


def split_frame_id(frame: int) -> tuple[int, int]:
    return (frame - 1) // _STEP_SPAN, (frame - 1) % _STEP_SPAN


class Session:
    """One client's debug session; one handler method per DAP request."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.runtime: Runtime | None = None
        self._source: dict[str, str] | None = None
        self.formatter = Formatter()
        self.evaluator: Evaluator | None = None
        self.lines_start_at_1 = True
        self.columns_start_at_1 = True
        self.stop_on_entry = True
        self._launch: Deferred | None = None
        self._pending_breakpoints: list[tuple[Arguments, Deferred]] = []
        self._last_stop: dict[int, Stop] = {}
        self._running: set[int] = set()
        self._lock = threading.RLock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pomdb-run")
        self._log_handler: logging.Handler | None = None

    # Start-up: initialize, launch, configuration, configurationDone.

    def on_initialize(self, args: Arguments) -> dict[str, Any]:
        self.lines_start_at_1 = args.get_bool("linesStartAt1", True)
        self.columns_start_at_1 = args.get_bool("columnsStartAt1", True)
        self.connection.after_response(lambda: self.connection.send_event("initialized"))
        return capabilities()

    def on_launch(self, args: Arguments) -> Deferred:
        if self.runtime is not None:
            raise RequestError("this session has already launched")
        try:
            return self._launch_runtime(args)
        except RequestError as error:
            # setBreakpoints requests that waited for the launch get its error.
            for _, deferred in self._pending_breakpoints:
                deferred.reject(f"no breakpoints: {error.message}")
            self._pending_breakpoints.clear()
            raise

    def _launch_runtime(self, args: Arguments) -> Deferred:
        configuration = LaunchConfiguration.from_arguments(args)
        self._configure_log_file(configuration.log_file)
        self.stop_on_entry = configuration.stop_on_entry
        runtime = configuration.build_runtime(self._output)
        model = runtime.model
        with self._lock:
            self.runtime = runtime
            self.evaluator = Evaluator(model, self.formatter, runtime.reference)
            if model.path is not None:
                path = model.path.resolve()
                self._source = {"name": path.name, "path": str(path)}
        # One worker per episode, so a long run of one episode never delays another.
        self._worker = ThreadPoolExecutor(
            max_workers=len(runtime.episodes), thread_name_prefix="pomdb-run"
        )
        self._output(
            f"pomdb: {model.name} under {runtime.policy.name}, {configuration.describe()}\n"
        )
        if runtime.reference is not None:
            self._output(f"pomdb: reference {runtime.reference.describe()}\n")
        for pending_args, deferred in self._pending_breakpoints:
            try:
                deferred.resolve(self._set_breakpoints(pending_args))
            except RequestError as error:
                deferred.reject(error)
        self._pending_breakpoints.clear()
        self._launch = Deferred()
        return self._launch

    def on_configurationDone(self, args: Arguments) -> None:
        if self.runtime is None or self._launch is None:
            raise RequestError("configurationDone before launch")
        self.connection.after_response(self._start)

    def _start(self) -> None:
        self._launch.resolve()
        for episode in self.runtime.episodes.values():
            self.connection.send_event("thread", {"reason": "started", "threadId": episode.id})
        for episode in self.runtime.episodes.values():
            stop = self.runtime.start(episode)
            if stop is None and self.stop_on_entry:
                stop = Stop("entry", "t=0", [])
            if stop is not None:
                self._stopped(episode, stop)
            else:
                self.connection.send_event(
                    "continued", {"threadId": episode.id, "allThreadsContinued": False}
                )
                self._run(episode, self.runtime.run_forward)

    # Breakpoints.

    def on_setBreakpoints(self, args: Arguments) -> dict[str, Any] | Deferred:
        if self.runtime is None:
            deferred = Deferred()
            self._pending_breakpoints.append((args, deferred))
            return deferred
        return self._set_breakpoints(args)

    def _set_breakpoints(self, args: Arguments) -> dict[str, Any]:
        source = args.get_dict("source")
        path = source.get_str("path", None)
        specs = [dict(spec) for spec in args.get_list("breakpoints", [], item_type=dict)]
        offset = 0 if self.lines_start_at_1 else 1
        model = self.runtime.model
        if path is None or model.path is None or not _same_file(path, model.path):
            return {
                "breakpoints": [
                    {
                        "verified": False,
                        "line": spec.get("line"),
                        "message": f"not the scenario of this session ({model.path})",
                    }
                    for spec in specs
                ]
            }
        for spec in specs:
            if not isinstance(spec.get("line"), int):
                raise RequestError("setBreakpoints: each breakpoint needs an integer 'line'")
            spec["line"] += offset
        with self._lock:
            breakpoints = self.runtime.breakpoints.set_source_breakpoints(specs)
        return {"breakpoints": [self._breakpoint_body(b, source) for b in breakpoints]}

    def on_setFunctionBreakpoints(self, args: Arguments) -> dict[str, Any]:
        runtime = self._require_runtime()
        specs = [dict(spec) for spec in args.get_list("breakpoints", [], item_type=dict)]
        for spec in specs:
            if not isinstance(spec.get("name"), str):
                raise RequestError("setFunctionBreakpoints: each breakpoint needs a 'name'")
        with self._lock:
            breakpoints = runtime.breakpoints.set_function_breakpoints(specs)
        return {"breakpoints": [self._breakpoint_body(b) for b in breakpoints]}

    def on_setExceptionBreakpoints(self, args: Arguments) -> dict[str, Any]:
        runtime = self._require_runtime()
        filters = args.get_list("filters", [], item_type=str)
        options = [dict(o) for o in args.get_list("filterOptions", [], item_type=dict)]
        with self._lock:
            errors = runtime.breakpoints.set_filters(filters, options)
        for error in errors:
            self._output(f"pomdb: {error}\n", "stderr")
        enabled = {f.id for f in runtime.breakpoints.filters}
        requested = filters + [o.get("filterId") for o in options]
        return {
            "breakpoints": [
                {"verified": f in enabled}
                | ({} if f in enabled else {"message": _first_match(errors, f)})
                for f in requested
            ]
        }

    def _breakpoint_body(self, breakpoint, source: Arguments | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"id": breakpoint.id, "verified": breakpoint.verified}
        if breakpoint.message:
            body["message"] = breakpoint.message
        if breakpoint.line is not None:
            body["line"] = breakpoint.line - (0 if self.lines_start_at_1 else 1)
        if source is not None:
            body["source"] = dict(source)
        return body

    # Threads, frames, scopes and variables.

    def on_threads(self, args: Arguments) -> dict[str, Any]:
        runtime = self.runtime
        episodes = runtime.episodes.values() if runtime else []
        return {"threads": [{"id": e.id, "name": e.name} for e in episodes]}

    def on_stackTrace(self, args: Arguments) -> dict[str, Any]:
        episode = self._stopped_episode(args.get_int("threadId"))
        start = max(args.get_int("startFrame", 0), 0)
        levels = args.get_int("levels", 0)
        with self._lock:
            newest = episode.cursor
            end = newest + 1 if levels <= 0 else min(newest + 1, start + levels)
            frames = [self._frame(episode, newest - i) for i in range(start, end)]
        return {"stackFrames": frames, "totalFrames": newest + 1}

    def _frame(self, episode: EpisodeRun, t: int) -> dict[str, Any]:
        model = self.runtime.model
        step = episode.steps[t]
        kind, index = ("state", step.state) if step.state is not None else ("action", step.action)
        line = next(
            (d.line for d in model.declarations if d.kind == kind and d.index == index), 1
        )
        frame = {
            "id": frame_id(episode.id, t),
            "name": frame_name(model, step),
            "line": line - (0 if self.lines_start_at_1 else 1),
            "column": 1 if self.columns_start_at_1 else 0,
        }
        if self._source is not None:
            frame["source"] = self._source
        return frame

    def on_scopes(self, args: Arguments) -> dict[str, Any]:
        frame = args.get_int("frameId")
        episode, t = self._frame_step(frame)
        scopes = [
            {
                "name": name,
                "variablesReference": frame * _SCOPE_SPAN + index + 1,
                "expensive": False,
                **({"presentationHint": "locals"} if name == "Belief" else {}),
            }
            for index, name in enumerate(SCOPES)
        ]
        reference = self.runtime.reference
        if reference is not None:
            # Monte Carlo action values take a while, so VS Code fetches them on demand.
            scopes.append({
                "name": comparison_scope(reference),
                "variablesReference": frame * _SCOPE_SPAN + len(SCOPES) + 1,
                "expensive": not reference.exact,
            })  # fmt: skip
        return {"scopes": scopes}

    def on_variables(self, args: Arguments) -> dict[str, Any]:
        reference = args.get_int("variablesReference")
        frame, scope = divmod(reference - 1, _SCOPE_SPAN)
        runtime = self._require_runtime()
        if reference < 1 or scope >= len(SCOPES) + (runtime.reference is not None):
            raise RequestError(f"variables: unknown variablesReference {reference}")
        episode, t = self._frame_step(frame)
        with self._lock:
            step = episode.steps[t]
            previous = episode.steps[t - 1] if t > 0 else None
            if scope < len(SCOPES):
                variables = scope_variables(
                    SCOPES[scope], runtime.model, step, previous, self.formatter
                )
        if scope == len(SCOPES):
            # Outside the lock: rollouts must not hold up requests about other episodes.
            variables = optimal_variables(
                runtime.model, step, runtime.reference, self.formatter
            )
        start = max(args.get_int("start", 0), 0)
        count = args.get_int("count", 0)
        return {"variables": variables[start : start + count if count > 0 else None]}

    # Run control.

    def on_continue(self, args: Arguments) -> dict[str, Any]:
        episode = self._stopped_episode(args.get_int("threadId"))
        self.connection.after_response(lambda: self._run(episode, self.runtime.run_forward))
        return {"allThreadsContinued": False}

    def on_next(self, args: Arguments) -> None:
        self._step(args, lambda e: self.runtime.step_forward(e))

    def on_stepIn(self, args: Arguments) -> None:
        self._step(args, lambda e: self.runtime.step_forward(e))

    def on_stepOut(self, args: Arguments) -> None:
        self._step(args, lambda e: self.runtime.run_forward(e, until_stop_action=True))

    def on_stepBack(self, args: Arguments) -> None:
        self._step(args, lambda e: self.runtime.step_back(e))

    def on_reverseContinue(self, args: Arguments) -> None:
        self._step(args, lambda e: self.runtime.run_backward(e))

    def on_pause(self, args: Arguments) -> None:
        episode = self._episode(args.get_int("threadId"))
        if episode.id in self._running:
            episode.pause_requested.set()
        else:
            stop = Stop("pause", f"paused at t={episode.current.t}", [])
            self.connection.after_response(lambda: self._stopped(episode, stop))

    def on_gotoTargets(self, args: Arguments) -> dict[str, Any]:
        runtime = self._require_runtime()
        path = args.get_dict("source").get_str("path", None)
        line = args.get_int("line") + (0 if self.lines_start_at_1 else 1)
        declaration = runtime.model.declaration(line)
        if declaration is None or path is None or not _same_file(path, runtime.model.path):
            return {"targets": []}
        targets = []
        with self._lock:
            for episode in runtime.episodes.values():
                for step in episode.steps:
                    if declaration_matches(declaration, step):
                        targets.append({"id": step.t + 1, "label": f"t={step.t}", "line": line})
                break  # targets of the first episode; goto applies them to any thread
        return {"targets": targets}

    def on_goto(self, args: Arguments) -> None:
        episode = self._stopped_episode(args.get_int("threadId"))
        t = args.get_int("targetId") - 1
        try:
            with self._lock:
                stop = self.runtime.goto(episode, t)
        except ValueError as error:
            raise RequestError(f"goto: {error}") from None
        self.connection.after_response(lambda: self._stopped(episode, stop))

    def _step(self, args: Arguments, action: Callable[[EpisodeRun], Stop]) -> None:
        episode = self._stopped_episode(args.get_int("threadId"))
        self.connection.after_response(lambda: self._run(episode, action))

    def _run(self, episode: EpisodeRun, action: Callable[[EpisodeRun], Stop]) -> None:
        # A pause that arrived after the previous run had stopped is stale.
        episode.pause_requested.clear()
        self._running.add(episode.id)

        # The run holds no session lock, so requests about other episodes, new
        # breakpoints and pause are served while it plays.
        def play() -> None:
            try:
                stop = action(episode)
            except Exception as error:  # reported to the user, the session goes on
                logger.exception("episode %d: run failed", episode.id)
                stop = Stop("exception", f"internal error: {error}", [])
            self._running.discard(episode.id)
            self._stopped(episode, stop)

        self._worker.submit(play)

    def _stopped(self, episode: EpisodeRun, stop: Stop) -> None:
        self._last_stop[episode.id] = stop
        body: dict[str, Any] = {
            "reason": stop.reason,
            "description": stop.description,
            "threadId": episode.id,
            "allThreadsStopped": False,
            "preserveFocusHint": False,
        }
        if stop.breakpoint_ids:
            body["hitBreakpointIds"] = stop.breakpoint_ids
        if stop.reason == "exception":
            body["text"] = EVENT_FILTERS.get(stop.filter_id, ("error",))[0]
        self.connection.send_event("stopped", body)

    def on_exceptionInfo(self, args: Arguments) -> dict[str, Any]:
        episode = self._stopped_episode(args.get_int("threadId"))
        stop = self._last_stop.get(episode.id)
        if stop is None or stop.reason != "exception":
            raise RequestError(f"exceptionInfo: thread {episode.id} did not stop on an event")
        label = EVENT_FILTERS.get(stop.filter_id, ("error",))[0]
        return {
            "exceptionId": stop.filter_id or "error",
            "description": f"{label}: {stop.description}",
            "breakMode": "always",
        }

    # Expressions.

    def on_evaluate(self, args: Arguments) -> dict[str, Any]:
        self._require_runtime()
        expression = args.get_str("expression")
        context = args.get_str("context", "repl")
        frame = args.get_int("frameId", None)
        if frame is None:
            episode = self._stopped_episode(min(self.runtime.episodes))
            t = episode.cursor
        else:
            episode, t = self._frame_step(frame)
        with self._lock:
            step = episode.steps[t]
        return self.evaluator.evaluate(expression, step, context)

    # Shutdown.

    def on_terminate(self, args: Arguments) -> None:
        self.connection.after_response(self._terminated)

    def on_disconnect(self, args: Arguments) -> None:
        self.connection.after_response(self._close)

    def _terminated(self) -> None:
        for episode in (self.runtime.episodes.values() if self.runtime else []):
            episode.pause_requested.set()
            self.connection.send_event("thread", {"reason": "exited", "threadId": episode.id})
        self.connection.send_event("exited", {"exitCode": 0})
        self.connection.send_event("terminated")

    def _close(self) -> None:
        for episode in (self.runtime.episodes.values() if self.runtime else []):
            episode.pause_requested.set()
        self._worker.shutdown(wait=True)
        self.connection.close()

    def connection_lost(self, error: Exception | None) -> None:
        for episode in self.runtime.episodes.values() if self.runtime else []:
            episode.pause_requested.set()
        self._worker.shutdown(wait=False, cancel_futures=True)
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
            self._log_handler.close()

    # Helpers.

    def _output(self, text: str, category: str = "console") -> None:
        self.connection.send_event("output", {"category": category, "output": text})

    def _configure_log_file(self, path: str | None) -> None:
        if not path:
            return
        try:
            handler = logging.FileHandler(path, encoding="utf-8")
        except OSError as error:
            raise RequestError(f"launch: cannot open logFile {path}: {error}") from None
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        self._log_handler = handler

    def _require_runtime(self) -> Runtime:
        if self.runtime is None:
            raise RequestError("no debug session: send launch first")
        return self.runtime

    def _episode(self, thread_id: int) -> EpisodeRun:
        try:
            return self._require_runtime().episode(thread_id)
        except KeyError:
            raise RequestError(f"unknown threadId {thread_id}") from None

    def _stopped_episode(self, thread_id: int) -> EpisodeRun:
        episode = self._episode(thread_id)
        if episode.id in self._running:
            raise RequestError(f"episode {thread_id} is running; pause it first")
        if episode.cursor < 0:
            raise RequestError(f"episode {thread_id} has not started")
        return episode

    def _frame_step(self, frame: int) -> tuple[EpisodeRun, int]:
        episode_id, t = split_frame_id(frame)
        runtime = self._require_runtime()
        if frame < 1 or episode_id not in runtime.episodes:
            raise RequestError(f"unknown frameId {frame}", show_user=False)
        episode = self._stopped_episode(episode_id)
        # After a step back a client may still request a frame above the cursor.
        # That step is in the history, so the request succeeds.
        if t >= len(episode.steps):
            raise RequestError(f"unknown frameId {frame}", show_user=False)
        return episode, t


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def _first_match(errors: list[str], filter_id: str) -> str:
    return next((e for e in errors if filter_id in e), "rejected")
