"""Tests of `pomdb import-alerts`: alert logs to observation traces."""

from __future__ import annotations

import argparse
import json
import logging
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from simcore.alert_logs import AlertLogError, detect_format, read_alert_log
from simcore.alerts import (
    add_import_alerts_parser,
    alert_weight,
    import_alerts,
    max_observation_from_scenario,
    observation_component_from_scenario,
    read_observation_trace,
    run_import_alerts,
    write_observation_trace,
)
from simcore.observation_trace import TraceError
from simcore.scenario import ScenarioError

DATA = Path(__file__).parent / "data" / "alerts"
FITTED_SAMPLE = (
    Path(__file__).parent.parent / "samples" / "intrusion_prevention_emulation.yaml"
)
SNORT2 = DATA / "snort2_fast.log"
SNORT3 = DATA / "snort3_alert_fast.txt"
SURICATA_FAST = DATA / "suricata_fast.log"
EVE = DATA / "suricata_eve.json"
MALFORMED = DATA / "malformed_fast.log"

SSH_SCAN_P2 = (
    "[**] [1:2001219:20] ET SCAN Potential SSH Scan [**] [Classification: Attempted "
    "Information Leak] [Priority: 2] {TCP} 10.0.0.5:4432 -> 10.0.0.2:22"
)


def location(path: Path, line: int | None = None, text: str = "") -> str:
    """Return a regular expression for an error message that starts with `path`."""
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    return "^" + re.escape(where + text)


