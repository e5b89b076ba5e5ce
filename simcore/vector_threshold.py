"""Nested smooth-threshold policies played in every slot of a `VectorEnv` at once.

With l stops left a slot stops with CSLE's smooth threshold probability
P(stop | b) = 1 / (1 + (b (1 - alpha_l) / (alpha_l (1 - b)))^-20) on b = b(intrusion),
the semantics of `simcore.policies.smooth_threshold`. `estimate_return` runs a fixed
set of episodes under given thresholds. Two threshold vectors estimated with the same
seed meet common random numbers, as T-SPSA's gradient estimate needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simcore.model import POMDP
from simcore.policies import THRESHOLD_STEEPNESS, ThresholdPolicy
from simcore.vector_env import VectorEnv

# The clip of simcore.policies.smooth_threshold, which keeps logit(alpha) finite.
_THRESHOLD_CLIP = 1e-12


def stop_probabilities(
    beliefs: np.ndarray,
    thresholds: np.ndarray,
    steepness: float = THRESHOLD_STEEPNESS,
) -> np.ndarray:
    """Return `simcore.policies.smooth_threshold(b, alpha)` element-wise.

    Computed as 1 / (1 + r^steepness) with r = alpha (1 - b) / (b (1 - alpha)), which
    gives exactly 0 at b = 0, 1 at b = 1 and 0.5 at b = alpha, as the scalar function
    does, without a logarithm or an exponential. Agrees with it to about 1e-13.
    """
    alpha = np.maximum(thresholds, _THRESHOLD_CLIP)
    np.minimum(alpha, 1.0 - _THRESHOLD_CLIP, out=alpha)
    ratio = alpha * (1.0 - beliefs)
    denominator = beliefs * (1.0 - alpha)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        ratio /= denominator
        ratio = _power(ratio, steepness)
    # b = 0 gives r = inf and P = 0; b = 1 gives r = 0 and P = 1. The clip keeps
    # 1 - alpha > 0, so r is never 0 / 0.
    ratio += 1.0
    np.reciprocal(ratio, out=ratio)
    return ratio


def _power(x: np.ndarray, exponent: float) -> np.ndarray:
    """Return x ** exponent, overwriting x.

    A small whole exponent, such as the steepness 20, is computed by repeated
    squaring, which is several times faster than np.power.
    """
    if not (float(exponent).is_integer() and 1 <= exponent <= 64):
        return np.power(x, exponent, out=x)
    k, result = int(exponent), None
    while k:
        if k & 1:
            result = x.copy() if result is None else np.multiply(result, x, out=result)
        k >>= 1
        if k:
            np.multiply(x, x, out=x)
    return result


class VectorThresholdPolicy:
    """Nested thresholds alpha_1..alpha_L on b(`state`), sampled for every slot.

    Validates the thresholds as `simcore.policies.ThresholdPolicy` does (one value, or
    one per stop, each in [0, 1]).
    """

    def __init__(
        self, model: POMDP, thresholds: list[float], state: str = "intrusion"
    ):
        scalar = ThresholdPolicy(model, thresholds, state)
        self.thresholds = np.array(scalar.thresholds)
        self.state = scalar.state
        stop = model.stop_action
        self.stop = len(model.actions) - 1 if stop is None else stop
        self.other = 0 if self.stop != 0 else 1

    def actions(self, env: VectorEnv, uniforms: np.ndarray) -> np.ndarray:
        """Return one action per slot of `env`: stop where a uniform < P(stop)."""
        alphas = self.thresholds.take(env.stages())
        p_stop = stop_probabilities(env.beliefs[:, self.state], alphas)
        stops = uniforms < p_stop
        if self.stop == 1 and self.other == 0:
            return stops.astype(np.int64)
        return np.where(stops, self.stop, self.other)


@dataclass(frozen=True)
class ReturnEstimate:
    """The mean return of `episodes` episodes and the steps simulated to get it."""

    mean_return: float
    episodes: int
    mean_length: float
    steps: int


def estimate_return(
    env: VectorEnv,
    policy: VectorThresholdPolicy,
    seed: int | list[int] | np.random.SeedSequence,
) -> ReturnEstimate:
    """Play the first episode of every slot of `env` under `policy` and average.

    Reseeds `env` from `seed` and resets every slot, so the result depends only on
    the seed, the thresholds and the environment's model, world and size. Two calls
    with the same seed use the same random numbers, slot by slot and step by step.
    The slots that finish first keep stepping new episodes, which are not counted,
    until the last first episode ends.
    """
    if not isinstance(seed, np.random.SeedSequence):
        seed = np.random.SeedSequence(seed)
    env_seed, policy_seed = seed.spawn(2)
    env.rng = np.random.Generator(np.random.PCG64(env_seed))
    policy_rng = np.random.Generator(np.random.PCG64(policy_seed))
    env.reset()

    n = env.num_envs
    returns = np.zeros(n)
    lengths = np.zeros(n, dtype=np.int64)
    finished = np.zeros(n, dtype=bool)
    uniforms = np.empty(n)
    steps = 0
    while not finished.all():
        policy_rng.random(out=uniforms)
        step = env.step(policy.actions(env, uniforms))
        steps += n
        if step.returns.size:
            first = step.dones & ~finished
            returns[first] = step.returns[first[step.dones]]
            lengths[first] = step.lengths[first[step.dones]]
            finished |= first
    return ReturnEstimate(
        mean_return=float(returns.mean()),
        episodes=n,
        mean_length=float(lengths.mean()),
        steps=steps,
    )
