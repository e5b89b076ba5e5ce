"""Histograms of emulation measurements, pooled into one distribution per hidden state.

The measurements are the per-step histograms that Hammar and Stadler published with
"Learning Intrusion Prevention Policies through Optimal Stopping" (CNSM 2021), files
`traces/traces.json` and `traces/traces_v2.json` of the GitHub repository
Limmen/gym-optimal-intrusion-response, licensed CC BY-SA 4.0. Their layout is

    {metric: {attacker_action_id: {attacker_progress: {value: count}}}}
    "machines_dynamics_model": {host_ip: {metric: {action: {progress: {value: count}}}}}

Every weight and probability here is a `Fraction`, so pooling is exact; floats appear
only when a caller converts the result.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

HOSTS_KEY = "machines_dynamics_model"
NO_ATTACK_ACTION = 85
ACTION_NAMES: dict[int, str] = {
    10: "Telnet dictionary attack",
    11: "SSH dictionary attack",
    12: "FTP dictionary attack",
    19: "TCP SYN (stealth) port scan",
    20: "ICMP ping scan",
    38: "login to a compromised service",
    51: "install tools",
    52: "SSH backdoor",
    53: "SambaCry (CVE-2017-7494)",
    54: "Shellshock (CVE-2014-6271)",
    55: "DVWA SQL injection",
    57: "Elasticsearch CVE-2015-1427",
    59: "sudoedit CVE-2010-0426",
    85: "no attacker action",
}
# Action sequences of the attackers of CSLE level 9 (Hammar and Stadler, TNSM 2022).
ATTACKER_PROFILES: dict[str, tuple[int, ...]] = {
    "novice": (19, 11, 10, 12, 38, 51, 52, 19, 54, 38, 51, 11, 38, 59, 19),
    "experienced": (20, 53, 38, 51, 20, 11, 38, 59, 20, 55, 38, 51, 20, 57, 38, 51, 20),
    "expert": (20, 53, 38, 51, 20, 55, 38, 51, 20, 57, 38, 51, 20, 53, 38, 51, 20),
}
PROFILE_CHOICES = ("all", *ATTACKER_PROFILES)

# Histograms of one metric: host (None for the gateway IDS) -> action -> progress ->
# value -> count.
Histograms = dict[str | None, dict[int, dict[str, dict[int, int]]]]


class FitError(ValueError):
    """Invalid measurements or fit options; the message names the file or the value."""


@dataclass(frozen=True)
class HistogramSource:
    """One action's histogram on one host (None: the gateway) and its pooling weight."""

    action: int
    host: str | None
    weight: Fraction
    samples: int


@dataclass(frozen=True)
class PooledHistogram:
    """The weighted mixture of several histograms, mapped onto 0..observation_max.

    `effective_sample_count` is Kish's effective sample size 1 / sum(w**2 / n) of the
    mixture; it equals the sample count when a single histogram is pooled.
    """

    probabilities: tuple[Fraction, ...]
    sources: tuple[HistogramSource, ...]
    sample_count: int
    effective_sample_count: Fraction
    raw_mean: Fraction
    clipped_probability: Fraction
    negative_probability: Fraction


def load_traces(path: Path) -> dict[str, Any]:
    """Read a measurement file and return its top-level mapping."""
    if not path.is_file():
        raise FitError(f"{path}: data file not found")
    try:
        with path.open(encoding="utf-8") as stream:
            document = json.load(stream)
    except json.JSONDecodeError as error:
        raise FitError(
            f"{path}: invalid JSON at line {error.lineno}, column {error.colno}: "
            f"{error.msg}"
        ) from None
    except UnicodeDecodeError as error:
        raise FitError(f"{path}: not UTF-8 text ({error.reason})") from None
    if not isinstance(document, dict):
        raise FitError(
            f"{path}: expected a JSON object {{metric: {{action: {{progress: "
            f"{{value: count}}}}}}}}, got {type(document).__name__}"
        )
    return document


