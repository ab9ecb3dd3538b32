"""Stage 1 of an event, inputs: every table and option read and checked before any matching.

:func:`read_inputs` loads the needs (through :func:`semantic_match.io.needs.load_needs`),
resolves the buyers and suppliers (:mod:`.parties`), parses the slots and the
parties' availability (:mod:`.slots`), reads the organiser's must-meet,
do-not-meet and fixed meetings, and rejects required meetings that cannot all
be held (:func:`check_required`). Its :class:`EventInputs` is all the later
stages need from the user and from the matcher's catalogue; an error found
here costs nothing, as no need has been matched and no file written.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from ..errors import InputError, format_list
from ..io.catalog import Catalog, TableSource
from ..io.columns import require_columns
from ..io.needs import load_needs, raw_texts
from ..io.tables import read_table
from .compat import renamed_keywords
from .parties import Parties, buyers_from_needs, read_fixed, read_pairs, read_rules, suppliers_from_catalog
from .scheduling.inputs import normalize_tables
from .slots import Slot, parse_slots
from .values import describe_source

if TYPE_CHECKING:
    from ..retrieval.matcher import Matcher

__all__ = ["EventInputs", "read_inputs", "load_event_needs", "check_required"]

Pair = tuple[str, str]


@dataclass(frozen=True, eq=False)
class EventInputs:
    """What the later stages of an event need, checked.

    Attributes
    ----------
    needs : Catalog
        The validated needs (ids as text, the buyer column kept).
    need_table : DataFrame
        Every need: ``need_id, buyer_id, buyer, need_text`` (the text as written).
    buyers, suppliers : Parties
    supplier_of_item : dict of str to str or None
        Catalogue item id to supplier id (None for items without a supplier).
    product_names : dict of str to str
        Catalogue item id to the product's name (its first text column).
    item_name_col : str
        That first text column.
    slots : list of Slot
    tables : list
        Table labels.
    must_meet, do_not_meet : list of (buyer_id, supplier_id)
    fixed : DataFrame
        ``buyer_id, supplier_id, slot`` [, ``table``] of the meetings fixed by hand.
    max_per_buyer, max_per_supplier : int, dict or None
    min_confidence : float
        Matches below it do not count; needs whose best match is below it are unmet.
    candidates_per_buyer : int
    """

    needs: Catalog
    need_table: pd.DataFrame
    buyers: Parties
    suppliers: Parties
    supplier_of_item: dict[str, str | None]
    product_names: dict[str, str]
    item_name_col: str
    slots: list[Slot]
    tables: list
    must_meet: list[Pair]
    do_not_meet: list[Pair]
    fixed: pd.DataFrame
    max_per_buyer: int | dict | None
    max_per_supplier: int | dict | None
    min_confidence: float
    candidates_per_buyer: int


def read_inputs(
    needs: TableSource,
    matcher: Matcher,
    *,
    slots: str | Sequence[Any],
    tables: int | Sequence[Any],
    buyer_col: str = "buyer",
    need_id_col: str | None = None,
    need_text_cols: Sequence[str] | str = ("need",),
    buyers: TableSource | None = None,
    suppliers: TableSource | None = None,
    supplier_col: str = "supplier_id",
    supplier_name_col: str = "supplier",
    availability_col: str = "available",
    meeting_minutes: int = 20,
    min_confidence: float | None = None,
    candidates_per_buyer: int | None = None,
    max_per_buyer: int | dict | None = None,
    max_per_supplier: int | dict | None = None,
    must_meet=None,
    do_not_meet=None,
    rules: TableSource | None = None,
    fixed: TableSource | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> EventInputs:
    """Read and check every input of an event; arguments as for :func:`~semantic_match.events.event.run_event`.

    Raises
    ------
    InputError
        Unparsable slots, unknown ids or names in the lists, impossible must-meet
        or fixed meetings, empty needs, missing columns.
    """
    matcher.check_built()
    slot_list = parse_slots(slots, minutes=meeting_minutes)
    table_labels, _ = normalize_tables(tables)
    if candidates_per_buyer is None:
        candidates_per_buyer = 2 * len(slot_list)
    if isinstance(candidates_per_buyer, bool) or not isinstance(candidates_per_buyer, int) or candidates_per_buyer < 1:
        raise InputError(f"candidates_per_buyer must be a whole number >= 1; got {candidates_per_buyer!r}")
    cut = _min_confidence(min_confidence, matcher)
    text_cols = [need_text_cols] if isinstance(need_text_cols, str) else list(need_text_cols)
    table = load_event_needs(
        needs, need_id_col=need_id_col, need_text_cols=text_cols, buyer_col=buyer_col, sheet=sheet, encoding=encoding
    )
    buyer_parties, need_buyer = buyers_from_needs(
        table.items,
        buyer_col,
        buyers=buyers,
        slots=slot_list,
        availability_col=availability_col,
        need_id_col=table.id_col,
        source=_needs_where(needs),
    )
    items = matcher.items
    supplier_parties, item_supplier = suppliers_from_catalog(
        items,
        supplier_col,
        suppliers=suppliers,
        slots=slot_list,
        availability_col=availability_col,
        name_col=supplier_name_col,
    )
    common = {"buyers": buyer_parties, "suppliers": supplier_parties}
    must = _pairs_argument(must_meet, "must_meet", rule="must_meet", **common)
    never = _pairs_argument(do_not_meet, "do_not_meet", rule="do_not_meet", **common)
    if rules is not None:
        more_must, more_never = read_rules(rules, **common)
        must, never = must + more_must, never + more_never
    must, never = list(dict.fromkeys(must)), list(dict.fromkeys(never))
    fixed_df = (
        read_fixed(fixed, slots=slot_list, tables=table_labels, **common)
        if fixed is not None
        else pd.DataFrame({"buyer_id": [], "supplier_id": [], "slot": []}, dtype=object)
    )
    check_required(
        must_meet=must,
        do_not_meet=never,
        fixed=fixed_df,
        n_slots=len(slot_list),
        n_tables=len(table_labels),
        max_per_buyer=max_per_buyer,
        max_per_supplier=max_per_supplier,
        **common,
    )

    need_table = pd.DataFrame(
        {
            "need_id": table.ids,
            "buyer_id": need_buyer,
            "buyer": [buyer_parties.name(b) for b in need_buyer],
            "need_text": raw_texts(table),
        }
    )
    item_ids = items[matcher.id_col].astype(str)
    name_col = matcher.catalog_.text_cols[0]
    return EventInputs(
        needs=table,
        need_table=need_table,
        buyers=buyer_parties,
        suppliers=supplier_parties,
        supplier_of_item=dict(zip(item_ids, item_supplier)),
        product_names=dict(zip(item_ids, items[name_col].astype(str))),
        item_name_col=name_col,
        slots=slot_list,
        tables=table_labels,
        must_meet=must,
        do_not_meet=never,
        fixed=fixed_df,
        max_per_buyer=max_per_buyer,
        max_per_supplier=max_per_supplier,
        min_confidence=cut,
        candidates_per_buyer=candidates_per_buyer,
    )


def _needs_where(needs: TableSource) -> str:
    return "the needs DataFrame" if isinstance(needs, pd.DataFrame) else f"needs {describe_source(needs)}"


def _min_confidence(value: float | None, matcher: Matcher) -> float:
    if value is None:
        if matcher.calibration_ is None:
            raise InputError(
                "this matcher has no confidence calibration for its encoder, so there is no "
                "default threshold; pass min_confidence=... (--min-confidence X), use the "
                "embedded default encoder, or fit one with Matcher.calibrate(pairs)"
            )
        value = float(matcher.calibration_.threshold)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InputError(f"min_confidence must be a number between 0 and 1 (a calibrated confidence); got {value!r}")
    return float(value)


def load_event_needs(
    needs: TableSource,
    *,
    need_text_cols: Sequence[str],
    buyer_col: str,
    need_id_col: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> Catalog:
    """The needs of an event, validated; the buyer column is kept as metadata.

    Missing columns are named with the event's own options (``--need-text-col``,
    ``--buyer-col``); the id column defaults to ``need_id`` when the table has
    one, else the rows are numbered from 1.
    """
    frame = needs if isinstance(needs, pd.DataFrame) else read_table(needs, sheet=sheet, encoding=encoding)
    where = _needs_where(needs)
    if frame.empty:
        raise InputError(f"{where} has no rows; give at least one need")
    text_cols = list(need_text_cols)
    require_columns(frame, text_cols, where=where, what="text", hint="pass --need-text-col COL (need_text_cols=[...])")
    require_columns(frame, [buyer_col], where=where, what="buyer", hint="pass --buyer-col COL (buyer_col=...)")
    if need_id_col is not None:
        require_columns(frame, [need_id_col], where=where, what="id", hint="pass --need-id-col COL (need_id_col=...)")
    elif "need_id" in frame.columns:
        need_id_col = "need_id"
    meta = [buyer_col] if buyer_col not in text_cols and buyer_col != need_id_col else []
    # With an id column the file is read again with the ids as text ("007" stays "007") and
    # messages name its lines; without one, load_needs numbers the rows of the table read here.
    return load_needs(
        needs if need_id_col is not None else frame,
        text_cols=text_cols,
        id_col=need_id_col,
        keep_cols=meta,
        sheet=sheet,
        encoding=encoding,
    )


def _pairs_argument(
    value, name: str, *, buyers: Parties, suppliers: Parties, rule: Literal["must_meet", "do_not_meet"]
) -> list[Pair]:
    """Pairs from a file/DataFrame (see read_pairs) or an iterable of (buyer, supplier) ids or names."""
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike, pd.DataFrame)):
        what = f"{name.replace('_', '-')} file"
        return read_pairs(value, buyers=buyers, suppliers=suppliers, rule=rule, what=what)
    rows = list(value)
    if not rows:
        return []
    bad = [r for r in rows if isinstance(r, (str, bytes)) or not isinstance(r, Sequence) or len(r) != 2]
    if bad:
        raise InputError(
            f"{name} must hold (buyer, supplier) pairs; got {format_list(bad)}; write e.g. {name}=[('B01', 'S001')]"
        )
    frame = pd.DataFrame(rows, columns=["buyer_id", "supplier_id"])
    return read_pairs(frame, buyers=buyers, suppliers=suppliers, what=f"{name}=[...]")


@renamed_keywords(must="must_meet", dnm="do_not_meet")
def check_required(
    *,
    must_meet: list[Pair],
    do_not_meet: list[Pair],
    fixed: pd.DataFrame,
    buyers: Parties,
    suppliers: Parties,
    n_slots: int,
    n_tables: int,
    max_per_buyer: int | dict | None,
    max_per_supplier: int | dict | None,
) -> None:
    """Raise InputError for must-meet/fixed requests that cannot all be held, before any matching.

    Checks only what the inputs show (a pair both required and forbidden, more
    required meetings for a party than its slots or cap, more than slots x
    tables in all); :func:`semantic_match.schedule_meetings` explains the rest.
    ``must`` and ``dnm`` are the deprecated names of ``must_meet`` and ``do_not_meet``.
    """
    problems = []
    both = sorted(set(must_meet) & set(do_not_meet))
    if both:
        problems.append(f"pair(s) {format_list(both)} are both must-meet and do-not-meet; remove them from one")
    required = list(dict.fromkeys(list(must_meet) + list(zip(fixed["buyer_id"], fixed["supplier_id"]))))
    for role, pos, parties, cap in (("buyer", 0, buyers, max_per_buyer), ("supplier", 1, suppliers, max_per_supplier)):
        for party, n in sorted(Counter(p[pos] for p in required).items()):
            present = len(parties.availability.get(party, range(n_slots)))
            limit = cap.get(party, n_slots) if isinstance(cap, dict) else (n_slots if cap is None else cap)
            if n > min(present, limit):
                problems.append(
                    f"{role} {party!r} has {n} must-meet/fixed meetings but only "
                    f"{min(present, limit)} slot(s) for them ({n_slots} slots in the event, "
                    f"present in {present}, at most {limit} meetings)"
                )
    if len(required) > n_slots * n_tables:
        problems.append(
            f"{len(required)} must-meet/fixed meetings but only {n_slots} slots x {n_tables} tables "
            f"= {n_slots * n_tables} places"
        )
    if problems:
        raise InputError(
            "cannot hold the required meetings: "
            + "; ".join(problems[:8])
            + ("; …" if len(problems) > 8 else "")
            + "; drop some must-meet/fixed pairs, add slots or tables, or widen availability"
        )