def write_log(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def snort2_line(timestamp: str, priority: int = 2) -> str:
    alert = SSH_SCAN_P2.replace("[Priority: 2]", f"[Priority: {priority}]")
    return f"{timestamp}  {alert}"


def eve_alert(timestamp: str, severity: object = 2) -> str:
    return json.dumps(
        {
            "timestamp": timestamp,
            "event_type": "alert",
            "alert": {"signature_id": 2001219, "severity": severity},
        }
    )


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pomdb")
    add_import_alerts_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


# Sample logs in the real formats


def test_snort2_sample_counts() -> None:
    trace = import_alerts([SNORT2], year=2026)
    assert trace.start == datetime(2026, 11, 21, 10, 15)
    assert trace.alert_counts == (3, 1, 0, 0, 4)
    assert trace.observations == (5, 3, 0, 0, 7)


def test_snort3_sample_counts() -> None:
    trace = import_alerts([SNORT3], year=2026)
    assert trace.start == datetime(2026, 11, 21, 10, 15)
    assert trace.alert_counts == (2, 1)
    assert trace.observations == (5, 1)


def test_suricata_fast_sample_counts() -> None:
    trace = import_alerts([SURICATA_FAST])
    assert trace.start == datetime(2026, 11, 21, 10, 15)
    assert trace.alert_counts == (2, 1, 0, 1)
    assert trace.observations == (3, 3, 0, 3)


def test_eve_sample_counts() -> None:
    trace = import_alerts([EVE])
    assert trace.start == datetime(2026, 11, 21, 10, 15, tzinfo=timezone.utc)
    assert trace.alert_counts == (2, 0, 2)
    assert trace.observations == (3, 0, 5)


def test_eve_other_events_skipped() -> None:
    log = read_alert_log(EVE)
    assert len(log.alerts) == 4
    assert log.other_events == 6


def test_several_logs_merge() -> None:
    trace = import_alerts([SNORT2, SURICATA_FAST], year=2026)
    assert trace.alert_counts == (5, 2, 0, 1, 4)
    assert trace.observations == (8, 6, 0, 3, 7)
    assert trace.header()["source"] == f"{SNORT2}, {SURICATA_FAST}"


# Priority weighting


def test_weight_is_priority_number() -> None:
    assert [alert_weight(p) for p in (1, 2, 3, 4)] == [1, 2, 3, 4]


def test_missing_priority_weighs_one() -> None:
    assert alert_weight(None) == 1


def test_count_weighting_ignores_priority() -> None:
    assert alert_weight(3, "count") == 1
    trace = import_alerts([SNORT2], year=2026, weighting="count")
    assert trace.observations == trace.alert_counts


def test_unknown_weighting_rejected() -> None:
    with pytest.raises(ValueError, match="weighting must be one of"):
        import_alerts([SNORT2], weighting="severity")


def test_priority_zero_adds_nothing(tmp_path: Path) -> None:
    # Snort 2 and 3 print [Priority: 0] for a rule without classtype or priority.
    line = (
        "11/21-10:15:03.123456  [**] [1:1000002:1] local test rule [**] "
        "[Priority: 0] {TCP} 10.0.0.5:4432 -> 10.0.0.2:22"
    )
    trace = import_alerts([write_log(tmp_path, "fast.log", [line])], year=2026)
    assert trace.alert_counts == (1,)
    assert trace.observations == (0,)


def test_line_without_priority_weighs_one(tmp_path: Path) -> None:
    line = "11/21-10:15:03.123456  [**] [1:1000003:1] no priority [**] {TCP} a -> b"
    trace = import_alerts([write_log(tmp_path, "fast.log", [line])], year=2026)
    assert trace.observations == (1,)


def test_suricata_decoder_event_line(tmp_path: Path) -> None:
    line = (
        "11/21/2026-10:15:03.123456  [**] [1:2200003:2] SURICATA IPv4 truncated packet "
        "[**] [Classification: Generic Protocol Command Decode] [Priority: 3] [**] "
        "[Raw pkt: 45 00 00 3C ] [pcap file packet: 12]"
    )
    trace = import_alerts([write_log(tmp_path, "fast.log", [line])])
    assert trace.observations == (3,)


# Clipping


def test_clipping_at_99(tmp_path: Path) -> None:
    lines = [snort2_line(f"11/21-10:15:{i % 30:02d}.{i:06d}") for i in range(60)]
    lines.append(snort2_line("11/21-10:15:40.000000"))
    trace = import_alerts([write_log(tmp_path, "fast.log", lines)], year=2026)
    assert trace.weighted_counts == (120, 2)
    assert trace.observations == (99, 2)
    assert trace.clipped_steps == 1


def test_max_observation_option() -> None:
    trace = import_alerts([SNORT2], year=2026, max_observation=4)
    assert trace.observations == (4, 3, 0, 0, 4)
    assert trace.clipped_steps == 2


def test_negative_max_observation_rejected() -> None:
    with pytest.raises(ValueError, match="max_observation must be >= 0"):
        import_alerts([SNORT2], max_observation=-1)


# Binning


def test_bin_width_floor_divides() -> None:
    # Weighted counts (5, 3, 0, 0, 7) in steps of 2.
    trace = import_alerts([SNORT2], year=2026, bin_width=2)
    assert trace.weighted_counts == (5, 3, 0, 0, 7)
    assert trace.observations == (2, 1, 0, 0, 3)
    assert trace.clipped_steps == 0


def test_bin_width_applies_before_clipping() -> None:
    trace = import_alerts([SNORT2], year=2026, bin_width=2, max_observation=2)
    assert trace.observations == (2, 1, 0, 0, 2)
    # Only 7 // 2 = 3 exceeds 2; the unbinned 5, 3 and 7 would all exceed it.
    assert trace.clipped_steps == 1


def test_bin_width_shrinks_large_counts(tmp_path: Path) -> None:
    lines = [snort2_line(f"11/21-10:15:{i % 30:02d}.{i:06d}") for i in range(60)]
    trace = import_alerts(
        [write_log(tmp_path, "fast.log", lines)], year=2026, bin_width=4
    )
    assert trace.weighted_counts == (120,)
    assert trace.observations == (30,)
    assert trace.clipped_steps == 0


@pytest.mark.parametrize("width", [0, -4, 2.0, True])
def test_invalid_bin_width_rejected(width: object) -> None:
    with pytest.raises(ValueError, match="bin_width must be an integer >= 1"):
        import_alerts([SNORT2], year=2026, bin_width=width)


# Observation range and bin width from a scenario


def small_scenario(tmp_path: Path, high: int, options: str = "") -> Path:
    """Write an intrusion-prevention scenario whose `alerts` range is 0..high.

    `options` is added to the component's options on line 11, e.g. ", bin_width: 2".
    """
    path = tmp_path / "small.yaml"
    path.write_text(
        "pomdb: 1\n"
        "name: small\n"
        "states:\n  - no_intrusion\n  - intrusion\n  - terminal: {terminal: true}\n"
        "actions:\n  - continue\n  - stop: {uses_stop: true}\n"
        f"observations:\n  - alerts: {{range: [0, {high}]{options}}}\n"
        "builder:\n  name: intrusion-prevention\n  stops: 1\n"
        "discount: 1.0\n",
        encoding="utf-8",
    )
    return path


def test_max_observation_from_scenario(tmp_path: Path) -> None:
    assert max_observation_from_scenario(small_scenario(tmp_path, 9)) == 9


def test_scenario_bin_width_read(tmp_path: Path) -> None:
    scenario = small_scenario(tmp_path, 9, ", bin_width: 3")
    assert observation_component_from_scenario(scenario).bin_width == 3


def test_scenario_bin_width_defaults_to_one(tmp_path: Path) -> None:
    scenario = small_scenario(tmp_path, 9)
    assert observation_component_from_scenario(scenario).bin_width == 1


def test_fitted_sample_bin_width() -> None:
    component = observation_component_from_scenario(FITTED_SAMPLE)
    assert component.bin_width == 4
    assert component.low + component.size - 1 == 99


@pytest.mark.parametrize("width", ["0", "-1", "2.5", "true", "'4'"])
def test_scenario_invalid_bin_width(tmp_path: Path, width: str) -> None:
    scenario = small_scenario(tmp_path, 9, f", bin_width: {width}")
    message = "observation 'alerts': bin_width must be a positive integer, got"
    with pytest.raises(ScenarioError, match=location(scenario, 11, message)):
        observation_component_from_scenario(scenario)


def test_scenario_bin_width_needs_range(tmp_path: Path) -> None:
    scenario = tmp_path / "named.yaml"
    scenario.write_text(
        "pomdb: 1\n"
        "states:\n  - left\n  - right\n"
        "actions:\n  - listen\n"
        "observations:\n  - sound: {values: [left, right], bin_width: 2}\n"
        "transition:\n  listen: {left: [1, 0], right: [0, 1]}\n"
        "observation:\n  left: [0.85, 0.15]\n  right: [0.15, 0.85]\n"
        "reward:\n  listen: [-1, -1]\n"
        "discount: 0.95\n",
        encoding="utf-8",
    )
    message = "observation 'sound': bin_width needs 'range', not 'values'"
    with pytest.raises(ScenarioError, match=location(scenario, 8, message)):
        observation_component_from_scenario(scenario, "sound")


def test_scenario_without_component(tmp_path: Path) -> None:
    scenario = tmp_path / "tiger.yaml"
    scenario.write_text(
        "pomdb: 1\n"
        "states:\n  - left\n  - right\n"
        "actions:\n  - listen\n"
        "observations:\n  - hear_left\n  - hear_right\n"
        "transition:\n  listen: {left: [1, 0], right: [0, 1]}\n"
        "observation:\n  left: [0.85, 0.15]\n  right: [0.15, 0.85]\n"
        "reward:\n  listen: [-1, -1]\n"
        "initial_belief: [0.5, 0.5]\n"
        "discount: 0.95\n",
        encoding="utf-8",
    )
    message = r"component 'alerts' not found\. The scenario has: o$"
    with pytest.raises(ValueError, match=message):
        max_observation_from_scenario(scenario)


# Time steps, gaps and start


def test_silent_steps_are_zero() -> None:
    trace = import_alerts([SNORT2], year=2026)
    assert trace.alert_counts[2:4] == (0, 0)


def test_step_option() -> None:
    trace = import_alerts([SNORT2], 60, year=2026)
    assert trace.observations == (8, 0, 7)


def test_start_option_adds_leading_silence() -> None:
    trace = import_alerts([SNORT2], year=2026, start=datetime(2026, 11, 21, 10, 14))
    assert trace.observations == (0, 0, 5, 3, 0, 0, 7)


def test_alerts_before_start_left_out(caplog: pytest.LogCaptureFixture) -> None:
    start = datetime(2026, 11, 21, 10, 15, 30)
    with caplog.at_level(logging.WARNING):
        trace = import_alerts([SNORT2], year=2026, start=start)
    assert trace.observations == (3, 0, 0, 7)
    assert trace.alerts_before_start == 3
    assert "left out 3 alert(s) before the start" in caplog.text


def test_start_after_every_alert() -> None:
    with pytest.raises(ValueError, match="every alert is before the start"):
        import_alerts([SNORT2], year=2026, start=datetime(2026, 11, 22))


def test_start_zone_must_match_logs() -> None:
    start = datetime(2026, 11, 21, 10, 15, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="local time without a zone"):
        import_alerts([SNORT2], year=2026, start=start)


def test_eve_offset_converted_to_utc(tmp_path: Path) -> None:
    lines = [
        eve_alert("2026-11-21T11:15:03.000000+0100"),
        eve_alert("2026-11-21T10:15:40.000000+0000", severity=1),
    ]
    trace = import_alerts([write_log(tmp_path, "eve.json", lines)])
    assert trace.start == datetime(2026, 11, 21, 10, 15, tzinfo=timezone.utc)
    assert trace.observations == (2, 1)


def test_fast_and_eve_cannot_mix() -> None:
    with pytest.raises(AlertLogError, match="Import fast alert logs and EVE logs sep"):
        import_alerts([SNORT2, EVE], year=2026)


# Years of fast alert timestamps


def test_year_option() -> None:
    assert import_alerts([SNORT2], year=2025).start == datetime(2025, 11, 21, 10, 15)


def test_year_defaults_to_current() -> None:
    assert import_alerts([SNORT2]).start.year == datetime.now().year


def test_year_advances_in_january(tmp_path: Path) -> None:
    lines = [snort2_line("12/31-23:59:50.000000"), snort2_line("01/01-00:00:10.000000")]
    trace = import_alerts([write_log(tmp_path, "fast.log", lines)], year=2025)
    assert trace.start == datetime(2025, 12, 31, 23, 59, 30)
    assert trace.alert_counts == (1, 1)


def test_snort2_year_option_format(tmp_path: Path) -> None:
    lines = [snort2_line("11/21/26-10:15:03.123456")]
    trace = import_alerts([write_log(tmp_path, "fast.log", lines)], year=1999)
    assert trace.start == datetime(2026, 11, 21, 10, 15)


def test_snort3_year_option_format(tmp_path: Path) -> None:
    line = (
        '26/11/21-10:15:03.123456 [**] [1:1000001:1] "ICMP ping" [**] '
        "[Priority: 3] {ICMP} 10.0.0.5 -> 10.0.0.2"
    )
    trace = import_alerts([write_log(tmp_path, "fast.log", [line])], year=1999)
    assert trace.start == datetime(2026, 11, 21, 10, 15)


def test_invalid_date_names_line(tmp_path: Path) -> None:
    path = write_log(tmp_path, "fast.log", [snort2_line("02/30-10:15:03.000000")])
    with pytest.raises(AlertLogError, match=location(path, 1, "invalid timestamp")):
        import_alerts([path], year=2026)


# Format detection


def test_detect_format() -> None:
    assert detect_format('{"event_type": "alert"}') == "eve"
    assert detect_format(snort2_line("11/21-10:15:03.000000")) == "fast"


def test_auto_detects_each_file() -> None:
    assert read_alert_log(SNORT3, year=2026).log_format == "fast"
    assert read_alert_log(EVE).log_format == "eve"


def test_format_override_fast_on_eve() -> None:
    with pytest.raises(
        AlertLogError, match=location(EVE, 1, "not a Snort or Suricata fast alert line")
    ):
        read_alert_log(EVE, "fast")


def test_format_override_eve_on_fast() -> None:
    with pytest.raises(AlertLogError, match=location(SNORT2, 1, "invalid JSON")):
        read_alert_log(SNORT2, "eve")


# Errors name the file and line


def test_malformed_line_error() -> None:
    with pytest.raises(AlertLogError) as raised:
        import_alerts([MALFORMED], year=2026)
    message = str(raised.value)
    assert message.startswith(f"{MALFORMED}:3: not a Snort or Suricata fast alert line")
    assert "'11/21-10:15:0  [**] [1:2001219:20] ET SCAN" in message
    assert "--skip-invalid" in message
    assert raised.value.line == 3


def test_skip_invalid_counts(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        trace = import_alerts([MALFORMED], year=2026, skip_invalid=True)
    assert trace.observations == (4, 1)
    assert trace.skipped_lines == 1
    assert f"{MALFORMED}: skipped 1 invalid line(s), the first at line 3" in caplog.text


def test_long_invalid_line_shortened(tmp_path: Path) -> None:
    path = write_log(tmp_path, "fast.log", ["x" * 500])
    with pytest.raises(AlertLogError) as raised:
        read_alert_log(path)
    assert "x" * 200 + "...'" in str(raised.value)
    assert "x" * 201 not in str(raised.value)


def test_empty_file_error(tmp_path: Path) -> None:
    path = write_log(tmp_path, "fast.log", [])
    with pytest.raises(AlertLogError, match=location(path, text="the file is empty")):
        import_alerts([path])


def test_blank_file_error(tmp_path: Path) -> None:
    path = write_log(tmp_path, "fast.log", ["", "   "])
    with pytest.raises(AlertLogError, match=location(path, text="the file is empty")):
        import_alerts([path])


def test_missing_file_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.log"
    with pytest.raises(AlertLogError, match=location(path, text="alert log not found")):
        import_alerts([path])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "an EVE line must be a JSON object"),
        ('{"timestamp": "2026-11-21T10:15:03+0000"}', "non-string 'event_type'"),
        ('{"event_type": "alert", "timestamp": "x"}', "missing 'alert' object"),
        (eve_alert("2026-11-21T10:15:03+0000", None), "invalid 'alert.severity' None"),
        (eve_alert("2026-11-21T10:15:03+0000", "2"), "invalid 'alert.severity' '2'"),
        (eve_alert("2026-11-21T10:15:03+0000", True), "invalid 'alert.severity' True"),
        (eve_alert("21/11/2026 10:15"), "invalid 'timestamp' '21/11/2026 10:15'"),
    ],
)
def test_eve_invalid_line_errors(tmp_path: Path, line: str, message: str) -> None:
    first = eve_alert("2026-11-21T10:15:03.000000+0000")
    path = write_log(tmp_path, "eve.json", [first, line])
    with pytest.raises(
        AlertLogError, match=location(path, 2) + ".*" + re.escape(message)
    ):
        import_alerts([path])


