"""Import IDS alert logs as a sequence of observations: weighted alerts per time step.

The intrusion-prevention observation is "IDS alerts weighted by priority" in one time
step, measured in the 2021 emulation (Hammar and Stadler, CNSM 2021) as the metric
`num_new_priority`. In Limmen/csle's gym-pycr-ctf, `ReadLogsUtil.read_ids_data`
(`gym_pycr_ctf/envs/logic/emulation/util/defender/read_logs_util.py`) computed it as
the sum of the Snort priority numbers of the new fast-log alerts, and
`IdsAlert.fast_log_parse` (`gym_pycr_ctf/dao/action_results/ids_alert.py`) used
priority 1 for a line without a `[Priority: N]` field. This module uses the same
weighting: an alert of priority p adds p. Snort's priority 1 is the most severe, so a
less severe alert adds more than a severe one. The later csle-collector
(`snort_ids_manager/dao/snort_ids_alert_counters.py`, `SnortIdsAlertCounters.count`)
gives severe alerts the larger weights instead, so its counts differ from the 2021 data.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from simcore.alert_logs import LOG_FORMATS, AlertLog, AlertLogError, read_alert_log
from simcore.cli import positive_int
from simcore.model import ObservationComponent
from simcore.observation_trace import (
    DEFAULT_BIN_WIDTH,
    DEFAULT_COMPONENT,
    DEFAULT_MAX_OBSERVATION,
    ObservationTrace,
    TraceError,
    read_observation_trace,
    step_delta,
    write_observation_trace,
)

__all__ = [
    "ObservationTrace",
    "TraceError",
    "add_import_alerts_parser",
    "alert_weight",
    "import_alerts",
    "max_observation_from_scenario",
    "observation_component_from_scenario",
    "read_observation_trace",
    "run_import_alerts",
    "write_observation_trace",
]

logger = logging.getLogger(__name__)

DEFAULT_STEP_SECONDS = 30.0
# With "priority" each alert adds its priority number (the 2021 emulation's
# `num_new_priority`), and with "count" each alert adds 1 (its `num_new_alerts`).
WEIGHTINGS: tuple[str, ...] = ("priority", "count")
# Weight of a fast alert line without a `[Priority: N]` field, as in gym-pycr-ctf.
MISSING_PRIORITY_WEIGHT = 1

_NAIVE_EPOCH = datetime(1970, 1, 1)
_AWARE_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def alert_weight(priority: int | None, weighting: str = "priority") -> int:
    """Return what one alert of `priority` adds to its step's observation."""
    if weighting == "count":
        return 1
    if weighting != "priority":
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    return MISSING_PRIORITY_WEIGHT if priority is None else priority


def import_alerts(
    paths: Iterable[str | Path],
    step_seconds: float = DEFAULT_STEP_SECONDS,
    *,
    start: datetime | None = None,
    log_format: str = "auto",
    year: int | None = None,
    max_observation: int = DEFAULT_MAX_OBSERVATION,
    weighting: str = "priority",
    skip_invalid: bool = False,
    component: str = DEFAULT_COMPONENT,
    bin_width: int = DEFAULT_BIN_WIDTH,
) -> ObservationTrace:
    """Read the alert logs at `paths` and count their weighted alerts per time step.

    A step with the weighted count v has the observation
    min(v // bin_width, max_observation). The sequence starts at `start`, or else at
    the first alert's time rounded down to a whole multiple of `step_seconds` since the
    Unix epoch, and ends with the last alert's step. Alerts before `start` are left out
    with a warning. Raises ValueError for invalid arguments, and AlertLogError for
    unreadable, empty or invalid logs and for logs that mix naive (fast alert) and
    zone-aware (EVE) timestamps.
    """
    paths = [Path(path) for path in paths]
    if not paths:
        raise ValueError("import_alerts needs at least one alert log")
    if not step_seconds > 0:
        raise ValueError(f"step_seconds must be > 0, got {step_seconds}")
    if max_observation < 0:
        raise ValueError(f"max_observation must be >= 0, got {max_observation}")
    if isinstance(bin_width, bool) or not isinstance(bin_width, int) or bin_width < 1:
        raise ValueError(f"bin_width must be an integer >= 1, got {bin_width!r}")
    alert_weight(None, weighting)

    logs = [read_alert_log(path, log_format, year, skip_invalid) for path in paths]
    alerts = [(log, alert) for log in logs for alert in log.alerts]
    if not alerts:
        other = sum(log.other_events for log in logs)
        raise AlertLogError(
            ", ".join(map(str, paths)),
            f"no alerts found ({other} EVE events of other types skipped)",
        )
    _check_time_zones(logs, start)

    times = [_normalized(alert.time) for _, alert in alerts]
    step = step_delta(step_seconds)
    origin = _normalized(start) if start is not None else _floor(min(times), step)
    last_step = (max(times) - origin) // step
    if last_step < 0:
        raise ValueError(
            f"every alert is before the start {origin.isoformat()}. "
            "Choose an earlier start."
        )
    alert_counts = [0] * (last_step + 1)
    weighted_counts = [0] * (last_step + 1)
    before_start = 0
    for (_, alert), time in zip(alerts, times):
        t = (time - origin) // step
        if t < 0:
            before_start += 1
            continue
        alert_counts[t] += 1
        weighted_counts[t] += alert_weight(alert.priority, weighting)
    if before_start:
        logger.warning(
            "left out %d alert(s) before the start %s", before_start, origin.isoformat()
        )

    return ObservationTrace(
        sources=tuple(str(path) for path in paths),
        step_seconds=float(step_seconds),
        start=origin,
        alert_counts=tuple(alert_counts),
        weighted_counts=tuple(weighted_counts),
        max_observation=max_observation,
        bin_width=bin_width,
        weighting=weighting,
        component=component,
        skipped_lines=sum(len(log.invalid_lines) for log in logs),
        alerts_before_start=before_start,
    )


