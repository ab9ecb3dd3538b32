"""Scheduling one-to-one buyer–supplier meetings: :func:`schedule_meetings`.

Candidate pairs with a match score are placed into time slots at tables by the
integer program of :mod:`.milp`. Impossible must-meet or fixed meetings are
explained (which pairs, and why) before any solving (:mod:`.diagnose`); the
schedule found is checked against every hard constraint (:mod:`.validate`)
before it is returned.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...errors import InputError, ScheduleError, format_list
from .inputs import Availability, Caps, PairList
from .milp import allowed_slots, assign_tables, build_model, conflicting_must_pairs, optimize
from .model import MEETING_COLUMNS, Schedule
from .problem import build_problem
from .validate import validate_schedule

__all__ = ["schedule_meetings"]

logger = logging.getLogger(__name__)


def schedule_meetings(
    pairs: pd.DataFrame,
    *,
    slots: Sequence[Any],
    tables: int | Sequence[Any],
    max_per_buyer: Caps = None,
    max_per_supplier: Caps = None,
    buyer_availability: Availability = None,
    supplier_availability: Availability = None,
    must_meet: PairList = (),
    do_not_meet: PairList = (),
    fixed: pd.DataFrame | None = None,
    time_limit: float = 60.0,
    mip_gap: float = 1e-4,
) -> Schedule:
    """Schedule one-to-one buyer–supplier meetings in slots at tables, maximising total score.

    Parameters
    ----------
    pairs : DataFrame
        Candidate pairs, columns ``buyer_id``, ``supplier_id``, ``score`` (>= 0,
        higher = better match), one row per pair. Ids are compared as strings.
    slots : list
        Slot labels in time order, e.g. ``["09:00", "09:30"]``.
    tables : int or list
        Number of tables (labelled 1..n), or the table labels; the same in every slot.
    max_per_buyer, max_per_supplier : int or dict id -> int, optional
        Most meetings per party; ids missing from a dict, and the default, get
        the number of slots.
    buyer_availability, supplier_availability : dict id -> iterable of slot labels, optional
        Slots in which a party is present; parties not named are present in every slot.
    must_meet : iterable of (buyer_id, supplier_id)
        Pairs that must meet exactly once; a pair absent from ``pairs`` is added with score 0.
    do_not_meet : iterable of (buyer_id, supplier_id)
        Pairs that must never meet.
    fixed : DataFrame, optional
        Meetings fixed by hand, columns ``buyer_id, supplier_id, slot`` and
        optionally ``table`` (empty = any free table). They are kept, count
        toward the caps, and the rest is optimised around them.
    time_limit : float
        Seconds for HiGHS: the LP relaxation runs first, the integer program
        gets the rest (at least 10 %). When it runs out, the best schedule found
        is returned and ``status`` says so.
    mip_gap : float
        Relative optimality gap at which HiGHS may stop the integer program.

    Returns
    -------
    Schedule

    Raises
    ------
    InputError
        Malformed input, unknown ids, or must-meet/fixed meetings that cannot all
        be held; the message names the pairs and the reason.
    ScheduleError
        HiGHS stopped without any schedule (e.g. the time limit was too short).

    Examples
    --------
    >>> pairs = pd.DataFrame({"buyer_id": ["DISKOP", "DISKOP", "BPKAD"],
    ...                       "supplier_id": ["TAPIS01", "MESIN02", "TAPIS01"],
    ...                       "score": [0.91, 0.55, 0.87]})
    >>> sched = schedule_meetings(pairs, slots=["09:00", "09:30"], tables=1,
    ...                           buyer_availability={"BPKAD": ["09:30"]},
    ...                           must_meet=[("BPKAD", "TAPIS01")])
    >>> sched.meetings[["buyer_id", "supplier_id", "slot", "table", "must_meet"]]
      buyer_id supplier_id   slot  table  must_meet
    0   DISKOP     TAPIS01  09:00      1      False
    1    BPKAD     TAPIS01  09:30      1       True
    """
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not time_limit > 0:
        raise InputError(f"time_limit must be a number of seconds > 0; got {time_limit!r}")
    if isinstance(mip_gap, bool) or not isinstance(mip_gap, (int, float)) or not 0 <= mip_gap < 1:
        raise InputError(f"mip_gap must be a number in [0, 1); got {mip_gap!r}")
    p = build_problem(
        pairs,
        slots,
        tables,
        max_per_buyer,
        max_per_supplier,
        buyer_availability,
        supplier_availability,
        must_meet,
        do_not_meet,
        fixed,
    )
    allowed = allowed_slots(p)
    vp, vs, A, lo, hi = build_model(p, allowed)
    logger.info(
        "meeting model: %d pairs, %d slots, %d tables, %d variables, %d constraints, %d nonzeros",
        len(p.pair_ids),
        len(p.slots),
        len(p.tables),
        len(vp),
        A.shape[0],
        A.nnz,
    )
    x: np.ndarray = np.zeros(len(vp))
    status, solve_seconds, lp_value = "optimal (nothing to optimise)", 0.0, 0.0
    if len(vp):
        sol = optimize(-p.score[vp], A, lo, hi, time_limit=time_limit, mip_gap=mip_gap)
        if sol.x is None:
            culprits = conflicting_must_pairs(p, allowed, time_limit)
            raise InputError(
                f"the must-meet pairs cannot all meet together (each is possible alone): "
                f"{len(culprits)} pair(s) {format_list(culprits, 10)} compete for the same "
                f"parties, slots or tables; drop some of them from must_meet, widen "
                f"availability, or add slots or tables"
            )
        x, lp_value, status, solve_seconds = sol.x, sol.bound, sol.status, sol.seconds

    chosen = x > 0.5
    fx = np.flatnonzero(p.fixed_slot >= 0)
    pair_idx = np.concatenate([fx, vp[chosen]]).astype(int)
    slot_idx = np.concatenate([p.fixed_slot[fx], vs[chosen]]).astype(int)
    table_idx = assign_tables(p, pair_idx, slot_idx)
    order = np.lexsort((table_idx, slot_idx))
    pair_idx, slot_idx, table_idx = pair_idx[order], slot_idx[order], table_idx[order]
    meetings = pd.DataFrame(
        {
            "buyer_id": [p.pair_ids[i][0] for i in pair_idx],
            "supplier_id": [p.pair_ids[i][1] for i in pair_idx],
            "slot": [p.slots[i] for i in slot_idx],
            "table": [p.tables[i] for i in table_idx],
            "score": p.score[pair_idx],
            "fixed": p.fixed_slot[pair_idx] >= 0,
            "must_meet": p.must[pair_idx],
        },
        columns=MEETING_COLUMNS,
    )
    objective = float(meetings["score"].sum())
    bound, gap = bound_and_gap(objective, float(p.score[fx].sum()) + lp_value)
    if not status.startswith("optimal"):
        status += f"; gap {gap:.2%} to the LP bound"
        logger.warning("meeting schedule: %s", status)
    # A last check of the solver's answer against the constraints as the user gave them.
    broken = validate_schedule(
        meetings,
        slots=p.slots,
        tables=p.tables,
        max_per_buyer=dict(zip(p.buyers, p.cap_b.tolist())),
        max_per_supplier=dict(zip(p.suppliers, p.cap_s.tolist())),
        buyer_availability=availability_dict(p.buyers, p.buyer_av, p.slots),
        supplier_availability=availability_dict(p.suppliers, p.supplier_av, p.slots),
        must_meet=[q for q, m in zip(p.pair_ids, p.must) if m],
        do_not_meet=p.do_not_meet,
        fixed=fixed,
    )
    if broken:
        raise ScheduleError(
            f"the solver returned a schedule that breaks {len(broken)} hard constraint(s), "
            f"e.g. {broken[0]}; please report this with the input"
        )
    logger.info(
        "scheduled %d meetings, objective %.4f, LP bound %.4f, gap %.4f%%, %.2f s",
        len(meetings),
        objective,
        bound,
        100 * gap,
        solve_seconds,
    )
    return Schedule(
        meetings=meetings,
        objective=objective,
        bound=bound,
        gap=gap,
        status=status,
        solve_seconds=solve_seconds,
        slots=tuple(p.slots),
        buyers=tuple(p.buyers),
        suppliers=tuple(p.suppliers),
    )


def bound_and_gap(objective: float, bound: float) -> tuple[float, float]:
    """The upper bound (never below the objective) and the relative gap to it."""
    if bound < objective:
        if objective - bound > 1e-6 * (1 + abs(bound)):
            logger.warning("LP bound %.6f is below the objective %.6f; solver tolerances?", bound, objective)
        bound = objective
    gap = 0.0 if bound <= 0 else (bound - objective) / bound
    return bound, gap


def availability_dict(ids: list[str], av: np.ndarray, slots: list) -> dict[str, list]:
    """Availability rows back to ``id -> slot labels`` for the parties not present all day."""
    return {party: [slots[j] for j in np.flatnonzero(row)] for party, row in zip(ids, av) if not row.all()}
