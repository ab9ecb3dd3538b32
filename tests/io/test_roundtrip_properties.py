"""Property tests: random frames with hostile strings survive every format read_table reads.

The property, per format, for a frame written by the usual tool (pandas for CSV,
TSV and Parquet, every field quoted when a cell holds a CR, which pandas would
leave unquoted; openpyxl with text cells for xlsx) and read back with
``read_table(path, dtype={text column: str})``:

- the same columns, in order, and the same number of rows;
- number columns equal (ints exactly, floats exactly or both NaN; xlsx floats to
  the 16 digits openpyxl writes);
- text cells equal as written, with only what the format itself cannot hold
  mapped: CSV/TSV and xlsx have no empty string, so ``""`` reads as missing, and
  there cells spelled like pandas' missing-value markers (``NA``, ``null``, …)
  read as missing too; xlsx is XML, which turns CR and CR LF into LF and cannot
  hold C0 controls other than tab/LF/CR, U+FFFE or U+FFFF (those are not
  generated for xlsx). Parquet keeps every string exactly.

read_table removes nothing (control characters included): cleaning is
load_catalog's job, checked by the last property: a catalogue loaded from the
CSV equals the frame with the documented clean-up of control characters
(semantic_match.io.cells) applied to its text cells.
"""

from __future__ import annotations

import csv
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semantic_match import load_catalog, read_table

# pandas' default missing-value markers (read_csv's na_values), matched exactly.
PANDAS_NA = {
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
}

HOSTILE_PIECES = [
    '"',
    "'",
    '""',
    ",",
    ";",
    "\t",
    "|",
    "\r",
    "\n",
    "\r\n",
    " ",
    "  ",
    "=",
    "+",
    "-",
    "@",
    '=HYPERLINK("http://evil.example","x")',
    "=1+1",
    "+62 812",
    "-5",
    "@cmd",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u00ad",
    "\u00a0",
    "\u2028",
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9b",
    "é",
    "Ｔａｐｉｓ",
    "😀",
    "שלום",
    "Kopi",
    "tapis",
    "1",
    "78,5",
    "1.250.000",
    "0",
    "NA",
    "null",
    "#",
    "_x0041_",
    "\\",
    "&amp;",
    "<b>",
]
# Characters that XML 1.0 (hence xlsx) cannot hold; files with surrogates cannot be written at all.
_NOT_XML = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | {"\ufffe", "\uffff"}


def _text(xml_safe: bool) -> st.SearchStrategy[str]:
    excluded = ["Cs"]
    pieces = [p for p in HOSTILE_PIECES if not (xml_safe and set(p) & _NOT_XML)]
    chars = st.characters(blacklist_categories=excluded, blacklist_characters="".join(_NOT_XML) if xml_safe else "")
    return st.one_of(
        st.text(chars, max_size=30),
        st.lists(st.sampled_from(pieces), max_size=12).map("".join),
        st.lists(st.one_of(st.sampled_from(pieces), st.text(chars, max_size=4)), max_size=10).map("".join),
        st.sampled_from(pieces).map(lambda p: p * 700),  # long cells
    )


@st.composite
def frames(draw, xml_safe: bool = False) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=6))
    text = st.one_of(st.none(), _text(xml_safe))
    return pd.DataFrame(
        {
            "kode": [f"K{i}" for i in range(n)],
            "nama": pd.Series(draw(st.lists(text, min_size=n, max_size=n)), dtype=object),
            "catatan": pd.Series(draw(st.lists(text, min_size=n, max_size=n)), dtype=object),
            "harga": draw(st.lists(st.integers(-(10**12), 10**12), min_size=n, max_size=n)),
            "tkdn": draw(st.lists(st.floats(-1e9, 1e9) | st.just(math.nan), min_size=n, max_size=n)),
        }
    )


TEXT = ["kode", "nama", "catatan"]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _expected(value: object, fmt: str) -> object:
    if _missing(value):
        return None
    if fmt == "xlsx":
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if fmt in ("csv", "tsv", "xlsx") and value == "":
        return None
    if fmt in ("csv", "tsv", "xlsx") and value in PANDAS_NA:
        return None
    return value


def _write(frame: pd.DataFrame, path, fmt: str, sep: str = ",") -> None:
    if fmt in ("csv", "tsv"):
        # pandas' default writer leaves a lone CR in a cell unquoted, and then no
        # reader can tell it from a line end (read_table refuses such a file, see
        # test_tables); frames with a CR are written with every field quoted.
        has_cr = any(isinstance(v, str) and "\r" in v for c in TEXT for v in frame[c])
        frame.to_csv(path, index=False, sep=sep, quoting=csv.QUOTE_ALL if has_cr else csv.QUOTE_MINIMAL)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            ws.append([None if _missing(v) else v for v in row])
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, as a spreadsheet stores it, never a formula
        wb.save(path)


def _check(frame: pd.DataFrame, back: pd.DataFrame, fmt: str) -> None:
    assert list(back.columns) == list(frame.columns)
    assert len(back) == len(frame)
    for col in TEXT:
        got = [None if _missing(v) else v for v in back[col].tolist()]
        assert got == [_expected(v, fmt) for v in frame[col].tolist()], col
    assert back["harga"].tolist() == frame["harga"].tolist()
    for a, b in zip(back["tkdn"].tolist(), frame["tkdn"].tolist()):
        # openpyxl writes floats with 17 significant digits at most, rounding the last bit.
        assert (math.isnan(a) and math.isnan(b)) or a == b or (fmt == "xlsx" and math.isclose(a, b, rel_tol=1e-15))


_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.mark.parametrize("sep", [",", ";"])
@_SETTINGS
@given(frame=frames())
def test_csv_round_trip(tmp_path, sep, frame):
    path = tmp_path / "t.csv"
    _write(frame, path, "csv", sep)
    _check(frame, read_table(path, dtype={c: str for c in TEXT}), "csv")


@_SETTINGS
@given(frame=frames())
def test_tsv_round_trip(tmp_path, frame):
    path = tmp_path / "t.tsv"
    _write(frame, path, "tsv", "\t")
    _check(frame, read_table(path, dtype={c: str for c in TEXT}), "tsv")


@_SETTINGS
@given(frame=frames(xml_safe=True))
def test_xlsx_round_trip(tmp_path, frame):
    path = tmp_path / "t.xlsx"
    _write(frame, path, "xlsx")
    _check(frame, read_table(path, dtype={c: str for c in TEXT}), "xlsx")


@_SETTINGS
@given(frame=frames())
def test_parquet_round_trip(tmp_path, frame):
    path = tmp_path / "t.parquet"
    _write(frame, path, "parquet")
    _check(frame, read_table(path), "parquet")


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(frame=frames())
def test_load_catalog_from_csv_equals_the_frame_after_control_character_clean_up(tmp_path, frame):
    from semantic_match.io.cells import clean_text_cell

    frame = frame.assign(nama=["produk " + ("" if _missing(v) else v) for v in frame["nama"]])
    path = tmp_path / "k.csv"
    _write(frame, path, "csv")
    cat = load_catalog(path, id_col="kode", text_cols=["nama", "catatan"])
    assert cat.ids == frame["kode"].tolist()
    for col in ("nama", "catatan"):
        got = [None if _missing(v) else v for v in cat.items[col].tolist()]
        want = [None if (e := _expected(v, "csv")) is None else clean_text_cell(e) for v in frame[col]]
        assert got == want
    assert all(t.startswith("produk") for t in cat.texts)
