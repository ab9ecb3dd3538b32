"""A business-matching event (temu bisnis) from needs to meeting agendas, in one call.

:func:`run_event` strings the stages of the wing together, each taking the
previous one's output: inputs (:mod:`.inputs`) → matching (:mod:`.matching`) →
pair scores (:mod:`.pairs`) → candidates (:mod:`.candidates`) → schedule
(:mod:`.schedule`). It matches every need against the catalogue (in resumable
chunks), scores every buyer × supplier pair from the calibrated confidence of
the products behind it, picks each buyer's best suppliers as candidates,
schedules the meetings and lists the needs no local product serves.
:meth:`EventResult.export` hands the result to the last stage, the exports
(:mod:`.exports`): the CSV files, the Excel workbook and the HTML report.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..io.catalog import TableSource
from .candidates import choose_candidates
from .compat import warn_renamed
from .inputs import read_inputs
from .matching import match_needs
from .pairs import Aggregation, check_aggregation, score_pairs
from .parties import Parties
from .schedule import agenda_columns, schedule_event
from .scheduling import Schedule
from .scheduling.model import party_agenda
from .slots import Slot

if TYPE_CHECKING:
    from ..retrieval.matcher import Matcher

__all__ = ["run_event", "EventResult"]

logger = logging.getLogger(__name__)


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
        Rank-1 rows of the needs below the minimum confidence (the opportunity list).
    unmet_by_buyer, unmet_by_category : DataFrame
        The same, counted per buyer and per category of the weak best match.
    buyers, suppliers : Parties
    slots : list of Slot
    tables : list
        Table labels.
    min_confidence : float
        Minimum confidence of a match that counts (and below which a need is
        unmet). ``threshold`` is its deprecated name.
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
    min_confidence: float
    settings: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    @property
    def threshold(self) -> float:
        """Deprecated name of :attr:`min_confidence`."""
        warn_renamed("EventResult.threshold", "EventResult.min_confidence", stacklevel=2)
        return self.min_confidence

    def buyer_agenda(self, buyer_id: str) -> pd.DataFrame:
        """Meetings of one buyer in slot order: ``slot, time, table, supplier_id, supplier, score, …``."""
        return party_agenda(self.meetings, "buyer", buyer_id, agenda_columns("buyer"), known=self.buyers.ids)

    def supplier_agenda(self, supplier_id: str) -> pd.DataFrame:
        """Meetings of one supplier in slot order: ``slot, time, table, buyer_id, buyer, score, …``."""
        return party_agenda(
            self.meetings, "supplier", supplier_id, agenda_columns("supplier"), known=self.suppliers.ids
        )

    def summary(self) -> str:
        """A few lines for the terminal."""
        s = self.schedule
        n_needs = len(self.needs)
        return "\n".join(
            [
                f"needs: {n_needs} from {len(self.buyers.ids)} buyers; {len(self.unmet)} unmet "
                f"(best confidence < {self.min_confidence:.2f})",
                f"pairs: {len(self.pair_scores)} buyer x supplier pairs with a served need; "
                f"{int(self.pair_scores['candidate'].sum()) if len(self.pair_scores) else 0} candidates",
                f"schedule: {len(self.meetings)} meetings in {len(self.slots)} slots x {len(self.tables)} tables; "
                f"score {s.objective:.3f} of bound {s.bound:.3f} (gap {s.gap:.2%}); {s.status}",
            ]
        )

    def export(
        self, out_dir: str | os.PathLike, *, formats: Sequence[str] = ("csv", "xlsx", "html"), title: str | None = None
    ) -> list[Path]:
        """Write the CSV files, ``event.xlsx`` and ``report.html`` into ``out_dir``, all or nothing.

        See :func:`semantic_match.events.exports.export_event`.
        """
        # The exports stage comes last and loads openpyxl and matplotlib: only when exporting.
        from .exports import export_event

        return export_event(self, out_dir, formats=formats, title=title)


def run_event(
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
    category_col: str | None = "category",
    availability_col: str = "available",
    meeting_minutes: int = 20,
    k: int = 10,
    filters: dict | None = None,
    aggregation: Aggregation = "mean_top_n",
    top_n: int = 3,
    min_confidence: float | None = None,
    candidates_per_buyer: int | None = None,
    max_per_buyer: int | dict | None = None,
    max_per_supplier: int | dict | None = None,
    must_meet=None,
    do_not_meet=None,
    rules: TableSource | None = None,
    fixed: TableSource | None = None,
    time_limit: float = 60.0,
    chunk_size: int = 512,
    work_dir: str | os.PathLike | None = None,
    restart: bool = False,
    show_progress: bool | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> EventResult:
    """Match needs to products, score buyer × supplier pairs, schedule meetings, list unmet needs.

    Parameters
    ----------
    needs : DataFrame or path
        One row per need with a buyer column and text column(s).
    matcher : Matcher
        A built or loaded index of the catalogue; its calibration gives ``confidence``.
    slots : str or list
        A slots spec such as ``"09:00-12:00/20"`` (see :mod:`semantic_match.events.slots`),
        or a list of start times / :class:`Slot`.
    tables : int or list
        Number of tables (1..n) or their labels.
    buyer_col : str
        Needs column naming the buyer (an id or a name).
    need_id_col : str, optional
        Needs id column; default ``need_id`` when present, else row numbers from 1.
    need_text_cols : list of str
        Needs column(s) with the text (e.g. ``["need", "spec"]``); one name alone is accepted too.
    buyers, suppliers : DataFrame or path, optional
        Buyers file (``buyer_id``, name, ``available``, …) and suppliers file
        (``supplier_col``, ``supplier``, ``available``, …); see :mod:`semantic_match.events.parties`.
    supplier_col, supplier_name_col, category_col : str
        Catalogue columns with the supplier id, supplier name and category.
    availability_col : str
        Column of the buyers/suppliers files with the presence, e.g. ``"09:00-10:30;11:00-12:00"``.
    meeting_minutes : int
        Length of slots given by a start time alone.
    k, filters
        Products ranked per need, and metadata filters (as for :meth:`Matcher.match`).
    aggregation : {"max", "mean_top_n", "sum", "count_needs_served"}
        Pair score from the needs' best products (formulas in :mod:`semantic_match.events.pairs`).
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
        Chunked, resumable matching (see :func:`semantic_match.events.matching.match_in_chunks`).

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
    # Every option is checked before the first need is matched: a typo costs nothing.
    check_aggregation(aggregation, top_n)
    inputs = read_inputs(
        needs,
        matcher,
        slots=slots,
        tables=tables,
        buyer_col=buyer_col,
        need_id_col=need_id_col,
        need_text_cols=need_text_cols,
        buyers=buyers,
        suppliers=suppliers,
        supplier_col=supplier_col,
        supplier_name_col=supplier_name_col,
        availability_col=availability_col,
        meeting_minutes=meeting_minutes,
        min_confidence=min_confidence,
        candidates_per_buyer=candidates_per_buyer,
        max_per_buyer=max_per_buyer,
        max_per_supplier=max_per_supplier,
        must_meet=must_meet,
        do_not_meet=do_not_meet,
        rules=rules,
        fixed=fixed,
        sheet=sheet,
        encoding=encoding,
    )
    timings["inputs"] = time.perf_counter() - clock

    clock = time.perf_counter()
    matches, match_timings = match_needs(
        inputs,
        matcher,
        k=k,
        filters=filters,
        chunk_size=chunk_size,
        work_dir=work_dir,
        restart=restart,
        show_progress=show_progress,
        on_chunk=on_chunk,
    )
    timings["match"] = time.perf_counter() - clock
    timings.update({f"match.{stage}": sec for stage, sec in match_timings.items()})

    clock = time.perf_counter()
    scores = score_pairs(matches, inputs, aggregation=aggregation, top_n=top_n, category_col=category_col)
    timings["aggregate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    candidates = choose_candidates(scores, inputs)
    timings["candidates"] = time.perf_counter() - clock

    clock = time.perf_counter()
    scheduled = schedule_event(candidates, inputs, time_limit=time_limit)
    timings["schedule"] = time.perf_counter() - clock

    settings = {
        "k": k,
        "filters": filters,
        "aggregation": aggregation,
        "top_n": top_n,
        "min_confidence": inputs.min_confidence,
        "candidates_per_buyer": inputs.candidates_per_buyer,
        "max_per_buyer": max_per_buyer,
        "max_per_supplier": max_per_supplier,
        "slots": [s.label for s in inputs.slots],
        "tables": len(inputs.tables),
        "must_meet": len(inputs.must_meet),
        "do_not_meet": len(inputs.do_not_meet),
        "fixed": len(inputs.fixed),
        "time_limit": time_limit,
        "n_items": matcher.n_items,
        "item_name_col": inputs.item_name_col,
        "category_col": category_col,
    }
    logger.info(
        "event: %d needs, %d pairs, %d meetings",
        len(inputs.need_table),
        len(candidates.pair_scores),
        len(scheduled.meetings),
    )
    return EventResult(
        needs=inputs.need_table,
        matches=matches,
        pair_scores=candidates.pair_scores,
        schedule=scheduled.schedule,
        meetings=scheduled.meetings,
        unmet=scores.unmet,
        unmet_by_buyer=scores.unmet_by_buyer,
        unmet_by_category=scores.unmet_by_category,
        buyers=inputs.buyers,
        suppliers=inputs.suppliers,
        slots=inputs.slots,
        tables=inputs.tables,
        min_confidence=inputs.min_confidence,
        settings=settings,
        timings=timings,
    )
