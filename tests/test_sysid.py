"""Tests of `pomdb fit`: pooling emulation histograms and fitting Z(o | s)."""

from __future__ import annotations

import json
import math
import shlex
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.stats import betabinom

from simcore import sysid_scenario
from simcore.scenario import load_scenario
from simcore.sysid import (
    MARKER,
    FitError,
    add_fit_parser,
    fit_observation_model,
    leave_one_out_log_likelihood,
    main,
)
from simcore.sysid_fit import automatic_bin_width, fit_beta_binomial, kl_divergence
from simcore.sysid_scenario import yaml_number
from simcore.sysid_traces import profile_weights

REPOSITORY = Path(__file__).resolve().parent.parent
SAMPLE = REPOSITORY / "samples" / "intrusion_prevention_emulation.yaml"
MEASUREMENTS = REPOSITORY / "samples" / "data" / "traces_v2.json"
ATTACK_ACTIONS = (10, 11, 12, 19, 20, 38, 51, 52, 53, 54, 55, 57, 59)
EXPERT = {20: Fraction(5, 17), 53: Fraction(2, 17), 38: Fraction(4, 17),
          51: Fraction(4, 17), 55: Fraction(1, 17), 57: Fraction(1, 17)}  # fmt: skip


def traces(
    tmp_path: Path,
    histograms: dict[int, dict[str, dict[int, int]]] | None = None,
    metric: str = "num_new_priority",
    extra: dict | None = None,
) -> Path:
    """Write a measurement file in the published layout and return its path.

    By default action a records value a once, so that each action has its own value.
    """
    if histograms is None:
        histograms = {a: {"10.0.0.1": {a: 1}} for a in ATTACK_ACTIONS}
        histograms[85] = {"10.0.0.1": {0: 3, 1: 1}}
    document = {
        metric: {
            str(action): {
                progress: {str(value): count for value, count in histogram.items()}
                for progress, histogram in by_progress.items()
            }
            for action, by_progress in histograms.items()
        }
    }
    document.update(extra or {})
    path = tmp_path / "traces.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def fit_args(data: Path, out: Path, *options: str) -> list[str]:
    return ["fit", str(data), "--out", str(out), *options]


# Pooling weights


def test_expert_weights_count_occurrences() -> None:
    assert profile_weights("expert") == EXPERT


def test_all_profiles_averaged() -> None:
    weights = profile_weights("all")
    assert weights[38] == (Fraction(3, 15) + Fraction(4, 17) + Fraction(4, 17)) / 3
    assert weights[19] == Fraction(3, 15) / 3
    assert sum(weights.values()) == 1


def test_intrusion_mixes_profile_actions(tmp_path: Path) -> None:
    fit = fit_observation_model(traces(tmp_path), profile="expert", bin_width=1)
    probabilities = fit.intrusion.pooled.probabilities
    for action, weight in EXPERT.items():
        assert probabilities[action] == weight
    assert sum(probabilities) == 1
    assert probabilities[19] == 0


def test_progress_keys_are_summed(tmp_path: Path) -> None:
    histograms = {a: {"p": {a: 1}} for a in ATTACK_ACTIONS}
    histograms[38] = {"early": {2: 1}, "late": {3: 3}}
    histograms[85] = {"p": {0: 1}}
    fit = fit_observation_model(
        traces(tmp_path, histograms), profile="expert", bin_width=1
    )
    probabilities = fit.intrusion.pooled.probabilities
    assert probabilities[2] == EXPERT[38] * Fraction(1, 4)
    assert probabilities[3] == EXPERT[38] * Fraction(3, 4)


def test_no_intrusion_is_action_85(tmp_path: Path) -> None:
    fit = fit_observation_model(traces(tmp_path), observation_max=3, bin_width=1)
    assert fit.no_intrusion.pooled.probabilities == (
        Fraction(3, 4), Fraction(1, 4), Fraction(0), Fraction(0)
    )  # fmt: skip
    assert fit.no_intrusion.pooled.sample_count == 4


def test_effective_sample_count_is_kish(tmp_path: Path) -> None:
    histograms = {a: {"p": {a: 1}} for a in ATTACK_ACTIONS}
    histograms[20] = {"p": {20: 10}}
    histograms[85] = {"p": {0: 7}}
    fit = fit_observation_model(
        traces(tmp_path, histograms), profile="expert", bin_width=1
    )
    samples = {a: 10 if a == 20 else 1 for a in EXPERT}
    expected = 1 / sum(w * w / samples[a] for a, w in EXPERT.items())
    assert fit.intrusion.pooled.effective_sample_count == expected
    assert fit.no_intrusion.pooled.effective_sample_count == 7


