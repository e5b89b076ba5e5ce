"""Proximal policy optimisation (PPO, clipped objective) for a defender policy.

The trainer reads top to bottom: the state (networks, optimiser and episodes, from
`simcore.ppo_state`), then per update the rollout, the advantage estimate (GAE), the
optimisation epochs, the metrics and the checkpoint. The actor is
`simcore.neural.make_network` over `simcore.neural.features`, so the trained network
saves and loads as a `NeuralPolicy`. The critic is a second network of the same shape
with one output. The loss and its gradient are written out in
`simcore.ppo_gradients`, without autograd.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from simcore.model import POMDP
from simcore.neural import NeuralPolicy, feature_size, save_neural_policy
from simcore.ppo_config import PPOConfig
from simcore.ppo_gradients import (
    Minibatch,
    Network,
    clip_norm_,
    flat_gradients,
    linear,
    loss_gradients,
)
from simcore.ppo_state import initial_state
from simcore.trainer import TrainingRun
from simcore.vector_env import sample_rows

logger = logging.getLogger(__name__)

METRIC_KEYS = (
    "charts/episodic_return",
    "charts/episodic_length",
    "charts/learning_rate",
    "charts/steps_per_second",
    "losses/policy_loss",
    "losses/value_loss",
    "losses/entropy",
    "losses/approx_kl",
    "losses/clipfrac",
    "losses/explained_variance",
)


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    dones: np.ndarray,
    next_values: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the GAE advantages and the value targets (advantages + values).

    `rewards`, `values` and `dones` have shape (T, N). `dones[t]` is true when step t
    ended its episode, so nothing after it is bootstrapped. `next_values` (N,) are the
    critic's values of the states after the last step.
    """
    advantages = np.zeros_like(rewards)
    last = np.zeros_like(next_values)
    for t in reversed(range(rewards.shape[0])):
        following = next_values if t == rewards.shape[0] - 1 else values[t + 1]
        not_done = 1.0 - dones[t]
        delta = rewards[t] + gamma * following * not_done - values[t]
        last = delta + gamma * gae_lambda * not_done * last
        advantages[t] = last
    return advantages, advantages + values


@dataclass
class PPOResult:
    """A trained actor and critic with the run's figures."""

    actor: nn.Sequential
    critic: nn.Sequential
    config: PPOConfig
    global_step: int
    seconds: float
    history: list[dict[str, float]]

    @property
    def steps_per_second(self) -> float:
        return self.global_step / self.seconds if self.seconds > 0 else math.nan

    def policy(self, model: POMDP, name: str = "ppo") -> NeuralPolicy:
        return NeuralPolicy(model, self.actor, name=name)

    def save(self, path: Path, model: POMDP, extra: dict[str, Any]) -> None:
        """Write the actor as a NeuralPolicy file: `path` and its weights beside it."""
        hidden, activation = list(self.config.hidden), self.config.activation
        save_neural_policy(path, self.actor, model, hidden, activation, extra)


def train(
    model: POMDP, config: PPOConfig, run: TrainingRun | None = None
) -> PPOResult:
    """Train a defender policy for `model` with PPO and return the networks.

    `run` receives the metrics of every update and saves the checkpoints, and its
    `resume_state` continues an interrupted run (see `simcore.trainer`).
    """
    config.validate()
    run = TrainingRun(algorithm="ppo") if run is None else run
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)
    try:
        return _train(model, config, run)
    finally:
        run.close()
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_deterministic)


