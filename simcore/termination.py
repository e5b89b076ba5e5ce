"""Whether episodes of a model are sure to end: terminal states a policy cannot avoid.

An episode ends when it enters a terminal state or reaches the step limit. Without a
step limit, a simulation of a model in which some policy can keep an episode out of
the terminal states forever may never return. `endless_states` finds the states from
which that is possible, and `require_step_limit` rejects such a model unless the
caller sets a step limit.

The check works on the fully observed relaxation, in which the controller observes
the state and may pick any stage (stops left) at every step. The solver's survival
bound (`simcore.solver_model.survival_bound`) uses the same relaxation. So the check
may reject a model in which only a policy that observes the state could avoid the
terminal states, but it never accepts a model in which some policy acting on the
belief alone can.
"""

from __future__ import annotations

import numpy as np

from simcore.model import POMDP, ModelError


class StepLimitError(ModelError):
    """A model whose episodes may never end, run without a step limit."""


def endless_states(model: POMDP) -> np.ndarray:
    """Return a mask (S,) of the non-terminal states from which some policy of the
    fully observed relaxation stays out of the terminal states forever with
    probability 1.

    It is the largest set W of non-terminal states in which every state has a
    (stage, action) whose successors all lie in W. A state is removed as soon as every
    one of its (stage, action) pairs can lead out of the set, and each removal is
    propagated once, so the cost is one pass over the transition tensor.
    """
    S = len(model.states)
    possible = model.marginal_transition > 0  # (K, A, S, S')
    alive = np.ones(S, dtype=bool)
    alive[list(model.terminal_states)] = False
    leaks = possible[..., ~alive].any(axis=-1)  # (K, A, S)
    while True:
        removed = alive & leaks.all(axis=(0, 1))
        if not removed.any():
            return alive
        alive &= ~removed
        leaks |= possible[..., removed].any(axis=-1)


def reachable_states(model: POMDP) -> np.ndarray:
    """Return a mask (S,) of the states that some episode can visit: those reachable
    from the initial belief's support under any stage and action, without passing
    through a terminal state."""
    successors = (model.marginal_transition > 0).any(axis=(0, 1))  # (S, S')
    terminal = np.zeros(len(model.states), dtype=bool)
    terminal[list(model.terminal_states)] = True
    reached = model.initial_belief > 0
    frontier = reached.copy()
    while frontier.any():
        following = successors[frontier & ~terminal].any(axis=0)
        frontier = following & ~reached
        reached |= following
    return reached


def can_run_forever(model: POMDP) -> bool:
    """Return True when some policy may keep an episode of `model` out of the
    terminal states forever with a positive probability (the step limit ignored)."""
    return bool((endless_states(model) & reachable_states(model)).any())


def require_step_limit(model: POMDP, max_steps: int | None, remedy: str) -> None:
    """Raise StepLimitError when episodes of `model` may never end: there is no step
    limit (neither `max_steps` nor the scenario's) and `can_run_forever`.

    `remedy` names the caller's own step-limit setting, such as "pass --max-steps N".
    """
    if max_steps is not None or model.max_steps is not None:
        return
    if not can_run_forever(model):
        return
    name = str(model.path) if model.path is not None else (model.name or "the model")
    if model.terminal_states:
        reason = "some policy can keep an episode out of the terminal states forever"
    else:
        reason = "the model has no terminal states"
    raise StepLimitError(
        f"{name}: {reason} and the scenario sets no max_steps, so an episode may "
        f"never end; set max_steps in the scenario or {remedy}"
    )
