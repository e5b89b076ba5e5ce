"""Cost of each part of a DAP round trip inside pomdb's adapter, without pipes.

Feeds framed requests from memory to `adapter.connection.Connection` with the real
`Session`, so parsing, dispatch, the handlers, encoding and logging are all measured,
but no pipe or second process is involved. The episode is moved to t=19 with `goto`,
so `stackTrace` with levels 20 returns 20 frames. Logging is configured as
`python -m adapter` configures it without --log-file: root logger at WARNING,
warnings to stderr, so no debug log line is paid for.

Prints microseconds per request of stackTrace, scopes and variables (the difference
between a stream with N requests and the set-up stream alone), then a cProfile of
N round trips of stackTrace, scopes and variables of the Belief scope.

    .venv/bin/python bench/profile_requests.py [--requests 400] [--json FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import sys
import time

from machine import REPO, SAMPLE_SCENARIO, describe, write_results
from pomdb_rates import POLICY, load_sample
from profiles import print_table, profile_rows

sys.path.insert(0, str(REPO))

from adapter.connection import Connection
from adapter.framing import MessageReader, encode_message
from adapter.session import Session
from simcore.episode import simulate

TOP_STEP = 19


def episode_seed_with(min_steps: int) -> int:
    """Return the first seed whose episode 0 of the sample lasts `min_steps` steps."""
    model, policy = load_sample()
    for seed in range(1000):
        if len(simulate(model, policy, seed)) >= min_steps:
            return seed
    raise RuntimeError(f"no seed below 1000 gives an episode of {min_steps} steps")


class Stream:
    """A byte stream of framed requests with increasing `seq`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._seq = 0

    def add(self, command: str, arguments: dict | None = None) -> Stream:
        self._seq += 1
        message = {"seq": self._seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = arguments
        self._parts.append(encode_message(message))
        return self

    def repeat(self, requests: list[tuple[str, dict]], times: int) -> Stream:
        for _ in range(times):
            for command, arguments in requests:
                self.add(command, arguments)
        return self

    def serve(self) -> None:
        """Serve the stream with a new Session, writing to the null device.

        The adapter flushes each message, so each costs one write system call, as
        it does on a pipe.
        """
        with open(os.devnull, "wb") as output:
            Connection(io.BytesIO(b"".join(self._parts)), output, Session).serve()

    def responses(self) -> dict[str, list[dict]]:
        """Serve the stream with a new Session; return its responses by command.

        Raises RuntimeError on an error response.
        """
        output = io.BytesIO()
        Connection(io.BytesIO(b"".join(self._parts)), output, Session).serve()
        reader = MessageReader()
        reader.feed(output.getvalue())
        found: dict[str, list[dict]] = {}
        for message in reader:
            if message["type"] != "response":
                continue
            if not message["success"]:
                command = message["command"]
                raise RuntimeError(f"{command} failed: {message.get('message')}")
            found.setdefault(message["command"], []).append(message)
        return found


def set_up(seed: int) -> Stream:
    launch = {
        "scenario": str(SAMPLE_SCENARIO),
        "policy": POLICY,
        "seed": seed,
        "episodes": 1,
        "stopOnEntry": True,
    }
    stream = Stream().add("initialize", {"adapterID": "pomdp"}).add("launch", launch)
    # pomdb's goto target ids are t + 1, as its gotoTargets response gives them.
    goto = {"threadId": 1, "targetId": TOP_STEP + 1}
    return stream.add("configurationDone").add("goto", goto)


def timed(stream: Stream, repeats: int = 3) -> float:
    """Return the least wall-clock time of serving `stream`, over `repeats` runs."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        stream.serve()
        best = min(best, time.perf_counter() - start)
    return best


def measure(count: int, limit: int) -> dict[str, object]:
    seed = episode_seed_with(TOP_STEP + 1)
    trace_request = ("stackTrace", {"threadId": 1, "startFrame": 0, "levels": 20})
    probe = set_up(seed).add(*trace_request).responses()
    frames = probe["stackTrace"][0]["body"]["stackFrames"]
    frame_request = ("scopes", {"frameId": frames[0]["id"]})
    scopes = set_up(seed).add(*frame_request).responses()["scopes"][0]["body"]["scopes"]
    belief_request = (
        "variables",
        {"variablesReference": scopes[0]["variablesReference"]},
    )
    all_requests = [
        ("variables", {"variablesReference": scope["variablesReference"]})
        for scope in scopes
    ]

    baseline = timed(set_up(seed))
    per_request = {}
    for label, requests in (
        (f"stackTrace ({len(frames)} frames)", [trace_request]),
        ("scopes", [frame_request]),
        (f"variables ({scopes[0]['name']})", [belief_request]),
        (f"variables (all {len(scopes)} scopes, per request)", all_requests),
    ):
        elapsed = timed(set_up(seed).repeat(requests, count)) - baseline
        per_request[label] = elapsed / (count * len(requests)) * 1e6

    round_trip = [trace_request, frame_request, belief_request]
    profiler = cProfile.Profile()
    stream = set_up(seed).repeat(round_trip, count)
    profiler.enable()
    stream.serve()
    profiler.disable()
    stats = pstats.Stats(profiler)
    return {
        "seed": seed,
        "frames": len(frames),
        "us_per_request": per_request,
        "profiled_round_trips": count,
        "cumulative": profile_rows(stats, count, limit, "cumulative", False),
        "own": profile_rows(stats, count, limit, "own", False),
    }


def print_report(result: dict[str, object]) -> None:
    print("pomdb adapter, in process: µs per request (parse, handle, encode, log)")
    for label, micros in result["us_per_request"].items():
        print(f"  {label:<40} {micros:>8.1f}")
    print(
        f"\ncProfile of {result['profiled_round_trips']} round trips of stackTrace, "
        "scopes and variables (Belief); figures per round trip"
    )
    print_table(
        "all functions by cumulative time",
        result["cumulative"],
        "round trip",
    )
    print_table("all functions by own time", result["own"], "round trip")


def configure_logging() -> None:
    """Configure the root logger as `python -m adapter` does without --log-file."""
    root = logging.getLogger()
    root.setLevel(logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    root.addHandler(handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=400, help="requests of each kind per stream"
    )
    parser.add_argument("--top", type=int, default=15, help="functions per table")
    parser.add_argument("--quick", action="store_true", help="50 requests: a smoke run")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests = 50

    configure_logging()
    result = measure(args.requests, args.top)
    result["settings"] = {"requests": args.requests, "top": args.top}
    result["machine"] = describe()
    print_report(result)
    write_results(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
