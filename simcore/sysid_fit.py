"""Fitting the intrusion-prevention observation model Z(o | s) from measurements.

For each hidden state the measurements give an empirical distribution of one metric,
mapped onto the observation values 0..observation_max. Two models are fitted to it:
the histogram with additive (Dirichlet) smoothing, and a beta-binomial distribution
BB(n = observation_max, alpha, beta) by maximum likelihood.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy import optimize
from scipy.stats import betabinom

from simcore.sysid_traces import (
    NO_ATTACK_ACTION,
    FitError,
    PooledHistogram,
    load_traces,
    max_value,
    pool,
    profile_weights,
    select_histograms,
)

logger = logging.getLogger(__name__)

METHODS = ("table", "beta-binomial")


@dataclass(frozen=True)
class StateFit:
    """The measurements and both fitted models of one hidden state.

    Log-likelihoods are in-sample means in nats per step of the pooled (weighted) data.
    """

    name: str
    pooled: PooledHistogram
    empirical: np.ndarray
    table: np.ndarray
    alpha: float
    beta: float
    log_likelihood_table: float
    log_likelihood_beta_binomial: float

    @property
    def beta_binomial(self) -> np.ndarray:
        """The fitted beta-binomial probabilities of 0..observation_max."""
        n = self.table.size - 1
        return betabinom(n, self.alpha, self.beta).pmf(np.arange(n + 1))

    @property
    def mean(self) -> float:
        """The mean observation value under the empirical distribution."""
        return float(self.empirical @ np.arange(self.empirical.size))

    def aic(self, method: str) -> float:
        """Akaike information criterion 2k - 2 log L, with n_eff steps."""
        steps = float(self.pooled.effective_sample_count)
        if method == "table":
            return 2 * (self.table.size - 1) - 2 * steps * self.log_likelihood_table
        return 4 - 2 * steps * self.log_likelihood_beta_binomial


@dataclass(frozen=True)
class FittedObservationModel:
    """Z(o | no_intrusion) and Z(o | intrusion) fitted from measurements.

    `method` selects the model that `rows()` returns and a scenario uses; both are
    always fitted so that they can be compared.
    """

    data_path: Path
    metric: str
    profile: str
    method: str
    observation_max: int
    bin_width: int
    smoothing: float
    host: str | None
    no_intrusion: StateFit
    intrusion: StateFit

    def states(self) -> tuple[StateFit, StateFit]:
        return self.no_intrusion, self.intrusion

    def rows(self, method: str | None = None) -> dict[str, np.ndarray]:
        """Return each state's probability row for `method` (default: the fit's)."""
        method = method or self.method
        if method == "table":
            return {fit.name: fit.table for fit in self.states()}
        return {fit.name: fit.beta_binomial for fit in self.states()}

    def kl_divergence(self, method: str | None = None) -> tuple[float, float]:
        """Return KL(intrusion || no_intrusion) and the reverse divergence, in nats."""
        rows = self.rows(method)
        p, q = rows["intrusion"], rows["no_intrusion"]
        return kl_divergence(p, q), kl_divergence(q, p)


def fit_observation_model(
    data_path: str | Path,
    metric: str = "num_new_priority",
    observation_max: int = 99,
    profile: str = "all",
    method: str = "table",
    bin_width: int | None = None,
    smoothing: float = 1.0,
    host: str | None = None,
) -> FittedObservationModel:
    """Fit the observation model of the intrusion-prevention POMDP from measurements.

    "no_intrusion" is the metric's distribution when the attacker takes no action
    (action 85); "intrusion" mixes the actions of the attacker `profile`. Values map to
    min(value // bin_width, observation_max). Without a bin width, the fit uses the
    smallest width that maps every no-intrusion value below observation_max, so the top
    value only collects the clipped tail of intrusion steps.
    """
    path = Path(data_path)
    if method not in METHODS:
        raise FitError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if isinstance(observation_max, bool) or observation_max < 1:
        raise FitError(
            f"observation_max must be an integer >= 1, got {observation_max!r}"
        )
    if bin_width is not None and bin_width < 1:
        raise FitError(f"bin width must be an integer >= 1, got {bin_width!r}")
    if not math.isfinite(smoothing) or smoothing <= 0:
        raise FitError(
            f"smoothing must be a positive pseudo-count, got {smoothing!r}; it keeps "
            "every observation possible"
        )
    weights = profile_weights(profile)
    histograms = select_histograms(load_traces(path), path, metric, host)
    if bin_width is None:
        largest = max_value(histograms, NO_ATTACK_ACTION)
        bin_width = automatic_bin_width(largest, observation_max)
        logger.info(
            "bin width %d keeps no-intrusion values up to %s", bin_width, largest
        )

    fits = []
    for name, state_weights in (
        ("no_intrusion", {NO_ATTACK_ACTION: Fraction(1)}),
        ("intrusion", weights),
    ):
        pooled = pool(
            histograms, state_weights, bin_width, observation_max, path, metric
        )
        fits.append(fit_state(name, pooled, smoothing))
    return FittedObservationModel(
        data_path=path,
        metric=metric,
        profile=profile,
        method=method,
        observation_max=observation_max,
        bin_width=bin_width,
        smoothing=smoothing,
        host=host,
        no_intrusion=fits[0],
        intrusion=fits[1],
    )


def automatic_bin_width(largest_no_intrusion: int | None, observation_max: int) -> int:
    """Return the smallest bin width w with largest // w < observation_max."""
    if largest_no_intrusion is None or largest_no_intrusion < observation_max:
        return 1
    return largest_no_intrusion // observation_max + 1


def fit_state(name: str, pooled: PooledHistogram, smoothing: float) -> StateFit:
    """Fit the smoothed table and the beta-binomial model to one state's histogram."""
    table = smoothed_table(pooled, smoothing)
    empirical = np.array([float(p) for p in pooled.probabilities])
    alpha, beta = fit_beta_binomial(empirical)
    n = empirical.size - 1
    bb = betabinom(n, alpha, beta).logpmf(np.arange(n + 1))
    fit = StateFit(
        name=name,
        pooled=pooled,
        empirical=empirical,
        table=table,
        alpha=alpha,
        beta=beta,
        log_likelihood_table=mean_log_likelihood(empirical, np.log(table)),
        log_likelihood_beta_binomial=mean_log_likelihood(empirical, bb),
    )
    logger.info(
        "%s: %d steps (effective %.1f), mean %.3f, BB(%d, %.4g, %.4g)",
        name, pooled.sample_count, float(pooled.effective_sample_count), fit.mean, n,
        alpha, beta,
    )  # fmt: skip
    return fit


def smoothed_table(pooled: PooledHistogram, smoothing: float) -> np.ndarray:
    """Return (n_eff * p + smoothing) / (n_eff + K * smoothing) for each of K values.

    This is the posterior mean under a symmetric Dirichlet(smoothing) prior, with the
    pooled distribution counted as n_eff (effective sample size) observations. It is
    computed exactly and rounded once to float64.
    """
    pseudo = Fraction(smoothing)
    steps = pooled.effective_sample_count
    total = steps + len(pooled.probabilities) * pseudo
    exact = [(steps * p + pseudo) / total for p in pooled.probabilities]
    row = np.array([float(p) for p in exact])
    return row / row.sum()


def fit_beta_binomial(distribution: np.ndarray) -> tuple[float, float]:
    """Return the (alpha, beta) of BB(n, alpha, beta) maximising sum p(o) log BB(o).

    `distribution` is a probability row over 0..n, so this is the maximum-likelihood
    fit to weighted samples. The search runs over log(alpha), log(beta) from the
    method-of-moments estimate.
    """
    n = distribution.size - 1
    values = np.arange(n + 1)
    support = distribution > 0

    def negative_log_likelihood(x: np.ndarray) -> float:
        a, b = np.exp(x)
        logpmf = betabinom(n, a, b).logpmf(values[support])
        return -float(distribution[support] @ logpmf)

    result = optimize.minimize(
        negative_log_likelihood,
        np.log(_moment_estimate(distribution)),
        method="L-BFGS-B",
        bounds=[(-12.0, 12.0), (-12.0, 12.0)],
    )
    if not result.success:
        logger.warning(
            "beta-binomial fit did not converge (%s); using alpha=%.4g, beta=%.4g",
            result.message, *np.exp(result.x),
        )  # fmt: skip
    alpha, beta = np.exp(result.x)
    return float(alpha), float(beta)


def _moment_estimate(distribution: np.ndarray) -> tuple[float, float]:
    """Return method-of-moments (alpha, beta), clamped to a usable starting point."""
    n = distribution.size - 1
    values = np.arange(n + 1)
    mean = float(distribution @ values) / n
    variance = float(distribution @ (values / n - mean) ** 2)
    mean = min(max(mean, 1e-3), 1 - 1e-3)
    binomial_variance = mean * (1 - mean) / n
    beta_variance = mean * (1 - mean)
    # BB variance / n^2 = m(1-m)(1 + (n-1) rho) / n with rho = 1 / (alpha + beta + 1).
    rho = (variance - binomial_variance) / (beta_variance - binomial_variance)
    rho = min(max(rho, 1e-3), 1 - 1e-3)
    concentration = 1 / rho - 1
    return mean * concentration, (1 - mean) * concentration


def mean_log_likelihood(
    distribution: np.ndarray, log_probabilities: np.ndarray
) -> float:
    """Return sum p(o) log q(o) over the values with p(o) > 0 (nats per step)."""
    support = distribution > 0
    return float(distribution[support] @ log_probabilities[support])


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Return KL(p || q) = sum p log(p / q) in nats (infinite where q = 0 < p)."""
    support = p > 0
    if np.any(q[support] == 0):
        return math.inf
    return float(p[support] @ np.log(p[support] / q[support]))


def leave_one_out_log_likelihood(counts: np.ndarray, smoothing: float) -> float:
    """Return the mean leave-one-out log-likelihood of smoothed counts (nats per step).

    Each sample is scored by the table smoothed with `smoothing` and fitted to the other
    samples: (c_k - 1 + smoothing) / (N - 1 + K * smoothing) for a sample in value k.
    """
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    if total < 2:
        raise FitError("leave-one-out needs at least 2 samples")
    support = counts > 0
    held_out = (counts[support] - 1 + smoothing) / (total - 1 + counts.size * smoothing)
    return float(counts[support] @ np.log(held_out) / total)