def test_raw_mean_is_weighted(tmp_path: Path) -> None:
    fit = fit_observation_model(traces(tmp_path), profile="expert", bin_width=1)
    expected = sum(w * a for a, w in EXPERT.items())
    assert fit.intrusion.pooled.raw_mean == expected


def test_host_metric_pools_hosts_equally(tmp_path: Path) -> None:
    def host(counts: dict[int, int]) -> dict:
        by_action = {str(a): {"p": {str(a): 1}} for a in ATTACK_ACTIONS}
        by_action["85"] = {"p": {str(v): c for v, c in counts.items()}}
        return {"num_new_failed_login_attempts": by_action}

    hosts = {"10.0.0.2": host({0: 1}), "10.0.0.3": host({1: 3})}
    path = traces(tmp_path, extra={"machines_dynamics_model": hosts})
    fit = fit_observation_model(
        path, metric="num_new_failed_login_attempts", observation_max=3, bin_width=1
    )
    assert fit.no_intrusion.pooled.probabilities[:2] == (Fraction(1, 2), Fraction(1, 2))
    assert fit.no_intrusion.pooled.sample_count == 4


def test_host_option_selects_one_host(tmp_path: Path) -> None:
    by_action = {str(a): {"p": {"5": 1}} for a in (*ATTACK_ACTIONS, 85)}
    hosts = {"10.0.0.2": {"num_new_priority": by_action}}
    path = traces(tmp_path, extra={"machines_dynamics_model": hosts})
    fit = fit_observation_model(path, host="10.0.0.2", observation_max=9, bin_width=1)
    assert fit.no_intrusion.pooled.probabilities[5] == 1
    assert fit.intrusion.pooled.sources[0].host == "10.0.0.2"


# Binning, clipping and smoothing


def test_values_binned_by_floor_division(tmp_path: Path) -> None:
    histograms = {a: {"p": {0: 1}} for a in ATTACK_ACTIONS}
    histograms[85] = {"p": {v: 1 for v in range(10)}}
    fit = fit_observation_model(
        traces(tmp_path, histograms), observation_max=5, bin_width=3
    )
    assert fit.no_intrusion.pooled.probabilities == (
        Fraction(3, 10), Fraction(3, 10), Fraction(3, 10), Fraction(1, 10), 0, 0
    )  # fmt: skip


def test_values_above_max_are_clipped(tmp_path: Path) -> None:
    histograms = {a: {"p": {1000: 1}} for a in ATTACK_ACTIONS}
    histograms[85] = {"p": {0: 1}}
    fit = fit_observation_model(
        traces(tmp_path, histograms), observation_max=3, bin_width=1
    )
    assert fit.intrusion.pooled.probabilities[3] == 1
    assert fit.intrusion.pooled.clipped_probability == 1
    assert fit.no_intrusion.pooled.clipped_probability == 0


def test_value_at_max_is_not_clipped(tmp_path: Path) -> None:
    histograms = {a: {"p": {3: 1}} for a in ATTACK_ACTIONS}
    histograms[85] = {"p": {0: 1}}
    fit = fit_observation_model(
        traces(tmp_path, histograms), observation_max=3, bin_width=1
    )
    assert fit.intrusion.pooled.probabilities[3] == 1
    assert fit.intrusion.pooled.clipped_probability == 0


def test_negative_values_map_to_zero(tmp_path: Path) -> None:
    histograms = {a: {"p": {a: 1}} for a in ATTACK_ACTIONS}
    histograms[85] = {"p": {-2: 1, 1: 1}}
    fit = fit_observation_model(
        traces(tmp_path, histograms), observation_max=3, bin_width=1
    )
    assert fit.no_intrusion.pooled.probabilities[0] == Fraction(1, 2)
    assert fit.no_intrusion.pooled.negative_probability == Fraction(1, 2)


@pytest.mark.parametrize(
    ("largest", "width"), [(None, 1), (50, 1), (98, 1), (99, 2), (388, 4), (396, 5)]
)
def test_automatic_bin_width(largest: int | None, width: int) -> None:
    assert automatic_bin_width(largest, 99) == width