def _check_time_zones(logs: list[AlertLog], start: datetime | None) -> None:
    naive = [log for log in logs if any(a.time.tzinfo is None for a in log.alerts)]
    aware = [log for log in logs if any(a.time.tzinfo is not None for a in log.alerts)]
    if naive and aware:
        raise AlertLogError(
            naive[0].path,
            f"its timestamps have no time zone, but those of {aware[0].path} have UTC "
            "offsets. Import fast alert logs and EVE logs separately.",
        )
    if start is not None and (start.tzinfo is None) != bool(naive):
        kind = "local time without a zone" if naive else "times with a UTC offset"
        raise ValueError(
            f"start {start.isoformat()} does not match the logs, which have {kind}. "
            "Give the start in the same form."
        )


def _normalized(time: datetime) -> datetime:
    return time if time.tzinfo is None else time.astimezone(timezone.utc)


def _floor(time: datetime, step: timedelta) -> datetime:
    epoch = _NAIVE_EPOCH if time.tzinfo is None else _AWARE_EPOCH
    return epoch + ((time - epoch) // step) * step


def max_observation_from_scenario(
    path: str | Path, component: str = DEFAULT_COMPONENT
) -> int:
    """Return the largest value of the scenario's integer observation `component`.

    Raises ScenarioError for an invalid scenario and ValueError when it has no such
    component with a numeric range.
    """
    found = observation_component_from_scenario(path, component)
    # NOTE: With `terminal_observation: separate` the largest value marks the
    # terminal state, so real counts should stay below it. Pass --max-observation
    # for such scenarios.
    return found.low + found.size - 1


def observation_component_from_scenario(
    path: str | Path, component: str = DEFAULT_COMPONENT
) -> ObservationComponent:
    """Load the scenario at `path` and return its integer observation `component`.

    Raises ScenarioError for an invalid scenario and ValueError when it has no such
    component with a numeric range.
    """
    from simcore.scenario import load_scenario

    model = load_scenario(path)
    for candidate in model.observation_components:
        if candidate.name == component:
            if candidate.labels is not None:
                raise ValueError(
                    f"{path}: observation {component!r} has named values, "
                    "not a numeric range of alert counts"
                )
            # NOTE: A trace's observation is min(v // bin_width, max_observation),
            # without `low`, so it fits only a range from 0, as fitted scenarios have.
            return candidate
    names = ", ".join(c.name for c in model.observation_components)
    raise ValueError(
        f"{path}: observation component {component!r} not found. "
        f"The scenario has: {names}"
    )


def add_import_alerts_parser(
    subparsers: argparse._SubParsersAction,
) -> argparse.ArgumentParser:
    """Add the `import-alerts` command to `subparsers` and return its parser.

    The parser sets `handler` to run_import_alerts.
    """
    parser = subparsers.add_parser(
        "import-alerts",
        help="turn Snort/Suricata alert logs into an observation trace",
        description=(
            "Count IDS alerts per time step, weighted by Snort priority as in the "
            "intrusion-prevention scenario, and write a JSON Lines observation trace. "
            "Reads Snort 2/3 and Suricata fast alert logs and Suricata EVE JSON."
        ),
    )
    parser.add_argument("logs", nargs="+", metavar="LOG", help="alert log files")
    parser.add_argument(
        "--out", metavar="FILE", help="write the trace to FILE (default: stdout)"
    )
    parser.add_argument(
        "--step",
        type=float,
        default=DEFAULT_STEP_SECONDS,
        metavar="SECONDS",
        help="length of one time step in seconds (default: %(default)g)",
    )
    parser.add_argument(
        "--start",
        metavar="TIMESTAMP",
        help=(
            "ISO 8601 time of step 0, e.g. 2026-11-21T10:15:00 for fast alert logs "
            "(local time) or 2026-11-21T10:15:00+00:00 for EVE logs (default: the "
            "first alert's time rounded down to a whole step)"
        ),
    )
    parser.add_argument(
        "--format",
        dest="log_format",
        choices=LOG_FORMATS,
        default="auto",
        help="log format; auto reads a file as EVE when its first line is a JSON "
        "object (default: auto)",
    )
    parser.add_argument(
        "--year",
        type=int,
        help="year of fast alert timestamps written without one (default: the "
        "current year); a change from December to January advances it",
    )
    parser.add_argument(
        "--max-observation",
        type=int,
        metavar="N",
        help="clip each step's binned count to N (default: the largest value of "
        f"the scenario's '{DEFAULT_COMPONENT}' observation with --scenario, "
        f"else {DEFAULT_MAX_OBSERVATION})",
    )
    parser.add_argument(
        "--bin-width",
        type=positive_int,
        metavar="N",
        help="divide each step's weighted count by N, rounded down, before clipping "
        f"(default: the bin_width of the scenario's '{DEFAULT_COMPONENT}' "
        f"observation with --scenario, else {DEFAULT_BIN_WIDTH})",
    )
    parser.add_argument(
        "--scenario",
        metavar="FILE",
        help="scenario file that sets --max-observation and --bin-width",
    )
    parser.add_argument(
        "--weighting",
        choices=WEIGHTINGS,
        default="priority",
        help="what one alert adds: its priority number, or 1 (default: priority)",
    )
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="skip lines that are not alerts of the log's format, with a warning",
    )
    parser.set_defaults(handler=run_import_alerts)
    return parser


