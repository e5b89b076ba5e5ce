"""Readers for IDS alert logs: Snort and Suricata fast alert lines, Suricata EVE JSON.

Each reader returns the time and priority of every alert, with the line it came from.
The formats follow the loggers' source code:

- Snort 2.9 `alert_fast` (spo_alert_fast.c, util.c `ts_print`):
  `11/21-10:15:03.123456  [**] [1:2001219:20] msg [**] [Classification: c]
  [Priority: 2] {TCP} 10.0.0.5:4432 -> 10.0.0.2:22`, optionally ` [Drop]` after the
  timestamp, and `MM/DD/YY-` with `snort -y`. The timestamp ends with a space of its
  own, so two spaces precede `[**]`.
- Snort 3 `alert_fast` (src/loggers/alert_fast.cc, `ts_print` in src/utils/util.cc):
  the same fields with one space after the timestamp, the message in quotes, an
  optional action such as `[would_drop]`, an optional `[AppID: name]`, and `YY/MM/DD-`
  with `snort -y`.
- Suricata `fast.log` (src/alert-fastlog.c, `CreateTimeString` in src/util-time.c):
  `MM/DD/YYYY-` in local time, two spaces, an optional `[Drop] ` or `[wDrop] ` before
  `[**]`.
- Suricata `eve.json`: one JSON object per line. Only `event_type: "alert"` counts. Its
  `alert.severity` is the rule's priority and its `timestamp` carries a UTC offset.

Fast alert timestamps have no time zone, so they are returned as naive local times.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

logger = logging.getLogger(__name__)

LogFormat = Literal["fast", "eve"]
LOG_FORMATS: tuple[str, ...] = ("auto", "fast", "eve")

# Maximum number of characters of an invalid line quoted in an error message.
MAX_QUOTED_LINE = 200

_FAST_LINE = re.compile(
    r"^(?P<date>\d{2}/\d{2}(?:/\d{4}|/\d{2})?)"
    r"-(?P<clock>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6}))?"
    r"(?P<gap> +)"
    r"(?:\[(?P<action>[A-Za-z_]+)\] +)?"
    r"\[\*\*\] +\[(?P<gid>\d+):(?P<sid>\d+):(?P<rev>\d+)\]"
    r"(?P<message>.*?)\[\*\*\](?P<details>.*)$"
)
_PRIORITY = re.compile(r"\[Priority: ?(?P<priority>\d+)\]")


class AlertLogError(ValueError):
    """An alert log that cannot be read, with the file and, if known, the line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = path
        self.line = line
        location = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{location}: {message}")


class InvalidLineError(ValueError):
    """A line that is not an alert record of the expected format."""


@dataclass(frozen=True)
class Alert:
    """One IDS alert: when it was raised, the rule's priority and its line in the log.

    `priority` is None when a fast alert line has no `[Priority: N]` field.
    """

    time: datetime
    priority: int | None
    line: int


@dataclass
class AlertLog:
    """The alerts of one log file, its skipped invalid lines and other EVE events."""

    path: Path
    log_format: LogFormat
    alerts: list[Alert] = field(default_factory=list)
    invalid_lines: list[int] = field(default_factory=list)
    other_events: int = 0


class FastLineParser:
    """Parser of the fast alert lines of one file, which completes year-less dates.

    Snort writes `MM/DD-` without a year unless run with `-y`, so `year` supplies it.
    A month that goes from December to January advances the year by one.
    """

    def __init__(self, year: int):
        self.year = year
        self._previous_month: int | None = None

    def parse(self, text: str) -> tuple[datetime, int | None]:
        """Return the time and priority of a fast alert line.

        Raises InvalidLineError if the line is not a fast alert or has an invalid date.
        """
        match = _FAST_LINE.match(text)
        if match is None:
            raise InvalidLineError("not a Snort or Suricata fast alert line")
        time = self._time(match)
        priority_match = _PRIORITY.search(match["details"])
        priority = int(priority_match["priority"]) if priority_match else None
        return time, priority

    def _time(self, match: re.Match[str]) -> datetime:
        parts = [int(part) for part in match["date"].split("/")]
        if len(parts) == 2:
            month, day = parts
            if self._previous_month == 12 and month == 1:
                self.year += 1
            self._previous_month = month
            year = self.year
        elif len(match["date"].split("/")[2]) == 4:
            month, day, year = parts
        elif len(match["gap"]) == 1:
            # Snort 3 with -y writes YY/MM/DD and one space after the timestamp.
            year, month, day = 2000 + parts[0], parts[1], parts[2]
        else:
            # Snort 2 with -y writes MM/DD/YY and two spaces after the timestamp.
            month, day, year = parts[0], parts[1], 2000 + parts[2]
        microsecond = int((match["fraction"] or "0").ljust(6, "0"))
        try:
            return datetime(
                year,
                month,
                day,
                int(match["clock"]),
                int(match["minute"]),
                int(match["second"]),
                microsecond,
            )
        except ValueError as error:
            raise InvalidLineError(f"invalid timestamp ({error})") from None


