"""The `pomdb evaluate` command: compare policies on the same simulated episodes."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Any

from simcore.cli import positive_int
from simcore.evaluation import evaluate
from simcore.evaluation_report import REFERENCES, format_table, report
from simcore.intrusion_metrics import intrusion_state
from simcore.model import POMDP
from simcore.policies import Policy, PolicyError, load_policy
from simcore.scenario import load_scenario
from simcore.termination import require_step_limit

logger = logging.getLogger(__name__)

# Built-in baselines: for the intrusion model, stop at every alert, stop when
# b(intrusion) >= 0.5, and the solved optimal policy.
INTRUSION_BASELINES = ("first-alert", "threshold:0.5", "optimal")
OTHER_BASELINES = ("random", "optimal")


def baselines(model: POMDP) -> tuple[str, ...]:
    """Return the policy specs of the built-in baselines for `model`."""
    return (
        INTRUSION_BASELINES if intrusion_state(model) is not None else OTHER_BASELINES
    )


def add_evaluate_parser(subparsers: Any) -> None:
    """Register `pomdb evaluate`."""
    parser = subparsers.add_parser(
        "evaluate",
        help="compare policies on the same episodes (common random numbers)",
        description="Simulate the same episodes with every policy, drawing the "
        "attacker, the transitions, the observations and the policy's own choices "
        "from shared random streams, and report each policy's return and security "
        "metrics with the paired differences of mean return.",
    )
    parser.add_argument("scenario", help="scenario file (YAML)")
    parser.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="SPEC",
        help="policy file, Stable-Baselines3 model (.zip), threshold:A[,A...], "
        "first-alert, random, random:P, optimal or optimal:GRID; repeat the option "
        "for each policy (default: the baselines)",
    )
    parser.add_argument(
        "--baselines",
        action="store_true",
        help="also evaluate the baselines: first-alert, threshold:0.5 and optimal "
        "(random and optimal for a model without an intrusion state)",
    )
    parser.add_argument(
        "--episodes", type=positive_int, default=1000, help="episodes per policy"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed of the episodes"
    )
    parser.add_argument("--max-steps", type=positive_int, help="step limit per episode")
    parser.add_argument(
        "--reference",
        choices=REFERENCES,
        default="first",
        help="policy the others are compared with: the first one or the one with "
        "the highest mean return (default: first)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=evaluate_command)


def policy_specs(requested: list[str], with_baselines: bool, model: POMDP) -> list[str]:
    """Return the specs to evaluate: `requested`, then the baselines not among them."""
    specs = list(requested)
    if with_baselines or not requested:
        specs += [spec for spec in baselines(model) if spec not in specs]
    return specs


def load_policies(
    specs: list[str], model: POMDP, requested: list[str] | None = None
) -> list[tuple[str, Policy]]:
    """Load each spec; two policies with the same name are labelled by their specs.

    A spec not in `requested` (default: all of `specs`) is a built-in baseline. The
    error for it names it as a baseline, because the user never named it.
    """
    requested = specs if requested is None else requested
    loaded = []
    for spec in specs:
        try:
            loaded.append(load_policy(spec, model))
        except PolicyError as error:
            if spec in requested:
                raise PolicyError(f"--policy {spec}: {error}") from None
            raise PolicyError(
                f"baseline {spec} (evaluated by default when no --policy is given, "
                f"or with --baselines): {error}; choose the policies with --policy"
            ) from None
    names = [policy.name for policy in loaded]
    return [
        (name if names.count(name) == 1 else spec, policy)
        for name, spec, policy in zip(names, specs, loaded)
    ]


def evaluate_command(args: argparse.Namespace) -> int:
    """Evaluate the policies and print the table or the JSON object."""
    model = load_scenario(args.scenario)
    require_step_limit(model, args.max_steps, "pass --max-steps N")
    specs = policy_specs(args.policy, args.baselines, model)
    started = time.perf_counter()
    policies = load_policies(specs, model, args.policy)
    loading = time.perf_counter() - started
    logger.debug("loaded %d policies in %.2f s", len(policies), loading)
    try:
        evaluation = evaluate(model, policies, args.episodes, args.seed, args.max_steps)
    except ValueError as error:
        if isinstance(error, PolicyError):
            raise
        print(f"pomdb: error: {args.scenario}: {error}", file=sys.stderr)
        return 2
    result = report(evaluation, specs, args.reference, str(args.scenario))
    result["load_seconds"] = loading
    if args.json:
        print(json.dumps(result))
    else:
        print(format_table(result))
        print(
            f"\nsimulated in {result['seconds']:.2f} s; loading the policies took "
            f"{loading:.2f} s"
        )
    return 0
