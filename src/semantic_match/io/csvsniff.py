"""Choosing and checking the layout of a CSV or TSV file before pandas reads it.

Rules (what :func:`sniff_csv` does):

1. **Delimiter from the header.** The candidates are ``,`` ``;`` tab and ``|``
   (:data:`DELIMITERS`; a ``.tsv`` file allows only tab). The header is the first
   non-blank record of the file, read with Python's :mod:`csv` module, so quotes,
   CR LF and BOMs are understood and a delimiter inside a quoted header name does
   not count. Candidates are tried in order of how many fields they give the
   header (most first; ties in the order above). Only the header decides the
   order: the rest of the file may hold anything inside quotes (tabs and line
   breaks pasted into a specification, ``;`` in a description), which is what
   misled the previous sniffer into choosing tab for a comma file written by
   pandas.
2. **Confirmed by every record.** A candidate is chosen only when every record
   of the file, read with the :mod:`csv` module (strict quoting: quoted fields
   may hold delimiters, quotes doubled as ``""``, tabs and line breaks; a quote
   closing a field must be followed by the delimiter or the end of the line),
   has as many fields as the header. Blank lines are skipped, as pandas does.
   When the header has a single field, the chosen delimiter is one that occurs
   in no record outside quotes.
3. **Otherwise refused, with line numbers.** When no candidate fits, an
   :class:`~semantic_match.errors.InputError` names the file, the header's field
   count, up to five records with their physical line numbers (as an editor
   shows them) and field counts, points at an unbalanced quote when a record runs
   over several lines, and says how to fix the file. Fields are never shifted or
   padded silently.
4. **Rows joined by a quote.** A stray quote closed a few lines later can give
   the joined record the right number of fields. A record over several lines is
   refused when each of its lines is a row on its own (the header's number of
   fields, and numbers where every single-line record has numbers); a genuine
   multi-line cell almost never looks like that (see :func:`_joined_rows`).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from ..errors import InputError

__all__ = ["DELIMITERS", "CsvLayout", "sniff_csv", "delimiter_name"]

#: Delimiters considered, in order of preference for ties.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
_SHOWN = 5
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
_LINE_CHARS = 80
# Far above any real cell; the csv module's default (131,072 characters) would
# refuse one long pasted description, which the normaliser caps later anyway.
_FIELD_LIMIT = 2**31 - 1


def delimiter_name(delimiter: str) -> str:
    """``"tab"`` for a tab, else the delimiter quoted: ``"','"``."""
    return "tab" if delimiter == "\t" else repr(delimiter)


@dataclass(frozen=True)
class CsvLayout:
    """What :func:`sniff_csv` found.

    Attributes
    ----------
    delimiter : str
    header : tuple of str
        The header's field names as written.
    header_line : int
        Physical line (from 1) of the header.
    record_lines : tuple of int
        Physical line where each data record starts, in order.
    """

    delimiter: str
    header: tuple[str, ...]
    header_line: int
    record_lines: tuple[int, ...]


@dataclass
class _Scan:
    header: list[str] | None = None
    header_line: int = 0
    record_lines: list[int] = field(default_factory=list)
    wrong: list[tuple[int, int, int]] = field(default_factory=list)  # (first line, last line, fields)
    n_wrong: int = 0
    fault: tuple[int, int, str] | None = None  # (first line, line of the error, csv message)
    multiline: list[tuple[int, int]] = field(default_factory=list)  # records over several lines

    @property
    def ok(self) -> bool:
        return self.header is not None and self.n_wrong == 0 and self.fault is None


def _blank(row: list[str]) -> bool:
    # pandas skips empty lines and lines of white space only.
    return not row or (len(row) == 1 and not row[0].strip())


def _reader(text: str, delimiter: str):
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)
    return csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar='"',
        doublequote=True,
        strict=True,
        skipinitialspace=False,
    )


def _header_width(text: str, delimiter: str) -> int:
    """Fields of the first non-blank record with ``delimiter``; 0 when there is none or it is malformed."""
    reader = _reader(text, delimiter)
    try:
        for row in reader:
            if not _blank(row):
                return len(row)
    except csv.Error:
        return 0
    return 0


def _scan(text: str, delimiter: str, *, stop_early: bool) -> _Scan:
    scan = _Scan()
    reader = _reader(text, delimiter)
    last = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            scan.fault = (last + 1, reader.line_num, str(exc))
            break
        first, last = last + 1, reader.line_num
        if _blank(row):
            continue
        if scan.header is None:
            scan.header, scan.header_line = row, first
        elif len(row) == len(scan.header):
            scan.record_lines.append(first)
            if last > first:
                scan.multiline.append((first, last))
        else:
            scan.n_wrong += 1
            if len(scan.wrong) < _SHOWN:
                scan.wrong.append((first, last, len(row)))
            elif stop_early:
                break
    return scan


def _physical_lines(text: str) -> list[str]:
    # Split exactly as the csv reader counts lines (CR, LF and CR LF), not as
    # str.splitlines, which also splits on form feeds and U+2028.
    return [line.rstrip("\r\n") for line in io.StringIO(text, newline="")]


def _show(lines: list[str], number: int) -> str:
    line = lines[number - 1] if 0 < number <= len(lines) else ""
    if len(line) > _LINE_CHARS:
        line = line[:_LINE_CHARS] + "…"
    return repr(line)


def _fault_message(scan: _Scan, lines: list[str], delimiter: str) -> str:
    first, at, message = scan.fault  # type: ignore[misc]
    if "unexpected end of data" in message:
        return (
            f'a quote (") opened in the row starting on line {first} is never closed, so everything '
            f"after it would read as one field; line {first}: {_show(lines, first)}. Close the quote, "
            f'or double a quote meant as a character inside a quoted field ("")'
        )
    if at > first:
        return (
            f'an unbalanced quote (") in the row starting on line {first} runs on to line {at}, joining '
            f"lines {first}-{at} into one field; line {first}: {_show(lines, first)}. Close the quote, or "
            f'double a quote meant as a character inside a quoted field ("")'
        )
    return (
        f'line {at} has a quote (") that ends a quoted field but is followed by more text ({message}); '
        f'line {at}: {_show(lines, at)}. Inside a quoted field a quote must be doubled (""), and a '
        f"field that is not quoted must not start with a quote"
    )


def _count_message(scan: _Scan, text: str, lines: list[str], delimiter: str) -> str:
    assert scan.header is not None
    width = len(scan.header)
    rows = "row has" if scan.n_wrong == 1 else "rows have"
    shown = ", ".join(f"line {first} has {n}" for first, _, n in scan.wrong)
    more = f", … ({scan.n_wrong - len(scan.wrong)} more)" if scan.n_wrong > len(scan.wrong) else ""
    msg = (
        f"{scan.n_wrong} {rows} the wrong number of fields: the header (line {scan.header_line}) has "
        f"{width} fields separated by {delimiter_name(delimiter)}, but {shown}{more}"
    )
    runs = [(first, last) for first, last, _ in scan.wrong if last > first and '"' in lines[first - 1]]
    if runs:
        first, last = runs[0]
        msg += (
            f'; an unbalanced quote (") on line {first} joins lines {first}-{last} into one row: {_show(lines, first)}'
        )
    else:
        first = scan.wrong[0][0]
        msg += f"; line {first}: {_show(lines, first)}"
    if "\n" in text:
        # pandas' to_csv leaves a lone CR inside a cell unquoted: it then reads as a line end.
        raw = list(io.StringIO(text, newline=""))
        lone = [first for first, _, _ in scan.wrong if raw[first - 1].endswith("\r")]
        if lone:
            msg += (
                f"; line {lone[0]} ends with a lone carriage return (CR, \\r) that was probably inside a "
                f"cell: remove CRs from the cells, or quote every field (pandas: quoting=csv.QUOTE_ALL)"
            )
    return (
        msg + f". Fix these rows: put fields that contain {delimiter_name(delimiter)} or line breaks "
        f'in double quotes, double a quote inside a quoted field (""), and close every quote; or '
        f"save the table again from the spreadsheet"
    )


def _numeric_columns(text: str, delimiter: str, width: int) -> set[int]:
    """Columns whose every non-empty value in the single-line records is a number."""
    numeric = set(range(width))
    reader = _reader(text, delimiter)
    last, header_seen = 0, False
    for row in reader:
        first, last = last + 1, reader.line_num
        if _blank(row):
            continue
        if not header_seen:
            header_seen = True
            continue
        if last > first or len(row) != width:
            continue
        numeric -= {i for i in numeric if row[i].strip() and not _NUMBER.fullmatch(row[i].strip())}
        if not numeric:
            break
    return numeric


def _joined_rows(text: str, scan: _Scan, delimiter: str) -> tuple[int, int] | None:
    """The first record that is really several complete rows joined by an unbalanced quote, if any.

    A quote that opens a field and is closed only lines later (``P02,"Tas,…`` …
    ``P03,Kopi",…``) can give a record the right number of fields, so counting
    cannot see it, and the second row's fields land in the first row's columns.
    Such a record is recognised when each of its lines, split at every delimiter
    (quotes ignored), is a row on its own: exactly the header's number of fields,
    and a number in every column where all single-line records hold numbers (at
    least one such column is needed). A genuine multi-line cell (a specification
    pasted with line breaks) almost never passes both tests, so valid files are
    not refused; a table without numeric columns is not checked.
    """
    assert scan.header is not None
    width = len(scan.header)
    if width < 2 or not scan.multiline:
        return None
    lines = _physical_lines(text)
    suspects = [
        (first, last)
        for first, last in scan.multiline
        if all(lines[i].count(delimiter) == width - 1 for i in range(first - 1, min(last, len(lines))))
    ]
    if not suspects:
        return None
    numeric = _numeric_columns(text, delimiter, width)
    if not numeric:
        return None
    for first, last in suspects:
        pieces = [lines[i].split(delimiter) for i in range(first - 1, last)]
        if all(_NUMBER.fullmatch(p[c].strip().strip('"')) for p in pieces for c in numeric):
            return first, last
    return None


def sniff_csv(text: str, *, source: str, delimiters: tuple[str, ...] = DELIMITERS) -> CsvLayout:
    """Choose the delimiter of a CSV/TSV text and check every record (rules in the module docstring).

    Parameters
    ----------
    text : str
        The decoded file, BOM removed.
    source : str
        The file name, for messages.
    delimiters : tuple of str
        Candidates; ``("\\t",)`` for a ``.tsv`` file.

    Returns
    -------
    CsvLayout

    Raises
    ------
    InputError
        The file is empty, or no candidate gives every record the header's
        number of fields; the message names the lines and the fix.

    Examples
    --------
    >>> sniff_csv('kode;nama\\n1;"Kopi; bubuk"\\n', source="k.csv").delimiter
    ';'
    """
    widths = {d: _header_width(text, d) for d in delimiters}
    if not any(widths.values()):
        if not text.strip():
            raise InputError(f"cannot read '{source}': the file is empty (no header line)")
    order = sorted(delimiters, key=lambda d: (-widths[d], delimiters.index(d)))
    if widths[order[0]] > 1:
        # Only delimiters that split the header are candidates.
        order = [d for d in order if widths[d] > 1]
    first_scan: _Scan | None = None
    for delimiter in order:
        scan = _scan(text, delimiter, stop_early=first_scan is not None)
        if scan.ok:
            assert scan.header is not None
            joined = _joined_rows(text, scan, delimiter)
            if joined is not None:
                first, last = joined
                lines = _physical_lines(text)
                raise InputError(
                    f"cannot read '{source}': an unbalanced quote (\") on line {first} joins lines {first}-{last} "
                    f"into one row, although each of them is a complete row of {len(scan.header)} fields; line "
                    f"{first}: {_show(lines, first)}. Close the quote on the line where it belongs, or double a "
                    f'quote meant as a character inside a quoted field ("")'
                )
            return CsvLayout(
                delimiter=delimiter,
                header=tuple(scan.header),
                header_line=scan.header_line,
                record_lines=tuple(scan.record_lines),
            )
        if first_scan is None:
            first_scan = scan
    assert first_scan is not None
    delimiter = order[0]
    lines = _physical_lines(text)
    if first_scan.header is None and first_scan.fault is None:
        raise InputError(f"cannot read '{source}': the file is empty (no header line)")
    # A quote problem explains wrong field counts after it, so it comes first.
    if first_scan.fault is not None and (not first_scan.wrong or first_scan.fault[0] <= first_scan.wrong[0][0]):
        reason = _fault_message(first_scan, lines, delimiter)
    else:
        reason = _count_message(first_scan, text, lines, delimiter)
    raise InputError(f"cannot read '{source}': {reason}")