def metric_names(document: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Return the metrics measured at the gateway and those measured on hosts."""
    gateway = sorted(key for key in document if key != HOSTS_KEY)
    hosts = document.get(HOSTS_KEY)
    on_hosts: set[str] = set()
    if isinstance(hosts, dict):
        for metrics in hosts.values():
            if isinstance(metrics, dict):
                on_hosts.update(metrics)
    return gateway, sorted(on_hosts)


def select_histograms(
    document: dict[str, Any], path: Path, metric: str, host: str | None = None
) -> Histograms:
    """Return the validated histograms of `metric`.

    The gateway's top-level histograms are used when the file has them and no host is
    named. A metric measured only on hosts is taken from every host that has it.
    """
    gateway_metrics, host_metrics = metric_names(document)
    hosts = document.get(HOSTS_KEY)
    if host is not None:
        if not isinstance(hosts, dict) or host not in hosts:
            known = ", ".join(sorted(hosts)) if isinstance(hosts, dict) else "none"
            raise FitError(f"{path}: host {host!r} not found; hosts: {known}")
        metrics = hosts[host]
        if not isinstance(metrics, dict) or metric not in metrics:
            raise FitError(f"{path}: host {host} has no metric {metric!r}")
        where = f"{HOSTS_KEY}/{host}/{metric}"
        return {host: _validate_metric(metrics[metric], path, where)}
    if metric in gateway_metrics:
        return {None: _validate_metric(document[metric], path, metric)}
    if metric in host_metrics:
        assert isinstance(hosts, dict)
        return {
            ip: _validate_metric(metrics[metric], path, f"{HOSTS_KEY}/{ip}/{metric}")
            for ip, metrics in hosts.items()
            if isinstance(metrics, dict) and metric in metrics
        }
    raise FitError(
        f"{path}: unknown metric {metric!r}; gateway metrics: "
        f"{', '.join(gateway_metrics) or 'none'}; host metrics: "
        f"{', '.join(host_metrics) or 'none'}"
    )


def _validate_metric(
    section: Any, path: Path, where: str
) -> dict[int, dict[str, dict[int, int]]]:
    """Check one metric's {action: {progress: {value: count}}} and convert the keys."""
    if not isinstance(section, dict):
        raise FitError(f"{path}: {where} must be an object keyed by attacker action id")
    result: dict[int, dict[str, dict[int, int]]] = {}
    for action_key, progress_map in section.items():
        action = _integer(action_key, path, f"{where}: attacker action id")
        if not isinstance(progress_map, dict):
            raise FitError(
                f"{path}: {where}/{action_key} must be an object keyed by attacker "
                f"progress, got {type(progress_map).__name__}"
            )
        result[action] = {}
        for progress, histogram in progress_map.items():
            location = f"{where}/{action_key}/{progress}"
            if not isinstance(histogram, dict):
                raise FitError(
                    f"{path}: {location} must be a histogram {{value: count}}, "
                    f"got {type(histogram).__name__}"
                )
            counts: dict[int, int] = {}
            for value_key, count in histogram.items():
                value = _integer(value_key, path, f"{location}: value")
                if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                    raise FitError(
                        f"{path}: {location}: count of value {value_key} must be a "
                        f"non-negative integer, got {count!r}"
                    )
                counts[value] = counts.get(value, 0) + count
            result[action][progress] = counts
    return result


def _integer(text: str, path: Path, field: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise FitError(f"{path}: {field} {text!r} is not an integer") from None


def profile_weights(profile: str) -> dict[int, Fraction]:
    """Return each attacker action's share of the steps of an intrusion.

    A profile's action has the weight (occurrences in the sequence) / (sequence
    length). `all` averages the three profiles, as for an attacker drawn uniformly.
    """
    if profile == "all":
        names = list(ATTACKER_PROFILES)
    elif profile in ATTACKER_PROFILES:
        names = [profile]
    else:
        raise FitError(
            f"unknown attacker profile {profile!r}; "
            f"use one of {', '.join(PROFILE_CHOICES)}"
        )
    weights: dict[int, Fraction] = {}
    for name in names:
        sequence = ATTACKER_PROFILES[name]
        for action, occurrences in Counter(sequence).items():
            share = Fraction(occurrences, len(sequence) * len(names))
            weights[action] = weights.get(action, Fraction(0)) + share
    return dict(sorted(weights.items()))


def max_value(histograms: Histograms, action: int) -> int | None:
    """Return the largest value recorded for `action` on any host, or None."""
    values = [
        value
        for by_action in histograms.values()
        for histogram in by_action.get(action, {}).values()
        for value, count in histogram.items()
        if count > 0
    ]
    return max(values) if values else None


def pool(
    histograms: Histograms,
    weights: dict[int, Fraction],
    bin_width: int,
    observation_max: int,
    path: Path,
    metric: str,
) -> PooledHistogram:
    """Mix the actions' histograms with `weights` and map values onto 0..max.

    Within one action, the histograms of all attacker-progress keys are summed, so each
    recorded step counts once. An action measured on several hosts gives each host the
    same share of the action's weight. A value v maps to min(v // bin_width, max);
    negative values map to 0.
    """
    size = observation_max + 1
    probabilities = [Fraction(0)] * size
    sources: list[HistogramSource] = []
    raw_mean = Fraction(0)
    clipped = Fraction(0)
    negative = Fraction(0)
    for action, action_weight in weights.items():
        hosts = [
            host
            for host, by_action in histograms.items()
            if sum(sum(h.values()) for h in by_action.get(action, {}).values()) > 0
        ]
        if not hosts:
            name = ACTION_NAMES.get(action, "unknown action")
            raise FitError(
                f"{path}: metric {metric!r} has no samples for attacker action "
                f"{action} ({name}); choose another metric, profile or data file"
            )
        for host in hosts:
            counts: Counter[int] = Counter()
            for histogram in histograms[host][action].values():
                counts.update(histogram)
            samples = sum(counts.values())
            weight = action_weight / len(hosts)
            sources.append(HistogramSource(action, host, weight, samples))
            for value, count in counts.items():
                share = weight * Fraction(count, samples)
                raw_mean += share * value
                if value < 0:
                    negative += share
                index = min(max(value, 0) // bin_width, observation_max)
                if value // bin_width > observation_max:
                    clipped += share
                probabilities[index] += share
    inverse = sum((s.weight * s.weight / s.samples for s in sources), Fraction(0))
    if negative:
        logger.warning(
            "%s: %s has negative values (probability %.4g); they map to 0",
            path, metric, float(negative),
        )  # fmt: skip
    return PooledHistogram(
        probabilities=tuple(probabilities),
        sources=tuple(sources),
        sample_count=sum(s.samples for s in sources),
        effective_sample_count=1 / inverse,
        raw_mean=raw_mean,
        clipped_probability=clipped,
        negative_probability=negative,
    )