def test_eve_without_alerts_error(tmp_path: Path) -> None:
    event = {"timestamp": "2026-11-21T10:15:00+0000", "event_type": "stats"}
    lines = [json.dumps(event)] * 3
    path = write_log(tmp_path, "eve.json", lines)
    with pytest.raises(
        AlertLogError, match=r"no alerts found \(3 EVE events of other types skipped\)"
    ):
        import_alerts([path])


def test_nonpositive_step_rejected() -> None:
    with pytest.raises(ValueError, match="step_seconds must be > 0"):
        import_alerts([SNORT2], 0)


# The observation trace file


def test_trace_header() -> None:
    trace = import_alerts([SNORT2], year=2026)
    assert trace.header() == {
        "format": "pomdb-trace",
        "version": 1,
        "kind": "observations",
        "source": str(SNORT2),
        "step_seconds": 30,
        "start": "2026-11-21T10:15:00",
        "observation_component": "alerts",
        "max_observation": 99,
        "bin_width": 1,
        "weighting": "priority",
    }


def test_trace_header_bin_width() -> None:
    trace = import_alerts([SNORT2], year=2026, bin_width=4)
    assert trace.header()["bin_width"] == 4


def test_trace_step_records() -> None:
    lines = import_alerts([SNORT2], year=2026).to_jsonl().splitlines()
    assert len(lines) == 6
    assert json.loads(lines[1]) == {
        "t": 0,
        "o": 5,
        "alerts": 3,
        "weighted": 5,
        "time": "2026-11-21T10:15:00",
    }
    assert json.loads(lines[5])["time"] == "2026-11-21T10:17:00"


