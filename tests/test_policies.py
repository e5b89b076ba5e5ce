"""Policies: the smooth threshold, inline specifications and policy files."""

from __future__ import annotations

import json
import pickle
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch

from simcore.neural import NeuralPolicy, make_network, save_neural_policy
from simcore.policies import (
    FirstAlertPolicy,
    PolicyError,
    RandomPolicy,
    ThresholdPolicy,
    load_policy,
    smooth_threshold,
)
from simcore.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
DATA = Path(__file__).resolve().parent / "data" / "scenarios"


@pytest.fixture(scope="module")
def model():
    return load_scenario(SAMPLE)


@pytest.fixture(scope="module")
def tiger():
    return load_scenario(DATA / "tiger.yaml")


def belief_with_intrusion(p: float) -> np.ndarray:
    return np.array([1.0 - p, p, 0.0])


@pytest.mark.parametrize("theta", [0.01, 0.06, 0.3, 0.5, 0.7, 0.9, 0.99])
def test_smooth_threshold_half_at_theta(theta: float) -> None:
    assert smooth_threshold(theta, theta) == 0.5


@pytest.mark.parametrize("theta", [0.1, 0.5, 0.9])
def test_smooth_threshold_ends(theta: float) -> None:
    assert smooth_threshold(0.0, theta) == 0.0
    assert smooth_threshold(1.0, theta) == 1.0


def test_smooth_threshold_formula() -> None:
    # P(stop | b) = 1 / (1 + (b (1 - theta) / (theta (1 - b)))^-20)
    b, theta = 0.6, 0.5
    expected = 1.0 / (1.0 + (b * (1 - theta) / (theta * (1 - b))) ** -20)

    assert smooth_threshold(b, theta) == pytest.approx(expected, rel=1e-14)


def test_smooth_threshold_monotone() -> None:
    grid = np.linspace(0.0, 1.0, 1001)

    values = [smooth_threshold(float(b), 0.7) for b in grid]

    assert all(later >= earlier for earlier, later in pairwise(values))
    assert values[0] == 0.0
    assert values[-1] == 1.0


def test_threshold_sets_stop_probability(model) -> None:
    policy = load_policy("threshold:0.5", model)

    probs = policy.action_probs(belief_with_intrusion(0.5), 3, 0, None)

    np.testing.assert_array_equal(probs, [0.5, 0.5])
    # One threshold applies to every number of stops left.
    assert policy.thresholds == [0.5, 0.5, 0.5]
    assert policy.name == "threshold:0.5,0.5,0.5"


def test_threshold_per_stop_uses_alpha_l(model) -> None:
    policy = load_policy("threshold:0.9,0.7,0.5", model)

    # alpha_l applies with l stops left: P(stop) = 0.5 exactly when b = alpha_l.
    for stops_left, alpha in ((1, 0.9), (2, 0.7), (3, 0.5)):
        probs = policy.action_probs(belief_with_intrusion(alpha), stops_left, 0, None)
        np.testing.assert_array_equal(probs, [0.5, 0.5])
    assert policy.thresholds == [0.9, 0.7, 0.5]
    assert policy.name == "threshold:0.9,0.7,0.5"


def test_threshold_nested_decisions(model) -> None:
    policy = load_policy("threshold:0.9,0.7,0.5", model)
    belief = belief_with_intrusion(0.8)

    # b = 0.8 is above alpha_3 = 0.5 and alpha_2 = 0.7 but below alpha_1 = 0.9.
    assert policy.action_probs(belief, 3, 0, None)[1] > 0.99
    assert policy.action_probs(belief, 2, 0, None)[1] > 0.9
    assert policy.action_probs(belief, 1, 0, None)[1] < 0.1


def test_first_alert_policy(model) -> None:
    policy = load_policy("first-alert", model)

    assert isinstance(policy, FirstAlertPolicy)
    np.testing.assert_array_equal(
        policy.action_probs(model.initial_belief, 3, 0, None), [1, 0]
    )
    np.testing.assert_array_equal(
        policy.action_probs(model.initial_belief, 3, 1, 0), [1, 0]
    )
    np.testing.assert_array_equal(
        policy.action_probs(model.initial_belief, 3, 1, 4), [0, 1]
    )


