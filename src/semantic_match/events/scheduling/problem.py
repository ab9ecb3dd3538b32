"""The scheduling problem as index arrays: checked arguments in, one :class:`Problem` out.

:func:`build_problem` normalizes every argument of
:func:`~semantic_match.events.scheduling.solve.schedule_meetings`, rejects unknown
ids and required meetings that cannot be held (in words, see :mod:`.diagnose`),
and numbers pairs, parties and slots so the integer program is built from arrays.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...errors import InputError, format_list
from .diagnose import check_known_ids, explain_infeasible
from .inputs import (
    Availability,
    Caps,
    PairList,
    normalize_availability,
    normalize_caps,
    normalize_fixed,
    normalize_pairs,
    normalize_slots,
    normalize_tables,
    pair_list,
)

__all__ = ["Problem", "build_problem"]

logger = logging.getLogger(__name__)


@dataclass
class Problem:
    """Everything the model needs, as index arrays (pairs are rows, slots columns)."""

    slots: list
    tables: list
    buyers: list[str]
    suppliers: list[str]
    pair_ids: list[tuple[str, str]]
    pair_b: np.ndarray  # (n_pairs,) int, buyer index
    pair_s: np.ndarray  # (n_pairs,) int, supplier index
    score: np.ndarray  # (n_pairs,) float
    must: np.ndarray  # (n_pairs,) bool
    fixed_slot: np.ndarray  # (n_pairs,) int, -1 when not fixed
    fixed_table: np.ndarray  # (n_pairs,) int, -1 when not fixed or table left open
    buyer_av: np.ndarray  # (n_buyers, n_slots) bool
    supplier_av: np.ndarray  # (n_suppliers, n_slots) bool
    cap_b: np.ndarray  # (n_buyers,) int
    cap_s: np.ndarray  # (n_suppliers,) int
    do_not_meet: list[tuple[str, str]]


def build_problem(
    pairs: pd.DataFrame,
    slots: Sequence[Any],
    tables: int | Sequence[Any],
    max_per_buyer: Caps,
    max_per_supplier: Caps,
    buyer_availability: Availability,
    supplier_availability: Availability,
    must_meet: PairList,
    do_not_meet: PairList,
    fixed: pd.DataFrame | None,
) -> Problem:
    """Check the arguments of :func:`schedule_meetings` (same meanings) and number everything.

    Raises
    ------
    InputError
        Malformed arguments, unknown ids, or must-meet/fixed meetings that the
        inputs alone show cannot all be held.
    """
    slot_labels, slot_index = normalize_slots(slots)
    table_labels, table_index = normalize_tables(tables)
    candidates = normalize_pairs(pairs)
    must = pair_list(must_meet, "must_meet")
    dnm = pair_list(do_not_meet, "do_not_meet")
    fixed_rows = normalize_fixed(fixed, slot_index, table_index, slot_labels, table_labels)
    b_av = normalize_availability(buyer_availability, "buyer_availability", slot_index, slot_labels)
    s_av = normalize_availability(supplier_availability, "supplier_availability", slot_index, slot_labels)
    n_slots = len(slot_labels)
    b_caps = normalize_caps(max_per_buyer, "max_per_buyer", n_slots)
    s_caps = normalize_caps(max_per_supplier, "max_per_supplier", n_slots)

    buyers = sorted({b for b, _ in candidates})
    suppliers = sorted({s for _, s in candidates})
    check_known_ids(
        set(buyers),
        set(suppliers),
        {
            "must_meet": ([b for b, _ in must], [s for _, s in must]),
            "do_not_meet": ([b for b, _ in dnm], [s for _, s in dnm]),
            "fixed": ([r[0] for r in fixed_rows], [r[1] for r in fixed_rows]),
            "buyer_availability": (list(b_av), []),
            "supplier_availability": ([], list(s_av)),
            "max_per_buyer": (list(b_caps[1]), []),
            "max_per_supplier": ([], list(s_caps[1])),
        },
    )
    dnm_set = set(dnm)
    problems = explain_infeasible(
        must=must,
        fixed=fixed_rows,
        dnm=dnm_set,
        slots=slot_labels,
        tables=table_labels,
        b_av=b_av,
        s_av=s_av,
        b_caps=b_caps,
        s_caps=s_caps,
    )
    if problems:
        raise InputError("cannot schedule the required meetings: " + " | ".join(problems))

    added = [p for p in dict.fromkeys(must + [r[:2] for r in fixed_rows]) if p not in candidates]
    if added:
        logger.info(
            "adding %d must-meet/fixed pairs absent from pairs with score 0: %s", len(added), format_list(added)
        )
    pool = {p: sc for p, sc in candidates.items() if p not in dnm_set}
    pool.update({p: 0.0 for p in added})
    pair_ids = list(pool)
    b_pos = {b: i for i, b in enumerate(buyers)}
    s_pos = {s: i for i, s in enumerate(suppliers)}
    p_pos = {p: i for i, p in enumerate(pair_ids)}
    must_set = set(must)
    fixed_slot = np.full(len(pair_ids), -1)
    fixed_table = np.full(len(pair_ids), -1)
    for b, s, slot, table in fixed_rows:
        fixed_slot[p_pos[b, s]], fixed_table[p_pos[b, s]] = slot, table

    def availability(pos: dict[str, int], av: dict[str, frozenset[int]]) -> np.ndarray:
        mat = np.ones((len(pos), n_slots), dtype=bool)
        for party, present in av.items():
            mat[pos[party]] = False
            mat[pos[party], sorted(present)] = True
        return mat

    return Problem(
        slots=slot_labels,
        tables=table_labels,
        buyers=buyers,
        suppliers=suppliers,
        pair_ids=pair_ids,
        pair_b=np.array([b_pos[b] for b, _ in pair_ids]),
        pair_s=np.array([s_pos[s] for _, s in pair_ids]),
        score=np.array([pool[p] for p in pair_ids], dtype=float),
        must=np.array([p in must_set for p in pair_ids]),
        fixed_slot=fixed_slot,
        fixed_table=fixed_table,
        buyer_av=availability(b_pos, b_av),
        supplier_av=availability(s_pos, s_av),
        cap_b=np.array([b_caps[1].get(b, b_caps[0]) for b in buyers]),
        cap_s=np.array([s_caps[1].get(s, s_caps[0]) for s in suppliers]),
        do_not_meet=dnm,
    )
