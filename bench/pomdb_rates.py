"""pomdb's simulated steps per second: under the debugger's runtime, over DAP, and raw.

Every function plays the sample scenario under the policy threshold:0.5 for at least
`seconds` and returns a `Rate`. Timed work includes creating the episodes, as CSLE's
rate includes `reset`.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from dap_steppers import END_OF_EPISODE, INITIALIZE, START_TIMEOUT
from machine import REPO, SAMPLE_SCENARIO

sys.path.insert(0, str(REPO))

from adapter.client import DapClient
from adapter.runtime import Runtime
from simcore.episode import Simulator, episode_seed
from simcore.model import POMDP
from simcore.policies import THRESHOLD_STEEPNESS, Policy, load_policy
from simcore.scenario import load_scenario
from simcore.vector_env import VectorEnv

POLICY = "threshold:0.5"
THRESHOLD = 0.5
# A condition that never holds, so `continue` runs every episode to its end.
NEVER = "pi.stop > 2"
EPISODES_PER_RUNTIME = 50
VECTOR_ENVS = 64


@dataclass(frozen=True)
class Rate:
    """Steps played in `seconds` of wall-clock time and `cpu_seconds` of the process
    that played them (None when they were played in another process)."""

    steps: int
    episodes: int
    seconds: float
    cpu_seconds: float | None

    @property
    def per_second(self) -> float:
        return self.steps / self.seconds

    @property
    def per_cpu_second(self) -> float | None:
        return self.steps / self.cpu_seconds if self.cpu_seconds else None


class Timer:
    """Wall-clock and process CPU time since creation."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def wall(self) -> float:
        return time.perf_counter() - self._wall

    def rate(self, steps: int, episodes: int) -> Rate:
        cpu = time.process_time() - self._cpu
        return Rate(steps, episodes, self.wall(), cpu)


def load_sample() -> tuple[POMDP, Policy]:
    model = load_scenario(SAMPLE_SCENARIO)
    return model, load_policy(POLICY, model)


def stop_line(model: POMDP) -> int:
    """Return the scenario line that declares the action `stop`."""
    for declaration in model.declarations:
        if declaration.kind == "action" and declaration.name == "stop":
            return declaration.line
    raise RuntimeError(f"{model.path}: no line declares the action 'stop'")


def runtime_rate(
    model: POMDP, policy: Policy, breakpoint_kind: str, seed: int, seconds: float
) -> Rate:
    """Run episodes to their end with `Runtime.run_forward`.

    `breakpoint_kind` is "none", "function" (function breakpoint NEVER) or "action" (a
    breakpoint on the `stop` line with condition `p > 2`, which never holds).
    """
    steps = episodes = chunk = 0
    timer = Timer()
    while timer.wall() < seconds:
        runtime = Runtime(model, policy)
        if breakpoint_kind == "function":
            runtime.breakpoints.set_function_breakpoints([{"name": NEVER}])
        elif breakpoint_kind == "action":
            runtime.breakpoints.set_source_breakpoints(
                [{"line": stop_line(model), "condition": "p > 2"}]
            )
        runtime.add_simulated(seed * 100_000 + chunk, EPISODES_PER_RUNTIME, None)
        for episode in runtime.episodes.values():
            stop = runtime.start(episode) or runtime.run_forward(episode)
            if stop.reason != END_OF_EPISODE:
                raise RuntimeError(
                    f"episode {episode.id} stopped before its end ({stop}); "
                    f"no breakpoint should fire"
                )
            steps += len(episode.steps)
        episodes += EPISODES_PER_RUNTIME
        chunk += 1
    return timer.rate(steps, episodes)


def simulator_rate(model: POMDP, policy: Policy, seed: int, seconds: float) -> Rate:
    """Play episodes with `simcore.episode.Simulator` alone, no debugger."""
    steps = episodes = 0
    timer = Timer()
    while timer.wall() < seconds:
        for _ in Simulator(model, policy, episode_seed(seed, episodes)):
            steps += 1
        episodes += 1
    return timer.rate(steps, episodes)


def vector_rate(model: POMDP, seed: int, seconds: float) -> Rate:
    """Step VECTOR_ENVS episodes at once with VectorEnv and a vectorised threshold."""
    env = VectorEnv(model, VECTOR_ENVS, seed)
    rng = np.random.default_rng(seed)
    intrusion = model.states.index("intrusion")
    stop, carry_on = model.stop_action, 1 - model.stop_action
    logit_threshold = np.log(THRESHOLD) - np.log1p(-THRESHOLD)
    steps = episodes = 0
    timer = Timer()
    while timer.wall() < seconds:
        for _ in range(50):
            belief = env.beliefs[:, intrusion]
            with np.errstate(divide="ignore"):
                logit = np.log(belief) - np.log1p(-belief)
            p_stop = expit(THRESHOLD_STEEPNESS * (logit - logit_threshold))
            actions = np.where(rng.random(VECTOR_ENVS) < p_stop, stop, carry_on)
            result = env.step(actions)
            steps += VECTOR_ENVS
            episodes += int(result.dones.sum())
    return timer.rate(steps, episodes)


def _succeeded(response: dict) -> dict:
    if not response.get("success"):
        raise RuntimeError(
            f"{response.get('command')} failed: {response.get('message')}"
        )
    return response


def dap_continue_rate(seed: int, episodes: int) -> Rate:
    """Continue each of `episodes` threads to its end over DAP, with breakpoint NEVER.

    The steps counted are those played by `continue`: totalFrames - 1 per episode,
    since step t=0 is played before the stop on entry.
    """
    client = DapClient.start([sys.executable, "-m", "adapter"], cwd=REPO)
    try:
        _succeeded(client.request("initialize", {**INITIALIZE, "adapterID": "pomdp"}))
        launch = client.send_request(
            "launch",
            {
                "scenario": str(SAMPLE_SCENARIO),
                "policy": POLICY,
                "seed": seed,
                "episodes": episodes,
                "stopOnEntry": True,
            },
        )
        client.wait_event("initialized", START_TIMEOUT)
        response = client.request(
            "setFunctionBreakpoints", {"breakpoints": [{"name": NEVER}]}
        )
        if not _succeeded(response)["body"]["breakpoints"][0]["verified"]:
            raise RuntimeError(f"the breakpoint {NEVER!r} was not verified: {response}")
        _succeeded(client.request("configurationDone"))
        _succeeded(client.wait_response(launch, START_TIMEOUT))
        for _ in range(episodes):
            client.wait_event("stopped", START_TIMEOUT)

        steps = 0
        timer = Timer()
        for thread in range(1, episodes + 1):
            _succeeded(client.request("continue", {"threadId": thread}))
            stopped = client.wait_event(
                "stopped",
                predicate=lambda event, thread=thread: (
                    event["body"]["threadId"] == thread
                ),
            )
            trace = client.request(
                "stackTrace", {"threadId": thread, "startFrame": 0, "levels": 20}
            )
            if stopped["body"]["reason"] != END_OF_EPISODE:
                raise RuntimeError(
                    f"thread {thread} stopped before its end ({stopped['body']}); "
                    f"the breakpoint {NEVER!r} should never fire"
                )
            steps += _succeeded(trace)["body"]["totalFrames"] - 1
        # The adapter process plays the steps, so this process's CPU time is left out.
        rate = Rate(steps, episodes, timer.wall(), None)
        client.request("disconnect", {})
    finally:
        client.close()
    return rate