def run_import_alerts(args: argparse.Namespace) -> int:
    """Run `pomdb import-alerts` with parsed `args` and return the exit status.

    The status is 0 on success and 2 after an error, which goes to stderr.
    """
    try:
        max_observation, bin_width = _observation_scale(args)
        trace = import_alerts(
            args.logs,
            args.step,
            start=_parse_start(args.start) if args.start else None,
            log_format=args.log_format,
            year=args.year,
            max_observation=max_observation,
            weighting=args.weighting,
            skip_invalid=args.skip_invalid,
            bin_width=bin_width,
        )
    except (ValueError, OSError) as error:
        print(f"pomdb import-alerts: error: {error}", file=sys.stderr)
        return 2

    if args.out:
        write_observation_trace(trace, args.out)
    else:
        sys.stdout.write(trace.to_jsonl())
    print(_summary(trace, args.out), file=sys.stderr)
    return 0


def _observation_scale(args: argparse.Namespace) -> tuple[int, int]:
    """Return (max_observation, bin_width): the options, else the scenario's."""
    max_observation, bin_width = args.max_observation, args.bin_width
    if args.scenario and (max_observation is None or bin_width is None):
        found = observation_component_from_scenario(args.scenario)
        if max_observation is None:
            max_observation = found.low + found.size - 1
        if bin_width is None:
            bin_width = found.bin_width
    if max_observation is None:
        max_observation = DEFAULT_MAX_OBSERVATION
    if bin_width is None:
        bin_width = DEFAULT_BIN_WIDTH
    return max_observation, bin_width


def _parse_start(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"invalid --start {text!r}. Use ISO 8601 such as 2026-11-21T10:15:00 "
            "or 2026-11-21T10:15:00+00:00."
        ) from None


def _summary(trace: ObservationTrace, out: str | None) -> str:
    steps = len(trace.weighted_counts)
    parts = [
        f"{sum(trace.alert_counts)} alerts in {steps} steps of "
        f"{trace.step_seconds:g} s from {trace.start.isoformat()}",
        f"bin width {trace.bin_width}",
        f"{trace.clipped_steps} of {steps} steps clipped at {trace.max_observation}",
    ]
    if trace.skipped_lines:
        parts.append(f"{trace.skipped_lines} invalid line(s) skipped")
    if trace.alerts_before_start:
        parts.append(f"{trace.alerts_before_start} alert(s) before the start left out")
    destination = f"wrote {out}" if out else "wrote the trace to stdout"
    return f"{destination}: " + "; ".join(parts)
