"""From buyer × supplier scores to a meeting schedule: candidates, required meetings, the solve.

Each buyer's ``per_buyer`` best suppliers by pair score are the candidates the
scheduler chooses from (default in :func:`semantic_match.run_event`: twice the
number of slots, so a buyer with a full agenda still leaves the solver room to
balance suppliers and tables); do-not-meet pairs are dropped, and must-meet and
fixed pairs are always added, with their pair score or 0 when no need links them.
"""
from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import pandas as pd

from ..errors import InputError, format_list
from .parties import Parties
from .schedule import Schedule, schedule_meetings
from .slots import Slot

__all__ = ["candidate_pairs", "check_required", "schedule_candidates", "meetings_table"]

logger = logging.getLogger(__name__)


def candidate_pairs(pairs: pd.DataFrame, *, per_buyer: int, must_meet: list[tuple[str, str]] = (),
                    do_not_meet: list[tuple[str, str]] = (), fixed: pd.DataFrame | None = None) -> pd.DataFrame:
    """The pairs offered to the scheduler: ``buyer_id, supplier_id, score``.

    Parameters
    ----------
    pairs : DataFrame
        Output of :func:`semantic_match.aggregate.pair_scores` (with ``rank``).
    per_buyer : int
        Best suppliers kept per buyer.
    must_meet, do_not_meet : list of (buyer_id, supplier_id)
    fixed : DataFrame, optional
        Fixed meetings (``buyer_id, supplier_id, …``).

    Examples
    --------
    >>> pairs = pd.DataFrame({"buyer_id": ["B01", "B01"], "supplier_id": ["S001", "S041"],
    ...                       "score": [0.9, 0.4], "rank": [1, 2]})
    >>> candidate_pairs(pairs, per_buyer=1, must_meet=[("B01", "S900")])
      buyer_id supplier_id  score
    0      B01        S001    0.9
    1      B01        S900    0.0
    """
    banned = set(do_not_meet)
    drop = np.array([(b, s) in banned for b, s in zip(pairs["buyer_id"], pairs["supplier_id"])], dtype=bool)
    keep = pairs[(pairs["rank"] <= per_buyer).to_numpy() & ~drop]
    fixed_pairs = list(zip(fixed["buyer_id"], fixed["supplier_id"])) if fixed is not None else []
    required = list(dict.fromkeys(list(must_meet) + fixed_pairs))
    score_of = dict(zip(zip(pairs["buyer_id"], pairs["supplier_id"]), pairs["score"]))
    have = set(zip(keep["buyer_id"], keep["supplier_id"]))
    extra = [(b, s, float(score_of.get((b, s), 0.0))) for b, s in required if (b, s) not in have]
    return pd.concat([keep[["buyer_id", "supplier_id", "score"]],
                      pd.DataFrame(extra, columns=["buyer_id", "supplier_id", "score"])], ignore_index=True)


def check_required(*, must: list, fixed: pd.DataFrame, dnm: list, buyers: Parties, suppliers: Parties,
                   n_slots: int, n_tables: int, max_per_buyer, max_per_supplier) -> None:
    """Raise InputError for must-meet/fixed requests that cannot all be held, before any matching.

    Checks only what the inputs show (a pair both required and forbidden, more
    required meetings for a party than its slots or cap, more than slots x
    tables in all); :func:`semantic_match.schedule_meetings` explains the rest.
    """
    problems = []
    both = sorted(set(must) & set(dnm))
    if both:
        problems.append(f"pair(s) {format_list(both)} are both must-meet and do-not-meet; remove them from one")
    required = list(dict.fromkeys(must + list(zip(fixed["buyer_id"], fixed["supplier_id"]))))
    for role, pos, parties, cap in (("buyer", 0, buyers, max_per_buyer), ("supplier", 1, suppliers,
                                                                            max_per_supplier)):
        for party, n in sorted(Counter(p[pos] for p in required).items()):
            present = len(parties.availability.get(party, range(n_slots)))
            limit = cap.get(party, n_slots) if isinstance(cap, dict) else (n_slots if cap is None else cap)
            if n > min(present, limit):
                problems.append(f"{role} {party!r} has {n} must-meet/fixed meetings but only "
                                f"{min(present, limit)} slot(s) for them ({n_slots} slots in the event, "
                                f"present in {present}, at most {limit} meetings)")
    if len(required) > n_slots * n_tables:
        problems.append(f"{len(required)} must-meet/fixed meetings but only {n_slots} slots x {n_tables} tables "
                        f"= {n_slots * n_tables} places")
    if problems:
        raise InputError("cannot hold the required meetings: " + "; ".join(problems[:8])
                         + ("; …" if len(problems) > 8 else "")
                         + "; drop some must-meet/fixed pairs, add slots or tables, or widen availability")


