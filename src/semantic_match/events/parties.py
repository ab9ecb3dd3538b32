"""Buyers and suppliers of an event, and the organiser's lists that name them.

Buyers come from the needs table (its buyer column), optionally described by a
buyers file (``buyer_id``, a name column, ``available`` …); suppliers come from
the catalogue's supplier column, optionally described by a suppliers file
(the same id column, ``supplier``, ``available`` …). Must-meet, do-not-meet and
fixed-meeting files may name a party by id or by name; every name is resolved
here, and an unknown one is an error naming the file, line and value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import pandas as pd

from ..errors import InputError, format_list
from ..io.catalog import TableSource
from ..io.columns import require_columns
from ..io.tables import read_table
from .slots import Slot, availability_from_table
from .values import describe_source, is_blank, known_ids_phrase

__all__ = ["Parties", "buyers_from_needs", "suppliers_from_catalog", "read_pairs", "read_rules", "read_fixed"]

logger = logging.getLogger(__name__)

Role = Literal["buyer", "supplier"]
_MUST = {"must_meet", "must", "must-meet", "wajib", "harus"}
_NEVER = {"do_not_meet", "never", "do-not-meet", "no", "jangan", "hindari"}
_TRUE = {"1", "true", "yes", "ya", "y", "x", "v", "✓"}


def _clean(value: Any) -> str:
    return " ".join(str(value).split()).casefold()


def _time_key(value: Any) -> str:
    """'9:00', '09.00' and '09:00' name the same slot."""
    text = str(value).strip()
    m = re.match(r"^(\d{1,2})[:.](\d{2})$", text)
    return f"{int(m.group(1)):02d}:{m.group(2)}" if m else text


def _read(source: TableSource, where: str) -> pd.DataFrame:
    """A table of the organiser, every cell as text (ids such as "007" stay as written)."""
    if isinstance(source, pd.DataFrame):
        return source.copy()
    frame = read_table(source, dtype=str)
    if frame.empty:
        raise InputError(f"{where} has no rows; remove the option or fill in the file")
    return frame


@dataclass(frozen=True)
class Parties:
    """The buyers or the suppliers of an event.

    Attributes
    ----------
    role : {"buyer", "supplier"}
    table : DataFrame
        One row per party: ``{role}_id``, ``{role}`` (display name) and any other
        column of the buyers/suppliers file (region, contact, …).
    availability : dict of str to list of str
        Slot labels of the parties not present all day.
    lookup : dict of str to str
        Id or name (trimmed, case-folded) to id.
    names : dict of str to str
        Id to display name, in table order.
    """

    role: Role
    table: pd.DataFrame
    availability: dict[str, list[str]] = field(default_factory=dict)
    lookup: dict[str, str] = field(default_factory=dict, repr=False)
    names: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ids(self) -> list[str]:
        return list(self.names)

    def name(self, party: str) -> str:
        """The display name of a party (its id when it has none)."""
        return self.names.get(party, party)

    def resolve(self, value: Any) -> str | None:
        """The id of a party given by id or name; None when unknown."""
        return self.lookup.get(_clean(value))

    def known_phrase(self) -> str:
        """The ids of this role, for messages about an unknown one."""
        return known_ids_phrase(self.role, self.ids)


def _make(role: Role, table: pd.DataFrame, availability: dict) -> Parties:
    lookup: dict[str, str] = {}
    for party, name in zip(table[f"{role}_id"], table[role]):
        lookup.setdefault(_clean(name), party)
    for party in table[f"{role}_id"]:
        lookup[_clean(party)] = party  # an id wins over a name spelled the same
    names = dict(zip(table[f"{role}_id"], table[role].map(str)))
    return Parties(role=role, table=table.reset_index(drop=True), availability=availability, lookup=lookup, names=names)


def _party_file(
    source: TableSource,
    role: Role,
    *,
    id_col: str,
    name_cols: Sequence[str],
    availability_col: str,
    slots: Sequence[Slot],
) -> tuple[pd.DataFrame, dict]:
    where = f"{role}s file {describe_source(source)}"
    frame = _read(source, where)
    frame.columns = [str(c).strip() for c in frame.columns]
    require_columns(frame, [id_col], where=where, what="id", hint=f"add a column '{id_col}'")
    ids = frame[id_col]
    holes = [i + 2 for i, v in enumerate(ids) if is_blank(v)]
    if holes:
        raise InputError(
            f"{where} has {len(holes)} rows without a '{id_col}', lines {format_list(holes)}; give every row an id"
        )
    frame[id_col] = ids.map(lambda v: str(v).strip())
    dups = sorted(frame.loc[frame[id_col].duplicated(), id_col].unique())
    if dups:
        raise InputError(f"{where} repeats the {role} id(s) {format_list(dups)}; keep one row per {role}")
    name_col = next((c for c in name_cols if c in frame.columns and c != id_col), None)
    names = frame[name_col].where(frame[name_col].notna(), frame[id_col]).map(str) if name_col else frame[id_col]
    table = frame.drop(columns=[c for c in (name_col, availability_col) if c and c in frame.columns])
    table = table.rename(columns={id_col: f"{role}_id"})
    table.insert(1, role, names.to_numpy())
    availability = {}
    if availability_col in frame.columns:
        availability = availability_from_table(frame, id_col=id_col, column=availability_col, slots=slots, source=where)
    return table, availability


def buyers_from_needs(
    needs: pd.DataFrame,
    buyer_col: str,
    *,
    buyers: TableSource | None = None,
    slots: Sequence[Slot],
    availability_col: str = "available",
    need_id_col: str = "need_id",
    source: str = "needs",
) -> tuple[Parties, list[str]]:
    """The buyers of an event and the buyer id of every need.

    Parameters
    ----------
    needs : DataFrame
        The validated needs (ids as text).
    buyer_col : str
        Needs column naming the buyer (an id or a name).
    buyers : DataFrame or path, optional
        Buyers file: ``buyer_id``, a name column (``buyer_col``, ``buyer``,
        ``name`` or ``nama``), optionally ``available`` and any other columns.
        Every buyer of the needs must be in it (by id or name).
    slots : sequence of Slot
        For the availability column.

    Returns
    -------
    buyers : Parties
    buyer_ids : list of str
        The buyer id of each need, in needs order.

    Examples
    --------
    >>> needs = pd.DataFrame({"need_id": ["N1"], "buyer": ["Dinas Koperasi Kab. Lampung Barat"]})
    >>> parties, ids = buyers_from_needs(needs, "buyer", slots=[])
    >>> ids
    ['Dinas Koperasi Kab. Lampung Barat']
    """
    require_columns(needs, [buyer_col], where=source, what="buyer", hint="pass buyer_col=... (--buyer-col COL)")
    values = needs[buyer_col]
    holes = needs.loc[values.map(is_blank), need_id_col].tolist()
    if holes:
        raise InputError(
            f"{source} has {len(holes)} needs without a buyer in column '{buyer_col}': "
            f"{format_list(holes)}; fill in the buyer or drop those needs"
        )
    if buyers is None:
        ids = [" ".join(str(v).split()) for v in values]
        distinct = list(dict.fromkeys(ids))
        table = pd.DataFrame({"buyer_id": distinct, "buyer": distinct})
        return _make("buyer", table, {}), ids
    table, availability = _party_file(
        buyers,
        "buyer",
        id_col="buyer_id",
        name_cols=[buyer_col, "buyer", "name", "nama"],
        availability_col=availability_col,
        slots=slots,
    )
    parties = _make("buyer", table, availability)
    resolved = [parties.resolve(v) for v in values]
    unknown = sorted({str(v) for v, i in zip(values, resolved) if i is None})
    if unknown:
        raise InputError(
            f"{source} column '{buyer_col}' names {len(unknown)} buyer(s) that the buyers file "
            f"{describe_source(buyers)} lacks (by buyer_id or name): {format_list(unknown)}; add them "
            f"to the buyers file or fix the names"
        )
    return parties, [i for i in resolved if i is not None]  # every one, as none is unknown


def suppliers_from_catalog(
    items: pd.DataFrame,
    supplier_col: str,
    *,
    suppliers: TableSource | None = None,
    slots: Sequence[Slot],
    availability_col: str = "available",
    name_col: str = "supplier",
) -> tuple[Parties, pd.Series]:
    """The suppliers of an event and the supplier id of every catalogue item.

    Parameters
    ----------
    items : DataFrame
        The catalogue as indexed (:attr:`Matcher.items`).
    supplier_col : str
        Catalogue column with the supplier id; also the id column of the suppliers file.
    suppliers : DataFrame or path, optional
        Suppliers file: ``supplier_col``, ``supplier`` (name), optionally
        ``available`` and other columns (region, contact …). Suppliers of the
        file without products may still be named in must-meet lists.
    name_col : str
        Catalogue column with the supplier's name, used when there is no file.

    Returns
    -------
    suppliers : Parties
    item_supplier : Series
        Supplier id (str, or None) per item, indexed by item position.
    """
    require_columns(
        items, [supplier_col], where="the catalogue", what="supplier", hint="pass supplier_col=... (--supplier-col COL)"
    )
    item_supplier = items[supplier_col].map(lambda v: None if is_blank(v) else " ".join(str(v).split()))
    if item_supplier.isna().any():
        logger.warning(
            "%d catalogue items have no supplier in column '%s'; they cannot lead to meetings",
            int(item_supplier.isna().sum()),
            supplier_col,
        )
    from_items = list(dict.fromkeys(item_supplier.dropna()))
    if name_col in items.columns and name_col != supplier_col:
        first = items.assign(_sid=item_supplier).dropna(subset=["_sid"]).drop_duplicates("_sid")
        item_names = dict(zip(first["_sid"], first[name_col].map(lambda v: "" if is_blank(v) else str(v))))
    else:
        item_names = {}
    if suppliers is None:
        table = pd.DataFrame({"supplier_id": from_items, "supplier": [item_names.get(s) or s for s in from_items]})
        return _make("supplier", table, {}), item_supplier
    table, availability = _party_file(
        suppliers,
        "supplier",
        id_col=supplier_col,
        name_cols=["supplier", "name", "nama"],
        availability_col=availability_col,
        slots=slots,
    )
    listed = set(table["supplier_id"])
    absent = [s for s in from_items if s not in listed]
    if absent:
        logger.info("%d catalogue suppliers are not in the suppliers file: %s", len(absent), format_list(absent))
        extra = pd.DataFrame({"supplier_id": absent, "supplier": [item_names.get(s) or s for s in absent]})
        table = pd.concat([table, extra], ignore_index=True)
    return _make("supplier", table, availability), item_supplier


def _pair_columns(frame: pd.DataFrame, where: str, extra: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """The buyer and supplier columns present, ids first: an exported schedule has both ids and names."""
    cols = {c.strip().lower(): c for c in map(str, frame.columns)}
    b = [cols[c] for c in ("buyer_id", "buyer", "pembeli") if c in cols]
    s = [cols[c] for c in ("supplier_id", "supplier", "penyedia") if c in cols]
    if not b or not s:
        raise InputError(
            f"{where} needs a buyer column (buyer_id or buyer) and a supplier column "
            f"(supplier_id or supplier){''.join(', ' + e for e in extra)}; columns are "
            f"{format_list(list(frame.columns), 12)}"
        )
    return b, s


def _resolve_rows(
    frame: pd.DataFrame, b_cols: list[str], s_cols: list[str], buyers: Parties, suppliers: Parties, where: str
) -> list[tuple[str, str]]:
    """Resolve every row's buyer and supplier; ``frame``'s index is the row position in the file."""

    def first(parties: Parties, values: tuple) -> str | None:
        return next((found for v in values if not is_blank(v) and (found := parties.resolve(v))), None)

    pairs: list[tuple[str | None, str | None]] = []
    problems = []
    for line, bs, ss in zip(frame.index + 2, zip(*(frame[c] for c in b_cols)), zip(*(frame[c] for c in s_cols))):
        bid, sid = first(buyers, bs), first(suppliers, ss)
        if bid is None:
            problems.append(("buyer", line, bs[0]))
        if sid is None:
            problems.append(("supplier", line, ss[0]))
        pairs.append((bid, sid))
    if problems:
        shown = "; ".join(f"line {line}: unknown {role} {value!r}" for role, line, value in problems[:5])
        more = f"; … ({len(problems) - 5} more)" if len(problems) > 5 else ""
        roles = sorted({r for r, _, _ in problems})
        hints = "; ".join((buyers if r == "buyer" else suppliers).known_phrase() for r in roles)
        raise InputError(
            f"{where} names parties that are not in the event: {shown}{more}; {hints}; use their ids or exact names"
        )
    return cast(list[tuple[str, str]], pairs)  # no id is None: an unknown party raised above


def _rules(frame: pd.DataFrame, where: str) -> pd.Series:
    kinds = frame["rule"].map(lambda v: _clean(v).replace(" ", "_"))
    bad = [(i + 2, v) for i, (v, k) in enumerate(zip(frame["rule"], kinds)) if k not in _MUST | _NEVER]
    if bad:
        raise InputError(f"{where} has unknown rules {format_list(bad)} (line, rule); write must_meet or do_not_meet")
    return kinds.map(lambda k: "must_meet" if k in _MUST else "do_not_meet")


def read_pairs(
    source: TableSource,
    *,
    buyers: Parties,
    suppliers: Parties,
    rule: Literal["must_meet", "do_not_meet"] | None = None,
    what: str = "pairs file",
) -> list[tuple[str, str]]:
    """(buyer_id, supplier_id) pairs of a must-meet or do-not-meet file.

    The file has a buyer column (``buyer_id`` or ``buyer``) and a supplier column
    (``supplier_id`` or ``supplier``) holding ids or names. With ``rule``, a
    ``rule`` column, when present, selects its rows: ``must_meet`` (also
    ``must``, ``wajib``) or ``do_not_meet`` (also ``never``, ``jangan``).

    Examples
    --------
    >>> rules = pd.DataFrame({"buyer_id": ["B01"], "supplier_id": ["S001"], "rule": ["must_meet"]})
    >>> read_pairs(rules, buyers=b, suppliers=s, rule="must_meet")   # doctest: +SKIP
    [('B01', 'S001')]
    """
    where = what if isinstance(source, pd.DataFrame) and what.endswith("]") else f"{what} {describe_source(source)}"
    frame = _read(source, where).reset_index(drop=True)
    b_col, s_col = _pair_columns(frame, where)
    if rule is not None and "rule" in frame.columns:
        frame = frame[(_rules(frame, where) == rule).to_numpy()]
    return list(dict.fromkeys(_resolve_rows(frame, b_col, s_col, buyers, suppliers, where)))


def read_rules(
    source: TableSource, *, buyers: Parties, suppliers: Parties
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Must-meet and do-not-meet pairs of one file with columns buyer, supplier, ``rule``.

    Returns
    -------
    must_meet, do_not_meet : list of (buyer_id, supplier_id)
    """
    where = f"rules file {describe_source(source)}"
    frame = _read(source, where).reset_index(drop=True)
    b_col, s_col = _pair_columns(frame, where, extra=["rule"])
    require_columns(
        frame, ["rule"], where=where, what="rule", hint="add a column 'rule' saying must_meet or do_not_meet per row"
    )
    kinds = _rules(frame, where).to_numpy()
    pairs = _resolve_rows(frame, b_col, s_col, buyers, suppliers, where)
    must = [p for p, k in zip(pairs, kinds) if k == "must_meet"]
    never = [p for p, k in zip(pairs, kinds) if k == "do_not_meet"]
    return list(dict.fromkeys(must)), list(dict.fromkeys(never))


