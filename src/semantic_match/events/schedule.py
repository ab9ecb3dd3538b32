"""Meeting scheduler of a business-matching event (temu bisnis).

Candidate buyer–supplier pairs with a match score are placed into time slots
at tables by an integer program solved with HiGHS (:func:`scipy.optimize.milp`):
one binary variable ``x[pair, slot]`` per slot in which both parties are
present, maximising the total score of the meetings held, subject to

- a pair meets at most once (exactly once for a must-meet pair);
- a buyer, and a supplier, is in at most one meeting per slot;
- at most ``tables`` meetings per slot;
- at most ``max_per_buyer`` / ``max_per_supplier`` meetings per party;
- meetings fixed by the organiser are kept as they are.

The LP relaxation of the same model (:func:`scipy.optimize.linprog`, HiGHS)
gives an upper bound on the best total score, reported with the gap, and its
reduced costs shrink the integer program (see ``_optimise``): interchangeable
slots make plain branch-and-bound slow, 10–20 s for 200 buyers × 500
suppliers × 12 slots, against about 1 s this way. Tables are interchangeable
too, so they are labelled per slot after solving. Impossible must-meet or fixed meetings are explained
(which pairs, and why) before any solving; :func:`validate_schedule` lists
every hard constraint that a schedule, possibly edited by hand, breaks.
"""
from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_array

from ..errors import InputError, ScheduleError, format_list

__all__ = ["schedule_meetings", "validate_schedule", "Schedule", "ScheduleError"]

logger = logging.getLogger(__name__)

Caps = int | Mapping[Any, int] | None
Availability = Mapping[Any, Iterable[Any]] | None
PairList = Iterable[tuple[Any, Any]] | pd.DataFrame

_MEETING_COLUMNS = ["buyer_id", "supplier_id", "slot", "table", "score", "fixed", "must_meet"]
# The must-meet conflict search re-solves once per must-meet pair; beyond this
# many pairs the message lists them all instead of searching for the culprits.
_MAX_CONFLICT_SEARCH = 60


