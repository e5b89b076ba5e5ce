"""T-SPSA: simultaneous perturbation stochastic approximation of threshold policies.

The algorithm of Hammar and Stadler, "Intrusion Prevention Through Optimal
Stopping", IEEE TNSM 19(2), 2022, as CSLE's T-SPSA agent (csle-agents) runs it for
the defender. The policy with l stops left stops with CSLE's smooth threshold at
alpha_l = sigmoid(theta_l). Iteration k (0-based):

1. draw a perturbation direction Delta in {-1, +1}^L, each sign with probability 1/2;
2. estimate the mean returns J(theta + c_k Delta) and J(theta - c_k Delta) on the
   same episodes (common random numbers in `simcore.vector_threshold`);
3. estimate the gradient g_l = (J+ - J-) / (2 c_k Delta_l), averaged over
   `gradient_batch_size` independent directions;
4. step uphill, theta <- theta + a_k g, and project theta onto
   theta_1 >= theta_2 >= ... >= theta_L, so that alpha_1 >= ... >= alpha_L after
   every iteration (the perturbed points themselves may be unordered);
5. estimate J(theta) on other episodes for the metrics.

The projection is the Euclidean one (pool adjacent violators). CSLE's agent instead
sets theta_l = max(theta_l, theta_l+1) for l = 1..L-1 in one forward pass, which can
leave the vector unordered (0, 0, 5 becomes 0, 5, 5).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit

from simcore.checkpoint import numpy_rng_state, set_numpy_rng_state
from simcore.files import atomic_write
from simcore.model import POMDP
from simcore.policies import POLICY_FORMAT, ThresholdPolicy, load_policy_file
from simcore.progress import RETURN_KEY
from simcore.trainer import TrainingRun
from simcore.tspsa_config import TSPSAConfig, perturbation_size, step_size
from simcore.vector_env import VectorEnv
from simcore.vector_threshold import VectorThresholdPolicy, estimate_return

logger = logging.getLogger(__name__)

# The first entries of SeedSequence([seed, stream, ...]) for each use of randomness.
_DIRECTIONS, _GRADIENT_EPISODES, _METRIC_EPISODES = 0, 1, 2


def project_ordered(theta: np.ndarray) -> np.ndarray:
    """Return the Euclidean projection of `theta` onto theta_1 >= ... >= theta_L.

    Pool adjacent violators: scan left to right and merge each block whose mean
    exceeds the mean of the block before it. Every block then takes its mean.
    """
    blocks: list[list[float]] = []  # [sum, count] per block
    for value in theta.tolist():
        blocks.append([value, 1])
        while len(blocks) > 1 and (
            blocks[-2][0] / blocks[-2][1] < blocks[-1][0] / blocks[-1][1]
        ):
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    return np.array([total / count for total, count in blocks for _ in range(count)])


@dataclass
class TSPSAResult:
    """The trained thresholds with the run's figures, counting iterations as steps."""

    theta: np.ndarray
    config: TSPSAConfig
    global_step: int
    seconds: float
    simulated_steps: int
    history: list[dict[str, float]]

    @property
    def thresholds(self) -> list[float]:
        """alpha_1..alpha_L = sigmoid(theta), non-increasing."""
        return [float(alpha) for alpha in expit(self.theta)]

    def policy(self, model: POMDP, name: str = "tspsa") -> ThresholdPolicy:
        policy = ThresholdPolicy(model, self.thresholds)
        policy.name = name
        return policy

    def save(self, path: Path, model: POMDP, extra: dict[str, Any]) -> None:
        """Write a threshold policy file atomically, after checking that it loads."""
        metadata = {
            "format": POLICY_FORMAT,
            "kind": "threshold",
            "thresholds": self.thresholds,
            "theta": [float(value) for value in self.theta],
            **extra,
        }
        data = (json.dumps(metadata, indent=2) + "\n").encode("utf-8")
        atomic_write(
            Path(path),
            lambda f: f.write(data),
            check=lambda temporary: load_policy_file(temporary, model),
        )


