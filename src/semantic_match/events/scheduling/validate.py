"""Every hard constraint a schedule breaks, in words: :func:`validate_schedule`.

Used on the solver's own answer before it is returned, and by organisers on a
schedule they edited by hand.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ...errors import InputError, format_list
from ...io.columns import require_columns
from ...io.frames import is_missing
from ..values import id_key
from .inputs import (
    Availability,
    Caps,
    PairList,
    normalize_availability,
    normalize_caps,
    normalize_fixed,
    normalize_slots,
    normalize_tables,
    pair_list,
)

__all__ = ["validate_schedule"]


def validate_schedule(
    meetings: pd.DataFrame,
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
) -> list[str]:
    """Every hard constraint a schedule breaks, in words (empty list when it is valid).

    Checks: slot and table labels exist; a pair meets at most once; no buyer,
    supplier or table is in two meetings of a slot; no more meetings per slot
    than tables; caps; availability; must-meet pairs meet; do-not-meet pairs do
    not; fixed meetings are kept (slot, and table where one was fixed).
    Arguments mean the same as in :func:`~semantic_match.events.scheduling.schedule_meetings`.

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
    require_columns(
        meetings,
        ["buyer_id", "supplier_id", "slot", "table"],
        where="meetings",
        hint="expected buyer_id, supplier_id, slot, table",
    )
    slot_labels, slot_index = normalize_slots(slots)
    table_labels, table_index = normalize_tables(tables)
    n_slots = len(slot_labels)
    b_av = normalize_availability(buyer_availability, "buyer_availability", slot_index, slot_labels)
    s_av = normalize_availability(supplier_availability, "supplier_availability", slot_index, slot_labels)
    b_caps = normalize_caps(max_per_buyer, "max_per_buyer", n_slots)
    s_caps = normalize_caps(max_per_supplier, "max_per_supplier", n_slots)
    fixed_rows = normalize_fixed(fixed, slot_index, table_index, slot_labels, table_labels)

    rows = []
    problems = []
    for b, s, slot, table in zip(meetings["buyer_id"], meetings["supplier_id"], meetings["slot"], meetings["table"]):
        pair = (id_key(b), id_key(s))
        slot_i = slot_index.get(id_key(slot), -1)
        table_i = -1 if is_missing(table) else table_index.get(id_key(table), -1)
        if slot_i < 0:
            problems.append(f"meeting {pair} is in unknown slot {slot!r}; slots are {format_list(slot_labels, 12)}")
        if table_i < 0:
            problems.append(f"meeting {pair} is at unknown table {table!r}; tables are {format_list(table_labels, 12)}")
        rows.append((*pair, slot_i, table_i))

    by_pair = defaultdict(list)
    by_buyer_slot, by_supplier_slot, by_table_slot = defaultdict(list), defaultdict(list), defaultdict(list)
    per_slot: Counter[int] = Counter()
    per_buyer: Counter[str] = Counter()
    per_supplier: Counter[str] = Counter()
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
            problems.append(
                f"pair {pair} meets {len(where)} times (slots {', '.join(map(name, where))}); a pair meets at most once"
            )
    for (b, slot), others in by_buyer_slot.items():
        if len(others) > 1:
            problems.append(
                f"buyer {b!r} has {len(others)} meetings in slot {name(slot)}: suppliers {format_list(others)}"
            )
    for (s, slot), others in by_supplier_slot.items():
        if len(others) > 1:
            problems.append(
                f"supplier {s!r} has {len(others)} meetings in slot {name(slot)}: buyers {format_list(others)}"
            )
    for (table, slot), here in by_table_slot.items():
        if len(here) > 1:
            problems.append(
                f"table {table_labels[table]!r} hosts {len(here)} meetings in slot {name(slot)}: {format_list(here)}"
            )
    for slot, n in sorted(per_slot.items()):
        if n > len(table_labels):
            problems.append(f"slot {name(slot)} has {n} meetings but there are only {len(table_labels)} tables")
    for role, counts, (default, caps), cap_name in (
        ("buyer", per_buyer, b_caps, "max_per_buyer"),
        ("supplier", per_supplier, s_caps, "max_per_supplier"),
    ):
        for party, n in sorted(counts.items()):
            if n > caps.get(party, default):
                problems.append(f"{role} {party!r} has {n} meetings, more than {cap_name} = {caps.get(party, default)}")
    for b, s, slot, _ in rows:
        for role, party, av in (("buyer", b, b_av), ("supplier", s, s_av)):
            if slot >= 0 and party in av and slot not in av[party]:
                problems.append(
                    f"meeting {(b, s)} in slot {name(slot)} is outside {role} {party!r}'s "
                    f"availability {format_list([slot_labels[i] for i in sorted(av[party])], 12)}"
                )
    for pair in pair_list(must_meet, "must_meet"):
        if pair not in by_pair:
            problems.append(f"must-meet pair {pair} has no meeting")
    for pair in pair_list(do_not_meet, "do_not_meet"):
        if pair in by_pair:
            problems.append(f"do-not-meet pair {pair} meets in slot(s) {', '.join(map(name, by_pair[pair]))}")
    held = {(b, s, slot) for b, s, slot, _ in rows} | {(b, s, slot, t) for b, s, slot, t in rows}
    for b, s, slot, table in fixed_rows:
        at = f" at table {table_labels[table]!r}" if table >= 0 else ""
        if (b, s, slot) not in held or (table >= 0 and (b, s, slot, table) not in held):
            problems.append(f"fixed meeting {(b, s)} in slot {name(slot)}{at} is missing or was moved")
    return problems