@dataclass(frozen=True, eq=False)
class Schedule:
    """A solved meeting schedule.

    Attributes
    ----------
    meetings : DataFrame
        One row per meeting: ``buyer_id`` (str), ``supplier_id`` (str), ``slot``
        (a label of ``slots``), ``table`` (a table label), ``score`` (float),
        ``fixed`` (bool, fixed by the organiser), ``must_meet`` (bool); sorted
        by slot order, then table order.
    objective : float
        Total score of the meetings, fixed ones included.
    bound : float
        Upper bound on the best possible total score: the LP relaxation's optimum
        (HiGHS's own bound if the LP relaxation ran out of time).
    gap : float
        ``(bound - objective) / bound``, 0 when ``bound`` is 0.
    status : str
        What the solver reported: starts with ``"optimal"`` (then how optimality
        was proven and HiGHS's message) or ``"time limit reached"`` (then the gap).
    solve_seconds : float
        Wall-clock seconds spent in HiGHS (LP relaxation and integer program).
    slots, buyers, suppliers : tuple
        The slot labels in order, and every buyer and supplier id of the input.
    """

    meetings: pd.DataFrame
    objective: float
    bound: float
    gap: float
    status: str
    solve_seconds: float
    slots: tuple = field(default=(), repr=False)
    buyers: tuple[str, ...] = field(default=(), repr=False)
    suppliers: tuple[str, ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        return (f"Schedule(meetings={len(self.meetings)}, objective={self.objective:.4f}, "
                f"bound={self.bound:.4f}, gap={self.gap:.2%}, status={self.status!r}, "
                f"solve_seconds={self.solve_seconds:.2f})")

    def buyer_agenda(self, buyer_id: Any) -> pd.DataFrame:
        """Meetings of one buyer sorted by slot: ``slot, table, supplier_id, score, fixed, must_meet``.

        Examples
        --------
        >>> sched.buyer_agenda("DISKOP")  # doctest: +SKIP
            slot  table supplier_id  score  fixed  must_meet
        0  09:00      1     TAPIS01   0.91  False      False
        """
        return self._agenda("buyer", buyer_id, "supplier_id")

    def supplier_agenda(self, supplier_id: Any) -> pd.DataFrame:
        """Meetings of one supplier sorted by slot: ``slot, table, buyer_id, score, fixed, must_meet``."""
        return self._agenda("supplier", supplier_id, "buyer_id")

    def _agenda(self, role: str, party: Any, other: str) -> pd.DataFrame:
        key = _key(party)
        known = self.buyers if role == "buyer" else self.suppliers
        if known and key not in set(known):
            raise InputError(f"unknown {role} id {key!r}; {_known_phrase(role, known)}")
        rows = self.meetings[self.meetings[f"{role}_id"] == key]
        return rows[["slot", "table", other, "score", "fixed", "must_meet"]].reset_index(drop=True)


# --------------------------------------------------------------------------- input normalisation

def _key(value: Any) -> str:
    """Compare ids and labels as strings; an integral float (1.0, from a NaN-holed column) reads as 1."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return str(value)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and np.isnan(value))


def _known_phrase(role: str, known: Sequence[str]) -> str:
    ids = sorted(known)
    if len(ids) <= 5:
        return f"known {role} ids are {format_list(ids)}"
    return f"known {role} ids are {ids[0]!r} … {ids[-1]!r} ({len(ids)} ids; see pairs.{role}_id)"


def _normalise_slots(slots: Sequence[Any]) -> tuple[list, dict[str, int]]:
    if isinstance(slots, (str, bytes)) or not isinstance(slots, Iterable):
        raise InputError(f"slots must be a list of slot labels such as ['09:00', '09:30']; got {slots!r}")
    labels = list(slots)
    if not labels:
        raise InputError("slots is empty; give at least one slot label, e.g. slots=['09:00', '09:30']")
    index: dict[str, int] = {}
    dups = []
    for i, label in enumerate(labels):
        if _key(label) in index:
            dups.append(label)
        index.setdefault(_key(label), i)
    if dups:
        raise InputError(f"slots has repeated labels {format_list(dups)}; give each slot once")
    return labels, index


def _normalise_tables(tables: int | Sequence[Any]) -> tuple[list, dict[str, int]]:
    if isinstance(tables, (bool, np.bool_)):
        raise InputError(f"tables must be a number of tables or a list of table labels; got {tables!r}")
    if isinstance(tables, (int, np.integer)):
        if tables < 1:
            raise InputError(f"tables must be at least 1; got {tables}")
        labels = list(range(1, int(tables) + 1))
    elif isinstance(tables, (str, bytes)) or not isinstance(tables, Iterable):
        raise InputError(f"tables must be a number of tables or a list of table labels; got {tables!r}")
    else:
        labels = list(tables)
        if not labels:
            raise InputError("tables is an empty list; give the table labels or a number of tables")
    keys = [_key(t) for t in labels]
    dups = sorted({k for k, n in Counter(keys).items() if n > 1})
    if dups:
        raise InputError(f"tables has repeated labels {format_list(dups)}; give each table once")
    return labels, {k: i for i, k in enumerate(keys)}


def _normalise_pairs(pairs: pd.DataFrame) -> dict[tuple[str, str], float]:
    if not isinstance(pairs, pd.DataFrame):
        raise InputError(f"pairs must be a DataFrame with columns buyer_id, supplier_id, score; "
                         f"got {type(pairs).__name__}")
    missing = [c for c in ("buyer_id", "supplier_id", "score") if c not in pairs.columns]
    if missing:
        raise InputError(f"pairs is missing column(s) {missing}; columns are "
                         f"{format_list(list(pairs.columns), 12)}; expected buyer_id, supplier_id, score")
    if pairs.empty:
        raise InputError("pairs is empty: there are no candidate pairs to schedule; give at least one "
                         "row buyer_id, supplier_id, score")
    holes = pairs.index[pairs["buyer_id"].isna() | pairs["supplier_id"].isna()]
    if len(holes):
        raise InputError(f"pairs has {len(holes)} rows without buyer_id or supplier_id, rows "
                         f"{format_list(list(holes))}; fill in the ids or drop those rows")
    keys = list(zip(map(_key, pairs["buyer_id"]), map(_key, pairs["supplier_id"])))
    scores = pd.to_numeric(pairs["score"], errors="coerce").to_numpy(dtype=float)
    bad = [k for k, s in zip(keys, scores) if not (np.isfinite(s) and s >= 0)]
    if bad:
        raise InputError(f"pairs has {len(bad)} scores that are missing, negative or not finite, pairs "
                         f"{format_list(bad)}; scores must be numbers >= 0 (higher = better match)")
    out = dict(zip(keys, scores.tolist()))
    if len(out) < len(keys):
        dups = sorted(k for k, n in Counter(keys).items() if n > 1)
        raise InputError(f"pairs has {len(dups)} duplicate (buyer_id, supplier_id) pairs "
                         f"{format_list(dups)}; keep one row per pair")
    return out


def _pair_list(value: PairList | None, name: str) -> list[tuple[str, str]]:
    """(buyer_id, supplier_id) tuples, order kept, repeats dropped (they mean the same)."""
    if value is None:
        return []
    if isinstance(value, pd.DataFrame):
        missing = [c for c in ("buyer_id", "supplier_id") if c not in value.columns]
        if missing:
            raise InputError(f"{name} is missing column(s) {missing}; expected buyer_id, supplier_id")
        value = zip(value["buyer_id"], value["supplier_id"])
    out, bad = [], []
    for item in value:
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
            bad.append(item)
        else:
            out.append((_key(item[0]), _key(item[1])))
    if bad:
        raise InputError(f"{name} must hold (buyer_id, supplier_id) pairs; got {format_list(bad)}; "
                         f"write e.g. {name}=[('B001', 'S007')]")
    return list(dict.fromkeys(out))


def _normalise_fixed(fixed: pd.DataFrame | None, slot_index: dict[str, int],
                     table_index: dict[str, int], slots: list, tables: list) -> list[tuple]:
    """Rows ``(buyer, supplier, slot_i, table_i or -1)`` of the fixed meetings."""
    if fixed is None:
        return []
    if not isinstance(fixed, pd.DataFrame):
        raise InputError(f"fixed must be a DataFrame with columns buyer_id, supplier_id, slot "
                         f"[, table]; got {type(fixed).__name__}")
    missing = [c for c in ("buyer_id", "supplier_id", "slot") if c not in fixed.columns]
    if missing:
        raise InputError(f"fixed is missing column(s) {missing}; columns are "
                         f"{format_list(list(fixed.columns), 12)}; expected buyer_id, supplier_id, slot [, table]")
    table_col = fixed["table"] if "table" in fixed.columns else [None] * len(fixed)
    rows, bad_slots, bad_tables = [], [], []
    for b, s, slot, table in zip(fixed["buyer_id"], fixed["supplier_id"], fixed["slot"], table_col):
        pair = (_key(b), _key(s))
        slot_i = slot_index.get(_key(slot), -1)
        if slot_i < 0:
            bad_slots.append((*pair, slot))
        table_i = -1
        if not _missing(table):
            table_i = table_index.get(_key(table), -1)
            if table_i < 0:
                bad_tables.append((*pair, table))
        rows.append((*pair, slot_i, table_i))
    if bad_slots:
        raise InputError(f"fixed meetings {format_list(bad_slots)} are in slots that are not in slots "
                         f"{format_list(slots, 12)}; fix the slot labels")
    if bad_tables:
        raise InputError(f"fixed meetings {format_list(bad_tables)} are at unknown tables; tables are "
                         f"{format_list(tables, 12)}; fix the table labels or leave table empty")
    return rows


def _normalise_availability(value: Availability, name: str, slot_index: dict[str, int],
                            slots: list) -> dict[str, frozenset[int]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"{name} must be a dict id -> slot labels when the party is present; "
                         f"got {type(value).__name__}")
    out, unknown = {}, []
    for party, present in value.items():
        if isinstance(present, (str, bytes)) or not isinstance(present, Iterable):
            present = [present]     # a single slot label
        idx = set()
        for label in present:
            i = slot_index.get(_key(label), -1)
            if i < 0:
                unknown.append((_key(party), label))
            else:
                idx.add(i)
        out[_key(party)] = frozenset(idx)
    if unknown:
        raise InputError(f"{name} names slots that are not in slots: {format_list(unknown)} "
                         f"(id, slot); slots are {format_list(slots, 12)}")
    return out


def _normalise_caps(value: Caps, name: str, n_slots: int) -> tuple[int, dict[str, int]]:
    """The default cap and the per-id caps."""
    def check(cap: Any, who: str) -> int:
        if isinstance(cap, (bool, np.bool_)) or not isinstance(cap, (int, np.integer)) or cap < 0:
            raise InputError(f"{name} must be a whole number >= 0{who}; got {cap!r}")
        return int(cap)

    if value is None:
        return n_slots, {}
    if isinstance(value, Mapping):
        return n_slots, {_key(k): check(v, f" (for id {_key(k)!r})") for k, v in value.items()}
    return check(value, ""), {}


# --------------------------------------------------------------------------- the problem

@dataclass
class _Problem:
    """Everything the model needs, as index arrays (pairs are rows, slots columns)."""

    slots: list
    tables: list
    buyers: list[str]
    suppliers: list[str]
    pair_ids: list[tuple[str, str]]
    pair_b: np.ndarray          # (n_pairs,) int, buyer index
    pair_s: np.ndarray          # (n_pairs,) int, supplier index
    score: np.ndarray           # (n_pairs,) float
    must: np.ndarray            # (n_pairs,) bool
    fixed_slot: np.ndarray      # (n_pairs,) int, -1 when not fixed
    fixed_table: np.ndarray     # (n_pairs,) int, -1 when not fixed or table left open
    buyer_av: np.ndarray        # (n_buyers, n_slots) bool
    supplier_av: np.ndarray     # (n_suppliers, n_slots) bool
    cap_b: np.ndarray           # (n_buyers,) int
    cap_s: np.ndarray           # (n_suppliers,) int
    do_not_meet: list[tuple[str, str]]


def _check_known(buyers: set[str], suppliers: set[str], sources: dict[str, tuple[list, list]]) -> None:
    """Raise one InputError listing every unknown buyer/supplier id per argument."""
    problems, roles = [], {}
    for name, (b_ids, s_ids) in sources.items():
        for role, ids, known in (("buyer", b_ids, buyers), ("supplier", s_ids, suppliers)):
            unknown = sorted(set(ids) - known)
            if unknown:
                problems.append(f"{name} names unknown {role} id(s) {format_list(unknown)}")
                roles[role] = known
    if problems:
        raise InputError("; ".join(problems + [_known_phrase(r, k) for r, k in roles.items()])
                         + "; fix the ids, or add candidate pairs for those parties")


def _explain_infeasible(*, must: list, fixed: list, dnm: set, slots: list, tables: list,
                        b_av: dict, s_av: dict, b_caps: tuple, s_caps: tuple) -> list[str]:
    """Reasons why the must-meet and fixed meetings cannot all be held (empty when none is found)."""
    all_slots = frozenset(range(len(slots)))
    n_tables = len(tables)
    lab = lambda idx: format_list([slots[i] for i in sorted(idx)], 12)  # noqa: E731
    problems = []

    both = [p for p in must if p in dnm]
    if both:
        problems.append(f"must-meet pair(s) {format_list(both)} are both in must_meet and do_not_meet; "
                        f"remove them from one of the two")
    fixed_dnm = sorted({(b, s) for b, s, _, _ in fixed if (b, s) in dnm})
    if fixed_dnm:
        problems.append(f"fixed meeting(s) {format_list(fixed_dnm)} are in do_not_meet; "
                        f"unfix them or remove them from do_not_meet")
    repeated = sorted(p for p, n in Counter((b, s) for b, s, _, _ in fixed).items() if n > 1)
    if repeated:
        problems.append(f"pair(s) {format_list(repeated)} are fixed more than once; a pair meets at "
                        f"most once, keep one fixed meeting per pair")

    # Double bookings among the fixed meetings.
    for what, key in (("buyer", lambda r: (r[0], r[2])), ("supplier", lambda r: (r[1], r[2])),
                      ("table", lambda r: (r[3], r[2]))):
        groups = defaultdict(list)
        for row in fixed:
            if what != "table" or row[3] >= 0:
                groups[key(row)].append(row[:2])
        clashes = [f"{what} {k[0] if what != 'table' else tables[k[0]]!r} in slot {slots[k[1]]!r}: "
                   f"{format_list(v)}" for k, v in groups.items() if len(v) > 1]
        if clashes:
            problems.append(f"fixed meetings double-book a {what} ({len(clashes)} clash(es)): "
                            + "; ".join(clashes[:5]) + ("; …" if len(clashes) > 5 else "")
                            + "; move or unfix one meeting of each clash")
    per_slot = Counter(slot for _, _, slot, _ in fixed)
    full = {slot for slot, n in per_slot.items() if n >= n_tables}
    over = [f"{slots[slot]!r} ({n})" for slot, n in sorted(per_slot.items()) if n > n_tables]
    if over:
        problems.append(f"more fixed meetings than the {n_tables} tables in slot(s) {', '.join(over)}; "
                        f"move or unfix some, or add tables")

    # Fixed meetings outside availability.
    outside = []
    for b, s, slot, _ in fixed:
        for role, party, av in (("buyer", b, b_av), ("supplier", s, s_av)):
            if slot not in av.get(party, all_slots):
                outside.append(f"({b!r}, {s!r}) at {slots[slot]!r}: {role} {party!r} is present in "
                               f"{lab(av.get(party, all_slots))}")
    if outside:
        problems.append("fixed meeting(s) outside availability: " + "; ".join(outside[:5])
                        + ("; …" if len(outside) > 5 else "") + "; move them or widen the availability")

    # Must-meet pairs without a slot left to meet in.
    busy_b, busy_s = defaultdict(set), defaultdict(set)
    for b, s, slot, _ in fixed:
        busy_b[b].add(slot)
        busy_s[s].add(slot)
    fixed_pairs = {(b, s) for b, s, _, _ in fixed}
    no_common, taken = [], []
    for b, s in must:
        if (b, s) in fixed_pairs or (b, s) in dnm:
            continue
        common = b_av.get(b, all_slots) & s_av.get(s, all_slots)
        if not common:
            no_common.append(f"({b!r}, {s!r}): buyer present in {lab(b_av.get(b, all_slots))}, "
                             f"supplier present in {lab(s_av.get(s, all_slots))}")
        elif not common - busy_b[b] - busy_s[s] - full:
            taken.append(f"({b!r}, {s!r}): common slots {lab(common)}")
    if no_common:
        problems.append(f"{len(no_common)} must-meet pair(s) have no common available slot: "
                        + "; ".join(no_common[:5]) + ("; …" if len(no_common) > 5 else "")
                        + "; widen their availability or drop them from must_meet")
    if taken:
        problems.append(f"{len(taken)} must-meet pair(s) have no common available slot left, their "
                        f"common slots being taken by fixed meetings or full tables: "
                        + "; ".join(taken[:5]) + ("; …" if len(taken) > 5 else "")
                        + "; move or unfix those fixed meetings")

    # Parties with more required meetings than their cap or their available slots.
    required = list(dict.fromkeys([p for p in must if p not in dnm] + [(b, s) for b, s, _, _ in fixed]))
    for role, pos, av, (default, caps) in (("buyer", 0, b_av, b_caps), ("supplier", 1, s_av, s_caps)):
        overloaded = []
        for party, n in sorted(Counter(p[pos] for p in required).items()):
            cap, n_av = caps.get(party, default), len(av.get(party, all_slots))
            reasons = ([f"max_per_{role} = {cap}"] if n > cap else []) + (
                [f"the {n_av} slots it is available in"] if n > n_av else [])
            if reasons:
                overloaded.append(f"{role} {party!r} has {n} must-meet/fixed meetings, more than "
                                  + " and ".join(reasons))
        if overloaded:
            problems.append("; ".join(overloaded[:5]) + ("; …" if len(overloaded) > 5 else "")
                            + f" ({len(overloaded)} {role}(s)); drop some of their must-meet/fixed "
                            + f"meetings, raise max_per_{role} or widen the availability")
    if len(required) > len(slots) * n_tables:
        problems.append(f"{len(required)} must-meet/fixed meetings but only {len(slots)} slots x "
                        f"{n_tables} tables = {len(slots) * n_tables} places; add tables or slots")
    return problems


def _build_problem(pairs, slots, tables, max_per_buyer, max_per_supplier, buyer_availability,
                   supplier_availability, must_meet, do_not_meet, fixed) -> _Problem:
    slot_labels, slot_index = _normalise_slots(slots)
    table_labels, table_index = _normalise_tables(tables)
    candidates = _normalise_pairs(pairs)
    must = _pair_list(must_meet, "must_meet")
    dnm = _pair_list(do_not_meet, "do_not_meet")
    fixed_rows = _normalise_fixed(fixed, slot_index, table_index, slot_labels, table_labels)
    b_av = _normalise_availability(buyer_availability, "buyer_availability", slot_index, slot_labels)
    s_av = _normalise_availability(supplier_availability, "supplier_availability", slot_index, slot_labels)
    n_slots = len(slot_labels)
    b_caps = _normalise_caps(max_per_buyer, "max_per_buyer", n_slots)
    s_caps = _normalise_caps(max_per_supplier, "max_per_supplier", n_slots)

    buyers = sorted({b for b, _ in candidates})
    suppliers = sorted({s for _, s in candidates})
    _check_known(set(buyers), set(suppliers), {
        "must_meet": ([b for b, _ in must], [s for _, s in must]),
        "do_not_meet": ([b for b, _ in dnm], [s for _, s in dnm]),
        "fixed": ([r[0] for r in fixed_rows], [r[1] for r in fixed_rows]),
        "buyer_availability": (list(b_av), []),
        "supplier_availability": ([], list(s_av)),
        "max_per_buyer": (list(b_caps[1]), []),
        "max_per_supplier": ([], list(s_caps[1])),
    })
    dnm_set = set(dnm)
    problems = _explain_infeasible(must=must, fixed=fixed_rows, dnm=dnm_set, slots=slot_labels,
                                   tables=table_labels, b_av=b_av, s_av=s_av, b_caps=b_caps,
                                   s_caps=s_caps)
    if problems:
        raise InputError("cannot schedule the required meetings: " + " | ".join(problems))

    added = [p for p in dict.fromkeys(must + [r[:2] for r in fixed_rows]) if p not in candidates]
    if added:
        logger.info("adding %d must-meet/fixed pairs absent from pairs with score 0: %s",
                    len(added), format_list(added))
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

    return _Problem(
        slots=slot_labels, tables=table_labels, buyers=buyers, suppliers=suppliers, pair_ids=pair_ids,
        pair_b=np.array([b_pos[b] for b, _ in pair_ids]), pair_s=np.array([s_pos[s] for _, s in pair_ids]),
        score=np.array([pool[p] for p in pair_ids], dtype=float),
        must=np.array([p in must_set for p in pair_ids]), fixed_slot=fixed_slot, fixed_table=fixed_table,
        buyer_av=availability(b_pos, b_av), supplier_av=availability(s_pos, s_av),
        cap_b=np.array([b_caps[1].get(b, b_caps[0]) for b in buyers]),
        cap_s=np.array([s_caps[1].get(s, s_caps[0]) for s in suppliers]), do_not_meet=dnm,
    )


# --------------------------------------------------------------------------- the integer program

def _allowed(p: _Problem) -> np.ndarray:
    """(n_pairs, n_slots) bool: the slots in which a pair that is not fixed may meet."""
    fx = p.fixed_slot >= 0
    busy_b = np.zeros_like(p.buyer_av)
    busy_s = np.zeros_like(p.supplier_av)
    busy_b[p.pair_b[fx], p.fixed_slot[fx]] = True
    busy_s[p.pair_s[fx], p.fixed_slot[fx]] = True
    tables_left = len(p.tables) - np.bincount(p.fixed_slot[fx], minlength=len(p.slots))
    cap_b_left = p.cap_b - np.bincount(p.pair_b[fx], minlength=len(p.buyers))
    cap_s_left = p.cap_s - np.bincount(p.pair_s[fx], minlength=len(p.suppliers))
    allowed = (p.buyer_av[p.pair_b] & p.supplier_av[p.pair_s]
               & ~busy_b[p.pair_b] & ~busy_s[p.pair_s] & (tables_left > 0)[None, :])
    allowed[fx | (cap_b_left[p.pair_b] <= 0) | (cap_s_left[p.pair_s] <= 0)] = False
    return allowed


def _build_model(p: _Problem, allowed: np.ndarray):
    """Variables ``(pair, slot)`` and the sparse constraints ``lo <= A x <= hi``.

    Rows that cannot bind (fewer variables than their right-hand side) are left
    out, which keeps the model small without changing it.
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

    add(vp, np.ones(len(p.pair_ids)), p.must.astype(float))                    # pair meets <= once
    add(p.pair_b[vp] * n_slots + vs, np.ones(len(p.buyers) * n_slots))         # buyer once per slot
    add(p.pair_s[vp] * n_slots + vs, np.ones(len(p.suppliers) * n_slots))      # supplier once per slot
    add(vs, (len(p.tables) - np.bincount(p.fixed_slot[fx], minlength=n_slots)).astype(float))
    add(p.pair_b[vp], (p.cap_b - np.bincount(p.pair_b[fx], minlength=len(p.buyers))).astype(float))
    add(p.pair_s[vp], (p.cap_s - np.bincount(p.pair_s[fx], minlength=len(p.suppliers))).astype(float))

    offset, rows, cols, lo, hi = 0, [], [], [], []
    for r, c, l, h in blocks:
        rows.append(r + offset)
        cols.append(c)
        lo.append(l)
        hi.append(h)
        offset += len(l)
    cat = lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)  # noqa: E731
    rows_a, cols_a = cat(rows, np.int64), cat(cols, np.int64)
    A = coo_array((np.ones(len(rows_a)), (rows_a, cols_a)), shape=(offset, len(vp))).tocsr()
    return vp, vs, A, cat(lo, float), cat(hi, float)