def train(
    model: POMDP, config: TSPSAConfig, run: TrainingRun | None = None
) -> TSPSAResult:
    """Train nested thresholds for `model` with T-SPSA and return them.

    `run` receives one metrics row per iteration and saves the checkpoints. Its
    `resume_state` continues an interrupted run (see `simcore.trainer`), which then
    ends with the same thresholds as an uninterrupted one.
    """
    config.validate()
    run = TrainingRun(algorithm="tspsa") if run is None else run
    try:
        return _train(model, config, run)
    finally:
        run.close()


def _train(model: POMDP, config: TSPSAConfig, run: TrainingRun) -> TSPSAResult:
    L = model.stops or 1
    # Checks that the model has a state "intrusion" to watch, with a clear error.
    ThresholdPolicy(model, [0.5] * L)
    env = VectorEnv(model, config.episodes_per_evaluation, seed=0, world=run.world)
    directions = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([config.seed, _DIRECTIONS]))
    )
    theta = np.full(L, float(config.initial_theta))
    first, simulated, previous_seconds = 0, 0, 0.0
    if run.resume_state is not None:
        state = run.resume_state
        first, simulated = int(state["iteration"]), int(state["simulated_steps"])
        theta = np.array(state["theta"], dtype=float)
        set_numpy_rng_state(directions, state["rng"])
        previous_seconds = float(state["seconds"])
    logger.info(
        "training T-SPSA for %d iterations on %s from iteration %d",
        config.iterations, model.name, first,
    )  # fmt: skip

    # The training time counts from here, without the set-up above, and adds up over
    # the processes of a resumed run.
    seconds = previous_seconds
    run.start_clock()
    for k in range(first, config.iterations):
        a_k, c_k = step_size(config, k), perturbation_size(config, k)

        # Gradient estimate: J at theta +- c_k Delta on common random numbers
        gradients, plus, minus = [], [], []
        for j in range(config.gradient_batch_size):
            delta = directions.choice((-1.0, 1.0), size=L)
            seed = [config.seed, _GRADIENT_EPISODES, k, j]
            up = _estimate(env, model, theta + c_k * delta, seed)
            down = _estimate(env, model, theta - c_k * delta, seed)
            simulated += up.steps + down.steps
            gradients.append((up.mean_return - down.mean_return) / (2.0 * c_k * delta))
            plus.append(up.mean_return)
            minus.append(down.mean_return)

        # Step uphill, then restore alpha_1 >= ... >= alpha_L
        theta = project_ordered(theta + a_k * np.mean(gradients, axis=0))

        # Metrics: J(theta) on episodes of its own
        current = _estimate(env, model, theta, [config.seed, _METRIC_EPISODES, k])
        simulated += current.steps
        seconds = previous_seconds + run.elapsed()
        row = {
            "global_step": k + 1,
            RETURN_KEY: current.mean_return,
            "charts/episodic_length": current.mean_length,
            "charts/steps_per_second": simulated / seconds if seconds > 0 else math.nan,
            "tspsa/step_size": a_k,
            "tspsa/perturbation_size": c_k,
            "tspsa/return_plus": float(np.mean(plus)),
            "tspsa/return_minus": float(np.mean(minus)),
        }
        for l, alpha in enumerate(expit(theta), start=1):
            row[f"tspsa/threshold_{l}"] = float(alpha)
        run.record(row)

        if run.checkpoint_due(k + 1, config.iterations):
            run.save_checkpoint(
                {
                    "iteration": k + 1,
                    "theta": [float(value) for value in theta],
                    "rng": numpy_rng_state(directions),
                    "simulated_steps": simulated,
                    "seconds": seconds,
                }
            )

    logger.info("T-SPSA done: thresholds %s", np.round(expit(theta), 4).tolist())
    return TSPSAResult(
        theta=theta,
        config=config,
        global_step=config.iterations,
        seconds=seconds,
        simulated_steps=simulated,
        history=run.history,
    )


def _estimate(env: VectorEnv, model: POMDP, theta: np.ndarray, seed: list[int]):
    """Estimate J at `theta` on the episodes of `seed`."""
    policy = VectorThresholdPolicy(model, expit(theta).tolist())
    return estimate_return(env, policy, seed)
