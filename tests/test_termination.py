"""Whether episodes must end: models where a policy can avoid the terminal states."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from simcore.model import POMDP
from simcore.scenario import load_scenario
from simcore.termination import (
    StepLimitError,
    can_run_forever,
    endless_states,
    reachable_states,
    require_step_limit,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLES = sorted((REPO / "samples").glob("*.yaml"))

# `wait` keeps `quiet` forever when quiet_stays is 1.0; `block` always ends the episode.
GUARD = """\
pomdb: 1
name: Guard
states:
  - quiet
  - attacked
  - done: {{terminal: true}}
  - unreachable
actions:
  - wait
  - block
observations:
  - calm
  - noisy
transition:
  wait:
    quiet: [{quiet_stays}, {quiet_leaves}, 0.0, 0.0]
    attacked: [0.0, 0.8, 0.2, 0.0]
    done: [0.0, 0.0, 1.0, 0.0]
    unreachable: [0.0, 0.0, 0.0, 1.0]
  block:
    quiet: [0.0, 0.0, 1.0, 0.0]
    attacked: [0.0, 0.0, 1.0, 0.0]
    done: [0.0, 0.0, 1.0, 0.0]
    unreachable: [0.0, 0.0, 0.0, 1.0]
observation:
  quiet: [0.8, 0.2]
  attacked: [0.3, 0.7]
  done: [0.5, 0.5]
  unreachable: [0.5, 0.5]
reward:
  wait: [1, -3, 0, 0]
  block: [-5, 5, 0, 0]
initial_belief: [1, 0, 0, 0]
discount: 1.0
{extra}"""


def guard(tmp_path: Path, quiet_stays: float, extra: str = "") -> POMDP:
    path = tmp_path / "guard.yaml"
    text = GUARD.format(
        quiet_stays=quiet_stays, quiet_leaves=round(1.0 - quiet_stays, 6), extra=extra
    )
    path.write_text(text)
    return load_scenario(path)


def test_waiting_forever_in_quiet_is_endless(tmp_path: Path) -> None:
    model = guard(tmp_path, 1.0)
    assert endless_states(model).tolist() == [True, False, False, True]
    # `block` enters `done`; nothing leads to `attacked` or `unreachable`.
    assert reachable_states(model).tolist() == [True, False, True, False]
    assert can_run_forever(model)


def test_leaving_quiet_ends_every_episode(tmp_path: Path) -> None:
    # From `attacked` every action can reach `done`; the endless state
    # `unreachable` is never visited.
    model = guard(tmp_path, 0.9)
    assert endless_states(model).tolist() == [False, False, False, True]
    assert reachable_states(model).tolist() == [True, True, True, False]
    assert not can_run_forever(model)


def test_step_limit_required_without_max_steps(tmp_path: Path) -> None:
    model = guard(tmp_path, 1.0)
    with pytest.raises(StepLimitError) as caught:
        require_step_limit(model, None, "pass --max-steps N")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'guard.yaml'}: some policy can keep")
    assert message.endswith("set max_steps in the scenario or pass --max-steps N")


def test_step_limit_given_by_caller_or_scenario(tmp_path: Path) -> None:
    require_step_limit(guard(tmp_path, 1.0), 20, "pass --max-steps N")
    require_step_limit(guard(tmp_path, 1.0, "max_steps: 50\n"), None, "unused")


def test_model_without_terminal_states_is_endless() -> None:
    tiger = load_scenario(REPO / "tests" / "data" / "scenarios" / "tiger.yaml")
    tiger.max_steps = None
    with pytest.raises(StepLimitError, match="the model has no terminal states"):
        require_step_limit(tiger, None, "pass --max-steps N")


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: path.name)
def test_samples_end_without_step_limit(sample: Path) -> None:
    model = load_scenario(sample)
    started = time.perf_counter()
    assert not can_run_forever(model)
    # One pass over the transition tensor: far below a millisecond for 3 states.
    assert time.perf_counter() - started < 0.05
