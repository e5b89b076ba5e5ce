"""The optimal solver: values derived by hand, simulation, thresholds and policy files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simcore.cli import confidence_interval, main
from simcore.episode import Simulator, episode_seed
from simcore.evaluation import evaluate
from simcore.evaluation_report import paired_difference
from simcore.model import POMDP, ObservationComponent
from simcore.policies import PolicyError, load_policy
from simcore.scenario import load_scenario
from simcore.solver import OptimalPolicy, SolverError, solve
from simcore.solver_file import save_optimal_policy

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
EMULATION = REPO / "samples" / "intrusion_prevention_emulation.yaml"
TIGER = REPO / "tests" / "data" / "scenarios" / "tiger.yaml"

BLIND_SCENARIO = """\
pomdb: 1
name: Intrusion prevention with uninformative alerts
states:
  - no_intrusion
  - intrusion
  - terminal: {{terminal: true}}
actions:
  - continue
  - stop: {{uses_stop: true}}
attacker_actions:
  - continue
  - attack
observations:
  - alerts: {{range: [0, {high}]}}
builder:
  name: intrusion-prevention
  stops: 1
  observation_model:
    kind: table
    no_intrusion: [0.4, 0.3, 0.2, 0.1]
    intrusion: [0.4, 0.3, 0.2, 0.1]
  terminal_observation: {terminal}
discount: 1.0
max_steps: 1000
"""

DOORS_SCENARIO = """\
pomdb: 1
name: Three doors
states:
  - door_0
  - door_1
  - door_2
  - opened: {{terminal: true}}
actions:
  - listen
  - open_0
  - open_1
  - open_2
observations:
  - heard_0
  - heard_1
  - heard_2
  - nothing
transition:
  listen:
    door_0: [1, 0, 0, 0]
    door_1: [0, 1, 0, 0]
    door_2: [0, 0, 1, 0]
    opened: [0, 0, 0, 1]
  open_0: {{door_0: [0, 0, 0, 1], door_1: [0, 0, 0, 1], door_2: [0, 0, 0, 1], opened: [0, 0, 0, 1]}}
  open_1: {{door_0: [0, 0, 0, 1], door_1: [0, 0, 0, 1], door_2: [0, 0, 0, 1], opened: [0, 0, 0, 1]}}
  open_2: {{door_0: [0, 0, 0, 1], door_1: [0, 0, 0, 1], door_2: [0, 0, 0, 1], opened: [0, 0, 0, 1]}}
observation:
  door_0: [1, 0, 0, 0]
  door_1: [0, 1, 0, 0]
  door_2: [0, 0, 1, 0]
  opened: [0, 0, 0, 1]
reward:
  listen: [-0.1, -0.1, -0.1, 0]
  open_0: [1, 0, 0, 0]
  open_1: [0, 1, 0, 0]
  open_2: [0, 0, 1, 0]