def parse_eve_line(text: str) -> tuple[datetime, int] | None:
    """Return the time and severity of an EVE alert event, or None for other events.

    Raises InvalidLineError when the line is not a JSON object with an `event_type`, or
    an alert event lacks a valid `timestamp` or integer `alert.severity`.
    """
    try:
        event = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidLineError(
            f"invalid JSON ({error.msg} at column {error.colno})"
        ) from None
    if not isinstance(event, dict):
        raise InvalidLineError("an EVE line must be a JSON object")
    event_type = event.get("event_type")
    if not isinstance(event_type, str):
        raise InvalidLineError("EVE event with a missing or non-string 'event_type'")
    if event_type != "alert":
        return None

    alert = event.get("alert")
    if not isinstance(alert, dict):
        raise InvalidLineError("alert event with a missing 'alert' object")
    severity = alert.get("severity")
    if isinstance(severity, bool) or not isinstance(severity, int) or severity < 0:
        raise InvalidLineError(
            f"alert event with invalid 'alert.severity' {severity!r}, "
            "expected an integer >= 0"
        )
    timestamp = event.get("timestamp")
    if not isinstance(timestamp, str):
        raise InvalidLineError("alert event with a missing or non-string 'timestamp'")
    try:
        time = datetime.fromisoformat(timestamp)
    except ValueError:
        raise InvalidLineError(
            f"alert event with invalid 'timestamp' {timestamp!r}"
        ) from None
    return time, severity


def detect_format(first_line: str) -> LogFormat:
    """Return "eve" when the line starts a JSON object, else "fast"."""
    return "eve" if first_line.lstrip().startswith("{") else "fast"


def read_alert_log(
    path: str | Path,
    log_format: str = "auto",
    year: int | None = None,
    skip_invalid: bool = False,
) -> AlertLog:
    """Read every alert of the log at `path`.

    `log_format` is "fast", "eve" or "auto" (EVE when the first non-blank line starts
    with `{`). `year` completes year-less fast alert timestamps (default: the current
    year). Blank lines are ignored. An invalid line raises AlertLogError naming the
    file and line, unless `skip_invalid`, which counts it in `invalid_lines` instead.
    """
    path = Path(path)
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {LOG_FORMATS}, got {log_format!r}")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise AlertLogError(path, "alert log not found") from None
    except OSError as error:
        message = f"cannot read the alert log ({error.strerror})"
        raise AlertLogError(path, message) from None

    lines = [
        (number, line.rstrip("\r\n"))
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not lines:
        raise AlertLogError(
            path,
            "the file is empty. Expected Snort or Suricata fast alert lines "
            "or Suricata EVE JSON",
        )
    chosen: LogFormat
    if log_format == "auto":
        chosen = detect_format(lines[0][1])
    else:
        chosen = "fast" if log_format == "fast" else "eve"
    log = AlertLog(path=path, log_format=chosen)
    fast_parser = FastLineParser(year if year is not None else datetime.now().year)

    for number, line in lines:
        try:
            if chosen == "fast":
                time, priority = fast_parser.parse(line)
            else:
                parsed = parse_eve_line(line)
                if parsed is None:
                    log.other_events += 1
                    continue
                time, priority = parsed
        except InvalidLineError as error:
            if not skip_invalid:
                raise AlertLogError(
                    path,
                    f"{error} (format {chosen}): {_quote(line)}. Fix or delete the "
                    "line, or skip invalid lines with --skip-invalid",
                    number,
                ) from None
            log.invalid_lines.append(number)
            continue
        log.alerts.append(Alert(time=time, priority=priority, line=number))

    if log.invalid_lines:
        logger.warning(
            "%s: skipped %d invalid line(s), the first at line %d",
            path, len(log.invalid_lines), log.invalid_lines[0],
        )  # fmt: skip
    logger.info(
        "%s: read %d alerts (format %s, %d other events)",
        path, len(log.alerts), chosen, log.other_events,
    )  # fmt: skip
    return log


def _quote(line: str) -> str:
    if len(line) > MAX_QUOTED_LINE:
        return repr(line[:MAX_QUOTED_LINE] + "...")
    return repr(line)
