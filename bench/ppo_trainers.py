"""The two PPO trainers of bench/ppo_vs_sb3.py, each evaluated while it trains.

`train_pomdb` runs `simcore.ppo.train` and `train_sb3` runs Stable-Baselines3's PPO on
`simcore.gym_env`, both with the hyperparameters of one `PPOConfig`. Both call
`Evaluator.record` after the update at or after every multiple of K steps and after
the last update, with a copy of the current actor.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from simcore.evaluation import evaluate
from simcore.gym_env import POMDPEnv
from simcore.model import POMDP
from simcore.neural import ACTIVATIONS, NeuralPolicy, feature_size, make_network
from simcore.ppo import train
from simcore.ppo_config import PPOConfig
from simcore.sb3_policy import build_actor
from simcore.trainer import TrainingRun

# Seed of the evaluation episodes, apart from the training seeds 0, 1, 2, ...
EVALUATION_SEED = 10_000


class Evaluator:
    """Evaluates actors on fixed episodes and keeps a training clock without them."""

    def __init__(self, model: POMDP, optimal: float, every: int, episodes: int):
        self.model, self.optimal = model, optimal
        self.every, self.episodes = every, episodes
        self.points: list[dict[str, float]] = []
        self._next_step = every
        self._start = time.perf_counter()
        self._paused = 0.0

    def due(self, step: int) -> bool:
        return step >= self._next_step

    def record(self, step: int, actor: torch.nn.Module) -> None:
        stopped = time.perf_counter()
        seconds = stopped - self._start - self._paused
        policy = NeuralPolicy(self.model, actor, name="actor")
        evaluation = evaluate(
            self.model, [("actor", policy)], self.episodes, EVALUATION_SEED
        )
        returns = evaluation.policies[0].returns
        # Normal approximation of the 95% confidence interval of the mean.
        half_width = 1.96 * returns.std(ddof=1) / np.sqrt(returns.size)
        point = {
            "step": step,
            "seconds": seconds,
            "mean_return": float(returns.mean()),
            "ci95": float(half_width),
            "fraction": float(returns.mean() / self.optimal),
        }
        self.points.append(point)
        while self._next_step <= step:
            self._next_step += self.every
        self._paused += time.perf_counter() - stopped


class _EvaluatingRun(TrainingRun):
    """A TrainingRun whose checkpoints are evaluated in memory, never saved."""

    def __init__(self, evaluator: Evaluator, config: PPOConfig, model: POMDP):
        super().__init__(algorithm="ppo")
        self.evaluator, self.config, self.model = evaluator, config, model

    def checkpoint_due(self, updates_done: int, total_updates: int) -> bool:
        step = updates_done * self.config.batch_size
        return self.evaluator.due(step) or updates_done == total_updates

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        actor = make_network(
            feature_size(self.model),
            len(self.model.actions),
            list(self.config.hidden),
            self.config.activation,
        )
        actor.load_state_dict(state["actor"])
        self.evaluator.record(int(state["global_step"]), actor.eval())


def train_pomdb(model: POMDP, config: PPOConfig, evaluator: Evaluator) -> int:
    result = train(model, config, _EvaluatingRun(evaluator, config, model))
    return result.global_step


def train_sb3(model: POMDP, config: PPOConfig, evaluator: Evaluator) -> int:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv

    class EvaluationCallback(BaseCallback):
        def _on_rollout_start(self) -> None:
            # Called after each update, before the next rollout is collected.
            if self.num_timesteps > 0 and evaluator.due(self.num_timesteps):
                self._record()

        def _on_training_end(self) -> None:
            points = evaluator.points
            if not points or points[-1]["step"] != self.num_timesteps:
                self._record()

        def _on_step(self) -> bool:
            return True

        def _record(self) -> None:
            weights = self.model.policy.state_dict()
            state = {key: value.detach().cpu() for key, value in weights.items()}
            activation = ACTIVATIONS[config.activation].__name__
            actor = build_actor(Path("<SB3 in memory>"), state, model, activation)
            evaluator.record(self.num_timesteps, actor.eval())

    learning_rate: float | Callable[[float], float] = config.learning_rate
    if config.anneal_lr:
        learning_rate = partial(_linear, config.learning_rate)
    hidden = list(config.hidden)
    env = DummyVecEnv([partial(POMDPEnv, model) for _ in range(config.num_envs)])
    agent = PPO(
        "MlpPolicy",
        env,
        learning_rate=learning_rate,
        n_steps=config.num_steps,
        batch_size=config.minibatch_size,
        n_epochs=config.update_epochs,
        gamma=model.discount if config.gamma is None else config.gamma,
        gae_lambda=config.gae_lambda,
        clip_range=config.clip_coef,
        normalize_advantage=config.normalize_advantages,
        ent_coef=config.ent_coef,
        # SB3's value loss is the full mean squared error and pomdb's half of it, so
        # half the coefficient gives both trainers the same loss.
        vf_coef=config.vf_coef / 2,
        max_grad_norm=config.max_grad_norm,
        policy_kwargs={
            "net_arch": {"pi": hidden, "vf": hidden},
            "activation_fn": ACTIVATIONS[config.activation],
        },
        seed=config.seed,
        device="cpu",
    )
    agent.learn(config.num_updates * config.batch_size, callback=EvaluationCallback())
    return agent.num_timesteps


def _linear(initial: float, progress_remaining: float) -> float:
    return initial * progress_remaining
