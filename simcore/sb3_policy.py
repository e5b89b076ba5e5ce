"""Stable-Baselines3 PPO and A2C models as pomdb policies, opened without unpickling.

An SB3 model file (`model.save("x")` writes x.zip) is a zip archive with a JSON entry
`data`, whose non-JSON values are cloudpickled, and the policy's PyTorch state dict in
`policy.pth`. Loading it with SB3 would unpickle `data`, which can run any code, so
this module reads only plain JSON fields from `data` and loads `policy.pth` with
`torch.load(weights_only=True)`. The actor is rebuilt from the state dict:
`mlp_extractor.policy_net` (Linear layers at indices 0, 2, 4, ... with an activation
after each) followed by `action_net`. That is SB3's `MlpPolicy` for a Box observation
and a Discrete action space, written by PPO and A2C.

The activation is not in the state dict. SB3 stores `policy_kwargs["activation_fn"]`
as readable text beside its pickle when the model was built with policy kwargs, and
this module reads it from there. Otherwise it is SB3's default for `MlpPolicy`,
Tanh. A pomdb policy file can set it explicitly:

    {"format": "pomdb-policy", "kind": "sb3", "model": "ppo.zip", "activation": "relu"}

The observation must be `simcore.neural.features` of the scenario, as the Gymnasium
environment `simcore.gym_env` gives it.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from simcore.model import POMDP
from simcore.neural import NeuralPolicy, feature_size, unreadable_weights
from simcore.policies import PolicyError

# Activations of torch.nn that take no required arguments, by SB3's class name.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "Tanh": nn.Tanh,
    "ReLU": nn.ReLU,
    "LeakyReLU": nn.LeakyReLU,
    "ELU": nn.ELU,
    "SELU": nn.SELU,
    "GELU": nn.GELU,
    "SiLU": nn.SiLU,
    "Mish": nn.Mish,
    "Sigmoid": nn.Sigmoid,
    "Softplus": nn.Softplus,
}
# SB3's ActorCriticPolicy default for `activation_fn` (stable-baselines3 2.x).
DEFAULT_ACTIVATION = "Tanh"
# Larger entries are rejected before they are decompressed into memory.
MAX_ENTRY_BYTES = 256 * 2**20
_TORCH_ACTIVATION = re.compile(r"<class 'torch\.nn\.modules\.activation\.(\w+)'>")
_FLATTEN_EXTRACTOR = "<class 'stable_baselines3.common.torch_layers.FlattenExtractor'>"
_POLICY_LAYER = re.compile(r"mlp_extractor\.policy_net\.(\d+)\.(weight|bias)")
_CRITIC_KEY = re.compile(r"(mlp_extractor\.value_net\.\d+|value_net)\.(weight|bias)")


def activation_name(name: str) -> str:
    """Return the SB3 class name for `name`, matched without regard to case."""
    for known in ACTIVATIONS:
        if known.lower() == name.lower():
            return known
    raise PolicyError(
        f"unknown activation {name!r}; use one of {', '.join(ACTIVATIONS)}"
    )


def _read_entry(archive: zipfile.ZipFile, path: Path, name: str) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise PolicyError(
            f"{path}: not a Stable-Baselines3 model file because the zip has no "
            f"{name!r} entry; save the model with model.save(...)"
        ) from None
    if info.file_size > MAX_ENTRY_BYTES:
        raise PolicyError(
            f"{path}: entry {name!r} is {info.file_size} bytes, more than the "
            f"{MAX_ENTRY_BYTES} bytes an MLP policy needs; not an MlpPolicy model"
        )
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise PolicyError(f"{path}: entry {name!r} is corrupt ({error})") from None


def read_model_zip(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Return the JSON `data` and the `policy.pth` state dict of an SB3 model zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            data_bytes = _read_entry(archive, path, "data")
            weights = _read_entry(archive, path, "policy.pth")
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise PolicyError(f"{path}: not a readable zip file ({error})") from None
    try:
        data = json.loads(data_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PolicyError(f"{path}: the 'data' entry is not JSON ({error})") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: the 'data' entry is not a JSON object")
    try:
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for foreign or corrupt files
        raise unreadable_weights(
            f"{path}: the entry 'policy.pth'", error, "save the model again"
        ) from None
    if not isinstance(state, dict) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor)
        for key, value in state.items()
    ):
        raise PolicyError(f"{path}: 'policy.pth' is not a state dict of tensors")
    return data, state


def _check_spaces(path: Path, data: dict[str, Any], model: POMDP) -> None:
    """Reject a model whose saved spaces are not Box(features) and Discrete(actions)."""
    observation = data.get("observation_space")
    action = data.get("action_space")
    if not isinstance(observation, dict) or not isinstance(action, dict):
        raise PolicyError(f"{path}: 'data' has no observation and action spaces")

    observation_type = str(observation.get(":type:"))
    if not observation_type.endswith(".Box'>"):
        raise PolicyError(
            f"{path}: the observation space is {observation_type}, not a Box; pomdb "
            "gives an SB3 policy the Box of simcore.gym_env"
        )
    action_type = str(action.get(":type:"))
    if not action_type.endswith(".Discrete'>"):
        raise PolicyError(
            f"{path}: the action space is {action_type}; only Discrete action spaces "
            "are supported"
        )

    # Plain JSON fields that SB3 writes beside the pickled spaces.
    shape = observation.get("_shape")
    if shape is not None and list(shape) != [feature_size(model)]:
        raise PolicyError(
            f"{path}: the model observes {shape}, but the scenario's features have "
            f"shape [{feature_size(model)}] ({_features_text(model)}); train it on "
            "simcore.gym_env with this scenario"
        )
    n, start = str(action.get("n")), str(action.get("start", "0"))
    if n != str(len(model.actions)) or start != "0":
        raise PolicyError(
            f"{path}: the model has Discrete({n}, start={start}) actions, but the "
            f"scenario has {len(model.actions)} ({', '.join(model.actions)})"
        )


def _features_text(model: POMDP) -> str:
    if model.stops is None:
        return f"the belief over {len(model.states)} states"
    return f"the belief over {len(model.states)} states, then stops left / L"


def saved_activation(path: Path, data: dict[str, Any]) -> str:
    """Return the activation named in the saved policy kwargs, else SB3's default."""
    kwargs = data.get("policy_kwargs")
    if not isinstance(kwargs, dict):
        return DEFAULT_ACTIVATION
    extractor = kwargs.get("features_extractor_class")
    if extractor is not None and extractor != _FLATTEN_EXTRACTOR:
        raise PolicyError(
            f"{path}: the policy uses the features extractor {extractor}; only "
            "MlpPolicy with SB3's FlattenExtractor is supported"
        )
    text = kwargs.get("activation_fn")
    if text is None:
        return DEFAULT_ACTIVATION
    match = _TORCH_ACTIVATION.fullmatch(str(text))
    if match is None or match.group(1) not in ACTIVATIONS:
        raise PolicyError(
            f"{path}: unsupported activation {text}; use one of "
            f"{', '.join(ACTIVATIONS)}, or name the one it is equivalent to in a "
            'policy file with "kind": "sb3" and "activation"'
        )
    return match.group(1)


