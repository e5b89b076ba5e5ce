"""`pomdb debug`: the debugger at a terminal prompt, a DAP client of `python -m adapter`.

Commands (type `help` at the prompt):

    next | n            one step forward          back | b       one step back
    continue | c        run to the next hit       reverse | rc   run back to the previous hit
    out                 run past the next stop    goto T          jump to step T
    break NAME [if EXPR]  break on a state, action or observation declared in the scenario
    break when EXPR     break where an expression holds (e.g. pi.stop > 0.8)
    event NAME [COND]   break on a security event (stop, intrusion_start, false_alarm,
                        missed_intrusion, deviation: the action differs from the
                        reference's, e.g. event deviation regret > 0.1)
    delete              remove every breakpoint and event
    print EXPR | p      evaluate an expression at the current step
    frames [N] | bt     list the newest N steps          info   show the current step
    thread N            switch to episode N              threads  list the episodes
    quit | q
"""

from __future__ import annotations

import argparse
import shlex
import sys
import threading
from pathlib import Path
from typing import Any, Callable, TextIO

from simcore.model import ModelError
from simcore.scenario import load_scenario

from adapter.client import DapClient
from adapter.reference import DEFAULT_ROLLOUTS
from adapter.variables import OPTIMAL_SCOPE, REFERENCE_SCOPE

PROMPT = "(pomdb) "


class DebugError(RuntimeError):
    """A request the adapter rejected; the message is the adapter's."""


