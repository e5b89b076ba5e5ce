"""pomdb's intrusion-prevention sample against CSLE's own environment, side by side.

CSLE (gym-csle-stopping-game 0.10.1, csle-common 0.10.1) runs in a subprocess with
PYTHONPATH set to its own folder, so it never enters this interpreter. Install it with
`scripts/install-csle.sh DIR` and point POMDB_CSLE_DIR at DIR (default: .tools/csle in
the repository); without it these tests are skipped. docs/csle-compatibility.md lists
the differences that the comparison accounts for.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from simcore.belief import update
from simcore.episode import simulate
from simcore.policies import load_policy, smooth_threshold
from simcore.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
CSLE_DIR = Path(os.environ.get("POMDB_CSLE_DIR", REPO / ".tools" / "csle"))

# Threshold policies alpha_1..alpha_L; one value applies to every number of stops left.
POLICIES = {
    "threshold:0.3": [0.3, 0.3, 0.3],
    "threshold:0.5": [0.5, 0.5, 0.5],
    "threshold:0.8": [0.8, 0.8, 0.8],
    "threshold:0.9,0.7,0.5": [0.9, 0.7, 0.5],
}
EPISODES = 3000
SEED = 20240
BELIEF_EPISODES = 20

requires_csle = pytest.mark.skipif(
    not (CSLE_DIR / "gym_csle_stopping_game").is_dir(),
    reason=f"CSLE is not installed in {CSLE_DIR}; run scripts/install-csle.sh "
    f"{CSLE_DIR}, or set POMDB_CSLE_DIR to a folder made by that script",
)

# Runs inside CSLE's environment: reads a JSON request from the file named by argv[1]
# and prints one JSON result. CSLE samples from the global `numpy.random` and `random`
# generators, which `env.reset(seed=...)` does not seed, so both are seeded here.
CSLE_RUNNER = r"""
import json
import random
import sys
import time

import numpy as np
from csle_common.dao.simulation_config.action import Action
from csle_common.dao.training.multi_threshold_stopping_policy import (
    MultiThresholdStoppingPolicy,
)
from csle_common.dao.training.player_type import PlayerType
from csle_common.dao.training.random_policy import RandomPolicy
from gym_csle_stopping_game.dao.stopping_game_config import StoppingGameConfig
from gym_csle_stopping_game.dao.stopping_game_defender_pomdp_config import (
    StoppingGameDefenderPomdpConfig,
)
from gym_csle_stopping_game.envs.stopping_game_pomdp_defender_env import (
    StoppingGamePomdpDefenderEnv,
)
from gym_csle_stopping_game.util.stopping_game_util import StoppingGameUtil as util

with open(sys.argv[1], encoding="utf-8") as request_file:
    request = json.load(request_file)
L = 3
config = StoppingGameConfig(
    env_name="csle-stopping-game-v1",
    T=util.transition_tensor(L=L),
    O=util.observation_space(n=99),
    Z=util.observation_tensor(n=99),
    R=util.reward_tensor(R_SLA=1, R_INT=-5, R_COST=-5, L=L, R_ST=5),
    S=util.state_space(),
    A1=util.defender_actions(),
    A2=util.attacker_actions(),
    L=L, R_INT=-5, R_COST=-5, R_SLA=1, R_ST=5,
    b1=util.b1(),
    save_dir=request["save_dir"],
    checkpoint_traces_freq=10**9,
    gamma=1,
    compute_beliefs=True,
    save_trace=False,
)
attacker = RandomPolicy(
    player_type=PlayerType.ATTACKER,
    actions=[Action(id=0, descr="continue"), Action(id=1, descr="attack")],
    stage_policy_tensor=[[0.9, 0.1], [0.9, 0.1], [0.9, 0.1]],
)
env = StoppingGamePomdpDefenderEnv(
    config=StoppingGameDefenderPomdpConfig(
        env_name="csle-stopping-game-pomdp-defender-v1",
        stopping_game_config=config,
        attacker_strategy=attacker,
    )
)
pi2 = np.array(attacker.stage_policy(None))


def stop_probability(thresholds, l, b1):
    threshold = thresholds[min(max(l, 1), L) - 1]
    return MultiThresholdStoppingPolicy.stopping_probability(b1=b1, threshold=threshold)


