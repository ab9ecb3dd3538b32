"""The integer program of the scheduler, built on sparse arrays and solved with HiGHS.

One binary variable ``x[pair, slot]`` per slot in which both parties are
present, maximising the total score of the meetings held, subject to

- a pair meets at most once (exactly once for a must-meet pair);
- a buyer, and a supplier, is in at most one meeting per slot;
- at most ``tables`` meetings per slot;
- at most ``max_per_buyer`` / ``max_per_supplier`` meetings per party;
- meetings fixed by the organiser are kept as they are (they take no variable).

The LP relaxation (:func:`scipy.optimize.linprog`, HiGHS) gives an upper bound
on the best total score, and its reduced costs shrink the integer program
(:func:`scipy.optimize.milp`, see :func:`optimize`): interchangeable slots make
plain branch-and-bound slow, 10–20 s for 200 buyers × 500 suppliers × 12
slots, against about 1 s this way. Tables are interchangeable too, so they are
labelled per slot after solving (:func:`assign_tables`).

scipy.optimize is imported inside the two solver calls only: it is the
heaviest import of the package, and most users of the library never schedule.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, NamedTuple

import numpy as np
from scipy.sparse import coo_array

from ...errors import ScheduleError
from .problem import Problem

__all__ = [
    "allowed_slots",
    "build_model",
    "solve_milp",
    "solve_lp",
    "Solution",
    "optimize",
    "conflicting_must_pairs",
    "assign_tables",
    "MAX_CONFLICT_SEARCH",
]

logger = logging.getLogger(__name__)

#: The must-meet conflict search re-solves once per must-meet pair; beyond this
#: many pairs the message lists them all instead of searching for the culprits.
MAX_CONFLICT_SEARCH = 60


def allowed_slots(p: Problem) -> np.ndarray:
    """(n_pairs, n_slots) bool: the slots in which a pair that is not fixed may meet."""
    fx = p.fixed_slot >= 0
    busy_b = np.zeros_like(p.buyer_av)
    busy_s = np.zeros_like(p.supplier_av)
    busy_b[p.pair_b[fx], p.fixed_slot[fx]] = True
    busy_s[p.pair_s[fx], p.fixed_slot[fx]] = True
    tables_left = len(p.tables) - np.bincount(p.fixed_slot[fx], minlength=len(p.slots))
    cap_b_left = p.cap_b - np.bincount(p.pair_b[fx], minlength=len(p.buyers))
    cap_s_left = p.cap_s - np.bincount(p.pair_s[fx], minlength=len(p.suppliers))
    allowed = (
        p.buyer_av[p.pair_b]
        & p.supplier_av[p.pair_s]
        & ~busy_b[p.pair_b]
        & ~busy_s[p.pair_s]
        & (tables_left > 0)[None, :]
    )
    allowed[fx | (cap_b_left[p.pair_b] <= 0) | (cap_s_left[p.pair_s] <= 0)] = False
    return allowed


def build_model(p: Problem, allowed: np.ndarray):
    """Variables ``(pair, slot)`` and the sparse constraints ``lo <= A x <= hi``.

    Rows that cannot bind (fewer variables than their right-hand side) are left
    out, which keeps the model small without changing it.

    Returns
    -------
    vp, vs : ndarray
        Pair and slot index of every variable.
    A : scipy.sparse.csr_array
    lo, hi : ndarray
    """
    vp, vs = np.nonzero(allowed)
    n_slots = len(p.slots)
    fx = p.fixed_slot >= 0
    blocks = []

    def add(keys: np.ndarray, hi: np.ndarray, lo: np.ndarray | None = None) -> None:
        uniq, inv, counts = np.unique(keys, return_inverse=True, return_counts=True)
        keep = counts > hi[uniq]
        if lo is not None:
            keep |= lo[uniq] > 0
        if keep.any():
            row_of = np.cumsum(keep) - 1
            sel = keep[inv]
            lo_rows = lo[uniq[keep]] if lo is not None else np.zeros(int(keep.sum()))
            blocks.append((row_of[inv[sel]], np.flatnonzero(sel), lo_rows, hi[uniq[keep]]))

    add(vp, np.ones(len(p.pair_ids)), p.must.astype(float))  # pair meets <= once
    add(p.pair_b[vp] * n_slots + vs, np.ones(len(p.buyers) * n_slots))  # buyer once per slot
    add(p.pair_s[vp] * n_slots + vs, np.ones(len(p.suppliers) * n_slots))  # supplier once per slot
    add(vs, (len(p.tables) - np.bincount(p.fixed_slot[fx], minlength=n_slots)).astype(float))
    add(p.pair_b[vp], (p.cap_b - np.bincount(p.pair_b[fx], minlength=len(p.buyers))).astype(float))
    add(p.pair_s[vp], (p.cap_s - np.bincount(p.pair_s[fx], minlength=len(p.suppliers))).astype(float))

    offset, rows, cols, lo, hi = 0, [], [], [], []
    for r, c, low, high in blocks:
        rows.append(r + offset)
        cols.append(c)
        lo.append(low)
        hi.append(high)
        offset += len(low)
    cat = lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)  # noqa: E731
    rows_a, cols_a = cat(rows, np.int64), cat(cols, np.int64)
    A = coo_array((np.ones(len(rows_a)), (rows_a, cols_a)), shape=(offset, len(vp))).tocsr()
    return vp, vs, A, cat(lo, float), cat(hi, float)


def solve_milp(
    c: np.ndarray, A, lo: np.ndarray, hi: np.ndarray, *, integral: bool, time_limit: float, mip_gap: float = 0.0
) -> Any:
    """Minimise ``c @ x`` with ``0 <= x <= 1`` and ``lo <= A x <= hi`` through :func:`scipy.optimize.milp`."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    options: dict[str, Any] = {"time_limit": max(float(time_limit), 0.01), "disp": False}
    if integral:
        options["mip_rel_gap"] = float(mip_gap)
    constraints = [LinearConstraint(A, lo, hi)] if A.shape[0] else []
    return milp(
        c,
        integrality=np.full(len(c), 1 if integral else 0),
        bounds=Bounds(0, 1),
        constraints=constraints,
        options=options,
    )