def test_automatic_bin_width_in_fit(tmp_path: Path) -> None:
    histograms = {a: {"p": {a: 1}} for a in ATTACK_ACTIONS}
    histograms[85] = {"p": {0: 1, 388: 1}}
    fit = fit_observation_model(traces(tmp_path, histograms))
    assert fit.bin_width == 4
    assert fit.no_intrusion.pooled.probabilities[97] == Fraction(1, 2)


def test_table_smoothing_is_exact(tmp_path: Path) -> None:
    fit = fit_observation_model(
        traces(tmp_path), observation_max=3, bin_width=1, smoothing=1.0
    )
    # Counts (3, 1, 0, 0) plus one per value, over 4 + 4.
    assert fit.no_intrusion.table.tolist() == [0.5, 0.25, 0.125, 0.125]


def test_smoothing_weighs_effective_count(tmp_path: Path) -> None:
    fit = fit_observation_model(
        traces(tmp_path), observation_max=3, bin_width=1, smoothing=0.5
    )
    assert fit.no_intrusion.table.tolist() == [3.5 / 6, 1.5 / 6, 0.5 / 6, 0.5 / 6]


def test_smoothing_leaves_no_zero(tmp_path: Path) -> None:
    fit = fit_observation_model(traces(tmp_path), smoothing=0.01)
    for state in fit.states():
        assert np.all(state.table > 0)
        assert state.table.sum() == pytest.approx(1.0, abs=1e-15)


def test_leave_one_out_log_likelihood() -> None:
    expected = (3 * math.log(3 / 5) + math.log(1 / 5)) / 4
    assert leave_one_out_log_likelihood(np.array([3, 1]), 1.0) == pytest.approx(
        expected, rel=1e-15
    )


# Beta-binomial fit and comparison figures


def test_mle_recovers_exact_pmf() -> None:
    pmf = betabinom(99, 0.7, 3.0).pmf(np.arange(100))
    alpha, beta = fit_beta_binomial(pmf)
    assert alpha == pytest.approx(0.7, rel=1e-4)
    assert beta == pytest.approx(3.0, rel=1e-4)


@pytest.mark.parametrize(("alpha", "beta"), [(0.7, 3.0), (1.0, 0.7), (4.0, 2.0)])
def test_mle_recovers_sampled_parameters(alpha: float, beta: float) -> None:
    rng = np.random.default_rng(7)
    samples = betabinom(99, alpha, beta).rvs(size=40_000, random_state=rng)
    histogram = np.bincount(samples, minlength=100) / samples.size
    fitted_alpha, fitted_beta = fit_beta_binomial(histogram)
    assert fitted_alpha == pytest.approx(alpha, rel=0.05)
    assert fitted_beta == pytest.approx(beta, rel=0.05)


def test_kl_divergence_known_value() -> None:
    p, q = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    expected = 0.5 * math.log(2) + 0.5 * math.log(2 / 3)
    assert kl_divergence(p, q) == pytest.approx(expected, rel=1e-15)
    assert kl_divergence(p, p) == 0.0
    assert kl_divergence(p, np.array([1.0, 0.0])) == math.inf


def test_fit_reports_log_likelihoods(tmp_path: Path) -> None:
    fit = fit_observation_model(traces(tmp_path), observation_max=3, bin_width=1)
    no_intrusion = fit.no_intrusion
    expected = 0.75 * math.log(0.5) + 0.25 * math.log(0.25)
    assert no_intrusion.log_likelihood_table == pytest.approx(expected, rel=1e-14)
    bb = betabinom(3, no_intrusion.alpha, no_intrusion.beta).logpmf([0, 1])
    assert no_intrusion.log_likelihood_beta_binomial == pytest.approx(
        0.75 * bb[0] + 0.25 * bb[1], rel=1e-12
    )
    forward, backward = fit.kl_divergence("table")
    assert forward == pytest.approx(
        kl_divergence(fit.intrusion.table, no_intrusion.table)
    )
    assert backward == pytest.approx(
        kl_divergence(no_intrusion.table, fit.intrusion.table)
    )