def _solve(c: np.ndarray, A, lo: np.ndarray, hi: np.ndarray, *, integral: bool,
           time_limit: float, mip_gap: float = 0.0):
    options = {"time_limit": max(float(time_limit), 0.01), "disp": False}
    if integral:
        options["mip_rel_gap"] = float(mip_gap)
    constraints = [LinearConstraint(A, lo, hi)] if A.shape[0] else []
    return milp(c, integrality=np.full(len(c), 1 if integral else 0), bounds=Bounds(0, 1),
                constraints=constraints, options=options)


def _solve_lp(c: np.ndarray, A, lo: np.ndarray, hi: np.ndarray, *, time_limit: float):
    """The LP relaxation through :func:`scipy.optimize.linprog`, which also returns reduced costs."""
    # Rows are either ``0 <= a x <= hi`` (x >= 0 makes the 0 redundant) or
    # ``a x == 1`` (a must-meet pair).
    eq = (lo == hi) & (lo > 0)
    rows = {}
    if (~eq).any():
        rows.update(A_ub=A[np.flatnonzero(~eq)], b_ub=hi[~eq])
    if eq.any():
        rows.update(A_eq=A[np.flatnonzero(eq)], b_eq=hi[eq])
    return linprog(c, bounds=(0, 1), method="highs", **rows,
                   options={"time_limit": max(float(time_limit), 0.01), "disp": False})