def solve_lp(c: np.ndarray, A, lo: np.ndarray, hi: np.ndarray, *, time_limit: float) -> Any:
    """The LP relaxation through :func:`scipy.optimize.linprog`, which also returns reduced costs."""
    from scipy.optimize import linprog

    # Rows are either ``0 <= a x <= hi`` (x >= 0 makes the 0 redundant) or
    # ``a x == 1`` (a must-meet pair).
    eq = (lo == hi) & (lo > 0)
    rows: dict[str, Any] = {}
    if (~eq).any():
        rows.update(A_ub=A[np.flatnonzero(~eq)], b_ub=hi[~eq])
    if eq.any():
        rows.update(A_eq=A[np.flatnonzero(eq)], b_eq=hi[eq])
    return linprog(
        c, bounds=(0, 1), method="highs", **rows, options={"time_limit": max(float(time_limit), 0.01), "disp": False}
    )


class Solution(NamedTuple):
    """What :func:`optimize` found."""

    x: np.ndarray | None  # 0/1 per variable; None when the model is infeasible
    bound: float  # upper bound on the total score of the variables
    status: str
    seconds: float


def optimize(c: np.ndarray, A, lo: np.ndarray, hi: np.ndarray, *, time_limit: float, mip_gap: float) -> Solution:
    """Solve the LP relaxation (the bound), then the integer program, exactly.

    Slots are interchangeable, which makes plain branch-and-bound on the full
    model slow (many equivalent solutions, heavy presolve) although the LP
    optimum is integral or nearly so. Hence:

    1. an integral LP optimum is optimal;
    2. the integer program on the LP optimum's support (the few hundred
       variables > 0) is accepted when within ``mip_gap`` of the LP bound;
    3. otherwise reduced-cost fixing: a variable whose LP reduced cost exceeds
       ``slack`` cannot be 1 in a schedule scoring more than ``bound - slack``.
       The integer program over the other variables is solved; when the best
       schedule so far scores at least ``bound - slack`` it is optimal overall,
       otherwise ``slack`` grows (starting at a hundredth of the best pair
       score, up to the full model) and it is solved again.
    """
    start = time.perf_counter()
    left = lambda: max(start + time_limit - time.perf_counter(), 0.1 * time_limit)  # noqa: E731
    took = lambda: time.perf_counter() - start  # noqa: E731
    value = lambda x: float(-c @ x)  # noqa: E731

    lp = solve_lp(c, A, lo, hi, time_limit=time_limit)
    if lp.status == 2:
        return Solution(None, np.nan, lp.message, took())
    if lp.status == 0 and np.all(np.minimum(lp.x, 1 - lp.x) <= 1e-6):
        logger.info("the LP relaxation is integral: optimal schedule")
        return Solution(np.round(lp.x), -lp.fun, f"optimal (integral LP relaxation; HiGHS: {lp.message})", took())
    if lp.status == 0:
        bound, support = -lp.fun, lp.x > 1e-6
        reduced_cost = lp.lower.marginals
    else:  # no LP optimum: nothing to restrict with, solve the full model
        logger.warning("LP relaxation stopped early (%s); solving the full integer program", lp.message)
        bound, support, reduced_cost = np.inf, np.ones(len(c), dtype=bool), np.zeros(len(c))
    tol = 1e-7 * (1 + abs(bound)) if np.isfinite(bound) else 0.0
    best, keep, slack = None, support, None
    guess = 0.01 * float(np.max(np.abs(c)))  # a hundredth of the best pair score
    while True:
        cols = np.flatnonzero(keep)
        res = solve_milp(c[cols], A[:, cols], lo, hi, integral=True, mip_gap=mip_gap, time_limit=left())
        if res.status == 2 and len(cols) == len(c):
            return Solution(None, np.nan, res.message, took())
        if res.x is not None:
            x = np.zeros(len(c))
            x[cols] = np.round(res.x)
            best = x if best is None or value(x) > value(best) else best
        how = (
            "full integer program"
            if len(cols) == len(c)
            else "LP support"
            if slack is None
            else f"reduced-cost fixing kept {len(cols)} of {len(c)} variables"
        )
        if best is not None and (
            bound <= 0
            or (bound - value(best)) / bound <= mip_gap
            or (slack is not None and value(best) >= bound - slack - tol)
        ):
            logger.info("optimal schedule from the %s", how)
            return Solution(best, bound, f"optimal ({how}; HiGHS: {res.message})", took())
        if len(cols) == len(c) or res.status not in (0, 2) or took() >= time_limit:
            break
        # Any schedule better than `best` only uses variables with reduced cost < bound - best, so
        # slack never needs to exceed that; below it, guess small and grow.
        slack = guess if best is None else min(guess, bound - value(best))
        guess *= 4
        keep = support | (reduced_cost <= slack + tol)
        logger.info("reduced-cost fixing with slack %.4g keeps %d of %d variables", slack, keep.sum(), len(c))
    if best is None:
        raise ScheduleError(
            f"HiGHS stopped without any schedule after {took():.1f} s ({res.message}); "
            f"raise time_limit (now {time_limit})"
        )
    if not np.isfinite(bound):
        bound = -float(getattr(res, "mip_dual_bound", -np.inf))
    status = (
        f"optimal ({how}; HiGHS: {res.message})"
        if res.status == 0 and len(cols) == len(c)
        else f"time limit reached: best schedule found ({how}; {res.message})"
        if res.status in (0, 1)
        else f"HiGHS stopped early: {res.message}"
    )
    return Solution(best, bound, status, took())


