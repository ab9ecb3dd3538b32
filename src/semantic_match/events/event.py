"""A business-matching event (temu bisnis) from needs to meeting agendas, in one call.

:func:`run_event` matches every need against the catalogue (in resumable
chunks), scores every buyer × supplier pair from the calibrated confidence of
the products behind it, picks each buyer's best suppliers as candidates,
schedules the meetings and lists the needs no local product serves.
:meth:`EventResult.export` writes the CSV files, the Excel workbook and the
HTML report.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .aggregate import AGGREGATIONS, Aggregation, pair_scores, unmet_needs
from .batch import match_in_chunks
from ..io.catalog import TableSource, load_catalog, read_table
from ..errors import InputError, format_list
from .parties import Parties, buyers_from_needs, read_fixed, read_pairs, read_rules, suppliers_from_catalog
from .meetings import candidate_pairs, check_required, meetings_table, schedule_candidates
from .schedule import Schedule
from .slots import Slot, parse_slots

if TYPE_CHECKING:
    from ..retrieval.matcher import Matcher

__all__ = ["run_event", "EventResult"]

logger = logging.getLogger(__name__)

_SHORT = 60


def _short(text: Any, width: int = _SHORT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(eq=False)
class EventResult:
    """Everything a business-matching event produces.

    Attributes
    ----------
    needs : DataFrame
        Every need: ``need_id, buyer_id, buyer, need_text``.
    matches : DataFrame
        One row per need × ranked product (:meth:`Matcher.match` columns, with
        ``buyer_id`` and ``supplier_id`` added).
    pair_scores : DataFrame
        One row per buyer × supplier pair with a served need: ``buyer_id, buyer,
        supplier_id, supplier, score, rank, needs_served, best_confidence,
        need_ids, item_ids, explanation, detail, candidate``.
    schedule : Schedule
        The solved schedule (meetings, objective, LP bound, gap, status).
    meetings : DataFrame
        ``slot, time, table, buyer_id, buyer, supplier_id, supplier, score,
        needs_served, explanation, detail, fixed, must_meet`` in slot, table order.
    unmet : DataFrame
        Rank-1 rows of the needs below the threshold (the opportunity list).
    unmet_by_buyer, unmet_by_category : DataFrame
        The same, counted per buyer and per category of the weak best match.
    buyers, suppliers : Parties
    slots : list of Slot
    tables : list
        Table labels.
    threshold : float
        Minimum confidence of a match that counts (and the unmet threshold).
    settings : dict
        The options of the run.
    timings : dict of str to float
        Seconds per stage.
    """

    needs: pd.DataFrame
    matches: pd.DataFrame
    pair_scores: pd.DataFrame
    schedule: Schedule
    meetings: pd.DataFrame
    unmet: pd.DataFrame
    unmet_by_buyer: pd.DataFrame
    unmet_by_category: pd.DataFrame
    buyers: Parties
    suppliers: Parties
    slots: list[Slot]
    tables: list
    threshold: float
    settings: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    def buyer_agenda(self, buyer_id: str) -> pd.DataFrame:
        """Meetings of one buyer in slot order: ``slot, time, table, supplier_id, supplier, score, …``."""
        return self._agenda("buyer", buyer_id, ["supplier_id", "supplier"])

    def supplier_agenda(self, supplier_id: str) -> pd.DataFrame:
        """Meetings of one supplier in slot order: ``slot, time, table, buyer_id, buyer, score, …``."""
        return self._agenda("supplier", supplier_id, ["buyer_id", "buyer"])

    def _agenda(self, role: str, party: str, other: list[str]) -> pd.DataFrame:
        parties = self.buyers if role == "buyer" else self.suppliers
        if str(party) not in set(parties.ids):
            raise InputError(f"unknown {role} id {party!r}; {parties.known_phrase()}")
        rows = self.meetings[self.meetings[f"{role}_id"] == str(party)]
        cols = ["slot", "time", "table", *other, "score", "needs_served", "explanation", "detail",
                "fixed", "must_meet"]
        return rows[cols].reset_index(drop=True)

    def summary(self) -> str:
        """A few lines for the terminal."""
        s = self.schedule
        n_needs = len(self.needs)
        return "\n".join([
            f"needs: {n_needs} from {len(self.buyers.ids)} buyers; {len(self.unmet)} unmet "
            f"(best confidence < {self.threshold:.2f})",
            f"pairs: {len(self.pair_scores)} buyer x supplier pairs with a served need; "
            f"{int(self.pair_scores['candidate'].sum()) if len(self.pair_scores) else 0} candidates",
            f"schedule: {len(self.meetings)} meetings in {len(self.slots)} slots x {len(self.tables)} tables; "
            f"score {s.objective:.3f} of bound {s.bound:.3f} (gap {s.gap:.2%}); {s.status}",
        ])

    def export(self, out_dir: str | os.PathLike, *, formats: Sequence[str] = ("csv", "xlsx", "html"),
               title: str | None = None) -> list[Path]:
        """Write the CSV files, ``event.xlsx`` and ``report.html`` into ``out_dir``, atomically.

        See :func:`semantic_match.report.export_event`.
        """
        from .report import export_event

        return export_event(self, out_dir, formats=formats, title=title)


# --------------------------------------------------------------------------- inputs

def _tables(tables: int | Sequence[Any]) -> list:
    if isinstance(tables, (bool, np.bool_)):
        raise InputError(f"tables must be a number of tables or a list of table labels; got {tables!r}")
    if isinstance(tables, (int, np.integer)):
        if tables < 1:
            raise InputError(f"tables must be at least 1; got {tables}")
        return list(range(1, int(tables) + 1))
    if isinstance(tables, str) or not isinstance(tables, Iterable) or not list(tables):
        raise InputError(f"tables must be a number of tables or a non-empty list of labels; got {tables!r}")
    return list(tables)


def _load_needs(needs: TableSource, *, need_id_col: str | None, text_cols: Sequence[str], buyer_col: str,
                sheet, encoding):
    """Validate the needs table; the buyer column is kept as metadata."""
    frame = needs if isinstance(needs, pd.DataFrame) else read_table(needs, sheet=sheet, encoding=encoding)
    where = f"needs '{needs}'" if not isinstance(needs, pd.DataFrame) else "the needs DataFrame"
    if frame.empty:
        raise InputError(f"{where} has no rows; give at least one need")
    columns = [str(c) for c in frame.columns]
    for col, flag in [(c, "--need-text-col COL (need_text_cols=[...])") for c in text_cols] + [
            (buyer_col, "--buyer-col COL (buyer_col=...)")] + (
            [(need_id_col, "--need-id-col COL (need_id_col=...)")] if need_id_col else []):
        if col not in columns:
            raise InputError(f"{where} has no column {col!r}; columns are {format_list(columns, 12)}; "
                             f"pass {flag}")
    if need_id_col is None:
        if "need_id" in columns:
            need_id_col = "need_id"
        else:
            frame = frame.copy()
            frame.insert(0, "need_id", [str(i) for i in range(1, len(frame) + 1)])
            need_id_col, needs = "need_id", frame
    meta = [buyer_col] if buyer_col not in text_cols and buyer_col != need_id_col else []
    return load_catalog(needs, id_col=need_id_col, text_cols=list(text_cols), meta_cols=meta,
                        sheet=sheet, encoding=encoding, what="needs")


def _pairs_arg(value, name: str, *, buyers: Parties, suppliers: Parties, rule: str) -> list[tuple[str, str]]:
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
        raise InputError(f"{name} must hold (buyer, supplier) pairs; got {format_list(bad)}; write e.g. "
                         f"{name}=[('B01', 'S001')]")
    frame = pd.DataFrame(rows, columns=["buyer_id", "supplier_id"])
    return read_pairs(frame, buyers=buyers, suppliers=suppliers, what=f"{name}=[...]")


# --------------------------------------------------------------------------- the run

def run_event(needs: TableSource, matcher: Matcher, *, slots: str | Sequence[Any], tables: int | Sequence[Any],
              buyer_col: str = "buyer", need_id_col: str | None = None,
              need_text_cols: Sequence[str] | str = ("need",), buyers: TableSource | None = None,
              suppliers: TableSource | None = None, supplier_col: str = "supplier_id",
              supplier_name_col: str = "supplier", category_col: str | None = "category",
              availability_col: str = "available", meeting_minutes: int = 20, k: int = 10,
              filters: dict | None = None, aggregation: Aggregation = "mean_top_n", top_n: int = 3,
              min_confidence: float | None = None, candidates_per_buyer: int | None = None,
              max_per_buyer: int | dict | None = None, max_per_supplier: int | dict | None = None,
              must_meet=None, do_not_meet=None, rules: TableSource | None = None,
              fixed: TableSource | None = None, time_limit: float = 60.0, chunk_size: int = 512,
              work_dir: str | os.PathLike | None = None, restart: bool = False,
              show_progress: bool | None = None, on_chunk: Callable[[int, int], None] | None = None,
              sheet: str | int | None = None, encoding: str | None = None) -> EventResult:
    """Match needs to products, score buyer × supplier pairs, schedule meetings, list unmet needs.

    Parameters
    ----------
    needs : DataFrame or path
        One row per need with a buyer column and text column(s).
    matcher : Matcher
        A built or loaded index of the catalogue; its calibration gives ``confidence``.
    slots : str or list
        A slots spec such as ``"09:00-12:00/20"`` (see :mod:`semantic_match.slots`),
        or a list of start times / :class:`Slot`.
    tables : int or list
        Number of tables (1..n) or their labels.
    buyer_col : str
        Needs column naming the buyer (an id or a name).
    need_id_col : str, optional
        Needs id column; default ``need_id`` when present, else row numbers from 1.
    need_text_cols : str or sequence of str
        Needs column(s) with the text (e.g. ``["need", "spec"]``).
    buyers, suppliers : DataFrame or path, optional
        Buyers file (``buyer_id``, name, ``available``, …) and suppliers file
        (``supplier_col``, ``supplier``, ``available``, …); see :mod:`semantic_match.parties`.
    supplier_col, supplier_name_col, category_col : str
        Catalogue columns with the supplier id, supplier name and category.
    availability_col : str
        Column of the buyers/suppliers files with the presence, e.g. ``"09:00-10:30;11:00-12:00"``.
    meeting_minutes : int
        Length of slots given by a start time alone.
    k, filters
        Products ranked per need, and metadata filters (as for :meth:`Matcher.match`).
    aggregation : {"max", "mean_top_n", "sum", "count_needs_served"}
        Pair score from the needs' best products (formulas in :mod:`semantic_match.aggregate`).
    top_n : int
        Needs averaged by ``mean_top_n``.
    min_confidence : float, optional
        Matches below it do not count and needs whose best match is below it are
        unmet; default the calibration's "no good match" threshold.
    candidates_per_buyer : int, optional
        The best suppliers of each buyer (by pair score) the scheduler may choose
        from; default twice the number of slots. Must-meet and fixed pairs are
        always candidates.
    max_per_buyer, max_per_supplier : int or dict, optional
        Most meetings per party (default: one per slot).
    must_meet, do_not_meet : path, DataFrame or list of (buyer, supplier), optional
        Ids or names; files have buyer and supplier columns.
    rules : path or DataFrame, optional
        One file of both kinds: buyer, supplier and ``rule`` (``must_meet`` / ``do_not_meet``).
    fixed : path or DataFrame, optional
        Meetings fixed by hand: buyer, supplier, ``slot`` [, ``table``]; an exported
        ``schedule.csv`` with a ``fixed`` column marks which rows to keep.
    time_limit : float
        Seconds for the scheduler.
    chunk_size, work_dir, restart, show_progress, on_chunk
        Chunked, resumable matching (see :func:`semantic_match.batch.match_in_chunks`).

    Returns
    -------
    EventResult

    Raises
    ------
    InputError
        Unparsable slots, unknown ids or names in the lists, impossible must-meet
        or fixed meetings, empty needs, missing columns; raised before any
        matching where they can be detected from the inputs.

    Examples
    --------
    >>> m = Matcher.load("build/demo/index")
    >>> ev = run_event("data/needs_lampung.csv", m, slots="09:00-12:00/20", tables=12,
    ...                need_text_cols=["need", "spec"], buyers="data/event_buyers.csv",
    ...                suppliers="data/event_suppliers.csv")
    >>> ev.buyer_agenda("B01")[["slot", "table", "supplier", "explanation"]]   # doctest: +SKIP
    >>> ev.export("build/event")                                               # doctest: +SKIP
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    matcher.check_built()
    if aggregation not in AGGREGATIONS:
        raise InputError(f"unknown aggregation {aggregation!r}; use one of {list(AGGREGATIONS)}")
    slot_list = parse_slots(slots, minutes=meeting_minutes)
    labels = [s.label for s in slot_list]
    table_labels = _tables(tables)
    if candidates_per_buyer is None:
        candidates_per_buyer = 2 * len(slot_list)
    if isinstance(candidates_per_buyer, bool) or not isinstance(candidates_per_buyer, int) \
            or candidates_per_buyer < 1:
        raise InputError(f"candidates_per_buyer must be a whole number >= 1; got {candidates_per_buyer!r}")
    if min_confidence is None:
        if matcher.calibration_ is None:
            raise InputError("this matcher has no confidence calibration for its encoder, so there is no "
                             "default threshold; pass min_confidence=... (--min-confidence X) or use the "
                             "embedded default encoder")
        min_confidence = float(matcher.calibration_.threshold)
    if isinstance(min_confidence, bool) or not isinstance(min_confidence, (int, float)) \
            or not 0 <= min_confidence <= 1:
        raise InputError(f"min_confidence must be a number between 0 and 1 (a calibrated confidence); "
                         f"got {min_confidence!r}")
    text_cols = [need_text_cols] if isinstance(need_text_cols, str) else list(need_text_cols)
    table = _load_needs(needs, need_id_col=need_id_col, text_cols=text_cols, buyer_col=buyer_col,
                        sheet=sheet, encoding=encoding)
    source = f"needs '{needs}'" if not isinstance(needs, pd.DataFrame) else "the needs DataFrame"
    buyer_parties, need_buyer = buyers_from_needs(table.items, buyer_col, buyers=buyers, slots=slot_list,
                                                  availability_col=availability_col,
                                                  need_id_col=table.id_col, source=source)
    supplier_parties, item_supplier = suppliers_from_catalog(matcher.items, supplier_col, suppliers=suppliers,
                                                             slots=slot_list, availability_col=availability_col,
                                                             name_col=supplier_name_col)
    common = {"buyers": buyer_parties, "suppliers": supplier_parties}
    must = _pairs_arg(must_meet, "must_meet", rule="must_meet", **common)
    dnm = _pairs_arg(do_not_meet, "do_not_meet", rule="do_not_meet", **common)
    if rules is not None:
        more_must, more_dnm = read_rules(rules, **common)
        must, dnm = must + more_must, dnm + more_dnm
    must, dnm = list(dict.fromkeys(must)), list(dict.fromkeys(dnm))
    fixed_df = (read_fixed(fixed, slots=slot_list, tables=table_labels, **common) if fixed is not None
                else pd.DataFrame({"buyer_id": [], "supplier_id": [], "slot": []}, dtype=object))
    check_required(must=must, fixed=fixed_df, dnm=dnm, n_slots=len(labels), n_tables=len(table_labels),
                   max_per_buyer=max_per_buyer, max_per_supplier=max_per_supplier, **common)
    timings["inputs"] = time.perf_counter() - clock

    clock = time.perf_counter()
    matches, match_timings = match_in_chunks(matcher, table, k=k, filters=filters, keep_cols=[],
                                             chunk_size=chunk_size, work_dir=work_dir, restart=restart,
                                             show_progress=show_progress, on_chunk=on_chunk)
    timings["match"] = time.perf_counter() - clock
    timings.update({f"match.{k_}": v for k_, v in match_timings.items()})

    clock = time.perf_counter()
    need_ids = table.items[table.id_col].tolist()
    buyer_of = dict(zip(need_ids, need_buyer))
    items = matcher.items
    supplier_of = dict(zip(items[matcher.catalog_.id_col].astype(str), item_supplier))
    if len(matches):
        matches = matches.drop(columns=[c for c in ("buyer_id",) if c in matches.columns])
        matches.insert(2, "buyer_id", matches["need_id"].map(buyer_of))
        matches["supplier_id"] = matches["item_id"].astype(str).map(supplier_of)
    else:
        matches = pd.DataFrame(columns=["need_id", "need_text", "buyer_id", "rank", "item_id", "confidence",
                                        "supplier_id"])
    raw_text = [" ".join(t.split()) for t in _need_texts(table)]
    needs_df = pd.DataFrame({"need_id": need_ids, "buyer_id": need_buyer,
                             "buyer": [buyer_parties.name(b) for b in need_buyer], "need_text": raw_text})
    pairs = pair_scores(matches, how=aggregation, top_n=top_n, min_confidence=min_confidence)
    pairs = _describe_pairs(pairs, matcher, needs_df, buyer_parties, supplier_parties)
    weak, by_buyer, by_category = unmet_needs(matches, threshold=min_confidence, needs=needs_df,
                                              category_col=category_col)
    if len(by_buyer):
        by_buyer.insert(1, "buyer", by_buyer["buyer_id"].map(buyer_parties.name))
    timings["aggregate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    cand_pairs = candidate_pairs(pairs, per_buyer=candidates_per_buyer, must_meet=must, do_not_meet=dnm,
                                 fixed=fixed_df)
    chosen = set(zip(cand_pairs["buyer_id"], cand_pairs["supplier_id"]))
    pairs["candidate"] = [(b, s) in chosen for b, s in zip(pairs["buyer_id"], pairs["supplier_id"])]
    timings["candidates"] = time.perf_counter() - clock

    clock = time.perf_counter()
    schedule = schedule_candidates(cand_pairs, labels=labels, table_labels=table_labels, buyers=buyer_parties,
                         suppliers=supplier_parties, must=must, dnm=dnm, fixed=fixed_df,
                         max_per_buyer=max_per_buyer, max_per_supplier=max_per_supplier, time_limit=time_limit)
    timings["schedule"] = time.perf_counter() - clock
    meetings = meetings_table(schedule, pairs, slot_list, buyer_parties, supplier_parties)
    settings = {"k": k, "filters": filters, "aggregation": aggregation, "top_n": top_n,
                "min_confidence": min_confidence, "candidates_per_buyer": candidates_per_buyer,
                "max_per_buyer": max_per_buyer, "max_per_supplier": max_per_supplier,
                "slots": labels, "tables": len(table_labels), "must_meet": len(must),
                "do_not_meet": len(dnm), "fixed": len(fixed_df), "time_limit": time_limit,
                "n_items": matcher.n_items, "item_name_col": matcher.catalog_.text_cols[0],
                "category_col": category_col}
    logger.info("event: %d needs, %d pairs, %d meetings", len(needs_df), len(pairs), len(meetings))
    return EventResult(needs=needs_df, matches=matches, pair_scores=pairs, schedule=schedule, meetings=meetings,
                       unmet=weak, unmet_by_buyer=by_buyer, unmet_by_category=by_category,
                       buyers=buyer_parties, suppliers=supplier_parties, slots=slot_list, tables=table_labels,
                       threshold=float(min_confidence), settings=settings, timings=timings)


