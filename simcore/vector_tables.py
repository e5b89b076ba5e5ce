"""The tables that `simcore.vector_env.VectorEnv` precomputes for its step.

The world model (the one that generates states, attacker actions, observations and
rewards) becomes alias tables and a flat reward array. The defender's model becomes
one matrix that predicts the next belief under every (stage, action) pair at once.
"""

from __future__ import annotations

import numpy as np

from simcore.alias_table import AliasTable
from simcore.model import POMDP, ModelError


def _describe(model: POMDP) -> str:
    return str(model.path) if model.path is not None else repr(model.name or "model")


def check_world(model: POMDP, world: POMDP) -> None:
    """Raise ModelError unless `world` can generate episodes for `model`'s belief.

    Both must have the same states, defender actions, observation components,
    stop counter, terminal states and delayed end. Attacker actions may differ,
    as the belief uses only the attacker-weighted transition.
    """
    comparisons = [
        ("states", model.states, world.states),
        ("actions", model.actions, world.actions),
        (
            "observations",
            [(c.name, c.size) for c in model.observation_components],
            [(c.name, c.size) for c in world.observation_components],
        ),
        ("stops", model.stops, world.stops),
        ("stop action", model.stop_action, world.stop_action),
        (
            "terminal states",
            sorted(model.states[i] for i in model.terminal_states),
            sorted(world.states[i] for i in world.terminal_states),
        ),
        ("done_delay", model.done_delay, world.done_delay),
    ]
    for what, expected, found in comparisons:
        if expected != found:
            raise ModelError(
                f"the world model has {what} {found}, but the defender's model "
                f"{_describe(model)} has {expected}; a world (such as an attacker "
                "profile) must declare the same states, actions and observations "
                "as the model whose belief it drives",
                world.path,
            )


class StepTables:
    """Sampling tables of `world` and belief matrices of `model` for a batched step.

    Flat row indices follow the tensors' (k, a, a2, s) layout, with k the stage and
    a2 an attacker action of `world`.
    """

    def __init__(self, model: POMDP, world: POMDP):
        self.num_states = len(world.states)
        self.num_actions = len(world.actions)
        self.num_attacker_actions = len(world.attacker_actions)
        self.combos = (world.stops or 1) * self.num_actions

        self.initial = AliasTable(world.initial_belief[None, :])
        self.attacker = AliasTable(world.attacker)
        self.transition = AliasTable(world.transition)
        self.observation = AliasTable(world.observation)
        self.reward = np.ascontiguousarray(world.reward, dtype=float).reshape(-1)
        self.terminal = np.zeros(self.num_states, dtype=bool)
        self.terminal[list(world.terminal_states)] = True

        # belief_transition[c * S + s', s] = Tm[k, a, s, s'] with c = k * A + a, so
        # belief_transition @ belief_columns predicts every pair c at once.
        S = self.num_states
        marginal = model.marginal_transition.reshape(self.combos, S, S)
        self.belief_transition = np.ascontiguousarray(
            marginal.transpose(0, 2, 1).reshape(self.combos * S, S)
        )
        # Z(o | s') as one contiguous row per state s'.
        self.observation_columns = np.ascontiguousarray(model.observation)
        self.ones = np.ones(S)

    def initial_features(self, model: POMDP) -> np.ndarray:
        """Return the features of step 0 of an episode."""
        if model.stops is None:
            return model.initial_belief
        return np.append(model.initial_belief, 1.0)
