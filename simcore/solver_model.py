"""The POMDP as the solvers see it: non-terminal states, stages, and a priori bounds.

A solver works on the non-terminal states only. An episode ends when it enters a
terminal state (with `done_delay`, one more step follows with reward 0), so every
value function is 0 there. An alpha vector is therefore stored over the non-terminal
states only. The stop counter becomes a stage k = l - 1, as
in `POMDP.stage`: a stop moves stage k to max(k - 1, 0), any other action keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simcore.model import POMDP, ModelError

# Largest model the solvers accept: non-terminal states, and the number of
# (stage, action, observation, state) combinations that one backup visits.
MAX_STATES = 64
MAX_BACKUP_SIZE = 2_000_000


class SolverError(ModelError):
    """A model that the solver cannot solve, with the reason and what to do."""


@dataclass
class SolverModel:
    """Tensors restricted to the non-terminal states N (n of them), per stage k.

    transition (K, A, n, n) is the attacker-marginalised T(s' | s, a) within N;
    observation (n, O) is Z(o | s'); reward (K, A, n) is the expected R(s, a);
    next_stage (K, A) is the stage after action a; initial (n,) is b0 on N.
    """

    model: POMDP
    states: np.ndarray
    transition: np.ndarray
    observation: np.ndarray
    reward: np.ndarray
    next_stage: np.ndarray
    initial: np.ndarray
    discount: float
    step_limit: int | None
    reward_bound: float

    @property
    def stages(self) -> int:
        return self.transition.shape[0]

    @property
    def actions(self) -> int:
        return self.transition.shape[1]

    @property
    def num_obs(self) -> int:
        return self.observation.shape[1]

    def restrict(self, belief: np.ndarray) -> np.ndarray:
        """Return the part of a full belief over the model's states that lies on N."""
        return np.asarray(belief, dtype=float)[self.states]


def solver_model(model: POMDP) -> SolverModel:
    """Return `model` restricted to its non-terminal states; raise SolverError if the
    model is too large or has no finite optimal value."""
    S = len(model.states)
    terminal = sorted(model.terminal_states)
    states = np.array([s for s in range(S) if s not in model.terminal_states], dtype=int)
    n, O, A = len(states), model.num_observations, len(model.actions)
    K = model.stops or 1
    if n == 0:
        raise SolverError(f"{_name(model)}: every state is terminal; nothing to solve")
    if n > MAX_STATES or K * A * O * n > MAX_BACKUP_SIZE:
        raise SolverError(
            f"{_name(model)}: the model is too large to solve: {n} non-terminal "
            f"states (limit {MAX_STATES}) and {K * A * O * n:,} stage-action-"
            f"observation-state combinations (limit {MAX_BACKUP_SIZE:,}); "
            "use a policy-gradient method (pomdb train) instead"
        )
    if terminal and model.initial_belief[terminal].sum() > 0:
        raise SolverError(
            f"{_name(model)}: the initial belief puts mass on a terminal state; "
            "start episodes in non-terminal states"
        )
    transition = model.marginal_transition[:, :, states][:, :, :, states]
    reward = model.marginal_reward[:, :, states]
    next_stage = np.tile(np.arange(K)[:, None], (1, A))
    if model.stops is not None and model.stop_action is not None:
        next_stage[:, model.stop_action] = np.maximum(np.arange(K) - 1, 0)
    raw_rewards = model.reward[:, :, :, states]
    solver = SolverModel(
        model=model,
        states=states,
        transition=transition,
        observation=model.observation[states],
        reward=reward,
        next_stage=next_stage,
        initial=model.initial_belief[states].astype(float),
        discount=float(model.discount),
        step_limit=model.max_steps,
        reward_bound=float(np.abs(raw_rewards).max()),
    )
    if solver.discount == 1.0:
        survival, steps = survival_bound(solver)
        if survival >= 1.0 and model.max_steps is not None:
            raise SolverError(
                f"{_name(model)}: the model is undiscounted and some policy can keep "
                "an episode out of the terminal states until the step limit "
                f"(max_steps {model.max_steps}), so the optimal policy depends on the "
                "steps left, and pomdb solve computes only policies that do not; set "
                "a discount below 1 or make the terminal states reachable under "
                "every policy"
            )
        if survival >= 1.0:
            raise SolverError(
                f"{_name(model)}: the model is undiscounted and some policy can keep "
                "an episode out of the terminal states forever, so its optimal value "
                "may be infinite; set a discount below 1 or make the terminal states "
                "reachable under every policy"
            )
    return solver


def survival_bound(model: SolverModel) -> tuple[float, int]:
    """Return (rho, m): no policy stays out of the terminal states for m steps with a
    probability above rho, from any state.

    It is the survival probability of the fully observed relaxation in which the
    controller also picks the stage at every step, so it bounds every policy.
    """
    n = len(model.states)
    survival = np.ones(n)
    for steps in range(1, 4 * n + 1):
        survival = max_survival_step(model, survival)
        if survival.max() < 1.0 - 1e-12:
            return float(survival.max()), steps
    return 1.0, 4 * n


def max_survival_step(model: SolverModel, survival: np.ndarray) -> np.ndarray:
    """Return max over stages and actions of sum_s' T(s' | s, a) survival(s')."""
    return np.einsum("kast,t->kas", model.transition, survival).max(axis=(0, 1))


def episode_length_bound(model: SolverModel) -> float:
    """Return an upper bound on the expected number of steps before a terminal state
    under any policy (undiscounted models), from any state: m / (1 - rho)."""
    rho, steps = survival_bound(model)
    return steps / (1.0 - rho)


def value_bound(model: SolverModel) -> float:
    """Return B with |value of any policy| <= B from any belief."""
    if model.discount < 1.0:
        return model.reward_bound / (1.0 - model.discount)
    return model.reward_bound * episode_length_bound(model)


def survival_after(model: SolverModel, steps: int) -> float:
    """Return a bound on the probability that an episode is still out of the terminal
    states after `steps` steps, under any policy and from any state (1.0 for a model
    without terminal states)."""
    survival = np.ones(len(model.states))
    for _ in range(steps):
        survival = max_survival_step(model, survival)
        if survival.max() == 0.0:
            break
    return float(survival.max())


def blind_vectors(model: SolverModel) -> list[np.ndarray]:
    """Return, per stage, the values of the policies that repeat one stage-keeping
    action forever (alpha vectors over N, one row per such action)."""
    n = len(model.states)
    vectors = []
    for k in range(model.stages):
        rows = []
        for a in range(model.actions):
            if model.next_stage[k, a] != k:
                continue
            system = np.eye(n) - model.discount * model.transition[k, a]
            rows.append(np.linalg.solve(system, model.reward[k, a]))
        if not rows:
            bound = value_bound(model)
            rows.append(np.full(n, -bound))
        vectors.append(np.array(rows))
    return vectors


def informed_upper_bound(model: SolverModel, tolerance: float = 1e-10) -> np.ndarray:
    """Return the fast informed bound: vectors q (K, A, n) with V*(b) <= max_a q_a . b.

    Iterated from the constant bound `value_bound`; every iterate is an upper bound,
    as the informed backup dominates the exact Bellman backup and both are monotone.
    """
    K, A, n = model.reward.shape
    q = np.full((K, A, n), value_bound(model))
    # weighted[k, a, s, o, s'] = T(s' | s, a) Z(o | s')
    weighted = np.einsum("kast,to->kasot", model.transition, model.observation)
    for _ in range(100_000):
        following = q[model.next_stage]  # (K, A, A', n)
        best = np.einsum("kasot,kabt->kasob", weighted, following).max(axis=-1)
        updated = model.reward + model.discount * best.sum(axis=-1)
        updated = np.minimum(updated, q)
        change = float(np.abs(updated - q).max())
        q = updated
        if change < tolerance:
            break
    return q


def _name(model: POMDP) -> str:
    return str(model.path) if model.path is not None else (model.name or "the model")