class TerminalDebugger:
    """Drives a debug session over DAP and prints what a user needs at each stop."""

    def __init__(self, client: DapClient, scenario: Path, out: TextIO = sys.stdout):
        self.client = client
        self.scenario = scenario.resolve()
        self.model = load_scenario(scenario)
        self.out = out
        self.thread = 1
        self.source_breakpoints: list[dict[str, Any]] = []
        self.function_breakpoints: list[dict[str, Any]] = []
        self.filter_options: list[dict[str, Any]] = []
        self._output_seen = 0
        self.commands: dict[str, Callable[[str], bool]] = {
            "next": self.cmd_next, "n": self.cmd_next,
            "back": self.cmd_back, "b": self.cmd_back,
            "continue": self.cmd_continue, "c": self.cmd_continue,
            "reverse": self.cmd_reverse, "rc": self.cmd_reverse,
            "out": self.cmd_out,
            "goto": self.cmd_goto,
            "break": self.cmd_break,
            "event": self.cmd_event,
            "delete": self.cmd_delete,
            "print": self.cmd_print, "p": self.cmd_print,
            "frames": self.cmd_frames, "bt": self.cmd_frames,
            "info": self.cmd_info,
            "thread": self.cmd_thread,
            "threads": self.cmd_threads,
            "help": self.cmd_help,
            "quit": self.cmd_quit, "q": self.cmd_quit,
        }  # fmt: skip

    # Session start and stop.

    def launch(self, arguments: dict[str, Any]) -> None:
        """Run the DAP start-up sequence and print the first stop."""
        self.request("initialize", {"adapterID": "pomdp", "clientID": "pomdb-terminal",
                                    "linesStartAt1": True, "columnsStartAt1": True})  # fmt: skip
        launch_seq = self.client.send_request("launch", arguments)
        self.client.wait_event("initialized")
        done_seq = self.client.send_request("configurationDone")
        # A failed launch returns its error response at once, so configurationDone
        # fails too. The launch error names the cause, so it is checked first.
        for seq, command in ((launch_seq, "launch"), (done_seq, "configurationDone")):
            response = self.client.wait_response(seq)
            if not response["success"]:
                raise DebugError(response.get("message", f"{command} failed"))
        self._print_outputs()
        self.request("threads")
        self._wait_stop()

    def close(self) -> None:
        try:
            self.client.request("disconnect", {"terminateDebuggee": True}, timeout=5)
        except (TimeoutError, OSError):
            pass
        self.client.close()

    # The prompt.

    def execute(self, line: str) -> bool:
        """Run one command line; return False when the user quits."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        name, _, rest = line.partition(" ")
        command = self.commands.get(name)
        if command is None:
            self.print(f"unknown command {name!r}; type 'help' for the list")
            return True
        try:
            return command(rest.strip())
        except DebugError as error:
            self.print(f"error: {error}")
            return True

    def repl(self, stream: TextIO, echo: bool = False) -> None:
        interactive = stream.isatty() and not echo
        while True:
            if interactive:
                self.out.write(PROMPT)
                self.out.flush()
            line = stream.readline()
            if not line:
                return
            if echo and line.strip() and not line.lstrip().startswith("#"):
                self.print(f"\n{PROMPT}{line.strip()}")
            if not self.execute(line):
                return

    # Commands.

    def cmd_next(self, rest: str) -> bool:
        return self._move("next")

    def cmd_back(self, rest: str) -> bool:
        return self._move("stepBack")

    def cmd_continue(self, rest: str) -> bool:
        return self._move("continue")

    def cmd_reverse(self, rest: str) -> bool:
        return self._move("reverseContinue")

    def cmd_out(self, rest: str) -> bool:
        return self._move("stepOut")

    def cmd_goto(self, rest: str) -> bool:
        t = self._integer(rest, "goto T: T must be a step number")
        self.request("goto", {"threadId": self.thread, "targetId": t + 1})
        self._wait_stop()
        return True

    def cmd_break(self, rest: str) -> bool:
        if rest.startswith("when "):
            self.function_breakpoints.append({"name": rest[5:].strip()})
            body = self.request("setFunctionBreakpoints",
                                {"breakpoints": self.function_breakpoints})  # fmt: skip
            self._report_breakpoint(body["breakpoints"][-1], f"when {rest[5:].strip()}",
                                    self.function_breakpoints)  # fmt: skip
            return True
        name, _, condition = rest.partition(" if ")
        name = name.strip()
        declaration = next((d for d in self.model.declarations if d.name == name), None)
        if declaration is None:
            names = ", ".join(d.name for d in self.model.declarations)
            raise DebugError(f"{name!r} is not declared in the scenario; declared: {names}")
        spec: dict[str, Any] = {"line": declaration.line}
        if condition.strip():
            spec["condition"] = condition.strip()
        self.source_breakpoints.append(spec)
        body = self.request("setBreakpoints", {
            "source": {"path": str(self.scenario), "name": self.scenario.name},
            "breakpoints": self.source_breakpoints,
        })  # fmt: skip
        label = f"{declaration.kind} {name} (line {declaration.line})"
        if condition.strip():
            label += f" if {condition.strip()}"
        self._report_breakpoint(body["breakpoints"][-1], label, self.source_breakpoints)
        return True

    def cmd_event(self, rest: str) -> bool:
        name, _, condition = rest.partition(" ")
        option = {"filterId": name}
        if condition.strip():
            option["condition"] = condition.strip()
        options = [o for o in self.filter_options if o["filterId"] != name] + [option]
        body = self.request("setExceptionBreakpoints", {"filters": [], "filterOptions": options})
        result = body["breakpoints"][-1]
        if result.get("verified"):
            self.filter_options = options
            self.print(f"break on event {name}" + (f" ({condition.strip()})" if condition else ""))
        else:
            self.print(f"event {name} rejected: {result.get('message')}")
        return True

    def cmd_delete(self, rest: str) -> bool:
        self.source_breakpoints, self.function_breakpoints, self.filter_options = [], [], []
        self.request("setBreakpoints", {"source": {"path": str(self.scenario)}, "breakpoints": []})
        self.request("setFunctionBreakpoints", {"breakpoints": []})
        self.request("setExceptionBreakpoints", {"filters": []})
        self.print("deleted every breakpoint and event")
        return True

    def cmd_print(self, rest: str) -> bool:
        if not rest:
            raise DebugError("print EXPR: give an expression, e.g. print b.intrusion")
        frame = self._frames(1)[0]["id"]
        body = self.request("evaluate", {"expression": rest, "frameId": frame, "context": "repl"})
        self.print(f"{rest} = {body['result']}")
        return True

    def cmd_frames(self, rest: str) -> bool:
        levels = self._integer(rest, "frames N: N must be a number") if rest else 10
        body = self.request("stackTrace", {"threadId": self.thread, "levels": levels})
        for frame in body["stackFrames"]:
            self.print(f"  {frame['name']}")
        hidden = body["totalFrames"] - len(body["stackFrames"])
        if hidden > 0:
            self.print(f"  ... {hidden} older step(s)")
        return True

    def cmd_info(self, rest: str) -> bool:
        self._print_step()
        return True

    def cmd_thread(self, rest: str) -> bool:
        thread = self._integer(rest, "thread N: N must be an episode number")
        ids = [t["id"] for t in self.request("threads")["threads"]]
        if thread not in ids:
            raise DebugError(f"no episode {thread}; episodes: {ids}")
        self.thread = thread
        self._print_step()
        return True

    def cmd_threads(self, rest: str) -> bool:
        for thread in self.request("threads")["threads"]:
            marker = "*" if thread["id"] == self.thread else " "
            self.print(f"{marker} {thread['id']}: {thread['name']}")
        return True

    def cmd_help(self, rest: str) -> bool:
        self.print(__doc__.split("Commands (type `help` at the prompt):", 1)[1].rstrip())
        return True

    def cmd_quit(self, rest: str) -> bool:
        return False

    # Helpers.

    def request(self, command: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.request(command, arguments)
        if not response["success"]:
            raise DebugError(response.get("message", f"{command} failed"))
        return response.get("body") or {}

    def print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _move(self, command: str) -> bool:
        self.request(command, {"threadId": self.thread})
        self._wait_stop()
        return True

    def _wait_stop(self) -> None:
        event = self._next_stopped_event()
        self._print_outputs()
        body = event["body"]
        reason = body["reason"]
        if body.get("hitBreakpointIds"):
            reason += " " + ", ".join(str(i) for i in body["hitBreakpointIds"])
        if body.get("text"):
            reason += f" ({body['text']})"
        self.print(f"stopped: {reason}: {body.get('description', '')}")
        self._print_step()

    def _next_stopped_event(self) -> dict[str, Any]:
        """Wait for the thread's next stop, as long as the run takes; Ctrl-C pauses."""
        while True:
            try:
                return self.client.wait_event(
                    "stopped",
                    timeout=threading.TIMEOUT_MAX,
                    predicate=lambda m: m["body"].get("threadId") == self.thread,
                )
            except KeyboardInterrupt:
                self.print("pausing the run")
                self.client.send_request("pause", {"threadId": self.thread})

    def _print_outputs(self) -> None:
        outputs = self.client.events("output")
        for event in outputs[self._output_seen :]:
            self.out.write(event["body"]["output"])
        self._output_seen = len(outputs)

    def _frames(self, levels: int) -> list[dict[str, Any]]:
        return self.request("stackTrace", {"threadId": self.thread, "levels": levels})[
            "stackFrames"
        ]

    def _print_step(self) -> None:
        frame = self._frames(1)[0]
        scopes = self.request("scopes", {"frameId": frame["id"]})["scopes"]
        values = {}
        for scope in scopes:
            variables = self.request(
                "variables", {"variablesReference": scope["variablesReference"]}
            )["variables"]
            values[scope["name"]] = variables
        self.print(f"  step        {frame['name']}")
        shown_scopes = ("Hidden", "Observation", "Belief", "Policy", "Reward") + (
            OPTIMAL_SCOPE,
            REFERENCE_SCOPE,
        )
        for scope in shown_scopes:
            if scope not in values:
                continue  # the comparison scope exists only with a reference policy
            shown: dict[str, str] = {}
            for variable in values[scope]:
                name, value = variable["name"], variable["value"]
                estimated = name.removesuffix(" standard error")
                if estimated != name and estimated in shown:
                    shown[estimated] += f" ± {value}"
                elif not name.startswith("Z(") and name != "reference":
                    shown[name] = value
            text = ", ".join(f"{name}={value}" for name, value in shown.items())
            self.print(f"  {scope.lower():<11} {text}")

    def _report_breakpoint(self, result: dict[str, Any], label: str, specs: list) -> None:
        if result.get("verified"):
            self.print(f"breakpoint {result.get('id')}: {label}")
        else:
            specs.pop()
            self.print(f"breakpoint rejected: {label}: {result.get('message')}")

    @staticmethod
    def _integer(text: str, message: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise DebugError(message) from None


def add_debug_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "debug",
        help="step through episodes at a terminal prompt",
        description="Start the debug adapter and step through episodes at a prompt.",
    )
    parser.add_argument("scenario", help="scenario file (YAML)")
    parser.add_argument("--policy", required=True,
                        help="policy file, threshold:A[,A...], first-alert, random or random:P")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the episodes")
    parser.add_argument("--episodes", type=int, default=1, help="episodes (threads) to simulate")
    parser.add_argument("--max-steps", type=int, help="step limit per episode")
    parser.add_argument("--trace", help="replay a recording or an observation trace instead")
    parser.add_argument("--reference",
                        help="reference policy to compare with, in the forms of --policy "
                             "or optimal; adds the Optimal scope (Reference for a "
                             "policy other than optimal) and the deviation event")
    parser.add_argument("--reference-rollouts", type=int,
                        help="Monte Carlo rollouts per action for a reference without "
                             f"exact action values (default {DEFAULT_ROLLOUTS})")
    parser.add_argument("--script", help="read commands from this file and echo them")
    parser.add_argument("--log-file", help="write the adapter's log to this file")
    parser.set_defaults(handler=run_debug)  # fmt: skip


