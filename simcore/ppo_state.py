"""The state of a PPO run: fresh networks and episodes, and checkpoints of them.

Resuming restores every value that the next update reads: both networks, the Adam
moments, the batched simulator's episodes and generator, the minibatch generator,
PyTorch's global generator, the update index and the step count. So a resumed run
computes bit for bit the weights of a run that was never interrupted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from simcore.checkpoint import CheckpointError, numpy_rng_state, set_numpy_rng_state
from simcore.model import POMDP
from simcore.neural import feature_size, make_network
from simcore.ppo_config import PPOConfig
from simcore.vector_env import VectorEnv

# The VectorEnv arrays that describe its episodes in progress. NOTE: this list must
# follow VectorEnv's per-slot state; tests/test_training.py checks that a resumed run
# matches an uninterrupted one bit for bit.
ENV_ARRAYS = (
    "states",
    "stops_left",
    "observations",
    "beliefs",
    "t",
    "in_terminal",
    "episode_returns",
    "_discounting",
)


def _initialise(network: nn.Sequential, output_gain: float) -> nn.Sequential:
    """Set orthogonal weights (gain sqrt 2, `output_gain` at the output), zero bias."""
    layers = [layer for layer in network if isinstance(layer, nn.Linear)]
    for layer in layers:
        gain = output_gain if layer is layers[-1] else math.sqrt(2.0)
        nn.init.orthogonal_(layer.weight, gain)
        nn.init.zeros_(layer.bias)
    return network


def make_actor_critic(
    model: POMDP, config: PPOConfig
) -> tuple[nn.Sequential, nn.Sequential]:
    """Return a fresh actor and critic, initialised from `config.seed`."""
    hidden, inputs = list(config.hidden), feature_size(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        actor = make_network(inputs, len(model.actions), hidden, config.activation)
        critic = make_network(inputs, 1, hidden, config.activation)
        # A near-zero output layer starts the actor close to the uniform policy.
        return _initialise(actor, 0.01), _initialise(critic, 1.0)


@dataclass
class PPOState:
    """Everything a PPO update reads and changes, besides the rollout storage."""

    actor: nn.Sequential
    critic: nn.Sequential
    optimizer: torch.optim.Adam
    env: VectorEnv
    rng: np.random.Generator
    update: int = 0
    global_step: int = 0
    seconds: float = 0.0

    def to_checkpoint(self) -> dict:
        """Return this state as checkpoint data: tensors, numbers, strings, dicts."""
        return {
            "update": self.update,
            "global_step": self.global_step,
            "seconds": self.seconds,
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "env": vector_env_state(self.env),
            "rng": numpy_rng_state(self.rng),
            "torch_rng": torch.get_rng_state(),
        }

    def restore(self, checkpoint: dict) -> None:
        """Load the values of `to_checkpoint` into this freshly built state.

        Raises CheckpointError when the checkpoint does not fit the networks or the
        number of parallel episodes.
        """
        try:
            self.actor.load_state_dict(checkpoint["actor"])
            self.critic.load_state_dict(checkpoint["critic"])
            self.optimizer.load_state_dict(checkpoint["optimizer"])
            restore_vector_env(self.env, checkpoint["env"])
            set_numpy_rng_state(self.rng, checkpoint["rng"])
            torch.set_rng_state(checkpoint["torch_rng"])
            self.update = int(checkpoint["update"])
            self.global_step = int(checkpoint["global_step"])
            self.seconds = float(checkpoint["seconds"])
        except (KeyError, RuntimeError, TypeError, ValueError) as error:
            raise CheckpointError(
                f"the PPO checkpoint does not fit this run ({type(error).__name__}: "
                f"{error}); start a new run without --resume"
            ) from None


def vector_env_state(env: VectorEnv) -> dict:
    """Return the episodes in progress and the generator state of a VectorEnv."""
    arrays = {name: torch.from_numpy(getattr(env, name).copy()) for name in ENV_ARRAYS}
    return {"arrays": arrays, "rng": numpy_rng_state(env.rng)}


def restore_vector_env(env: VectorEnv, state: dict) -> None:
    """Load a `vector_env_state` into an env with the same model and num_envs."""
    for name in ENV_ARRAYS:
        current = getattr(env, name)
        saved = state["arrays"][name].numpy()
        if saved.shape != current.shape or saved.dtype != current.dtype:
            raise ValueError(
                f"env array {name} has shape {saved.shape} and type {saved.dtype}, "
                f"expected {current.shape} and {current.dtype}"
            )
        current[...] = saved
    set_numpy_rng_state(env.rng, state["rng"])


def initial_state(
    model: POMDP, config: PPOConfig, world: POMDP | None = None
) -> PPOState:
    """Return the state before the first update: fresh networks, optimiser, episodes."""
    seeds = np.random.SeedSequence(config.seed).spawn(2)
    env = make_env(model, config.num_envs, seeds[0], world)
    rng = np.random.Generator(np.random.PCG64(seeds[1]))
    actor, critic = make_actor_critic(model, config)
    parameters = [*actor.parameters(), *critic.parameters()]
    # The fused kernel updates all parameters in one call: about 4 times as fast as
    # the default loop over tensors for these networks on one CPU thread.
    optimizer = torch.optim.Adam(
        parameters, lr=config.learning_rate, eps=1e-5, fused=True
    )
    return PPOState(actor, critic, optimizer, env, rng)


def make_env(
    model: POMDP, num_envs: int, seed: np.random.SeedSequence, world: POMDP | None
) -> VectorEnv:
    """Return the batched simulator, with `world` generating the episodes if given."""
    if world is None:
        return VectorEnv(model, num_envs, seed)
    return VectorEnv(model, num_envs, seed, world=world)