def test_binned_step_keeps_weighted_count() -> None:
    lines = import_alerts([SNORT2], year=2026, bin_width=2).to_jsonl().splitlines()
    record = json.loads(lines[5])
    assert record["o"] == 3
    assert record["weighted"] == 7
    assert record["alerts"] == 4


def test_eve_trace_times_are_utc() -> None:
    trace = import_alerts([EVE])
    assert trace.header()["start"] == "2026-11-21T10:15:00+00:00"
    assert list(trace.records())[2]["time"] == "2026-11-21T10:16:00+00:00"


def test_trace_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    write_observation_trace(import_alerts([SNORT2], year=2026), path)
    assert read_observation_trace(path) == [5, 3, 0, 0, 7]


def test_binned_trace_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    write_observation_trace(import_alerts([SNORT2], year=2026, bin_width=2), path)
    assert read_observation_trace(path) == [2, 1, 0, 0, 3]


def trace_file(tmp_path: Path, header: dict[str, object], steps: list[str]) -> Path:
    base = {
        "format": "pomdb-trace",
        "version": 1,
        "kind": "observations",
        "source": "fast.log",
        "step_seconds": 30,
        "start": "2026-11-21T10:15:00",
        "observation_component": "alerts",
        "max_observation": 99,
    }
    return write_log(tmp_path, "trace.jsonl", [json.dumps(base | header), *steps])