def run_debug(args: argparse.Namespace) -> int:
    """Run `pomdb debug`: the prompt, or the commands of --script."""
    scenario = Path(args.scenario)
    arguments: dict[str, Any] = {
        "scenario": str(scenario.resolve()),
        "policy": _policy_argument(args.policy),
        "seed": args.seed,
        "episodes": args.episodes,
        "stopOnEntry": True,
    }  # fmt: skip
    if args.max_steps:
        arguments["maxSteps"] = args.max_steps
    if args.trace:
        arguments["trace"] = str(Path(args.trace).resolve())
    if args.reference:
        arguments["reference"] = _policy_argument(args.reference)
    if args.reference_rollouts is not None:
        arguments["referenceRollouts"] = args.reference_rollouts
    if args.log_file:
        arguments["logFile"] = str(Path(args.log_file).resolve())
    try:
        client = DapClient.start()
        debugger = TerminalDebugger(client, scenario)
    except ModelError as error:
        client.close()
        print(f"pomdb: error: {error}", file=sys.stderr)
        return 2
    try:
        debugger.launch(arguments)
        if args.script:
            with open(args.script, encoding="utf-8") as script:
                debugger.repl(script, echo=True)
        else:
            debugger.repl(sys.stdin)
    except DebugError as error:
        print(f"pomdb: error: {error}", file=sys.stderr)
        return 2
    finally:
        debugger.close()
    return 0


def _policy_argument(spec: str) -> str:
    """Return a policy spec with a file path made absolute for the adapter."""
    if ":" in spec or not Path(spec).exists():
        return spec
    return str(Path(spec).resolve())