def test_aic_counts_free_parameters(tmp_path: Path) -> None:
    fit = fit_observation_model(traces(tmp_path), observation_max=3, bin_width=1)
    state = fit.no_intrusion
    assert state.aic("table") == pytest.approx(
        2 * 3 - 2 * 4 * state.log_likelihood_table
    )
    assert state.aic("beta-binomial") == pytest.approx(
        2 * 2 - 2 * 4 * state.log_likelihood_beta_binomial
    )


# Invalid input


def test_missing_file_named(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    with pytest.raises(FitError, match=f"{missing}: data file not found"):
        fit_observation_model(missing)


def test_invalid_json_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"num_new_priority": ', encoding="utf-8")
    with pytest.raises(FitError, match=rf"{path}: invalid JSON at line 1"):
        fit_observation_model(path)


def test_top_level_list_rejected(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(FitError, match="expected a JSON object"):
        fit_observation_model(path)


def test_bad_count_named(tmp_path: Path) -> None:
    path = traces(tmp_path)
    document = json.loads(path.read_text())
    document["num_new_priority"]["85"]["10.0.0.1"]["0"] = "3"
    path.write_text(json.dumps(document))
    with pytest.raises(
        FitError, match=r"num_new_priority/85/10\.0\.0\.1: count of value 0"
    ):
        fit_observation_model(path)


def test_bad_action_id_named(tmp_path: Path) -> None:
    path = traces(tmp_path)
    document = json.loads(path.read_text())
    document["num_new_priority"]["scan"] = {}
    path.write_text(json.dumps(document))
    with pytest.raises(FitError, match="attacker action id 'scan' is not an integer"):
        fit_observation_model(path)


def test_histogram_not_object_named(tmp_path: Path) -> None:
    path = traces(tmp_path)
    document = json.loads(path.read_text())
    document["num_new_priority"]["85"] = [1, 2]
    path.write_text(json.dumps(document))
    with pytest.raises(FitError, match="num_new_priority/85 must be an object"):
        fit_observation_model(path)


def test_unknown_metric_lists_known(tmp_path: Path) -> None:
    with pytest.raises(FitError, match="unknown metric 'alerts'.*num_new_priority"):
        fit_observation_model(traces(tmp_path), metric="alerts")


def test_unknown_profile_lists_known(tmp_path: Path) -> None:
    with pytest.raises(FitError, match="unknown attacker profile 'wizard'.*novice"):
        fit_observation_model(traces(tmp_path), profile="wizard")


def test_unknown_method_rejected(tmp_path: Path) -> None:
    with pytest.raises(FitError, match="unknown method 'kde'"):
        fit_observation_model(traces(tmp_path), method="kde")


def test_missing_profile_action_named(tmp_path: Path) -> None:
    histograms = {a: {"p": {a: 1}} for a in ATTACK_ACTIONS if a != 53}
    histograms[85] = {"p": {0: 1}}
    with pytest.raises(FitError, match=r"attacker action 53 \(SambaCry"):
        fit_observation_model(traces(tmp_path, histograms), profile="expert")


def test_missing_no_intrusion_named(tmp_path: Path) -> None:
    histograms = {a: {"p": {a: 1}} for a in ATTACK_ACTIONS}
    with pytest.raises(FitError, match=r"attacker action 85 \(no attacker action\)"):
        fit_observation_model(traces(tmp_path, histograms), bin_width=1)


def test_non_positive_smoothing_rejected(tmp_path: Path) -> None:
    with pytest.raises(FitError, match="smoothing must be a positive pseudo-count"):
        fit_observation_model(traces(tmp_path), smoothing=0.0)


# The command and the scenario it writes


def test_cli_writes_loadable_scenario(tmp_path: Path) -> None:
    data, out = traces(tmp_path), tmp_path / "fitted.yaml"
    assert main(fit_args(data, out, "--observation-max", "9", "--bin-width", "8")) == 0
    model = load_scenario(out)
    fit = fit_observation_model(data, observation_max=9, bin_width=8)
    rows = fit.rows()
    assert model.observation.shape == (3, 10)
    np.testing.assert_allclose(model.observation[0], rows["no_intrusion"], rtol=1e-11)
    np.testing.assert_allclose(model.observation[1], rows["intrusion"], rtol=1e-11)
    assert model.observation[2].tolist() == [0.0] * 9 + [1.0]
    assert model.observation_components[0].bin_width == 8


def test_cli_writes_automatic_bin_width(tmp_path: Path) -> None:
    histograms = {a: {"p": {a: 1}} for a in ATTACK_ACTIONS}
    histograms[85] = {"p": {0: 1, 388: 1}}
    data, out = traces(tmp_path, histograms), tmp_path / "fitted.yaml"
    assert main(fit_args(data, out)) == 0
    component = load_scenario(out).observation_components[0]
    assert component.bin_width == 4
    line = out.read_text().splitlines()[18]
    assert line.startswith("  - alerts: {range: [0, 99], bin_width: 4, description: ")


def test_cli_file_structure(tmp_path: Path) -> None:
    data, out = traces(tmp_path), tmp_path / "fitted.yaml"
    assert main(fit_args(data, out, "--stops", "2")) == 0
    text = out.read_text()
    lines = text.splitlines()
    assert lines[0] == MARKER

    declarations = (
        "  - no_intrusion",
        "  - intrusion",
        "  - terminal: {terminal: true}",
        "  - continue",
        "  - stop: {uses_stop: true}",
        "  - attack",
    )
    for declaration in declarations:
        assert declaration in lines

    document = yaml.safe_load(text)
    builder = document["builder"]
    assert builder["stops"] == 2
    assert builder["terminal_observation"] == "max"
    assert builder["observation_model"]["kind"] == "table"
    for state in ("no_intrusion", "intrusion"):
        row = builder["observation_model"][state]
        assert len(row) == 100
        assert all(isinstance(p, float) and p > 0 for p in row)
        assert abs(sum(row) - 1) < 1e-9

    assert "CC BY-SA 4.0" in document["licence"]
    assert "Hammar and Rolf Stadler" in document["licence"]
    assert (
        "Limmen/gym-optimal-intrusion-response, commit 53c05ae"
        in document["provenance"]
    )


def reproduce_line(path: Path) -> list[str]:
    """Return the words of the command recorded in a fitted scenario's provenance."""
    provenance = yaml.safe_load(path.read_text())["provenance"]
    command = " ".join(provenance.split("Reproduce: ", 1)[1].split())
    return shlex.split(command)


def test_cli_command_reproduces_file(tmp_path: Path) -> None:
    data, out = traces(tmp_path), tmp_path / "fitted.yaml"
    assert main(fit_args(data, out, "--profile", "novice", "--smoothing", "0.25")) == 0
    first = out.read_bytes()
    words = reproduce_line(out)
    assert words[:2] == ["pomdb", "fit"]
    assert "--bin-width" in words
    assert main(words[1:]) == 0
    assert out.read_bytes() == first


def test_cli_beta_binomial_method(tmp_path: Path) -> None:
    data, out = traces(tmp_path), tmp_path / "fitted.yaml"
    assert main(fit_args(data, out, "--method", "beta-binomial")) == 0
    model = load_scenario(out)
    fit = fit_observation_model(data)
    for index, state in enumerate(fit.states()):
        expected = betabinom(99, state.alpha, state.beta).pmf(np.arange(100))
        np.testing.assert_allclose(model.observation[index], expected, rtol=1e-9)


def test_cli_separate_terminal_observation(tmp_path: Path) -> None:
    data, out = traces(tmp_path), tmp_path / "fitted.yaml"
    assert main(fit_args(data, out, "--terminal-observation", "separate")) == 0
    model = load_scenario(out)
    assert model.observation.shape == (3, 101)
    assert model.observation[2, 100] == 1.0
    assert model.observation[0, 100] == 0.0
    assert model.done_delay is False


def test_cli_rejects_foreign_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data, out = traces(tmp_path), tmp_path / "mine.yaml"
    out.write_text("pomdb: 1\n# hand-written\n")
    assert main(fit_args(data, out)) == 2
    assert out.read_text() == "pomdb: 1\n# hand-written\n"
    error = capsys.readouterr().err
    assert f"{out}: exists and was not written by pomdb fit" in error
    assert "--force" in error


def test_cli_force_overwrites(tmp_path: Path) -> None:
    data, out = traces(tmp_path), tmp_path / "mine.yaml"
    out.write_text("pomdb: 1\n")
    assert main(fit_args(data, out, "--force")) == 0
    assert out.read_text().startswith(MARKER)


def test_cli_overwrites_own_file(tmp_path: Path) -> None:
    data, out = traces(tmp_path), tmp_path / "fitted.yaml"
    assert main(fit_args(data, out)) == 0
    assert main(fit_args(data, out, "--profile", "expert")) == 0
    assert "--profile expert" in " ".join(reproduce_line(out))


def test_cli_failed_write_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, out = traces(tmp_path), tmp_path / "fitted.yaml"
    assert main(fit_args(data, out)) == 0
    before = out.read_bytes()

    def fail(source: object, target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(sysid_scenario.os, "replace", fail)
    assert main(fit_args(data, out, "--profile", "expert")) == 2
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fitted.yaml", "traces.json"]


def test_cli_reports_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "fitted.yaml"
    assert main(fit_args(tmp_path / "absent.json", out)) == 2
    assert "absent.json: data file not found" in capsys.readouterr().err
    assert main(fit_args(traces(tmp_path), out, "--metric", "nope")) == 2
    assert "unknown metric 'nope'" in capsys.readouterr().err
    assert not out.exists()


def test_cli_rejects_unknown_profile(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["fit", "data.json", "--out", "x.yaml", "--profile", "wizard"])
    assert "invalid choice: 'wizard'" in capsys.readouterr().err


def test_parser_registers_fit() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="pomdb")
    fit_parser = add_fit_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["fit", "d.json", "--out", "o.yaml", "--bin-width", "auto"]
    )
    assert fit_parser.prog == "pomdb fit"
    assert args.bin_width is None
    assert args.metric == "num_new_priority"
    assert args.handler.__name__ == "run_fit"


@pytest.mark.parametrize("value", [1e-5, 0.25, 1.0, 3.5e-12, 0.123456789012345])
def test_yaml_number_reads_as_float(value: float) -> None:
    text = yaml_number(value)
    assert isinstance(yaml.safe_load(text), float)
    assert float(text) == pytest.approx(value, rel=1e-11)


# The shipped sample


def test_sample_rows_match_loaded_model() -> None:
    model = load_scenario(SAMPLE)
    document = yaml.safe_load(SAMPLE.read_text())
    table = document["builder"]["observation_model"]
    assert table["kind"] == "table"
    for index, state in enumerate(("no_intrusion", "intrusion")):
        row = np.array(table[state])
        assert abs(row.sum() - 1) < 1e-9
        np.testing.assert_allclose(model.observation[index], row, rtol=1e-9)
    assert SAMPLE.read_text().splitlines()[0] == MARKER
    assert "CC BY-SA 4.0" in document["licence"]


def test_sample_command_recorded() -> None:
    words = reproduce_line(SAMPLE)
    assert words[:3] == ["pomdb", "fit", "samples/data/traces_v2.json"]
    assert (
        words[words.index("--out") + 1] == "samples/intrusion_prevention_emulation.yaml"
    )


def test_sample_bin_width_matches_command() -> None:
    words = reproduce_line(SAMPLE)
    component = load_scenario(SAMPLE).observation_components[0]
    assert words[words.index("--bin-width") + 1] == "4"
    assert component.bin_width == 4
    assert words[words.index("--observation-max") + 1] == "99"
    assert (component.low, component.size) == (0, 100)


def test_sample_declaration_lines() -> None:
    lines = {(d.kind, d.name): d.line for d in load_scenario(SAMPLE).declarations}
    assert lines[("state", "no_intrusion")] == 9
    assert lines[("state", "intrusion")] == 10
    assert lines[("state", "terminal")] == 11
    assert lines[("action", "continue")] == 13
    assert lines[("action", "stop")] == 14
    assert lines[("observation_component", "alerts")] == 19


def test_sample_refits_from_measurements() -> None:
    assert reproduce_line(SAMPLE)[2] == "samples/data/traces_v2.json"
    import argparse

    parser = argparse.ArgumentParser(prog="pomdb")
    add_fit_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(reproduce_line(SAMPLE)[1:])
    fit = fit_observation_model(
        MEASUREMENTS,
        metric=args.metric,
        observation_max=args.observation_max,
        profile=args.profile,
        method=args.method,
        bin_width=args.bin_width,
        smoothing=args.smoothing,
        host=args.host,
    )
    model = load_scenario(SAMPLE)
    rows = fit.rows()
    np.testing.assert_allclose(model.observation[0], rows["no_intrusion"], rtol=1e-10)
    np.testing.assert_allclose(model.observation[1], rows["intrusion"], rtol=1e-10)
