"""Stage 6 of an event, exports: every file of an event into one folder, all of them or none.

:func:`export_event` takes the :class:`~semantic_match.events.event.EventResult`
and writes the CSV files (here), the Excel workbook (:mod:`.workbook`), the HTML
report (:mod:`.report`) and ``event.json``.

All or nothing
--------------
Every file is first written into a scratch folder beside the output folder.
Then it is published:

- when the output folder does not exist yet, by renaming the scratch folder
  into place: one step, so the folder appears complete or not at all;
- when it exists, file by file, because it may hold files the export does not
  own (the matching parts of a resumable run, the organiser's own notes) and
  those are never moved or deleted. Each earlier file of the same name is
  first renamed into a backup folder beside the output folder; if anything
  fails, the new files are taken out again and the earlier ones put back, so
  the folder holds exactly what it held before. Only files named as the export
  names them are replaced; an entry of such a name that is not a file (a
  folder called ``report.html``) is refused before anything is written.

A hard crash in the middle of the renames (a few milliseconds) can leave a
mix; the earlier files are then in the backup folder ``.<out>.previous-…``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..io.files import make_temp_dir, replace_folder
from ..io.spreadsheet import csv_safe
from .report import render_html
from .summary import agenda_table
from .workbook import write_workbook

if TYPE_CHECKING:
    from .event import EventResult

__all__ = ["export_event", "export_names", "write_csvs", "event_json", "publish_files", "FORMATS", "CSV_FILES"]

logger = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx", "html")

#: File name -> EventResult attribute written as CSV (None: the agendas of a role).
CSV_FILES = {
    "schedule.csv": "meetings",
    "pair_scores.csv": "pair_scores",
    "matches.csv": "matches",
    "unmet_needs.csv": "unmet",
    "unmet_by_buyer.csv": "unmet_by_buyer",
    "unmet_by_category.csv": "unmet_by_category",
    "agenda_buyers.csv": None,
    "agenda_suppliers.csv": None,
}


def export_names(formats: Sequence[str]) -> list[str]:
    """The names of the files an export of these formats writes, in the order written."""
    names = list(CSV_FILES) if "csv" in formats else []
    names += ["event.xlsx"] if "xlsx" in formats else []
    names += ["report.html"] if "html" in formats else []
    return names + ["event.json"]


def write_csvs(result: EventResult, folder: Path, *, escape_formulas: bool = True) -> list[Path]:
    """Write the CSV files of :data:`CSV_FILES` into ``folder`` (UTF-8 with BOM, for Excel).

    Text a spreadsheet would evaluate gets a leading apostrophe unless ``escape_formulas=False``.
    """
    paths = []
    for name, attr in CSV_FILES.items():
        frame = (
            getattr(result, attr)
            if attr
            else agenda_table(result, "buyer" if name == "agenda_buyers.csv" else "supplier")
        )
        path = folder / name
        # For people (Excel): formula-like text escaped, CRLF records (see io/spreadsheet.py).
        csv_safe(frame, escape_formulas=escape_formulas).to_csv(
            path, index=False, encoding="utf-8-sig", lineterminator="\r\n"
        )
        paths.append(path)
    return paths


def event_json(result: EventResult, title: str) -> dict:
    """The content of ``event.json``: settings, counts, the schedule's quality and the timings."""
    s = result.schedule
    return {
        "title": title,
        "settings": result.settings,
        "needs": len(result.needs),
        "buyers": len(result.buyers.ids),
        "suppliers": len(result.suppliers.ids),
        "unmet_needs": len(result.unmet),
        "pairs": len(result.pair_scores),
        "meetings": len(result.meetings),
        "schedule": {
            "objective": s.objective,
            "bound": s.bound,
            "gap": s.gap,
            "status": s.status,
            "solve_seconds": s.solve_seconds,
        },
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
    }