def _need_texts(table) -> list[str]:
    cols = [table.items[c].map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))
            for c in table.text_cols]
    return ["; ".join(p for p in parts if p.strip()) for parts in zip(*cols)]


def _describe_pairs(pairs: pd.DataFrame, matcher, needs_df: pd.DataFrame, buyers: Parties,
                    suppliers: Parties) -> pd.DataFrame:
    """Add party names and ``detail``: the needs and products behind each pair, in words."""
    pairs = pairs.copy()
    pairs.insert(1, "buyer", pairs["buyer_id"].map(buyers.name))
    pairs.insert(3, "supplier", pairs["supplier_id"].map(suppliers.name))
    name_col = matcher.catalog_.text_cols[0]
    items = matcher.items
    product = dict(zip(items[matcher.catalog_.id_col].astype(str), items[name_col].astype(str)))
    need = dict(zip(needs_df["need_id"], needs_df["need_text"]))
    details = []
    for n_ids, i_ids in zip(pairs["need_ids"], pairs["item_ids"]):
        rows = list(zip(n_ids.split(";"), i_ids.split(";")))
        text = " | ".join(f"{_short(need.get(n, n), 40)} → {_short(product.get(i, i), 50)}" for n, i in rows[:3])
        details.append(text + (f" | … (+{len(rows) - 3})" if len(rows) > 3 else ""))
    pairs["detail"] = details
    return pairs