def test_read_trace_without_optional_fields(tmp_path: Path) -> None:
    path = trace_file(tmp_path, {}, ['{"t": 0, "o": 12}', '{"t": 1, "o": 0}'])
    assert read_observation_trace(path) == [12, 0]


@pytest.mark.parametrize(
    ("header", "steps", "line", "message"),
    [
        ({"format": "csv"}, [], 1, "not a pomdb trace: expected 'format'"),
        ({"version": 2}, [], 1, "unsupported trace version 2"),
        ({"kind": "episode"}, [], 1, "expected 'kind': 'observations', got 'episode'"),
        ({"observation_component": 3}, [], 1, "string 'observation_component'"),
        ({"step_seconds": 0}, [], 1, "'step_seconds' must be a number > 0, got 0"),
        ({"max_observation": -1}, [], 1, "'max_observation' must be an integer >= 0"),
        ({"bin_width": 0}, [], 1, "'bin_width' must be an integer >= 1, got 0"),
        ({"bin_width": 2.0}, [], 1, "'bin_width' must be an integer >= 1, got 2.0"),
        ({}, ['{"t": 0, "o": 1}', '{"t": 2, "o": 1}'], 3, "step 't': 1, got 2"),
        ({}, ['{"t": 0, "o": 100}'], 2, "<= max_observation 99, got 100"),
        ({}, ['{"t": 0, "o": -1}'], 2, "'o' must be an integer >= 0 and"),
        ({}, ['{"t": 0, "o": 1.5}'], 2, "'o' must be an integer >= 0 and"),
        ({}, ['{"t": 0, "o": 1, "alerts": -2}'], 2, "'alerts' must be an integer >= 0"),
        ({}, ['{"t": 0, "o": 1'], 2, "invalid JSON"),
        ({}, ["[0, 1]"], 2, "expected a JSON object"),
    ],
)
def test_read_trace_errors(
    tmp_path: Path, header: dict[str, object], steps: list[str], line: int, message: str
) -> None:
    path = trace_file(tmp_path, header, steps or ['{"t": 0, "o": 1}'])
    with pytest.raises(
        TraceError, match=location(path, line) + ".*" + re.escape(message)
    ):
        read_observation_trace(path)