class _Solution(NamedTuple):
    x: np.ndarray | None        # 0/1 per variable; None when the model is infeasible
    bound: float                # upper bound on the total score of the variables
    status: str
    seconds: float


def _optimise(c: np.ndarray, A, lo: np.ndarray, hi: np.ndarray, *, time_limit: float,
              mip_gap: float) -> _Solution:
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

    lp = _solve_lp(c, A, lo, hi, time_limit=time_limit)
    if lp.status == 2:
        return _Solution(None, np.nan, lp.message, took())
    if lp.status == 0 and np.all(np.minimum(lp.x, 1 - lp.x) <= 1e-6):
        logger.info("the LP relaxation is integral: optimal schedule")
        return _Solution(np.round(lp.x), -lp.fun, f"optimal (integral LP relaxation; HiGHS: {lp.message})",
                         took())
    if lp.status == 0:
        bound, support = -lp.fun, lp.x > 1e-6
        reduced_cost = lp.lower.marginals
    else:   # no LP optimum: nothing to restrict with, solve the full model
        logger.warning("LP relaxation stopped early (%s); solving the full integer program", lp.message)
        bound, support, reduced_cost = np.inf, np.ones(len(c), dtype=bool), np.zeros(len(c))
    tol = 1e-7 * (1 + abs(bound)) if np.isfinite(bound) else 0.0
    best, keep, slack = None, support, None
    guess = 0.01 * float(np.max(np.abs(c)))     # a hundredth of the best pair score
    while True:
        cols = np.flatnonzero(keep)
        res = _solve(c[cols], A[:, cols], lo, hi, integral=True, mip_gap=mip_gap, time_limit=left())
        if res.status == 2 and len(cols) == len(c):
            return _Solution(None, np.nan, res.message, took())
        if res.x is not None:
            x = np.zeros(len(c))
            x[cols] = np.round(res.x)
            best = x if best is None or value(x) > value(best) else best
        how = ("full integer program" if len(cols) == len(c) else
               "LP support" if slack is None else f"reduced-cost fixing kept {len(cols)} of {len(c)} variables")
        if best is not None and (bound <= 0 or (bound - value(best)) / bound <= mip_gap
                                 or (slack is not None and value(best) >= bound - slack - tol)):
            logger.info("optimal schedule from the %s", how)
            return _Solution(best, bound, f"optimal ({how}; HiGHS: {res.message})", took())
        if len(cols) == len(c) or res.status not in (0, 2) or took() >= time_limit:
            break
        # Any schedule better than `best` only uses variables with reduced cost < bound - best, so
        # slack never needs to exceed that; below it, guess small and grow.
        slack = guess if best is None else min(guess, bound - value(best))
        guess *= 4
        keep = support | (reduced_cost <= slack + tol)
        logger.info("reduced-cost fixing with slack %.4g keeps %d of %d variables", slack, keep.sum(), len(c))
    if best is None:
        raise ScheduleError(f"HiGHS stopped without any schedule after {took():.1f} s ({res.message}); "
                            f"raise time_limit (now {time_limit})")
    if not np.isfinite(bound):
        bound = -float(getattr(res, "mip_dual_bound", -np.inf))
    status = (f"optimal ({how}; HiGHS: {res.message})" if res.status == 0 and len(cols) == len(c) else
              f"time limit reached: best schedule found ({how}; {res.message})" if res.status in (0, 1) else
              f"HiGHS stopped early: {res.message}")
    return _Solution(best, bound, status, took())


