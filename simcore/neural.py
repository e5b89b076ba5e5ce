"""Neural policies in PyTorch: a network over (belief, stops left) with saved weights.

A neural policy is two files: JSON metadata (format, architecture, the model's names)
and a PyTorch state dict loaded with `torch.load(weights_only=True)`, so a policy file
can never run code when it is opened.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from simcore.files import atomic_write
from simcore.model import POMDP
from simcore.policies import POLICY_FORMAT, Policy, PolicyError

logger = logging.getLogger(__name__)

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def feature_size(model: POMDP) -> int:
    """Return the network input size: the belief, plus stops left / L with a counter."""
    return len(model.states) + (1 if model.stops is not None else 0)


def features(model: POMDP, belief: np.ndarray, stops_left: int | None) -> np.ndarray:
    """Return the network input for one step."""
    if model.stops is None:
        return belief
    return np.append(belief, (stops_left or 0) / model.stops)


def make_network(inputs: int, outputs: int, hidden: list[int], activation: str) -> nn.Sequential:
    """Return an MLP with `hidden` layer sizes and `activation` between layers."""
    if activation not in ACTIVATIONS:
        raise PolicyError(f"unknown activation {activation!r}; use {', '.join(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    size = inputs
    for width in hidden:
        layers += [nn.Linear(size, width), ACTIVATIONS[activation]()]
        size = width
    layers.append(nn.Linear(size, outputs))
    return nn.Sequential(*layers)


class NeuralPolicy(Policy):
    """pi(a | b, l) = softmax(network(features))."""

    def __init__(self, model: POMDP, network: nn.Module, name: str = "neural"):
        self.model = model
        self.network = network.eval()
        self.name = name

    def action_probs(self, belief, stops_left, t, observation):
        x = torch.as_tensor(features(self.model, belief, stops_left), dtype=torch.float32)
        with torch.no_grad():
            logits = self.network(x)
        probs = torch.softmax(logits.double(), dim=-1).numpy()
        return probs / probs.sum()


def save_neural_policy(
    path: Path,
    network: nn.Module,
    model: POMDP,
    hidden: list[int],
    activation: str,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write `path` (JSON metadata) and `path.with_suffix('.pt')` (state dict) atomically."""
    weights = path.with_suffix(".pt")
    metadata = {
        "format": POLICY_FORMAT,
        "version": 1,
        "kind": "neural",
        "weights": weights.name,
        "states": list(model.states),
        "actions": list(model.actions),
        "stops": model.stops,
        "inputs": "belief over states, then stops left / stops" if model.stops else "belief",
        "hidden": hidden,
        "activation": activation,
        **(extra or {}),
    }
    atomic_write(weights, lambda f: torch.save(network.state_dict(), f))
    text = json.dumps(metadata, indent=2) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def unreadable_weights(source: str, error: Exception, retrain: str) -> PolicyError:
    """Return the error for weights that torch.load(weights_only=True) rejected.

    torch's own message is left out because, for a file that is not a plain state
    dict, it advises loading with weights_only=False, which can run any code in the
    file. The message is logged at debug level without that text.
    """
    logger.debug("torch.load failed on %s: %s", source, type(error).__name__)
    return PolicyError(
        f"{source} is corrupt or truncated, or is not a PyTorch state dict of tensors; "
        f"restore it from a backup or {retrain}"
    )


def load_neural_policy(path: Path, metadata: dict[str, Any], model: POMDP) -> NeuralPolicy:
    """Load a neural policy whose metadata was read from `path`."""
    for key, expected in (("states", model.states), ("actions", model.actions)):
        if tuple(metadata.get(key, ())) != tuple(expected):
            raise PolicyError(
                f"{path}: the policy was trained for {key} {metadata.get(key)}, but the "
                f"scenario has {list(expected)}"
            )
    if "stops" not in metadata:
        raise PolicyError(
            f"{path}: missing 'stops', the stop counter the policy was trained with "
            "(an integer, or null for a model without one); train the policy again"
        )
    if metadata["stops"] != model.stops:
        raise PolicyError(
            f"{path}: the policy was trained for {_stops_text(metadata['stops'])}, "
            f"but the scenario has {_stops_text(model.stops)}"
        )
    hidden = metadata.get("hidden")
    if not isinstance(hidden, list) or not all(isinstance(h, int) and h > 0 for h in hidden):
        raise PolicyError(f"{path}: 'hidden' must be a list of positive layer sizes")
    network = make_network(
        feature_size(model), len(model.actions), hidden, str(metadata.get("activation"))
    )
    weights = path.parent / str(metadata.get("weights", ""))
    if not weights.is_file():
        raise PolicyError(f"{path}: weights file {weights} not found")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for foreign or corrupt files
        raise unreadable_weights(
            f"{path}: weights file {weights}", error, "train the policy again"
        ) from None
    try:
        network.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as error:
        raise PolicyError(
            f"{weights}: the weights do not match the architecture in {path.name} ({error})"
        ) from None
    return NeuralPolicy(model, network, name=path.stem)


def _stops_text(stops: Any) -> str:
    if stops is None:
        return "no stop counter"
    return f"{stops} stops" if isinstance(stops, int) else f"stops {stops!r}"