def export_event(
    result: EventResult, out_dir: str | os.PathLike, *, formats: Sequence[str] = FORMATS, title: str | None = None
) -> list[Path]:
    """Write an event's files into ``out_dir``; all of them or, on any error, none.

    Parameters
    ----------
    result : EventResult
    out_dir : path
        Created when missing. Files of an earlier export there are replaced;
        other files (such as the matching parts of a resumable run) are left
        alone. See the module docstring for how a failure leaves it untouched.
    formats : sequence of {"csv", "xlsx", "html"}
        ``csv``: ``schedule.csv``, ``agenda_buyers.csv``, ``agenda_suppliers.csv``,
        ``pair_scores.csv``, ``matches.csv``, ``unmet_needs.csv``,
        ``unmet_by_buyer.csv``, ``unmet_by_category.csv``; ``xlsx``: ``event.xlsx``;
        ``html``: ``report.html``. ``event.json`` (settings, schedule quality,
        timings) is always written.
    title : str, optional
        Title of the report; default "Temu Bisnis — business-matching event".

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    InputError
        Unknown formats, ``out_dir`` is a file, or it holds a folder named like
        one of the files.

    Examples
    --------
    >>> export_event(ev, "build/event", formats=["xlsx", "html"], title="Temu Bisnis P3DN Lampung 2023")
    ... # doctest: +SKIP
    """
    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise InputError(f"unknown export format(s) {unknown}; use some of {list(FORMATS)}")
    title = title or "Temu Bisnis — business-matching event"
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"'{out_dir}' is a file; the event files need a folder")
    names = export_names(formats)
    blocked = [n for n in names if (out_dir / n).exists() and not (out_dir / n).is_file()]
    if blocked:
        raise InputError(
            f"'{out_dir}' holds {blocked} that are not files, where the export writes files of "
            f"those names; move them away or choose another output folder"
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    scratch = make_temp_dir(out_dir.parent, prefix=f".{out_dir.name}.export-")
    try:
        if "csv" in formats:
            write_csvs(result, scratch)
        if "xlsx" in formats:
            write_workbook(result, scratch / "event.xlsx", title=title)
        if "html" in formats:
            (scratch / "report.html").write_text(render_html(result, title=title), encoding="utf-8")
        (scratch / "event.json").write_text(
            json.dumps(event_json(result, title), indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
        )
        publish_files(scratch, out_dir, names)
    finally:
        # Gone after a one-rename publish; otherwise only the new files' leftovers of a failure remain.
        shutil.rmtree(scratch, ignore_errors=True)
    logger.info("exported %d files to '%s'", len(names), out_dir)
    return [out_dir / n for n in names]


def publish_files(scratch: Path, out_dir: Path, names: Sequence[str]) -> None:
    """Move the files ``names`` from ``scratch`` into ``out_dir``: all of them, or none.

    A missing ``out_dir`` is the renamed ``scratch`` (which then holds exactly
    ``names``). In an existing one, the earlier files of those names are renamed
    into a backup folder first and put back if any step fails; files of other
    names are not touched.
    """
    if not out_dir.exists():
        replace_folder(scratch, out_dir)
        return
    backup = make_temp_dir(out_dir.parent, prefix=f".{out_dir.name}.previous-")
    aside: list[str] = []  # earlier files now in the backup folder
    placed: list[str] = []  # new files now in out_dir
    try:
        for name in names:
            target = out_dir / name
            if target.exists():
                os.replace(target, backup / name)
                aside.append(name)
            os.replace(scratch / name, target)
            placed.append(name)
    except BaseException:
        try:
            for name in reversed(placed):
                (out_dir / name).unlink()
            for name in reversed(aside):
                os.replace(backup / name, out_dir / name)
        except OSError:
            # The earlier files are safe in the backup folder; say where rather than delete them.
            logger.error("could not restore the earlier files of '%s'; they are in '%s'", out_dir, backup)
            raise
        shutil.rmtree(backup, ignore_errors=True)
        raise
    shutil.rmtree(backup, ignore_errors=True)
