"""CSLE's intrusion-prevention environment stepped by a threshold policy, timed.

Runs in CSLE's own environment: `PYTHONPATH=DIR python -P bench/csle_worker.py SEED`,
with DIR made by scripts/install-csle.sh (gym-csle-stopping-game 0.10.1 and
csle-common 0.10.1). The environment is `StoppingGamePomdpDefenderEnv` with CSLE's
simulation config v002 (L = 3 stops, 100 alert counts) and its static attacker that
starts or ends the intrusion with probability 0.1 per step. The defender stops with
CSLE's own smooth threshold probability at threshold 0.5 on b(intrusion), the second
entry of the environment's observation (stops left, b(intrusion)).

After start-up it writes one JSON line {"ready": true, "startup_seconds": ...}. Then for
each line {"seconds": S} on stdin it plays whole episodes until S seconds have passed
and writes {"steps", "episodes", "seconds", "cpu_seconds"}. It exits at end of input.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time

THRESHOLD = 0.5


def build_environment(save_dir: str):
    """Return CSLE's defender POMDP environment against its static attacker."""
    from csle_common.dao.simulation_config.action import Action
    from csle_common.dao.training.player_type import PlayerType
    from csle_common.dao.training.random_policy import RandomPolicy
    from gym_csle_stopping_game.dao.stopping_game_config import StoppingGameConfig
    from gym_csle_stopping_game.dao.stopping_game_defender_pomdp_config import (
        StoppingGameDefenderPomdpConfig,
    )
    from gym_csle_stopping_game.envs.stopping_game_pomdp_defender_env import (
        StoppingGamePomdpDefenderEnv,
    )
    from gym_csle_stopping_game.util.stopping_game_util import StoppingGameUtil

    util = StoppingGameUtil
    config = StoppingGameConfig(
        env_name="csle-stopping-game-v1",
        T=util.transition_tensor(L=3),
        O=util.observation_space(n=99),
        Z=util.observation_tensor(n=99),
        R=util.reward_tensor(R_SLA=1, R_INT=-5, R_COST=-5, L=3, R_ST=5),
        S=util.state_space(),
        A1=util.defender_actions(),
        A2=util.attacker_actions(),
        L=3,
        R_INT=-5,
        R_COST=-5,
        R_SLA=1,
        R_ST=5,
        b1=util.b1(),
        save_dir=save_dir,
        checkpoint_traces_freq=100_000,
        gamma=1,
    )
    attacker = RandomPolicy(
        PlayerType.ATTACKER,
        [Action(id=0, descr=""), Action(id=1, descr="")],
        [[0.9, 0.1]] * 3,
    )
    return StoppingGamePomdpDefenderEnv(
        StoppingGameDefenderPomdpConfig(
            env_name="csle-stopping-game-pomdp-defender-v1",
            stopping_game_config=config,
            attacker_strategy=attacker,
        )
    )


def play(environment, stopping_probability, seconds: float) -> dict[str, float]:
    """Play whole episodes until `seconds` have passed.

    Returns the number of steps and episodes, and the wall-clock and CPU seconds that
    they took.
    """
    steps = episodes = 0
    start, start_cpu = time.perf_counter(), time.process_time()
    while True:
        observation, _ = environment.reset()
        done = False
        while not done:
            p_stop = stopping_probability(float(observation[1]), THRESHOLD)
            action = 1 if random.random() < p_stop else 0
            observation, _, done, _, _ = environment.step(action)
            steps += 1
        episodes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            cpu = time.process_time() - start_cpu
            return {
                "steps": steps,
                "episodes": episodes,
                "seconds": elapsed,
                "cpu_seconds": cpu,
            }


def main() -> int:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    # Replies go to the original standard output, and anything CSLE prints to stderr.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout = sys.stderr

    started = time.perf_counter()
    import numpy as np
    from csle_common.dao.training.multi_threshold_stopping_policy import (
        MultiThresholdStoppingPolicy,
    )

    # CSLE samples from the global generators, which reset(seed=...) does not seed.
    np.random.seed(seed)
    random.seed(seed)
    with tempfile.TemporaryDirectory(prefix="csle-bench-") as save_dir:
        environment = build_environment(save_dir)
        startup = time.perf_counter() - started
        replies.write(json.dumps({"ready": True, "startup_seconds": startup}) + "\n")
        replies.flush()
        for line in sys.stdin:
            request = json.loads(line)
            result = play(
                environment,
                MultiThresholdStoppingPolicy.stopping_probability,
                float(request["seconds"]),
            )
            replies.write(json.dumps(result) + "\n")
            replies.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