def conflicting_must_pairs(p: Problem, allowed: np.ndarray, time_limit: float) -> list[tuple[str, str]]:
    """A minimal set of must-meet pairs that cannot all meet (deletion filter).

    Optional pairs can always stay apart, so only must-meet pairs (and the
    fixed meetings around them) take part. This is the one diagnosis that needs
    the solver, hence here rather than in :mod:`.diagnose`.
    """
    core = [int(i) for i in np.flatnonzero(p.must & (p.fixed_slot < 0))]
    if len(core) > MAX_CONFLICT_SEARCH:
        return [p.pair_ids[i] for i in core]
    deadline = time.perf_counter() + time_limit

    def feasible(subset: list[int]) -> bool:
        mask = np.zeros(len(p.pair_ids), dtype=bool)
        mask[subset] = True
        p_sub = dataclasses.replace(p, must=p.must & mask)
        vp, _, A, lo, hi = build_model(p_sub, allowed & mask[:, None])
        if len(vp) == 0:
            return not subset
        left = deadline - time.perf_counter()
        res = solve_milp(np.zeros(len(vp)), A, lo, hi, integral=True, time_limit=max(left, 0.5))
        return res.status != 2  # an unfinished search counts as feasible: keep the pair as suspect

    for i in list(core):
        trial = [j for j in core if j != i]
        if time.perf_counter() < deadline and not feasible(trial):
            core = trial
    return [p.pair_ids[i] for i in core]


def assign_tables(p: Problem, pair_idx: np.ndarray, slot_idx: np.ndarray) -> np.ndarray:
    """Table index of each meeting: fixed tables kept, the others take the lowest free table."""
    table = p.fixed_table[pair_idx].copy()
    for slot in np.unique(slot_idx):
        here = np.flatnonzero(slot_idx == slot)
        free = iter(sorted(set(range(len(p.tables))) - set(table[here][table[here] >= 0].tolist())))
        # Fixed meetings without a table first, then by pair order: stable across re-runs.
        for m in sorted(here[table[here] < 0], key=lambda m: (p.fixed_slot[pair_idx[m]] < 0, pair_idx[m])):
            table[m] = next(free)
    return table