def build_actor(
    path: Path, state: dict[str, torch.Tensor], model: POMDP, activation: str
) -> nn.Sequential:
    """Return mlp_extractor.policy_net followed by action_net, weights loaded."""
    layers: dict[int, dict[str, torch.Tensor]] = {}
    for key, tensor in state.items():
        match = _POLICY_LAYER.fullmatch(key)
        if match is not None:
            layers.setdefault(int(match.group(1)), {})[match.group(2)] = tensor
        elif key not in ("action_net.weight", "action_net.bias") and not (
            _CRITIC_KEY.fullmatch(key)
        ):
            raise PolicyError(
                f"{path}: unexpected parameter {key!r}: not an SB3 PPO/A2C MlpPolicy "
                "with a Discrete action space (DQN, SAC, recurrent, CNN and "
                "continuous-action policies are not supported)"
            )
    if "action_net.weight" not in state or "action_net.bias" not in state:
        raise PolicyError(
            f"{path}: no action_net, so not an SB3 PPO/A2C actor-critic policy"
        )
    indices = sorted(layers)
    if indices != list(range(0, 2 * len(indices), 2)) or any(
        set(layer) != {"weight", "bias"} for layer in layers.values()
    ):
        raise PolicyError(
            f"{path}: mlp_extractor.policy_net has layers {indices}; expected Linear "
            "layers at 0, 2, 4, ... with an activation between them"
        )

    modules: list[nn.Module] = []
    weights: dict[str, torch.Tensor] = {}
    inputs = feature_size(model)
    size = inputs
    for position, index in enumerate(indices):
        weight = layers[index]["weight"]
        if weight.dim() != 2 or weight.shape[1] != size:
            raise PolicyError(
                f"{path}: policy_net.{index}.weight has shape {tuple(weight.shape)}; "
                f"expected (width, {size}): the policy was trained on another "
                f"observation than the scenario's {inputs} features "
                f"({_features_text(model)})"
            )
        modules += [nn.Linear(size, weight.shape[0]), ACTIVATIONS[activation]()]
        weights[f"{2 * position}.weight"] = weight
        weights[f"{2 * position}.bias"] = layers[index]["bias"]
        size = weight.shape[0]
    modules.append(nn.Linear(size, len(model.actions)))
    weights[f"{2 * len(indices)}.weight"] = state["action_net.weight"]
    weights[f"{2 * len(indices)}.bias"] = state["action_net.bias"]

    actor = nn.Sequential(*modules)
    try:
        actor.load_state_dict({key: value.float() for key, value in weights.items()})
    except RuntimeError as error:
        raise PolicyError(
            f"{path}: the actor's weights do not fit the scenario's {inputs} features "
            f"and {len(model.actions)} actions ({error})"
        ) from None
    return actor


def load_sb3_policy(
    path: Path, model: POMDP, activation: str | None = None, name: str | None = None
) -> NeuralPolicy:
    """Load the actor of an SB3 PPO or A2C model zip as a policy for `model`.

    `activation` overrides the activation read from the file (default: SB3's Tanh).
    """
    data, state = read_model_zip(path)
    _check_spaces(path, data, model)
    if activation is None:
        activation = saved_activation(path, data)
    else:
        activation = activation_name(activation)
    actor = build_actor(path, state, model, activation)
    return NeuralPolicy(model, actor, name=name or path.stem)


def load_sb3_policy_file(
    path: Path, metadata: dict[str, Any], model: POMDP
) -> NeuralPolicy:
    """Load the model zip named by a policy file of kind "sb3"."""
    zip_name = metadata.get("model")
    if not isinstance(zip_name, str) or not zip_name:
        raise PolicyError(
            f"{path}: 'model' must name the SB3 model zip, e.g. \"ppo.zip\""
        )
    activation = metadata.get("activation")
    if activation is not None and not isinstance(activation, str):
        raise PolicyError(f"{path}: 'activation' must be a name such as \"relu\"")
    zip_path = path.parent / zip_name
    if not zip_path.is_file():
        raise PolicyError(f"{path}: SB3 model file {zip_path} not found")
    try:
        return load_sb3_policy(zip_path, model, activation, name=path.stem)
    except PolicyError as error:
        raise PolicyError(f"{path}: {error}") from None