def _conflicting_must_pairs(p: _Problem, allowed: np.ndarray, time_limit: float) -> list[tuple[str, str]]:
    """A minimal set of must-meet pairs that cannot all meet (deletion filter).

    Optional pairs can always stay apart, so only must-meet pairs (and the
    fixed meetings around them) take part.
    """
    core = [i for i in np.flatnonzero(p.must & (p.fixed_slot < 0))]
    if len(core) > _MAX_CONFLICT_SEARCH:
        return [p.pair_ids[i] for i in core]
    deadline = time.perf_counter() + time_limit

    def feasible(subset: list[int]) -> bool:
        mask = np.zeros(len(p.pair_ids), dtype=bool)
        mask[subset] = True
        p_sub = _Problem(**{**p.__dict__, "must": p.must & mask})
        vp, _, A, lo, hi = _build_model(p_sub, allowed & mask[:, None])
        if len(vp) == 0:
            return not subset
        left = deadline - time.perf_counter()
        res = _solve(np.zeros(len(vp)), A, lo, hi, integral=True, time_limit=max(left, 0.5))
        return res.status != 2   # an unfinished search counts as feasible: keep the pair as suspect

    for i in list(core):
        trial = [j for j in core if j != i]
        if time.perf_counter() < deadline and not feasible(trial):
            core = trial
    return [p.pair_ids[i] for i in core]