initial_belief: [{initial}, 0]
discount: {discount}
"""


@pytest.fixture(scope="module")
def model() -> POMDP:
    return load_scenario(SAMPLE)


@pytest.fixture(scope="module")
def solution(model):
    return solve(model, grid=100)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def blind_stopping_value() -> float:
    """Return the optimal value of the intrusion model with L = 1 when the alerts carry
    no information about the intrusion.

    Only the end of the episode is observed, so a policy is a stopping time T fixed in
    advance. From no_intrusion, P(no_intrusion at t) = x_t = 0.9^t and P(intrusion at
    t) = y_t = 0.1 t 0.9^(t-1) (the attacker starts with 0.1 and, with l = 1, ends
    the intrusion with 0.1). Continuing earns R_SLA = 1 in no_intrusion and
    0.9 (R_SLA + R_INT) + 0.1 R_SLA = -3.5 in intrusion; stopping earns R_COST = -5 in
    no_intrusion and 0.9 R_ST + 0.1 R_SLA = 4.6 in intrusion. So
    V* = max_T sum_{t<T} (x_t - 3.5 y_t) - 5 x_T + 4.6 y_T.
    """
    t = np.arange(400)
    x, y = 0.9**t, 0.1 * t * 0.9 ** np.maximum(t - 1, 0)
    running = np.concatenate(([0.0], np.cumsum(x - 3.5 * y)))[:-1]
    return float((running - 5 * x + 4.6 * y).max())


@pytest.mark.parametrize(("terminal", "high"), [("max", 3), ("separate", 4)])
def test_blind_stopping_closed_form(tmp_path: Path, terminal: str, high: int) -> None:
    text = BLIND_SCENARIO.format(terminal=terminal, high=high)
    result = solve(load_scenario(write(tmp_path, "blind.yaml", text)), grid=400)
    expected = blind_stopping_value()
    assert result.lower <= expected + 1e-9
    assert expected <= result.upper + 1e-9
    assert result.error_bound < 1e-3


def test_doors_listen_then_open(tmp_path: Path) -> None:
    """Listening (-0.1) reveals the door, opening it then earns 1 one step later:
    V* = max(1/3, -0.1 + 0.95 * 1) = 0.85 from the uniform belief."""
    text = DOORS_SCENARIO.format(initial="0.3333333333333333, 0.3333333333333333, "
                                 "0.3333333333333334", discount=0.95)  # fmt: skip
    result = solve(load_scenario(write(tmp_path, "doors.yaml", text)), grid=20)
    assert result.method == "pbvi"
    assert result.lower <= 0.85 + 1e-9
    assert 0.85 <= result.upper + 1e-9
    assert result.error_bound < 1e-6
    assert result.thresholds is None


def test_doors_known_door_opens_at_once(tmp_path: Path) -> None:
    """With the door known, opening it now is worth 1."""
    text = DOORS_SCENARIO.format(initial="0, 1, 0", discount=0.95)
    result = solve(load_scenario(write(tmp_path, "doors.yaml", text)), grid=10)
    assert result.value == pytest.approx(1.0, abs=1e-9)
    policy = result.policy
    belief = np.array([0.0, 1.0, 0.0, 0.0])
    assert policy.action_probs(belief, None, 0, None).tolist() == [0, 0, 1, 0]
    assert policy.action_values(belief, None)[0] == pytest.approx(-0.1 + 0.95)


def test_undiscounted_endless_model_rejected(tmp_path: Path) -> None:
    """Listening forever never reaches the terminal state."""
    text = DOORS_SCENARIO.format(initial="1, 0, 0", discount=1.0)
    with pytest.raises(SolverError, match="undiscounted"):
        solve(load_scenario(write(tmp_path, "doors.yaml", text)))


def test_step_limited_endless_model_rejected_precisely(tmp_path: Path) -> None:
    """With max_steps the value is finite, but the optimal policy depends on the
    steps left, which a stationary solution cannot express."""
    text = DOORS_SCENARIO.format(initial="1, 0, 0", discount=1.0) + "max_steps: 50\n"
    with pytest.raises(SolverError) as caught:
        solve(load_scenario(write(tmp_path, "doors.yaml", text)))
    message = str(caught.value)
    assert "until the step limit (max_steps 50)" in message
    assert "depends on the steps left" in message
    assert "infinite" not in message


def test_grid_beyond_memory_limit_rejected(model) -> None:
    with pytest.raises(SolverError) as caught:
        solve(model, grid=100_000_000)
    message = str(caught.value)
    assert message.startswith("grid 100000000 needs an estimated 3054.7 GiB")
    assert "(limit 2 GiB); use a grid of at most 65472 points" in message
    with pytest.raises(PolicyError, match="policy 'optimal:5000000': grid 5000000"):
        load_policy("optimal:5000000", model)


def test_grid_memory_estimate_covers_the_largest_grid(model) -> None:
    from simcore.solver_grid import MAX_GRID_BYTES, grid_bytes
    from simcore.solver_model import solver_model

    restricted = solver_model(model)
    largest = MAX_GRID_BYTES // grid_bytes(restricted, 1)
    assert grid_bytes(restricted, largest) <= MAX_GRID_BYTES
    assert grid_bytes(restricted, largest + 1) > MAX_GRID_BYTES


def test_too_large_model_rejected() -> None:
    n = 80
    model = POMDP(
        states=tuple(f"s{i}" for i in range(n)),
        actions=("wait",),
        observation_components=(ObservationComponent("o", 1),),
        attacker_actions=("none",),
        attacker=np.ones((n, 1)),
        transition=np.eye(n)[None, None, None],
        observation=np.ones((n, 1)),
        reward=np.zeros((1, 1, 1, n)),
        initial_belief=np.full(n, 1 / n),
        discount=0.9,
    )
    with pytest.raises(SolverError, match="too large"):
        solve(model)


def test_grid_and_pbvi_bounds_overlap() -> None:
    tiger = load_scenario(TIGER)
    grid = solve(tiger, grid=100, method="grid")
    points = solve(tiger, grid=30, method="pbvi")
    assert grid.lower <= points.upper + 1e-9
    assert points.lower <= grid.upper + 1e-9


def test_thresholds_ordered(solution) -> None:
    alpha_1, alpha_2, alpha_3 = solution.thresholds
    assert alpha_1 >= alpha_2
    assert alpha_2 >= alpha_3
    assert 0.0 < alpha_3 < alpha_1 < 1.0


def test_error_bound_shrinks_with_grid(model, solution) -> None:
    coarse = solve(model, grid=25)
    assert coarse.lower <= solution.upper
    assert solution.lower <= coarse.upper
    assert solution.error_bound < coarse.error_bound / 4
    assert solution.error_bound < 2e-3


def test_policy_stops_at_thresholds(model, solution) -> None:
    policy = solution.policy
    for l, alpha in enumerate(solution.thresholds, start=1):
        below = np.array([1 - alpha + 1e-6, alpha - 1e-6, 0.0])
        above = np.array([1 - alpha - 1e-6, alpha + 1e-6, 0.0])
        assert policy.action_probs(below, l, 5, 0).tolist() == [1.0, 0.0]
        assert policy.action_probs(above, l, 5, 0).tolist() == [0.0, 1.0]


def test_values_scale_with_terminal_mass(solution) -> None:
    """V(b) = (1 - b(terminal)) V(b | not terminal): the terminal state is worth 0."""
    policy = solution.policy
    inside = np.array([0.6, 0.4, 0.0])
    mixed = np.array([0.3, 0.2, 0.5])
    assert policy.action_values(mixed, 2) == pytest.approx(
        0.5 * policy.action_values(inside, 2)
    )
    assert policy.value(np.array([0.0, 0.0, 1.0]), 3) == 0.0


def simulated_returns(model: POMDP, policy, episodes: int) -> np.ndarray:
    returns = []
    for episode in range(episodes):
        steps = list(Simulator(model, policy, episode_seed(7, episode)))
        returns.append(steps[-1].ret)
    return np.array(returns)


@pytest.fixture(scope="module")
def optimal_returns(model, solution) -> np.ndarray:
    return simulated_returns(model, solution.policy, 3000)


def test_simulated_return_matches_value(solution, optimal_returns) -> None:
    returns = optimal_returns
    margin = confidence_interval(returns, 0.99) + solution.error_bound
    assert abs(returns.mean() - solution.value) <= margin


THRESHOLD_GRID = [f"threshold:{alpha}" for alpha in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)]
THRESHOLD_GRID.append("threshold:0.9,0.7,0.5")


@pytest.mark.parametrize("scenario", [SAMPLE, EMULATION], ids=["csle", "emulation"])
def test_optimal_beats_threshold_policies(scenario: Path) -> None:
    """Common random numbers: every policy plays the same 4,000 episodes.

    The grid includes the solver's own thresholds as CSLE's smooth threshold, which
    stops at random near the threshold and so loses to the deterministic optimum.
    """
    model = load_scenario(scenario)
    solution = solve(model)
    own = "threshold:" + ",".join(f"{alpha:.4f}" for alpha in solution.thresholds)
    specs = [*THRESHOLD_GRID, own]
    policies = [("optimal", solution.policy)]
    policies += [(spec, load_policy(spec, model)) for spec in specs]

    evaluation = evaluate(model, policies, episodes=4000, seed=11)

    optimal = evaluation.policies[0].returns
    for result in evaluation.policies[1:]:
        difference = paired_difference(optimal, result.returns)
        lower = difference["mean"] - difference["paired_ci95"]
        assert lower > 0, f"{result.name}: optimal - threshold = {difference}"


def test_policy_file_round_trip(model, solution, tmp_path: Path) -> None:
    path = tmp_path / "optimal.json"
    save_optimal_policy(path, model, solution)
    metadata = json.loads(path.read_text(encoding="utf-8"))
    assert metadata["kind"] == "optimal"
    assert metadata["thresholds"] == solution.thresholds
    assert metadata["error_bound"] == solution.error_bound
    loaded = load_policy(str(path), model)
    assert isinstance(loaded, OptimalPolicy)
    for p in (0.0, 0.3, 0.45, 0.9):
        belief = np.array([1 - p, p, 0.0])
        for l in (1, 2, 3):
            assert loaded.action_values(belief, l).tolist() == (
                solution.policy.action_values(belief, l).tolist()
            )


def test_policy_file_corrupt_rejected(model, solution, tmp_path: Path) -> None:
    path = tmp_path / "optimal.json"
    save_optimal_policy(path, model, solution)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(PolicyError, match="optimal.json: not a readable JSON"):
        load_policy(str(path), model)
    metadata = json.loads(text)
    metadata["alpha_vectors"]["stages"][0] = [[1.0, "x"]]
    path.write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(PolicyError, match="optimal.json: alpha_vectors.stages"):
        load_policy(str(path), model)
    metadata["version"] = 99
    path.write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(PolicyError, match="version 99 is newer"):
        load_policy(str(path), model)


def test_policy_file_other_model_rejected(solution, model, tmp_path: Path) -> None:
    path = tmp_path / "optimal.json"
    save_optimal_policy(path, model, solution)
    with pytest.raises(PolicyError, match="optimal.json: the policy was solved for another"):
        load_policy(str(path), load_scenario(EMULATION))
    # The advice writes a new file instead of the valid policy for the other model.
    (tmp_path / "intrusion_prevention_emulation_optimal.json").write_text("{}")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), load_scenario(EMULATION))
    assert str(caught.value).endswith(
        f"solve this scenario into a new file with pomdb solve {EMULATION} "
        f"--out {tmp_path / 'intrusion_prevention_emulation_optimal_2.json'}"
    )
    with pytest.raises(PolicyError, match="optimal.json: the policy's states"):
        load_policy(str(path), load_scenario(TIGER))


def test_optimal_spec_solves_on_load(model) -> None:
    policy = load_policy("optimal:30", model)
    assert isinstance(policy, OptimalPolicy)
    with pytest.raises(PolicyError, match="optimal:GRID"):
        load_policy("optimal:x", model)


def test_solve_command_json(tmp_path: Path, capsys) -> None:
    out = tmp_path / "policy.json"
    code = main(["solve", str(SAMPLE), "--grid", "50", "--json", "--out", str(out)])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["lower"] <= result["value"] <= result["upper"]
    assert result["error_bound"] == result["upper"] - result["lower"]
    assert len(result["thresholds"]) == 3
    assert json.loads(out.read_text(encoding="utf-8"))["kind"] == "optimal"


def test_solve_out_must_end_in_json(tmp_path: Path, capsys) -> None:
    scenario = write(tmp_path, "tiny.yaml", SAMPLE.read_text(encoding="utf-8"))
    before = scenario.read_bytes()
    code = main(["solve", str(scenario), "--grid", "20", "--out", str(scenario)])
    assert code == 2
    assert f"--out {scenario} must end in .json" in capsys.readouterr().err
    assert scenario.read_bytes() == before


def test_solve_out_keeps_other_files(tmp_path: Path, capsys) -> None:
    out = write(tmp_path, "notes.json", '{"mine": true}\n')
    code = main(["solve", str(SAMPLE), "--grid", "20", "--out", str(out)])
    assert code == 2
    assert "exists and is not a policy file written by pomdb solve" in (
        capsys.readouterr().err
    )
    assert out.read_text() == '{"mine": true}\n'


def test_solve_out_replaces_optimal_policy(tmp_path: Path, capsys) -> None:
    out = tmp_path / "optimal.json"
    assert main(["solve", str(SAMPLE), "--grid", "20", "--out", str(out)]) == 0
    assert main(["solve", str(SAMPLE), "--grid", "30", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["grid"] == 30


def test_solve_folder_named_as_folder(tmp_path: Path, capsys) -> None:
    code = main(["solve", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{tmp_path} is a folder, not a scenario file" in err