def run_episode(thresholds, trajectory=None):
    observation, _ = env.reset()
    done, total, length, seconds = False, 0.0, 0, 0.0
    while not done:
        l, b1 = int(observation[0]), float(observation[1])
        action = 1 if random.random() < stop_probability(thresholds, l, b1) else 0
        started = time.perf_counter()
        observation, reward, done, _, info = env.step(action)
        seconds += time.perf_counter() - started
        total += float(reward)
        length += 1
        if trajectory is not None and not done:
            belief = env.stopping_game_env.state.b.tolist()
            trajectory.append([action, int(info["o"]), l, belief])
    return total, length, seconds


result = {"episodes": {}, "trajectories": [], "beliefs": [], "steps": 0, "seconds": 0.0}
for name, thresholds in request["policies"].items():
    np.random.seed(request["seed"])
    random.seed(request["seed"])
    returns, lengths = [], []
    for _ in range(request["episodes"]):
        total, length, seconds = run_episode(thresholds)
        returns.append(total)
        lengths.append(length)
        result["steps"] += length
        result["seconds"] += seconds
    result["episodes"][name] = {"returns": returns, "lengths": lengths}

np.random.seed(request["seed"] + 1)
random.seed(request["seed"] + 1)
for _ in range(request["trajectories"]):
    trajectory = []
    run_episode(request["trajectory_thresholds"], trajectory)
    result["trajectories"].append(trajectory)

for sequence in request["sequences"]:
    belief, beliefs = util.b1(), []
    for action, observation, l in sequence:
        belief = util.next_belief(o=observation, a1=action, b=belief, pi2=pi2,
                                  config=config, l=l)
        beliefs.append(belief.tolist())
    result["beliefs"].append(beliefs)

result["stop_probabilities"] = [
    MultiThresholdStoppingPolicy.stopping_probability(b1=b, threshold=theta)
    for b, theta in request["stop_probability_points"]
]
result["T"] = config.T.tolist()
result["R"] = config.R.tolist()
result["Z"] = config.Z.tolist()
print(json.dumps(result))
"""


@dataclass
class Summary:
    """Mean and 95% confidence half-width (Student t) of a sample."""

    mean: float
    ci95: float

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        array = np.asarray(values, dtype=float)
        sem = array.std(ddof=1) / np.sqrt(array.size)
        return cls(float(array.mean()), float(stats.t.ppf(0.975, array.size - 1) * sem))

    def agrees_with(self, other: Summary) -> bool:
        """Return whether the two 95% confidence intervals overlap."""
        return abs(self.mean - other.mean) <= self.ci95 + other.ci95


@dataclass
class Comparison:
    """Everything both sides computed: per-policy runs, beliefs and CSLE's tensors."""

    pomdb: dict[str, dict[str, list[float]]]
    csle: dict
    sequences: list[list[list[int]]]
    pomdb_beliefs: list[list[list[float]]]
    stop_probability_points: list[tuple[float, float]]


def stop_probability_points() -> list[tuple[float, float]]:
    """Return (b, theta) pairs, b away from CSLE's rounding to 0 and 1 (2 decimals)."""
    beliefs = np.linspace(0.005, 0.994, 199)
    return [(float(b), theta) for theta in (0.3, 0.5, 0.7, 0.8, 0.9) for b in beliefs]


def belief_sequences(model) -> tuple[list[list[list[int]]], list[list[list[float]]]]:
    """Return (action, next observation, stops left) per transition of pomdb episodes,
    with the beliefs that pomdb computed after each."""
    policy = load_policy("threshold:0.3", model)
    sequences, beliefs = [], []
    for episode in range(BELIEF_EPISODES):
        steps = simulate(model, policy, SEED, episode)
        sequences.append(
            [[s.action, following.observation, s.stops_left]
             for s, following in pairwise(steps)]
        )  # fmt: skip
        beliefs.append([following.belief.tolist() for following in steps[1:]])
    return sequences, beliefs


@pytest.fixture(scope="module")
def model():
    return load_scenario(SAMPLE)