def read_fixed(
    source: TableSource, *, buyers: Parties, suppliers: Parties, slots: Sequence[Slot], tables: Sequence[Any]
) -> pd.DataFrame:
    """Meetings fixed by the organiser: ``buyer_id, supplier_id, slot, table``.

    The file names the buyer and the supplier (ids or names), the ``slot`` (its
    label or start time, ``9:00`` = ``09:00``) and optionally the ``table``
    (empty = any). A ``fixed`` column, when present, keeps only the rows marked
    ``1``/``true``/``ya``/``x``, so an exported ``schedule.csv`` with some rows
    marked can be passed back as it is.
    """
    where = f"fixed meetings file {describe_source(source)}"
    by_label = {_time_key(s.label): s.label for s in slots}
    frame = _read(source, where)
    b_col, s_col = _pair_columns(frame, where, extra=["slot"])
    require_columns(frame, ["slot"], where=where, what="slot", hint="add a column 'slot' with each meeting's slot")
    frame = frame.reset_index(drop=True)
    if "fixed" in frame.columns:
        frame = frame[frame["fixed"].map(lambda v: _clean(v) in _TRUE).to_numpy()]
    lines = frame.index + 2
    pairs = _resolve_rows(frame, b_col, s_col, buyers, suppliers, where)
    labels, table_keys = [], {str(t): t for t in tables}
    for line, slot, table in zip(
        lines, frame["slot"], frame["table"] if "table" in frame.columns else [None] * len(frame)
    ):
        label = by_label.get(_time_key(slot))
        if label is None:
            raise InputError(
                f"{where}, line {line}: slot {slot!r} is not a slot of the event; slots are "
                f"{format_list([s.label for s in slots], 12)}; fix the slot or leave the row unfixed"
            )
        labels.append(label)
        if not is_blank(table) and str(table).strip().removesuffix(".0") not in table_keys:
            raise InputError(
                f"{where}, line {line}: table {table!r} is not a table of the event; tables are "
                f"{format_list(list(tables), 12)}; fix it or leave it empty"
            )
    out = pd.DataFrame({"buyer_id": [p[0] for p in pairs], "supplier_id": [p[1] for p in pairs], "slot": labels})
    if "table" in frame.columns:
        out["table"] = [None if is_blank(t) else table_keys[str(t).strip().removesuffix(".0")] for t in frame["table"]]
    return out