def test_read_trace_empty(tmp_path: Path) -> None:
    path = write_log(tmp_path, "trace.jsonl", [])
    with pytest.raises(TraceError, match=location(path, text="the trace is empty")):
        read_observation_trace(path)


def test_read_trace_without_steps(tmp_path: Path) -> None:
    path = trace_file(tmp_path, {}, [])
    with pytest.raises(
        TraceError, match=location(path, text="the trace has a header but no")
    ):
        read_observation_trace(path)


def test_read_trace_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.jsonl"
    with pytest.raises(TraceError, match=location(path, text="cannot read the trace")):
        read_observation_trace(path)


# The command line


def test_parser_defaults() -> None:
    parser = argparse.ArgumentParser(prog="pomdb")
    add_import_alerts_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["import-alerts", "fast.log"])
    assert args.handler is run_import_alerts
    assert args.logs == ["fast.log"]
    assert args.step == 30
    assert args.log_format == "auto"
    assert args.weighting == "priority"
    assert args.max_observation is None
    assert args.bin_width is None
    assert args.scenario is None
    assert args.year is None
    assert args.out is None
    assert args.skip_invalid is False


def test_cli_writes_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "trace.jsonl"
    argv = ["import-alerts", str(SNORT2), "--out", str(out), "--year", "2026"]
    assert run_cli(argv) == 0
    assert read_observation_trace(out) == [5, 3, 0, 0, 7]
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"wrote {out}: 8 alerts in 5 steps of 30 s" in captured.err
    assert "0 of 5 steps clipped at 99" in captured.err