def test_random_policies(model) -> None:
    uniform = load_policy("random", model)
    biased = load_policy("random:0.2", model)

    assert isinstance(uniform, RandomPolicy)
    np.testing.assert_array_equal(
        uniform.action_probs(model.initial_belief, 3, 0, None), [0.5, 0.5]
    )
    np.testing.assert_allclose(
        biased.action_probs(model.initial_belief, 3, 0, None), [0.8, 0.2]
    )
    assert biased.name == "random:0.2"


INLINE_ERRORS = [
    ("threshold:high", "expected comma-separated numbers after ':'"),
    ("threshold:0.9,0.7", "got 2 thresholds but the model has 3 stops"),
    ("threshold:1.5", "threshold 1.5 is not a probability in [0, 1]"),
    ("random:2", "the probability must be in [0, 1]"),
    ("threshold:", "neither a file nor a known policy"),
    ("random:", "invalid policy 'random:': nothing after ':'; use random or random:P"),
    ("random:0.5,0.2", "use random:P with one number P"),
    ("optimal:", "nothing after ':'; use optimal or optimal:GRID"),
    ("optimum", "neither a file nor a known policy; use a policy file, threshold:A"),
]


@pytest.mark.parametrize("spec, message", INLINE_ERRORS)
def test_inline_spec_errors(model, spec: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(spec, model)

    assert message in str(caught.value)


def test_threshold_needs_intrusion_state(tiger) -> None:
    with pytest.raises(PolicyError) as caught:
        ThresholdPolicy(tiger, [0.5])

    assert "needs a state 'intrusion'" in str(caught.value)
    assert "tiger_left, tiger_right" in str(caught.value)


def write_json(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def test_threshold_policy_file(model, tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "nested.json",
        {"format": "pomdb-policy", "kind": "threshold", "thresholds": [0.9, 0.7, 0.5]},
    )

    policy = load_policy(str(path), model)

    assert isinstance(policy, ThresholdPolicy)
    assert policy.thresholds == [0.9, 0.7, 0.5]


def test_policy_file_relative_to_base_dir(model, tmp_path: Path) -> None:
    write_json(
        tmp_path / "half.json",
        {"format": "pomdb-policy", "kind": "threshold", "thresholds": [0.5]},
    )

    policy = load_policy("half.json", model, base_dir=tmp_path)

    assert policy.thresholds == [0.5, 0.5, 0.5]


POLICY_FILE_ERRORS = [
    ("not json", "not a readable JSON policy file"),
    (
        '{"kind": "threshold"}',
        'not a pomdb policy file (expected "format": "pomdb-policy")',
    ),
    ('{"format": "pomdb-policy", "kind": "tabular"}', "unknown policy kind 'tabular'"),
    (
        '{"format": "pomdb-policy", "kind": "threshold", "thresholds": 0.5}',
        "'thresholds' must be a list of numbers",
    ),
    (
        '{"format": "pomdb-policy", "kind": "threshold", "thresholds": ["x"]}',
        "could not convert string to float",
    ),
]


@pytest.mark.parametrize("text, message", POLICY_FILE_ERRORS)
def test_policy_file_errors(model, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.json"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), model)

    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def save_network(model, path: Path, hidden: list[int]) -> torch.nn.Module:
    torch.manual_seed(0)
    network = make_network(4, 2, hidden, "tanh")
    save_neural_policy(path, network, model, hidden, "tanh", {"trained_by": "test"})
    return network


def test_neural_round_trip(model, tmp_path: Path) -> None:
    path = tmp_path / "ppo.json"
    network = save_network(model, path, [8, 8])
    belief = np.array([0.2, 0.7, 0.1])

    policy = load_policy(str(path), model)

    assert isinstance(policy, NeuralPolicy)
    assert policy.name == "ppo"
    # Input: the belief, then stops left / L.
    x = torch.tensor([0.2, 0.7, 0.1, 2 / 3], dtype=torch.float32)
    with torch.no_grad():
        expected = torch.softmax(network(x).double(), dim=-1).numpy()
    np.testing.assert_allclose(
        policy.action_probs(belief, 2, 5, 40), expected, rtol=1e-12
    )


def test_neural_metadata(model, tmp_path: Path) -> None:
    path = tmp_path / "ppo.json"
    save_network(model, path, [8])

    metadata = json.loads(path.read_text())

    assert metadata["format"] == "pomdb-policy"
    assert metadata["kind"] == "neural"
    assert metadata["weights"] == "ppo.pt"
    assert metadata["states"] == ["no_intrusion", "intrusion", "terminal"]
    assert metadata["actions"] == ["continue", "stop"]
    assert metadata["stops"] == 3
    assert metadata["hidden"] == [8]
    assert metadata["trained_by"] == "test"
    assert (tmp_path / "ppo.pt").is_file()


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_weights_rejected(model, tmp_path: Path, damage: str) -> None:
    path = tmp_path / "ppo.json"
    save_network(model, path, [8])
    weights = tmp_path / "ppo.pt"
    if damage == "garbage":
        weights.write_bytes(b"garbage" * 10)
    else:
        weights.write_bytes(weights.read_bytes()[:300])

    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), model)

    message = str(caught.value)
    assert message.startswith(f"{path}: weights file {weights} is corrupt or truncated")
    assert "restore it from a backup or train the policy again" in message
    # torch's own message advises weights_only=False, which can run code.
    assert "weights_only" not in message


class _WritesMarker:
    """Unpickling this object would create a file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_pickled_object_rejected(model, tmp_path: Path, writer: str) -> None:
    path = tmp_path / "ppo.json"
    save_network(model, path, [8])
    marker = tmp_path / "code-ran"
    payload = {"0.weight": _WritesMarker(marker)}
    with open(tmp_path / "ppo.pt", "wb") as out:
        if writer == "torch.save":
            torch.save(payload, out)
        else:
            pickle.dump(payload, out, protocol=2)

    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), model)

    assert "is not a PyTorch state dict of tensors" in str(caught.value)
    assert "weights_only" not in str(caught.value)
    assert not marker.exists()


def test_other_architecture_rejected(model, tmp_path: Path) -> None:
    path = tmp_path / "ppo.json"
    save_network(model, path, [8])
    metadata = json.loads(path.read_text())
    metadata["hidden"] = [16]
    write_json(path, metadata)

    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), model)

    assert "the weights do not match the architecture in ppo.json" in str(caught.value)


def test_missing_weights_file(model, tmp_path: Path) -> None:
    path = tmp_path / "ppo.json"
    save_network(model, path, [8])
    (tmp_path / "ppo.pt").unlink()

    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), model)

    assert f"weights file {tmp_path / 'ppo.pt'} not found" in str(caught.value)


def test_other_states_rejected(model, tiger, tmp_path: Path) -> None:
    path = tmp_path / "ppo.json"
    save_network(model, path, [8])

    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), tiger)

    assert "trained for states ['no_intrusion', 'intrusion', 'terminal']" in str(
        caught.value
    )
    assert "the scenario has ['tiger_left', 'tiger_right']" in str(caught.value)


def test_other_actions_rejected(model, tmp_path: Path) -> None:
    path = tmp_path / "ppo.json"
    save_network(model, path, [8])
    metadata = json.loads(path.read_text())
    metadata["actions"] = ["continue", "block"]
    write_json(path, metadata)

    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), model)

    assert "trained for actions ['continue', 'block']" in str(caught.value)


def test_other_stop_count_rejected(tmp_path: Path) -> None:
    model = load_scenario(SAMPLE)
    path = tmp_path / "ppo.json"
    save_network(model, path, [8])
    metadata = json.loads(path.read_text())
    metadata["stops"] = 7
    write_json(path, metadata)

    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), model)

    assert "trained for 7 stops, but the scenario has 3 stops" in str(caught.value)


def test_missing_stop_count_rejected(model, tmp_path: Path) -> None:
    path = tmp_path / "ppo.json"
    save_network(model, path, [8])
    metadata = json.loads(path.read_text())
    del metadata["stops"]
    write_json(path, metadata)

    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), model)

    assert "missing 'stops', the stop counter the policy was trained with" in str(
        caught.value
    )
    assert "None" not in str(caught.value)


def test_stop_counter_on_other_model_rejected(tiger, tmp_path: Path) -> None:
    path = tmp_path / "tiger.json"
    save_network(tiger, path, [8])
    metadata = json.loads(path.read_text())
    metadata["stops"] = 2
    write_json(path, metadata)

    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), tiger)

    assert "trained for 2 stops, but the scenario has no stop counter" in str(
        caught.value
    )


def test_unknown_activation_rejected(model, tmp_path: Path) -> None:
    path = tmp_path / "ppo.json"
    save_network(model, path, [8])
    metadata = json.loads(path.read_text())
    metadata["activation"] = "swish"
    write_json(path, metadata)

    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), model)

    assert "unknown activation 'swish'; use tanh, relu" in str(caught.value)
