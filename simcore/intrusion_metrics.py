"""Security metrics of intrusion-prevention episodes for a defender with L stops.

The metrics follow the evaluation of Hammar and Stadler's intrusion prevention
through optimal stopping (IEEE TNSM 2022): the probability that the intrusion is
interrupted, the probability of early stopping, and the time the intrusion runs
before the defender reacts. They apply to a model with a state named `intrusion` and
an action that uses a stop. With s_t the hidden state at step t:

- A *stop* is the stop action taken at a step whose hidden state is not terminal.
  Actions in a terminal state, such as the step that CSLE plays after the episode
  reached it (`done_delay`), have no effect and are not stops.
- A *final stop* is a stop taken with at most one stop left: the L-th stop, which
  in the intrusion-prevention model ends the episode. Without a stop counter every
  stop is final.
- The *intrusion start* t_I is the first step with s_t = intrusion. CSLE's
  `intrusion_start` is the step of the attacker's action that starts it, one earlier.
- *Prevented*: a final stop was taken at a step with s_t = intrusion, so the
  intrusion was ongoing when the defender used its last stop.
- *Early stop* (a false alarm): some stop was taken at a step t before the intrusion
  started (t < t_I, or the intrusion never started in the episode).
- *Delay*: tau - t_I, where tau is the first stop at or after t_I; it is defined
  only for episodes in which the intrusion started and such a stop was taken. A delay
  of 0 means the defender stopped at the first step of the intrusion.

Probabilities are fractions of all episodes. Episodes without an intrusion count as
not prevented.
"""

from __future__ import annotations

import numpy as np

from simcore.model import POMDP

INTRUSION_STATE = "intrusion"


def intrusion_state(model: POMDP) -> int | None:
    """Return the index of the intrusion state when the metrics apply to `model`."""
    if INTRUSION_STATE not in model.states or model.stop_action is None:
        return None
    return model.states.index(INTRUSION_STATE)


class IntrusionTracker:
    """Per-episode intrusion starts and stops, fed one step of many episodes at a time.

    Arrays, one entry per episode, with -1 for a step that never came:
    `intrusion_start` (t_I), `first_stop_after_start` (tau), `final_stop` (the step
    of the first final stop), `early_stop`, `prevented`, and `stops` (the count).
    """

    def __init__(self, model: POMDP, episodes: int):
        intrusion = intrusion_state(model)
        if intrusion is None:
            raise ValueError(
                f"the metrics need a state named {INTRUSION_STATE!r} and a stop "
                f"action; the model has states {', '.join(model.states)}"
            )
        self.intrusion = intrusion
        self.stop_action = model.stop_action
        self.terminal = np.zeros(len(model.states), dtype=bool)
        self.terminal[list(model.terminal_states)] = True

        self.intrusion_start = np.full(episodes, -1, dtype=np.int64)
        self.first_stop_after_start = np.full(episodes, -1, dtype=np.int64)
        self.early_stop = np.zeros(episodes, dtype=bool)
        self.final_stop = np.full(episodes, -1, dtype=np.int64)
        self.prevented = np.zeros(episodes, dtype=bool)
        self.stops = np.zeros(episodes, dtype=np.int64)

    def record(
        self,
        episodes: np.ndarray,
        t: int,
        states: np.ndarray,
        stops_left: np.ndarray | None,
        actions: np.ndarray,
    ) -> None:
        """Record step t of `episodes` (distinct indices): s_t, l_t (None without a
        stop counter) and the defender's action a_t."""
        in_intrusion = states == self.intrusion
        starts = in_intrusion & (self.intrusion_start[episodes] < 0)
        self.intrusion_start[episodes[starts]] = t

        stops = (actions == self.stop_action) & ~self.terminal[states]
        started = self.intrusion_start[episodes] >= 0
        self.early_stop[episodes[stops & ~started]] = True
        first = stops & started & (self.first_stop_after_start[episodes] < 0)
        self.first_stop_after_start[episodes[first]] = t

        final = stops if stops_left is None else stops & (stops_left <= 1)
        self.prevented[episodes[final & in_intrusion]] = True
        first_final = final & (self.final_stop[episodes] < 0)
        self.final_stop[episodes[first_final]] = t
        self.stops[episodes[stops]] += 1

    @property
    def delays(self) -> np.ndarray:
        """Delays of the episodes where they are defined (see the module)."""
        defined = self.first_stop_after_start >= 0
        return (self.first_stop_after_start - self.intrusion_start)[defined]