def test_cli_prints_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["import-alerts", str(EVE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[0])["kind"] == "observations"
    assert [json.loads(line)["o"] for line in lines[1:]] == [3, 0, 5]


def test_cli_options(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["import-alerts", str(SNORT2), "--year", "2026", "--step", "60"]
    argv += ["--max-observation", "7", "--start", "2026-11-21T10:14:00"]
    assert run_cli(argv) == 0
    captured = capsys.readouterr()
    observations = [json.loads(line)["o"] for line in captured.out.splitlines()[1:]]
    assert observations == [0, 7, 0, 7]
    assert "1 of 4 steps clipped at 7" in captured.err


def test_cli_scenario_sets_maximum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = small_scenario(tmp_path, 4)
    argv = ["import-alerts", str(SNORT2), "--year", "2026", "--scenario", str(scenario)]
    assert run_cli(argv) == 0
    captured = capsys.readouterr()
    observations = [json.loads(line)["o"] for line in captured.out.splitlines()[1:]]
    assert observations == [4, 3, 0, 0, 4]
    assert "2 of 5 steps clipped at 4" in captured.err


def cli_observations(output: str) -> list[int]:
    return [json.loads(line)["o"] for line in output.splitlines()[1:]]


def test_cli_bin_width_option(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["import-alerts", str(SNORT2), "--year", "2026", "--bin-width", "2"]
    assert run_cli(argv) == 0
    captured = capsys.readouterr()
    assert cli_observations(captured.out) == [2, 1, 0, 0, 3]
    assert json.loads(captured.out.splitlines()[0])["bin_width"] == 2
    assert "bin width 2; 0 of 5 steps clipped at 99" in captured.err


def test_cli_scenario_sets_bin_width(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = small_scenario(tmp_path, 2, ", bin_width: 2")
    argv = ["import-alerts", str(SNORT2), "--year", "2026", "--scenario", str(scenario)]
    assert run_cli(argv) == 0
    captured = capsys.readouterr()
    assert cli_observations(captured.out) == [2, 1, 0, 0, 2]
    header = json.loads(captured.out.splitlines()[0])
    assert header["bin_width"] == 2
    assert header["max_observation"] == 2
    assert "bin width 2; 1 of 5 steps clipped at 2" in captured.err


def test_cli_bin_width_overrides_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = small_scenario(tmp_path, 9, ", bin_width: 2")
    argv = ["import-alerts", str(SNORT2), "--year", "2026", "--scenario", str(scenario)]
    assert run_cli(argv + ["--bin-width", "1"]) == 0
    assert cli_observations(capsys.readouterr().out) == [5, 3, 0, 0, 7]


def test_cli_max_observation_keeps_bin_width(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = small_scenario(tmp_path, 9, ", bin_width: 2")
    argv = ["import-alerts", str(SNORT2), "--year", "2026", "--scenario", str(scenario)]
    assert run_cli(argv + ["--max-observation", "1"]) == 0
    assert cli_observations(capsys.readouterr().out) == [1, 1, 0, 0, 1]


def test_cli_fitted_sample_scale(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["import-alerts", str(SNORT2), "--year", "2026"]
    assert run_cli(argv + ["--scenario", str(FITTED_SAMPLE)]) == 0
    captured = capsys.readouterr()
    # Weighted counts (5, 3, 0, 0, 7) on the fitted scale min(v // 4, 99).
    assert cli_observations(captured.out) == [1, 0, 0, 0, 1]
    assert "bin width 4; 0 of 5 steps clipped at 99" in captured.err


@pytest.mark.parametrize("width", ["0", "-2", "1.5", "four"])
def test_cli_rejects_invalid_bin_width(
    width: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        run_cli(["import-alerts", str(SNORT2), "--bin-width", width])
    assert f"{width!r} is not a positive integer" in capsys.readouterr().err


def test_cli_invalid_scenario_bin_width(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = small_scenario(tmp_path, 9, ", bin_width: 0")
    argv = ["import-alerts", str(SNORT2), "--year", "2026", "--scenario", str(scenario)]
    assert run_cli(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"error: {scenario}:11: observation 'alerts': bin_width must" in captured.err


def test_cli_skip_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["import-alerts", str(MALFORMED), "--year", "2026", "--skip-invalid"]
    assert run_cli(argv) == 0
    assert "1 invalid line(s) skipped" in capsys.readouterr().err


def test_cli_format_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["import-alerts", str(EVE), "--format", "fast"]) == 2
    assert f"error: {EVE}:1: not a Snort" in capsys.readouterr().err


def test_cli_error_names_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["import-alerts", str(MALFORMED), "--year", "2026"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"pomdb import-alerts: error: {MALFORMED}:3: not a Snort" in captured.err


def test_cli_invalid_start(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["import-alerts", str(SNORT2), "--start", "10:15"]) == 2
    assert "invalid --start '10:15'. Use ISO 8601" in capsys.readouterr().err