def _restrict(value, keep: set[str]):
    return {k: v for k, v in value.items() if k in keep} if isinstance(value, dict) else value


def schedule_candidates(cand_pairs: pd.DataFrame, *, labels: list[str], table_labels: list, buyers: Parties,
                        suppliers: Parties, must: list, dnm: list, fixed: pd.DataFrame, max_per_buyer,
                        max_per_supplier, time_limit: float) -> Schedule:
    """Schedule the candidate pairs (an empty schedule when there are none)."""
    if cand_pairs.empty:
        logger.warning("no buyer-supplier pair has a match at or above the minimum confidence; no meetings")
        empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
            ("buyer_id", object), ("supplier_id", object), ("slot", object), ("table", object),
            ("score", float), ("fixed", bool), ("must_meet", bool))})
        return Schedule(meetings=empty, objective=0.0, bound=0.0, gap=0.0,
                        status="optimal (no candidate pairs)", solve_seconds=0.0, slots=tuple(labels),
                        buyers=tuple(buyers.ids), suppliers=tuple(suppliers.ids))
    in_b, in_s = set(cand_pairs["buyer_id"]), set(cand_pairs["supplier_id"])
    # The scheduler knows only the parties of the candidate pairs; the others have nothing to schedule.
    return schedule_meetings(
        cand_pairs, slots=labels, tables=table_labels,
        max_per_buyer=_restrict(max_per_buyer, in_b), max_per_supplier=_restrict(max_per_supplier, in_s),
        buyer_availability=_restrict(buyers.availability, in_b),
        supplier_availability=_restrict(suppliers.availability, in_s),
        must_meet=must, do_not_meet=[(b, s) for b, s in dnm if b in in_b and s in in_s],
        fixed=fixed if len(fixed) else None, time_limit=time_limit)


def meetings_table(schedule: Schedule, pairs: pd.DataFrame, slots: list[Slot], buyers: Parties,
                   suppliers: Parties) -> pd.DataFrame:
    """The meetings with times, party names and the explanation of each pair."""
    m = schedule.meetings
    span = {s.label: s.span for s in slots}
    info = pairs.set_index(["buyer_id", "supplier_id"])[["needs_served", "explanation", "detail"]]
    keys = list(zip(m["buyer_id"], m["supplier_id"]))
    found = info.reindex(pd.MultiIndex.from_tuples(keys, names=["buyer_id", "supplier_id"])) if keys else info.iloc[:0]
    return pd.DataFrame({
        "slot": m["slot"].to_numpy(),
        "time": [span[s] for s in m["slot"]],
        "table": m["table"].to_numpy(),
        "buyer_id": m["buyer_id"].to_numpy(),
        "buyer": [buyers.name(b) for b in m["buyer_id"]],
        "supplier_id": m["supplier_id"].to_numpy(),
        "supplier": [suppliers.name(s) for s in m["supplier_id"]],
        "score": m["score"].to_numpy(dtype=float),
        "needs_served": found["needs_served"].fillna(0).astype(int).to_numpy(),
        "explanation": found["explanation"].fillna("(must-meet or fixed by the organiser)").to_numpy(),
        "detail": found["detail"].fillna("").to_numpy(),
        "fixed": m["fixed"].to_numpy(dtype=bool),
        "must_meet": m["must_meet"].to_numpy(dtype=bool),
    })