def _assign_tables(p: _Problem, pair_idx: np.ndarray, slot_idx: np.ndarray) -> np.ndarray:
    """Table index of each meeting: fixed tables kept, the others take the lowest free table."""
    table = p.fixed_table[pair_idx].copy()
    for slot in np.unique(slot_idx):
        here = np.flatnonzero(slot_idx == slot)
        free = iter(sorted(set(range(len(p.tables))) - set(table[here][table[here] >= 0].tolist())))
        # Fixed meetings without a table first, then by pair order: stable across re-runs.
        for m in sorted(here[table[here] < 0], key=lambda m: (p.fixed_slot[pair_idx[m]] < 0, pair_idx[m])):
            table[m] = next(free)
    return table


def _bound_and_gap(objective: float, bound: float) -> tuple[float, float]:
    if bound < objective:
        if objective - bound > 1e-6 * (1 + abs(bound)):
            logger.warning("LP bound %.6f is below the objective %.6f; solver tolerances?", bound, objective)
        bound = objective
    gap = 0.0 if bound <= 0 else (bound - objective) / bound
    return bound, gap


def schedule_meetings(pairs: pd.DataFrame, *, slots: Sequence[Any], tables: int | Sequence[Any],
                      max_per_buyer: Caps = None, max_per_supplier: Caps = None,
                      buyer_availability: Availability = None, supplier_availability: Availability = None,
                      must_meet: PairList = (), do_not_meet: PairList = (),
                      fixed: pd.DataFrame | None = None, time_limit: float = 60.0,
                      mip_gap: float = 1e-4) -> Schedule:
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
    p = _build_problem(pairs, slots, tables, max_per_buyer, max_per_supplier, buyer_availability,
                       supplier_availability, must_meet, do_not_meet, fixed)
    allowed = _allowed(p)
    vp, vs, A, lo, hi = _build_model(p, allowed)
    logger.info("meeting model: %d pairs, %d slots, %d tables, %d variables, %d constraints, %d nonzeros",
                len(p.pair_ids), len(p.slots), len(p.tables), len(vp), A.shape[0], A.nnz)
    status, solve_seconds, x, lp_value = "optimal (nothing to optimise)", 0.0, np.zeros(len(vp)), 0.0
    if len(vp):
        sol = _optimise(-p.score[vp], A, lo, hi, time_limit=time_limit, mip_gap=mip_gap)
        if sol.x is None:
            culprits = _conflicting_must_pairs(p, allowed, time_limit)
            raise InputError(f"the must-meet pairs cannot all meet together (each is possible alone): "
                             f"{len(culprits)} pair(s) {format_list(culprits, 10)} compete for the same "
                             f"parties, slots or tables; drop some of them from must_meet, widen "
                             f"availability, or add slots or tables")
        x, lp_value, status, solve_seconds = sol

    chosen = x > 0.5
    fx = np.flatnonzero(p.fixed_slot >= 0)
    pair_idx = np.concatenate([fx, vp[chosen]]).astype(int)
    slot_idx = np.concatenate([p.fixed_slot[fx], vs[chosen]]).astype(int)
    table_idx = _assign_tables(p, pair_idx, slot_idx)
    order = np.lexsort((table_idx, slot_idx))
    pair_idx, slot_idx, table_idx = pair_idx[order], slot_idx[order], table_idx[order]
    meetings = pd.DataFrame({
        "buyer_id": [p.pair_ids[i][0] for i in pair_idx],
        "supplier_id": [p.pair_ids[i][1] for i in pair_idx],
        "slot": [p.slots[i] for i in slot_idx],
        "table": [p.tables[i] for i in table_idx],
        "score": p.score[pair_idx],
        "fixed": p.fixed_slot[pair_idx] >= 0,
        "must_meet": p.must[pair_idx],
    }, columns=_MEETING_COLUMNS)
    objective = float(meetings["score"].sum())
    bound, gap = _bound_and_gap(objective, float(p.score[fx].sum()) + lp_value)
    if not status.startswith("optimal"):
        status += f"; gap {gap:.2%} to the LP bound"
        logger.warning("meeting schedule: %s", status)
    broken = validate_schedule(meetings, slots=p.slots, tables=p.tables,
                               max_per_buyer=dict(zip(p.buyers, p.cap_b.tolist())),
                               max_per_supplier=dict(zip(p.suppliers, p.cap_s.tolist())),
                               buyer_availability=_availability_dict(p.buyers, p.buyer_av, p.slots),
                               supplier_availability=_availability_dict(p.suppliers, p.supplier_av, p.slots),
                               must_meet=[q for q, m in zip(p.pair_ids, p.must) if m],
                               do_not_meet=p.do_not_meet, fixed=fixed)
    if broken:
        raise ScheduleError(f"the solver returned a schedule that breaks {len(broken)} hard constraint(s), "
                            f"e.g. {broken[0]}; please report this with the input")
    logger.info("scheduled %d meetings, objective %.4f, LP bound %.4f, gap %.4f%%, %.2f s",
                len(meetings), objective, bound, 100 * gap, solve_seconds)
    return Schedule(meetings=meetings, objective=objective, bound=bound, gap=gap, status=status,
                    solve_seconds=solve_seconds, slots=tuple(p.slots), buyers=tuple(p.buyers),
                    suppliers=tuple(p.suppliers))


