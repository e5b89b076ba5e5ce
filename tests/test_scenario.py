"""Scenario files: declarations with their lines, explicit tensors, and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simcore.model import Declaration, ModelError
from simcore.scenario import ScenarioError, load_scenario

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
DATA = Path(__file__).resolve().parent / "data" / "scenarios"
INVALID = DATA / "invalid"

TIGER_HEADER = """\
pomdb: 1
states:
  - tiger_left
  - tiger_right
actions:
  - listen
observations:
  - hear_left
  - hear_right
transition:
  listen:
    tiger_left: [1.0, 0.0]
    tiger_right: [0.0, 1.0]
observation:
  tiger_left: [0.85, 0.15]
  tiger_right: [0.15, 0.85]
reward:
  listen: [-1, -1]
"""


def test_sample_declaration_lines() -> None:
    model = load_scenario(SAMPLE)

    lines = {(d.kind, d.name): d.line for d in model.declarations}

    assert lines == {
        ("state", "no_intrusion"): 10,
        ("state", "intrusion"): 11,
        ("state", "terminal"): 12,
        ("action", "continue"): 14,
        ("action", "stop"): 15,
        ("attacker_action", "continue"): 17,
        ("attacker_action", "attack"): 18,
        ("observation_component", "alerts"): 20,
    }


def test_sample_declaration_at_line() -> None:
    model = load_scenario(SAMPLE)

    assert model.declaration(11) == Declaration("state", "intrusion", 1, 11)
    assert model.declaration(15) == Declaration("action", "stop", 1, 15)
    assert model.declaration(13) is None


def test_sample_names_and_settings() -> None:
    model = load_scenario(SAMPLE)

    assert model.states == ("no_intrusion", "intrusion", "terminal")
    assert model.actions == ("continue", "stop")
    assert model.attacker_actions == ("continue", "attack")
    assert model.stops == 3
    assert model.stop_action == 1
    assert model.terminal_states == frozenset({2})
    assert model.done_delay is True
    assert model.discount == 1.0
    assert model.max_steps == 1000
    assert model.path == SAMPLE
    assert (
        model.name
        == "Intrusion prevention (CSLE stopping game, simulation config v002)"
    )
    assert "StoppingGameUtil" in model.metadata["provenance"]


def test_sample_observation_component() -> None:
    model = load_scenario(SAMPLE)

    (alerts,) = model.observation_components
    assert (alerts.name, alerts.size, alerts.low, alerts.labels) == (
        "alerts",
        100,
        0,
        None,
    )
    assert model.num_observations == 100
    assert model.observation_values(42) == {"alerts": 42}


def test_tiger_named_observations() -> None:
    model = load_scenario(DATA / "tiger.yaml")

    (component,) = model.observation_components
    assert component.name == "o"
    assert component.labels == ("hear_left", "hear_right")
    assert model.observation_values(1) == {"o": "hear_right"}
    lines = {(d.kind, d.name): d.line for d in model.declarations}
    assert lines == {
        ("state", "tiger_left"): 10,
        ("state", "tiger_right"): 11,
        ("action", "listen"): 13,
        ("action", "open_left"): 14,
        ("action", "open_right"): 15,
        ("observation", "hear_left"): 17,
        ("observation", "hear_right"): 18,
    }


def test_tiger_tensors() -> None:
    model = load_scenario(DATA / "tiger.yaml")

    assert model.transition.shape == (1, 3, 1, 2, 2)
    np.testing.assert_array_equal(model.transition[0, 0, 0], [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(model.transition[0, 1, 0], [[0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_array_equal(model.transition[0, 2, 0], [[0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_array_equal(model.observation, [[0.85, 0.15], [0.15, 0.85]])
    np.testing.assert_array_equal(
        model.reward[0, :, 0], [[-1.0, -1.0], [-100.0, 10.0], [10.0, -100.0]]
    )
    np.testing.assert_array_equal(model.initial_belief, [0.5, 0.5])


def test_tiger_settings() -> None:
    model = load_scenario(DATA / "tiger.yaml")

    assert model.discount == 0.95
    assert model.max_steps == 100
    assert model.stops is None
    assert model.stop_action is None
    assert model.terminal_states == frozenset()
    assert model.attacker_actions == ("none",)
    np.testing.assert_array_equal(model.attacker, [[1.0], [1.0]])


def test_observation_components_ravel() -> None:
    model = load_scenario(DATA / "components.yaml")

    assert model.num_observations == 6
    assert [c.name for c in model.observation_components] == ["level", "login"]
    assert model.observation_values(0) == {"level": 1, "login": "ok"}
    assert model.observation_values(3) == {"level": 2, "login": "failed"}
    assert model.observation_values(5) == {"level": 3, "login": "failed"}
    lines = {(d.kind, d.name): d.line for d in model.declarations}
    assert lines[("observation_component", "level")] == 12
    assert lines[("observation_component", "login")] == 13


def test_initial_belief_defaults_to_uniform(tmp_path: Path) -> None:
    path = tmp_path / "tiger.yaml"
    path.write_text(TIGER_HEADER + "discount: 0.9\n")

    model = load_scenario(path)

    np.testing.assert_array_equal(model.initial_belief, [0.5, 0.5])


def test_terminal_flag_in_explicit_tensors(tmp_path: Path) -> None:
    path = tmp_path / "tiger.yaml"
    text = TIGER_HEADER.replace(
        "  - tiger_right\n", "  - tiger_right: {terminal: true}\n"
    )
    path.write_text(text)

    model = load_scenario(path)

    assert model.terminal_states == frozenset({1})
    assert model.discount == 1.0


def test_undiscounted_model_needs_an_end(tmp_path: Path) -> None:
    path = tmp_path / "endless.yaml"
    path.write_text(TIGER_HEADER)

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert str(caught.value).startswith(f"{path}: ")
    assert "terminal states or max_steps" in str(caught.value)


def test_missing_file_names_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert str(caught.value) == f"{path}: scenario file not found"


def test_scenario_error_is_model_error() -> None:
    with pytest.raises(ModelError):
        load_scenario(INVALID / "row_sum.yaml")


# Each invalid file: the line that the error must name, and fragments of the message
# that state what is wrong and what to change.
INVALID_CASES = [
    ("yaml_syntax.yaml", 7, ["expected ',' or ']'", "flow sequence on line 6"]),
    ("missing_version.yaml", 1, ["first key must be 'pomdb: 1'", "got None"]),
    ("wrong_version.yaml", 2, ["first key must be 'pomdb: 1'", "got 2"]),
    ("unknown_key.yaml", 21, ["unknown key 'discont'", "known keys:", "discount"]),
    ("duplicate_key.yaml", 7, ["duplicate key 'states'", "remove or rename"]),
    ("duplicate_name.yaml", 6, ["'quiet' is declared twice", "unique name"]),
    ("non_identifier.yaml", 5, ["'under attack' must be an identifier"]),
    ("missing_states.yaml", 1, ["missing 'states:' list", "one name per line"]),
    ("row_sum.yaml", 13, ["transition.wait.quiet", "sum to 1", "sums to 0.9"]),
    ("row_length.yaml", 17, ["observation.attacked has 3 values, expected 2"]),
    ("missing_row.yaml", 13, ["transition.wait has no row for 'attacked'"]),
    ("mixed_observations.yaml", 7, ["all plain names or all components"]),
    ("bad_range.yaml", 8, ["range must be [low, high] integers, low <= high"]),
    ("discount.yaml", 20, ["'discount' must be in (0, 1], got 1.5"]),
    ("max_steps.yaml", 20, ["'max_steps' must be at least 1"]),
    ("uses_stop.yaml", 7, ["only supported through a builder", "intrusion-prevention"]),
    ("not_a_mapping.yaml", 1, ["a scenario must be a YAML mapping"]),
    (
        "attacker_without_builder.yaml",
        8,
        ["'attacker_actions' needs a builder", "fold the attacker into 'transition'"],
    ),
    ("unknown_builder.yaml", 13, ["unknown builder 'intrusion-detection'", "known:"]),
    ("builder_parameter_type.yaml", 15, ["R_INT must be a number", "'minus five'"]),
    ("builder_unknown_parameter.yaml", 14, ["unknown parameter 'stop'", "stops"]),
    ("builder_alpha_type.yaml", 14, ["alpha and beta must be numbers", "'low'"]),
    (
        "builder_names.yaml",
        4,
        ["defines states ['no_intrusion', 'intrusion', 'terminal']", "in its order"],
    ),
]


@pytest.mark.parametrize(
    "name, line, fragments", INVALID_CASES, ids=[case[0] for case in INVALID_CASES]
)
def test_invalid_scenario_names_file_and_line(
    name: str, line: int, fragments: list[str]
) -> None:
    path = INVALID / name

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: ")
    assert caught.value.line == line
    assert caught.value.path == path
    for fragment in fragments:
        assert fragment in message


def test_invalid_cases_cover_every_file() -> None:
    files = {path.name for path in INVALID.glob("*.yaml")}

    assert files == {case[0] for case in INVALID_CASES}