@pytest.fixture(scope="module")
def comparison(model, tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    folder = tmp_path_factory.mktemp("csle")
    sequences, pomdb_beliefs = belief_sequences(model)
    points = stop_probability_points()
    request = {
        "seed": SEED,
        "episodes": EPISODES,
        "policies": POLICIES,
        "trajectories": BELIEF_EPISODES,
        "trajectory_thresholds": POLICIES["threshold:0.3"],
        "sequences": sequences,
        "stop_probability_points": points,
        "save_dir": str(folder),
    }
    (folder / "request.json").write_text(json.dumps(request), encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": str(CSLE_DIR)}

    # CSLE runs in its own process while pomdb simulates the same policies here.
    with open(folder / "stderr.txt", "w+", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", CSLE_RUNNER, str(folder / "request.json")],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=folder,
            env=environment,
        )
        try:
            pomdb = {}
            for spec in POLICIES:
                policy = load_policy(spec, model)
                runs = [simulate(model, policy, SEED, e) for e in range(EPISODES)]
                pomdb[spec] = {
                    "returns": [steps[-1].ret for steps in runs],
                    "lengths": [len(steps) for steps in runs],
                }
            stdout, _ = process.communicate(timeout=600)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        stderr.seek(0)
        assert process.returncode == 0, f"CSLE failed:\n{stderr.read()[-4000:]}"
    return Comparison(pomdb, json.loads(stdout), sequences, pomdb_beliefs, points)


def test_csle_not_importable_here() -> None:
    assert importlib.util.find_spec("gym_csle_stopping_game") is None
    assert importlib.util.find_spec("csle_common") is None


@requires_csle
def test_transition_tensor_equal(model, comparison: Comparison) -> None:
    np.testing.assert_array_equal(model.transition, comparison.csle["T"])


@requires_csle
def test_reward_tensor_equal(model, comparison: Comparison) -> None:
    np.testing.assert_array_equal(model.reward, comparison.csle["R"])


@requires_csle
def test_observation_tensor_equal(model, comparison: Comparison) -> None:
    # CSLE indexes Z by (defender action, attacker action, s', o) but ignores both
    # actions.
    for by_attacker in comparison.csle["Z"]:
        for rows in by_attacker:
            np.testing.assert_allclose(model.observation, rows, rtol=1e-12, atol=1e-15)


@requires_csle
def test_stop_probability_equal(comparison: Comparison) -> None:
    pomdb = [
        smooth_threshold(b, theta) for b, theta in comparison.stop_probability_points
    ]

    np.testing.assert_allclose(
        pomdb, comparison.csle["stop_probabilities"], rtol=1e-9, atol=1e-12
    )


@requires_csle
@pytest.mark.parametrize("spec", list(POLICIES))
def test_mean_return_agrees(comparison: Comparison, spec: str) -> None:
    pomdb = Summary.of(comparison.pomdb[spec]["returns"])
    csle = Summary.of(comparison.csle["episodes"][spec]["returns"])

    assert pomdb.agrees_with(csle), f"pomdb {pomdb} and CSLE {csle} disagree"


@requires_csle
@pytest.mark.parametrize("spec", list(POLICIES))
def test_mean_length_agrees(comparison: Comparison, spec: str) -> None:
    pomdb = Summary.of(comparison.pomdb[spec]["lengths"])
    csle = Summary.of(comparison.csle["episodes"][spec]["lengths"])

    assert pomdb.agrees_with(csle), f"pomdb {pomdb} and CSLE {csle} disagree"


@requires_csle
def test_next_belief_matches_pomdb(comparison: Comparison) -> None:
    # The same (action, observation, stops left) sequences through both filters.
    assert len(comparison.csle["beliefs"]) == BELIEF_EPISODES
    for pomdb, csle in zip(
        comparison.pomdb_beliefs, comparison.csle["beliefs"], strict=True
    ):
        assert len(pomdb) == len(csle)
        np.testing.assert_allclose(pomdb, csle, rtol=0, atol=1e-9)


@requires_csle
def test_csle_beliefs_reproduced(model, comparison: Comparison) -> None:
    # Beliefs of CSLE's own episodes, recomputed by pomdb from CSLE's actions and
    # observations.
    trajectories = comparison.csle["trajectories"]
    assert sum(len(trajectory) for trajectory in trajectories) > BELIEF_EPISODES
    for trajectory in trajectories:
        belief = model.initial_belief
        for action, observation, stops_left, csle_belief in trajectory:
            belief = update(model, belief, action, observation, stops_left)
            np.testing.assert_allclose(belief, csle_belief, rtol=0, atol=1e-9)
