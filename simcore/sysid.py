"""System identification: `pomdb fit` fits Z(o | s) from emulation measurements.

The fitting lives in `sysid_fit`, the measurement files in `sysid_traces` and the
scenario output in `sysid_scenario`; this module is their public face and the command.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

from simcore.cli import positive_int
from simcore.sysid_fit import (
    METHODS,
    FittedObservationModel,
    StateFit,
    fit_observation_model,
    leave_one_out_log_likelihood,
)
from simcore.sysid_scenario import (
    DEFAULT_LICENCE,
    DEFAULT_SOURCE,
    MARKER,
    ScenarioOptions,
    check_overwrite,
    render_scenario,
    write_scenario,
)
from simcore.sysid_traces import (
    ACTION_NAMES,
    ATTACKER_PROFILES,
    PROFILE_CHOICES,
    FitError,
)

__all__ = [
    "ACTION_NAMES",
    "ATTACKER_PROFILES",
    "MARKER",
    "FitError",
    "FittedObservationModel",
    "StateFit",
    "add_fit_parser",
    "fit_observation_model",
    "leave_one_out_log_likelihood",
    "reproduce_command",
    "run_fit",
]

logger = logging.getLogger(__name__)


def _bin_width(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a positive integer or 'auto'"
        )
    return value


def add_fit_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
) -> argparse.ArgumentParser:
    """Add the `fit` command to `subparsers` and return its parser."""
    parser = subparsers.add_parser(
        "fit",
        help="fit the intrusion-prevention observation model to measurements",
        description="Fit Z(o | no_intrusion) and Z(o | intrusion) to per-step "
        "histograms measured in an emulation and write an intrusion-prevention "
        "scenario that uses them.",
    )
    parser.add_argument("data", help="measurement file (JSON histograms per action)")
    parser.add_argument("--out", required=True, help="scenario file to write (YAML)")
    parser.add_argument(
        "--metric", default="num_new_priority", help="measured counter to fit"
    )
    parser.add_argument(
        "--profile",
        choices=PROFILE_CHOICES,
        default="all",
        help="attacker profile whose actions make up an intrusion",
    )
    parser.add_argument(
        "--method", choices=METHODS, default="table", help="model to write"
    )

    parser.add_argument(
        "--observation-max",
        type=positive_int,
        default=99,
        help="largest alert observation; the scenario has values 0..MAX",
    )
    parser.add_argument(
        "--bin-width",
        type=_bin_width,
        default=None,
        metavar="W|auto",
        help="observation = min(value // W, MAX); auto (default) takes the smallest W "
        "that maps every no-intrusion value below MAX",
    )
    parser.add_argument(
        "--smoothing",
        type=float,
        default=1.0,
        help="pseudo-count added to every observation value of the table (default 1)",
    )

    parser.add_argument(
        "--host", help="use the metric measured on this host IP instead of the gateway"
    )

    parser.add_argument(
        "--stops", type=positive_int, default=3, help="defender stops L (default 3)"
    )
    parser.add_argument(
        "--attacker-start-probability",
        type=float,
        default=0.1,
        help="probability per step that the attacker starts an intrusion",
    )
    parser.add_argument(
        "--terminal-observation",
        choices=("max", "separate"),
        default="max",
        help="the terminal state emits MAX as in CSLE, or MAX + 1 (a value of its own)",
    )

    parser.add_argument(
        "--source", default=DEFAULT_SOURCE, help="where the measurements come from"
    )
    parser.add_argument(
        "--licence", default=DEFAULT_LICENCE, help="licence of the measurements"
    )

    parser.add_argument(
        "--force",
        action="store_true",
        help="overwrite --out even if pomdb fit did not write it",
    )

    parser.set_defaults(handler=run_fit)
    return parser


def reproduce_command(args: argparse.Namespace, fit: FittedObservationModel) -> str:
    """Return the `pomdb fit` command line that writes the same file again."""
    words = [
        "pomdb", "fit", args.data, "--out", args.out,
        "--metric", fit.metric,
        "--profile", fit.profile,
        "--method", fit.method,
        "--observation-max", str(fit.observation_max),
        "--bin-width", str(fit.bin_width),
        "--smoothing", repr(fit.smoothing),
        "--stops", str(args.stops),
        "--attacker-start-probability", repr(args.attacker_start_probability),
        "--terminal-observation", args.terminal_observation,
    ]  # fmt: skip
    if fit.host is not None:
        words += ["--host", fit.host]
    if args.source != DEFAULT_SOURCE:
        words += ["--source", args.source]
    if args.licence != DEFAULT_LICENCE:
        words += ["--licence", args.licence]
    return shlex.join(words)


def run_fit(args: argparse.Namespace) -> int:
    """Run `pomdb fit`: fit, print the figures and write the scenario; return 0 or 2."""
    try:
        if not 0.0 <= args.attacker_start_probability <= 1.0:
            raise FitError(
                f"--attacker-start-probability {args.attacker_start_probability} is "
                "not in [0, 1]"
            )
        out = Path(args.out)
        check_overwrite(out, args.force)
        fit = fit_observation_model(
            args.data,
            metric=args.metric,
            observation_max=args.observation_max,
            profile=args.profile,
            method=args.method,
            bin_width=args.bin_width,
            smoothing=args.smoothing,
            host=args.host,
        )
        options = ScenarioOptions(
            command=reproduce_command(args, fit),
            stops=args.stops,
            attacker_start_probability=args.attacker_start_probability,
            terminal_observation=args.terminal_observation,
            source=args.source,
            licence=args.licence,
        )
        write_scenario(out, render_scenario(fit, options))
    except (FitError, OSError) as error:
        print(f"pomdb fit: error: {error}", file=sys.stderr)
        return 2
    print(summary(fit))
    print(f"wrote {out}")
    return 0


def summary(fit: FittedObservationModel) -> str:
    """Return the fitted figures as a small text table."""
    lines = [
        f"data          {fit.data_path}",
        f"metric        {fit.metric} (observation = min(value // {fit.bin_width}, "
        f"{fit.observation_max}))",
        f"profile       {fit.profile}",
        f"{'state':14}{'steps':>7}{'n_eff':>9}{'raw mean':>10}{'obs mean':>10}"
        f"{'clipped':>9}{'LL table':>10}{'LL BB':>9}{'AIC table':>11}{'AIC BB':>9}"
        "  BB(alpha, beta)",
    ]
    for state in fit.states():
        pooled = state.pooled
        lines.append(
            f"{state.name:14}{pooled.sample_count:>7}"
            f"{float(pooled.effective_sample_count):>9.1f}"
            f"{float(pooled.raw_mean):>10.2f}{state.mean:>10.2f}"
            f"{float(pooled.clipped_probability):>9.4f}"
            f"{state.log_likelihood_table:>10.4f}"
            f"{state.log_likelihood_beta_binomial:>9.4f}"
            f"{state.aic('table'):>11.1f}{state.aic('beta-binomial'):>9.1f}"
            f"  ({state.alpha:.4g}, {state.beta:.4g})"
        )
    for method in METHODS:
        forward, backward = fit.kl_divergence(method)
        lines.append(
            f"KL {method:13} intrusion||no_intrusion {forward:.4f} nats, "
            f"no_intrusion||intrusion {backward:.4f} nats"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the fit command on its own: `python -m simcore.sysid fit DATA --out FILE`."""
    parser = argparse.ArgumentParser(prog="pomdb")
    add_fit_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