def _availability_dict(ids: list[str], av: np.ndarray, slots: list) -> dict[str, list]:
    return {party: [slots[j] for j in np.flatnonzero(row)] for party, row in zip(ids, av) if not row.all()}


# --------------------------------------------------------------------------- validation

def validate_schedule(meetings: pd.DataFrame, *, slots: Sequence[Any], tables: int | Sequence[Any],
                      max_per_buyer: Caps = None, max_per_supplier: Caps = None,
                      buyer_availability: Availability = None, supplier_availability: Availability = None,
                      must_meet: PairList = (), do_not_meet: PairList = (),
                      fixed: pd.DataFrame | None = None) -> list[str]:
    """Every hard constraint a schedule breaks, in words (empty list when it is valid).

    Checks: slot and table labels exist; a pair meets at most once; no buyer,
    supplier or table is in two meetings of a slot; no more meetings per slot
    than tables; caps; availability; must-meet pairs meet; do-not-meet pairs do
    not; fixed meetings are kept (slot, and table where one was fixed).
    Arguments mean the same as in :func:`schedule_meetings`.

    Parameters
    ----------
    meetings : DataFrame
        Columns ``buyer_id, supplier_id, slot, table`` (others are ignored),
        e.g. ``Schedule.meetings`` after an organiser edited it.

    Returns
    -------
    list of str

    Examples
    --------
    >>> edited = sched.meetings.assign(slot="09:00")          # doctest: +SKIP
    >>> validate_schedule(edited, slots=["09:00", "09:30"], tables=1)   # doctest: +SKIP
    ["supplier 'TAPIS01' has 2 meetings in slot '09:00': buyers ['DISKOP', 'BPKAD']",
     "table 1 hosts 2 meetings in slot '09:00': [('DISKOP', 'TAPIS01'), ('BPKAD', 'TAPIS01')]",
     "slot '09:00' has 2 meetings but there are only 1 tables"]
    """
    if not isinstance(meetings, pd.DataFrame):
        raise InputError(f"meetings must be a DataFrame; got {type(meetings).__name__}")
    missing = [c for c in ("buyer_id", "supplier_id", "slot", "table") if c not in meetings.columns]
    if missing:
        raise InputError(f"meetings is missing column(s) {missing}; columns are "
                         f"{format_list(list(meetings.columns), 12)}; expected buyer_id, supplier_id, slot, table")
    slot_labels, slot_index = _normalise_slots(slots)
    table_labels, table_index = _normalise_tables(tables)
    n_slots = len(slot_labels)
    b_av = _normalise_availability(buyer_availability, "buyer_availability", slot_index, slot_labels)
    s_av = _normalise_availability(supplier_availability, "supplier_availability", slot_index, slot_labels)
    b_caps = _normalise_caps(max_per_buyer, "max_per_buyer", n_slots)
    s_caps = _normalise_caps(max_per_supplier, "max_per_supplier", n_slots)
    fixed_rows = _normalise_fixed(fixed, slot_index, table_index, slot_labels, table_labels)

    rows = []
    problems = []
    for b, s, slot, table in zip(meetings["buyer_id"], meetings["supplier_id"], meetings["slot"],
                                 meetings["table"]):
        pair = (_key(b), _key(s))
        slot_i = slot_index.get(_key(slot), -1)
        table_i = -1 if _missing(table) else table_index.get(_key(table), -1)
        if slot_i < 0:
            problems.append(f"meeting {pair} is in unknown slot {slot!r}; slots are {format_list(slot_labels, 12)}")
        if table_i < 0:
            problems.append(f"meeting {pair} is at unknown table {table!r}; tables are "
                            f"{format_list(table_labels, 12)}")
        rows.append((*pair, slot_i, table_i))

    by_pair = defaultdict(list)
    by_buyer_slot, by_supplier_slot, by_table_slot = defaultdict(list), defaultdict(list), defaultdict(list)
    per_slot, per_buyer, per_supplier = Counter(), Counter(), Counter()
    for b, s, slot, table in rows:
        by_pair[b, s].append(slot)
        per_buyer[b] += 1
        per_supplier[s] += 1
        if slot >= 0:
            by_buyer_slot[b, slot].append(s)
            by_supplier_slot[s, slot].append(b)
            per_slot[slot] += 1
            if table >= 0:
                by_table_slot[table, slot].append((b, s))

    name = lambda slot: repr(slot_labels[slot]) if slot >= 0 else "an unknown slot"  # noqa: E731
    for pair, where in by_pair.items():
        if len(where) > 1:
            problems.append(f"pair {pair} meets {len(where)} times (slots {', '.join(map(name, where))}); "
                            f"a pair meets at most once")
    for (b, slot), others in by_buyer_slot.items():
        if len(others) > 1:
            problems.append(f"buyer {b!r} has {len(others)} meetings in slot {name(slot)}: suppliers "
                            f"{format_list(others)}")
    for (s, slot), others in by_supplier_slot.items():
        if len(others) > 1:
            problems.append(f"supplier {s!r} has {len(others)} meetings in slot {name(slot)}: buyers "
                            f"{format_list(others)}")
    for (table, slot), here in by_table_slot.items():
        if len(here) > 1:
            problems.append(f"table {table_labels[table]!r} hosts {len(here)} meetings in slot {name(slot)}: "
                            f"{format_list(here)}")
    for slot, n in sorted(per_slot.items()):
        if n > len(table_labels):
            problems.append(f"slot {name(slot)} has {n} meetings but there are only {len(table_labels)} tables")
    for role, counts, (default, caps), cap_name in (("buyer", per_buyer, b_caps, "max_per_buyer"),
                                                    ("supplier", per_supplier, s_caps, "max_per_supplier")):
        for party, n in sorted(counts.items()):
            if n > caps.get(party, default):
                problems.append(f"{role} {party!r} has {n} meetings, more than {cap_name} = "
                                f"{caps.get(party, default)}")
    for b, s, slot, _ in rows:
        for role, party, av in (("buyer", b, b_av), ("supplier", s, s_av)):
            if slot >= 0 and party in av and slot not in av[party]:
                problems.append(f"meeting {(b, s)} in slot {name(slot)} is outside {role} {party!r}'s "
                                f"availability {format_list([slot_labels[i] for i in sorted(av[party])], 12)}")
    for pair in _pair_list(must_meet, "must_meet"):
        if pair not in by_pair:
            problems.append(f"must-meet pair {pair} has no meeting")
    for pair in _pair_list(do_not_meet, "do_not_meet"):
        if pair in by_pair:
            problems.append(f"do-not-meet pair {pair} meets in slot(s) {', '.join(map(name, by_pair[pair]))}")
    held = {(b, s, slot) for b, s, slot, _ in rows} | {(b, s, slot, t) for b, s, slot, t in rows}
    for b, s, slot, table in fixed_rows:
        at = f" at table {table_labels[table]!r}" if table >= 0 else ""
        if (b, s, slot) not in held or (table >= 0 and (b, s, slot, table) not in held):
            problems.append(f"fixed meeting {(b, s)} in slot {name(slot)}{at} is missing or was moved")
    return problems
