"""Checking and normalizing the scheduler's arguments: slots, tables, pairs, lists, availability, caps.

Ids and labels are compared as text (:func:`~semantic_match.events.values.id_key`),
so ``1``, ``1.0`` and ``"1"`` name the same table. Every function raises an
:class:`InputError` that names the argument, the offending values and the fix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Union

import numpy as np
import pandas as pd

from ...errors import InputError, format_list
from ...io.columns import require_columns
from ...io.frames import is_missing
from ..values import id_key

__all__ = [
    "Caps",
    "Availability",
    "PairList",
    "normalize_slots",
    "normalize_tables",
    "normalize_pairs",
    "pair_list",
    "normalize_fixed",
    "normalize_availability",
    "normalize_caps",
]

#: Most meetings per party: one number for all, or per id (others get one per slot).
Caps = Union[int, Mapping[Any, int], None]
#: Party id -> the slot labels it is present in (parties not named: every slot).
Availability = Union[Mapping[Any, Iterable[Any]], None]
#: (buyer_id, supplier_id) pairs, or a DataFrame with those two columns.
PairList = Union[Iterable[tuple[Any, Any]], pd.DataFrame]


def normalize_slots(slots: Sequence[Any]) -> tuple[list, dict[str, int]]:
    """The slot labels in order and their positions by :func:`id_key`."""
    if isinstance(slots, (str, bytes)) or not isinstance(slots, Iterable):
        raise InputError(f"slots must be a list of slot labels such as ['09:00', '09:30']; got {slots!r}")
    labels = list(slots)
    if not labels:
        raise InputError("slots is empty; give at least one slot label, e.g. slots=['09:00', '09:30']")
    index: dict[str, int] = {}
    dups = []
    for i, label in enumerate(labels):
        if id_key(label) in index:
            dups.append(label)
        index.setdefault(id_key(label), i)
    if dups:
        raise InputError(f"slots has repeated labels {format_list(dups)}; give each slot once")
    return labels, index


def normalize_tables(tables: int | Sequence[Any]) -> tuple[list, dict[str, int]]:
    """The table labels (``1..n`` for a number) and their positions by :func:`id_key`."""
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
    keys = [id_key(t) for t in labels]
    dups = sorted({k for k, n in Counter(keys).items() if n > 1})
    if dups:
        raise InputError(f"tables has repeated labels {format_list(dups)}; give each table once")
    return labels, {k: i for i, k in enumerate(keys)}


def normalize_pairs(pairs: pd.DataFrame) -> dict[tuple[str, str], float]:
    """The candidate pairs: ``(buyer_id, supplier_id) -> score``, in input order."""
    if not isinstance(pairs, pd.DataFrame):
        raise InputError(
            f"pairs must be a DataFrame with columns buyer_id, supplier_id, score; got {type(pairs).__name__}"
        )
    require_columns(
        pairs, ["buyer_id", "supplier_id", "score"], where="pairs", hint="expected buyer_id, supplier_id, score"
    )
    if pairs.empty:
        raise InputError(
            "pairs is empty: there are no candidate pairs to schedule; give at least one "
            "row buyer_id, supplier_id, score"
        )
    holes = pairs.index[pairs["buyer_id"].isna() | pairs["supplier_id"].isna()]
    if len(holes):
        raise InputError(
            f"pairs has {len(holes)} rows without buyer_id or supplier_id, rows "
            f"{format_list(list(holes))}; fill in the ids or drop those rows"
        )
    keys = list(zip(map(id_key, pairs["buyer_id"]), map(id_key, pairs["supplier_id"])))
    scores = pd.to_numeric(pairs["score"], errors="coerce").to_numpy(dtype=float)
    bad = [k for k, s in zip(keys, scores) if not (np.isfinite(s) and s >= 0)]
    if bad:
        raise InputError(
            f"pairs has {len(bad)} scores that are missing, negative or not finite, pairs "
            f"{format_list(bad)}; scores must be numbers >= 0 (higher = better match)"
        )
    out = dict(zip(keys, scores.tolist()))
    if len(out) < len(keys):
        dups = sorted(k for k, n in Counter(keys).items() if n > 1)
        raise InputError(
            f"pairs has {len(dups)} duplicate (buyer_id, supplier_id) pairs {format_list(dups)}; keep one row per pair"
        )
    return out


def pair_list(value: PairList | None, name: str) -> list[tuple[str, str]]:
    """(buyer_id, supplier_id) tuples, order kept, repeats dropped (they mean the same)."""
    if value is None:
        return []
    if isinstance(value, pd.DataFrame):
        require_columns(value, ["buyer_id", "supplier_id"], where=name, hint="expected buyer_id, supplier_id")
        value = zip(value["buyer_id"], value["supplier_id"])
    out: list[tuple[str, str]] = []
    bad: list[Any] = []
    for item in value:
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
            bad.append(item)
        else:
            out.append((id_key(item[0]), id_key(item[1])))
    if bad:
        raise InputError(
            f"{name} must hold (buyer_id, supplier_id) pairs; got {format_list(bad)}; "
            f"write e.g. {name}=[('B001', 'S007')]"
        )
    return list(dict.fromkeys(out))


def normalize_fixed(
    fixed: pd.DataFrame | None, slot_index: dict[str, int], table_index: dict[str, int], slots: list, tables: list
) -> list[tuple]:
    """Rows ``(buyer, supplier, slot_i, table_i or -1)`` of the fixed meetings."""
    if fixed is None:
        return []
    if not isinstance(fixed, pd.DataFrame):
        raise InputError(
            f"fixed must be a DataFrame with columns buyer_id, supplier_id, slot [, table]; got {type(fixed).__name__}"
        )
    require_columns(
        fixed, ["buyer_id", "supplier_id", "slot"], where="fixed", hint="expected buyer_id, supplier_id, slot [, table]"
    )
    table_col = fixed["table"] if "table" in fixed.columns else [None] * len(fixed)
    rows, bad_slots, bad_tables = [], [], []
    for b, s, slot, table in zip(fixed["buyer_id"], fixed["supplier_id"], fixed["slot"], table_col):
        pair = (id_key(b), id_key(s))
        slot_i = slot_index.get(id_key(slot), -1)
        if slot_i < 0:
            bad_slots.append((*pair, slot))
        table_i = -1
        if not is_missing(table):
            table_i = table_index.get(id_key(table), -1)
            if table_i < 0:
                bad_tables.append((*pair, table))
        rows.append((*pair, slot_i, table_i))
    if bad_slots:
        raise InputError(
            f"fixed meetings {format_list(bad_slots)} are in slots that are not in slots "
            f"{format_list(slots, 12)}; fix the slot labels"
        )
    if bad_tables:
        raise InputError(
            f"fixed meetings {format_list(bad_tables)} are at unknown tables; tables are "
            f"{format_list(tables, 12)}; fix the table labels or leave table empty"
        )
    return rows


def normalize_availability(
    value: Availability, name: str, slot_index: dict[str, int], slots: list
) -> dict[str, frozenset[int]]:
    """Party id -> the positions of the slots it is present in (parties not named are absent here)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(
            f"{name} must be a dict id -> slot labels when the party is present; got {type(value).__name__}"
        )
    out, unknown = {}, []
    for party, present in value.items():
        if isinstance(present, (str, bytes)) or not isinstance(present, Iterable):
            present = [present]  # a single slot label
        idx = set()
        for label in present:
            i = slot_index.get(id_key(label), -1)
            if i < 0:
                unknown.append((id_key(party), label))
            else:
                idx.add(i)
        out[id_key(party)] = frozenset(idx)
    if unknown:
        raise InputError(
            f"{name} names slots that are not in slots: {format_list(unknown)} "
            f"(id, slot); slots are {format_list(slots, 12)}"
        )
    return out


def normalize_caps(value: Caps, name: str, n_slots: int) -> tuple[int, dict[str, int]]:
    """The default cap and the per-id caps."""

    def check(cap: Any, who: str) -> int:
        if isinstance(cap, (bool, np.bool_)) or not isinstance(cap, (int, np.integer)) or cap < 0:
            raise InputError(f"{name} must be a whole number >= 0{who}; got {cap!r}")
        return int(cap)

    if value is None:
        return n_slots, {}
    if isinstance(value, Mapping):
        return n_slots, {id_key(k): check(v, f" (for id {id_key(k)!r})") for k, v in value.items()}
    return check(value, ""), {}