def _train(model: POMDP, config: PPOConfig, run: TrainingRun) -> PPOResult:
    gamma = model.discount if config.gamma is None else config.gamma
    state = initial_state(model, config, run.world)
    if run.resume_state is not None:
        state.restore(run.resume_state)
    actor, critic, optimizer, env, rng = (
        state.actor,
        state.critic,
        state.optimizer,
        state.env,
        state.rng,
    )
    parameters = [*actor.parameters(), *critic.parameters()]
    logger.info(
        "training PPO for %d steps on %s from update %d",
        config.total_timesteps,
        model.name,
        state.update,
    )

    # Rollout storage, (num_steps, num_envs) per quantity
    T, N = config.num_steps, config.num_envs
    inputs = np.zeros((T, N, feature_size(model)), dtype=np.float32)
    actions = np.zeros((T, N), dtype=np.int64)
    log_probs = np.zeros((T, N), dtype=np.float32)
    rewards = np.zeros((T, N))
    dones = np.zeros((T, N))
    values = np.zeros((T, N))
    rows = np.arange(N)

    # The optimisation writes the gradients by hand (simcore.ppo_gradients) into
    # one buffer that every parameter's .grad views.
    actor_network, critic_network = Network(actor), Network(critic)
    gradients = flat_gradients(parameters)

    next_features = env.features()
    # The training time counts from here, without the set-up above, and adds up over
    # the processes of a resumed run.
    previous_seconds = state.seconds
    run.start_clock()
    for update in range(state.update, config.num_updates):
        if config.anneal_lr:
            fraction = 1.0 - update / config.num_updates
            optimizer.param_groups[0]["lr"] = fraction * config.learning_rate
        episode_returns: list[float] = []
        episode_lengths: list[float] = []
        # Rollout: sample actions by inverse CDF from the actor's probabilities
        joint = _JointNetwork(actor_network, critic_network)
        for t in range(T):
            inputs[t] = next_features
            output = joint(inputs[t])
            values[t] = output[:, -1]
            # Softmax without the division: sample_rows scales by the row total
            shifted = output[:, :-1] - output[:, :-1].max(axis=1, keepdims=True)
            cumulative = np.cumsum(np.exp(shifted), axis=1)
            chosen = sample_rows(cumulative, rng.random(N))
            actions[t] = chosen
            log_probs[t] = shifted[rows, chosen] - np.log(cumulative[:, -1])

            step = env.step(chosen)
            rewards[t] = step.rewards
            dones[t] = step.dones
            if step.truncated.any():
                # The step limit cut these episodes: bootstrap the value they had left.
                cut = step.final_features[step.truncated].astype(np.float32)
                rewards[t, step.truncated] += gamma * joint(cut)[:, -1]
            next_features = step.features
            episode_returns += step.returns.tolist()
            episode_lengths += step.lengths.tolist()
            state.global_step += N

        # Advantage estimate: bootstrap the value of the state after the rollout
        next_values = joint(next_features.astype(np.float32))[:, -1]
        advantages, targets = compute_gae(
            rewards, values, dones, next_values, gamma, config.gae_lambda
        )

        # Flatten the batch
        batch = (
            torch.from_numpy(inputs.reshape(-1, inputs.shape[-1])),
            torch.from_numpy(actions.reshape(-1)),
            torch.from_numpy(log_probs.reshape(-1)),
            torch.as_tensor(advantages.reshape(-1), dtype=torch.float32),
            torch.as_tensor(targets.reshape(-1), dtype=torch.float32),
        )

        # Optimise the actor and the critic on shuffled minibatches
        clip_fractions = []
        for _ in range(config.update_epochs):
            # Shuffle the batch once, so each minibatch is a slice of it
            order = torch.as_tensor(rng.permutation(config.batch_size))
            shuffled = [tensor[order] for tensor in batch]
            for first in range(0, config.batch_size, config.minibatch_size):
                index = slice(first, first + config.minibatch_size)
                terms = loss_gradients(
                    actor_network,
                    critic_network,
                    Minibatch(*(tensor[index] for tensor in shuffled)),
                    config.clip_coef,
                    config.ent_coef,
                    config.vf_coef,
                    config.normalize_advantages,
                )
                clip_fractions.append(terms.clip_fraction)
                clip_norm_(gradients, config.max_grad_norm)
                optimizer.step()

        # Record the update's metrics
        seconds = previous_seconds + run.elapsed()
        target_variance = np.var(targets)
        row = {
            "global_step": float(state.global_step),
            "charts/episodic_return": _mean(episode_returns),
            "charts/episodic_length": _mean(episode_lengths),
            "charts/learning_rate": optimizer.param_groups[0]["lr"],
            "charts/steps_per_second": state.global_step / seconds,
            "losses/policy_loss": terms.policy_loss.item(),
            "losses/value_loss": terms.value_loss.item(),
            "losses/entropy": terms.entropy.item(),
            "losses/approx_kl": terms.approx_kl.item(),
            "losses/clipfrac": torch.stack(clip_fractions).mean().item(),
            "losses/explained_variance": (
                math.nan
                if target_variance == 0
                else float(1.0 - np.var(targets - values) / target_variance)
            ),
        }
        run.record(row)

        # Save the state after this update
        state.update, state.seconds = update + 1, seconds
        if run.checkpoint_due(state.update, config.num_updates):
            run.save_checkpoint(state.to_checkpoint())

    # The time of the last update, so that the result agrees with the last metrics row.
    logger.info("trained %d steps in %.1f s", state.global_step, state.seconds)
    return PPOResult(
        actor.eval(),
        critic.eval(),
        config,
        state.global_step,
        state.seconds,
        run.history,
    )


class _JointNetwork:
    """The actor and the critic as one function x -> [actor(x), critic(x)] over
    copies of their weights, for the rollout.

    The first layer stacks the two weight matrices and the later layers are block
    diagonal, so one rollout step runs 3 matrix products instead of 6. The products
    run in PyTorch, which keeps to the configured number of threads, and tanh in
    numpy (see simcore.ppo_gradients).
    """

    def __init__(self, actor: Network, critic: Network):
        self.tanh = actor.tanh
        self.layers: list[tuple[torch.Tensor, torch.Tensor]] = []
        with torch.no_grad():
            pairs = zip(actor.linears, critic.linears)
            for first, second in pairs:
                if self.layers:
                    weight = torch.block_diag(first.weight, second.weight)
                else:
                    weight = torch.cat((first.weight, second.weight))
                bias = torch.cat((first.bias, second.bias))
                self.layers.append((weight, bias))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Return (len(x), actions + 1): the actor's logits, then the critic's value."""
        hidden = torch.from_numpy(x)
        last = len(self.layers) - 1
        for i, (weight, bias) in enumerate(self.layers):
            hidden = linear(hidden, weight, bias, self.tanh if i < last else None)
        return hidden.numpy()


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan
