"""Writing a fitted observation model as an intrusion-prevention scenario file."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simcore.files import atomic_write
from simcore.model import ModelError
from simcore.scenario import load_scenario
from simcore.sysid_fit import FittedObservationModel
from simcore.sysid_traces import ATTACKER_PROFILES, FitError, profile_weights

logger = logging.getLogger(__name__)

# First line of every file that `pomdb fit` writes; only such files are overwritten
# without --force.
MARKER = "# Written by pomdb fit; the command in 'provenance' regenerates this file."
DEFAULT_SOURCE = (
    "IDS and host measurements from an emulated IT infrastructure (Snort at the "
    "gateway, 30 s steps) by Kim Hammar and Rolf Stadler, KTH, published with "
    '"Learning Intrusion Prevention Policies through Optimal Stopping" (CNSM 2021) in '
    "traces/traces.json and traces/traces_v2.json of the GitHub repository "
    "Limmen/gym-optimal-intrusion-response, commit 53c05ae."
)
DEFAULT_LICENCE = (
    "CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/). The observation "
    "model is derived from measurements by Kim Hammar and Rolf Stadler."
)
PROBABILITIES_PER_LINE = 4
SIGNIFICANT_DIGITS = 12


@dataclass(frozen=True)
class ScenarioOptions:
    """Settings of the written scenario that do not come from the fit."""

    command: str
    stops: int = 3
    attacker_start_probability: float = 0.1
    terminal_observation: str = "max"
    source: str = DEFAULT_SOURCE
    licence: str = DEFAULT_LICENCE


def yaml_number(value: float) -> str:
    """Format a float with 12 significant digits so that YAML reads it as a float.

    PyYAML (YAML 1.1) reads `1e-05` as a string and `1` as an integer, so a mantissa
    without a point gets one.
    """
    text = format(value, f".{SIGNIFICANT_DIGITS}g")
    mantissa, marker, exponent = text.partition("e")
    if mantissa.lstrip("-").isdigit():
        text = f"{mantissa}.0{marker}{exponent}"
    return text


def _row_lines(row: np.ndarray, indent: str) -> list[str]:
    numbers = [yaml_number(p) for p in row]
    lines = []
    for start in range(0, len(numbers), PROBABILITIES_PER_LINE):
        chunk = numbers[start : start + PROBABILITIES_PER_LINE]
        lines.append(indent + ", ".join(chunk) + ",")
    lines[-1] = lines[-1].rstrip(",")
    return lines


def _block(text: str, indent: str = "  ") -> list[str]:
    """Wrap free text at about 84 columns for a YAML folded or literal block."""
    lines, current = [], ""
    for word in text.split():
        if current and len(indent) + len(current) + 1 + len(word) > 88:
            lines.append(indent + current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(indent + current)
    return lines


def _profile_text(fit: FittedObservationModel) -> str:
    names = list(ATTACKER_PROFILES) if fit.profile == "all" else [fit.profile]
    shares = ", ".join(
        f"{action}: {weight}" for action, weight in profile_weights(fit.profile).items()
    )
    hosts = {source.host for source in fit.intrusion.pooled.sources}
    where = (
        "the gateway IDS" if hosts == {None} else f"hosts {', '.join(sorted(hosts))}"
    )
    averaged = ", averaged over the profiles" if fit.profile == "all" else ""
    return (
        f"attacker profile {fit.profile} ({', '.join(names)}), action weights "
        f"{{{shares}}} (occurrences in the profile's action sequence / its "
        f"length{averaged}), measured at {where}"
    )


def _provenance_lines(
    fit: FittedObservationModel, options: ScenarioOptions
) -> list[str]:
    no_intrusion, intrusion = fit.no_intrusion, fit.intrusion
    n = fit.observation_max
    table_kl = fit.kl_divergence("table")
    bb_kl = fit.kl_divergence("beta-binomial")
    fitted = (
        f"Observation model fitted by pomdb fit from {fit.data_path}: metric "
        f"{fit.metric}, observation o = min(value // {fit.bin_width}, {n}); "
        f"no_intrusion = attacker action 85 (no attacker action); intrusion = "
        f"{_profile_text(fit)}. Histograms of one action are summed over the "
        f"attacker-progress keys."
    )
    method = (
        f"Method: {fit.method}. Table: empirical distribution with additive smoothing "
        f"{fit.smoothing:g} per value on the effective sample count. Beta-binomial: "
        f"maximum likelihood, no_intrusion BB({n}, {no_intrusion.alpha:.6g}, "
        f"{no_intrusion.beta:.6g}), intrusion BB({n}, {intrusion.alpha:.6g}, "
        f"{intrusion.beta:.6g})."
    )
    samples = (
        f"Samples (30 s steps): no_intrusion {no_intrusion.pooled.sample_count}, "
        f"intrusion {intrusion.pooled.sample_count} (effective "
        f"{float(intrusion.pooled.effective_sample_count):.1f}). "
        f"Mean metric value: no_intrusion {float(no_intrusion.pooled.raw_mean):.4g}, "
        f"intrusion {float(intrusion.pooled.raw_mean):.4g}. "
        f"Mean observation: no_intrusion {no_intrusion.mean:.4g}, "
        f"intrusion {intrusion.mean:.4g}. "
        f"Clipped onto {n}: no_intrusion "
        f"{float(no_intrusion.pooled.clipped_probability):.4g}, intrusion "
        f"{float(intrusion.pooled.clipped_probability):.4g}."
    )
    figures = (
        f"Log-likelihood per step, table / beta-binomial: no_intrusion "
        f"{no_intrusion.log_likelihood_table:.4f} / "
        f"{no_intrusion.log_likelihood_beta_binomial:.4f}, intrusion "
        f"{intrusion.log_likelihood_table:.4f} / "
        f"{intrusion.log_likelihood_beta_binomial:.4f}. "
        f"KL(intrusion || no_intrusion), KL(no_intrusion || intrusion) in nats: "
        f"table {table_kl[0]:.4f}, {table_kl[1]:.4f}; "
        f"beta-binomial {bb_kl[0]:.4f}, {bb_kl[1]:.4f}."
    )
    paragraphs = [
        f"Source: {options.source}",
        fitted,
        method,
        samples,
        figures,
        f"Reproduce: {options.command}",
    ]
    lines = ["provenance: |"]
    for paragraph in paragraphs:
        lines += _block(paragraph)
    return lines


def render_scenario(fit: FittedObservationModel, options: ScenarioOptions) -> str:
    """Return the text of an intrusion-prevention scenario using the fitted model."""
    separate = options.terminal_observation == "separate"
    top = fit.observation_max + 1 if separate else fit.observation_max
    alert_text = (
        f"{fit.metric} // {fit.bin_width} per 30 s step, clipped at "
        f"{fit.observation_max}; the terminal state emits {top}"
    )
    description = (
        f"The intrusion-prevention optimal stopping POMDP of CSLE's "
        f"gym-csle-stopping-game 0.10.1 (L = {options.stops} stops), with the "
        f"observation model fitted to emulation measurements of {fit.metric} "
        f"(attacker profile {fit.profile}, method {fit.method}). See 'provenance'."
    )
    lines = [
        MARKER,
        "pomdb: 1",
        f"name: Intrusion prevention fitted to emulation data "
        f"({fit.metric}, {fit.profile} attackers)",
        "description: >",
        *_block(description),
        "states:",
        "  - no_intrusion",
        "  - intrusion",
        "  - terminal: {terminal: true}",
        "actions:",
        "  - continue",
        "  - stop: {uses_stop: true}",
        "attacker_actions:",
        "  - continue",
        "  - attack",
        "observations:",
        (
            f"  - alerts: {{range: [0, {top}], bin_width: {fit.bin_width}, "
            f"description: {json.dumps(alert_text)}}}"
        ),
        "builder:",
        "  name: intrusion-prevention",
        f"  stops: {options.stops}",
        "  R_SLA: 1",
        "  R_INT: -5",
        "  R_COST: -5",
        "  R_ST: 5",
        "  attacker_start_probability: "
        + yaml_number(options.attacker_start_probability),
        "  observation_model:",
    ]
    if fit.method == "table":
        lines.append("    kind: table")
        for name, row in fit.rows().items():
            lines.append(f"    {name}: [")
            lines += _row_lines(row / row.sum(), "      ")
            lines.append("    ]")
    else:
        lines.append("    kind: beta-binomial")
        for state in fit.states():
            lines.append(
                f"    {state.name}: {{alpha: {yaml_number(state.alpha)}, "
                f"beta: {yaml_number(state.beta)}}}"
            )
    lines += [
        f"  terminal_observation: {options.terminal_observation}",
        f"  done_delay: {'false' if separate else 'true'}",
        "discount: 1.0",
        "max_steps: 1000",
        *_provenance_lines(fit, options),
        "licence: >",
        *_block(options.licence),
    ]
    return "\n".join(lines) + "\n"


def check_overwrite(out: Path, force: bool) -> None:
    """Raise FitError unless `out` is absent, was written by pomdb fit, or `force`."""
    if out.is_dir():
        raise FitError(f"{out}: is a directory; give a file name for --out")
    if not out.exists() or force:
        return
    try:
        with out.open(encoding="utf-8") as stream:
            first = stream.readline().rstrip("\n")
    except (OSError, UnicodeDecodeError) as error:
        raise FitError(
            f"{out}: cannot read it to check who wrote it ({error})"
        ) from None
    if first != MARKER:
        raise FitError(
            f"{out}: exists and was not written by pomdb fit (its first line is not "
            f"{MARKER!r}); choose another --out or pass --force to overwrite it"
        )


def write_scenario(out: Path, text: str) -> None:
    """Write `text` to `out` atomically, after loading it as a scenario.

    The text goes to a temporary file in the same directory, is loaded with
    `load_scenario`, and replaces `out` with os.replace, so `out` is never half-written
    and never replaced by a file that does not load.
    """
    directory = out.parent if str(out.parent) else Path(".")
    if not directory.is_dir():
        raise FitError(f"{out}: directory {directory} not found")

    def check(temporary: Path) -> None:
        try:
            load_scenario(temporary)
        except ModelError as error:
            raise FitError(
                f"{out}: the generated scenario does not load, so nothing was "
                f"written: {error}"
            ) from None

    atomic_write(out, lambda f: f.write(text.encode("utf-8")), check)
    logger.info("wrote scenario %s", out)
