"""The `pomdb` command: run, debug, fit, import-alerts and train."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from pathlib import Path

import numpy as np

from simcore.episode import Simulator, episode_seed
from simcore.model import ModelError
from simcore.policies import PolicyError, load_policy
from simcore.recording import RecordingError, header, step_record, write_recording
from simcore.scenario import load_scenario
from simcore.termination import require_step_limit

logger = logging.getLogger(__name__)


def confidence_interval(returns: np.ndarray, level: float = 0.95) -> float:
    """Return the half-width of the Student t confidence interval of the mean."""
    if returns.size < 2:
        return float("nan")
    from scipy import stats  # slow to import; only `run` and training need it

    sem = returns.std(ddof=1) / np.sqrt(returns.size)
    return float(stats.t.ppf(0.5 + level / 2, returns.size - 1) * sem)


def run_episodes(args: argparse.Namespace) -> int:
    """Simulate episodes without the debugger and report the mean return."""
    model = load_scenario(args.scenario)
    require_step_limit(model, args.max_steps, "pass --max-steps N")
    policy = load_policy(args.policy, model)
    returns, lengths, recorded = [], [], []
    for episode in range(args.episodes):
        simulator = Simulator(model, policy, episode_seed(args.seed, episode), args.max_steps)
        steps = list(simulator)
        returns.append(steps[-1].ret)
        lengths.append(len(steps))
        if args.record:
            records = [step_record(model, step) for step in steps]
            recorded.append((header(model, policy.name, args.seed, episode), records))
    if args.record:
        write_recording(Path(args.record), recorded)

    values = np.asarray(returns, dtype=float)
    ci95 = confidence_interval(values)
    result = {
        "scenario": str(args.scenario),
        "policy": policy.name,
        "episodes": args.episodes,
        "seed": args.seed,
        "mean_return": float(values.mean()),
        # JSON has no NaN: one episode has no confidence interval, so null.
        "ci95": ci95 if np.isfinite(ci95) else None,
        "std_return": float(values.std(ddof=1)) if values.size > 1 else 0.0,
        "mean_length": float(np.mean(lengths)),
    }
    if args.record:
        result["recording"] = str(args.record)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"scenario     {result['scenario']}")
        print(f"policy       {result['policy']}")
        print(f"episodes     {args.episodes} (seed {args.seed})")
        spread = "" if result["ci95"] is None else f" ± {result['ci95']:.4f} (95% CI)"
        print(f"mean return  {result['mean_return']:.4f}{spread}")
        print(f"mean length  {result['mean_length']:.2f} steps")
        if args.record:
            print(f"recorded to  {args.record}")
    return 0


# Subcommands defined in other modules: name -> (module, parser function, summary).
COMMANDS = {
    "debug": ("adapter.terminal", "add_debug_parser", "step through episodes at a prompt"),
    "evaluate": (
        "simcore.evaluation_cli",
        "add_evaluate_parser",
        "compare policies on the same episodes (common random numbers)",
    ),
    "fit": ("simcore.sysid", "add_fit_parser", "fit an observation model from data"),
    "import-alerts": (
        "simcore.alerts",
        "add_import_alerts_parser",
        "turn Snort or Suricata alert logs into an observation trace",
    ),
    "solve": (
        "simcore.solve_cli",
        "add_solve_parser",
        "compute the optimal policy and bounds on its value",
    ),
    "train": ("simcore.training", "add_train_parser", "train a policy with PPO"),
}


def positive_int(text: str) -> int:
    """Parse a command-line value that must be an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pomdb", description="Debug, simulate and train policies for POMDPs."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="simulate episodes and report the mean return")
    run.add_argument("scenario", help="scenario file (YAML)")
    run.add_argument(
        "--policy",
        required=True,
        help="policy file, Stable-Baselines3 model (.zip), threshold:A[,A...] "
        "(alpha_1..alpha_L), first-alert, random or random:P",
    )
    run.add_argument("--episodes", type=positive_int, default=100, help="episodes to run")
    run.add_argument("--seed", type=int, default=0, help="random seed of the run")
    run.add_argument("--max-steps", type=positive_int, help="step limit per episode")
    run.add_argument("--record", metavar="FILE", help="write the episodes as JSON Lines")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(handler=run_episodes)

    requested = _requested_command(argv)
    for name, (module, function, summary) in COMMANDS.items():
        if requested in (None, name):
            getattr(importlib.import_module(module), function)(commands)
        else:
            # A placeholder keeps `pomdb --help` complete without importing torch and
            # scipy, which take seconds, for every command.
            commands.add_parser(name, help=summary, add_help=False)
    return parser


def _requested_command(argv: list[str] | None) -> str | None:
    """Return the subcommand named in `argv`, or None when there is none yet."""
    words = sys.argv[1:] if argv is None else argv
    for word in words:
        if not word.startswith("-"):
            return word
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the command in `argv` (default: sys.argv) and return its exit status.

    Ctrl-C stops any command with status 130, the shell's status for SIGINT, and one
    line on stderr instead of a traceback.
    """
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.WARNING,
            format="%(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        try:
            return args.handler(args)
        except (ModelError, PolicyError, RecordingError, OSError) as error:
            print(f"pomdb: error: {error}", file=sys.stderr)
            return 2
    except KeyboardInterrupt:
        print("pomdb: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
