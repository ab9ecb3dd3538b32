"""read_table takes what pandas and spreadsheets write, and refuses what it cannot read exactly.

Each test of a refusal names the line numbers the message must carry; the files
of tests/fixtures/tables were written by pandas, openpyxl or as Excel writes them
(see make_tables.py there).
"""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from semantic_match import InputError, read_table
from semantic_match.io.csvsniff import sniff_csv
from semantic_match.io.tables import read_table_and_lines
from tests.support import ROOT

TABLES = ROOT / "tests" / "fixtures" / "tables"
sys.path.insert(0, str(TABLES))
from make_tables import needs_pandas_tabs  # noqa: E402


def _write(tmp_path, text: str, name: str = "t.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# --- files written by other tools -------------------------------------------------------------


def test_pandas_needs_with_tabs_and_line_breaks_in_quoted_cells():
    # Failure 1 of issue 10: the old sniffer chose tab ("Expected 2 fields in line 4, saw 3").
    frame, lines = read_table_and_lines(TABLES / "needs_pandas_tabs.csv")
    pd.testing.assert_frame_equal(frame, needs_pandas_tabs())
    assert lines[:4] == [2, 4, 5, 6]  # the first spec holds one line break: line numbers as an editor shows them


def test_semicolon_excel_file_with_bom_crlf_and_quoted_semicolon():
    frame = read_table(TABLES / "katalog_excel_id.csv", dtype={"kode": str})
    assert list(frame.columns) == ["kode", "nama", "deskripsi", "tkdn", "harga_teks"]  # BOM gone
    assert frame["deskripsi"].iloc[0] == "Tas, map; blocknote"
    assert frame["tkdn"].tolist() == ["80", "78,5", "90", "65,25", "40", "22,5"]  # as written: load_catalog converts


def test_crlf_and_bom_with_crlf_inside_quoted_cells():
    frame = read_table(TABLES / "needs_crlf_bom.csv")
    assert list(frame.columns) == ["need_id", "need", "spec"]
    assert frame["spec"].tolist() == ["Tas\r\nMap\r\nBlocknote", "250 gram, bubuk", "3 inch; bensin"]


def test_xlsx_written_by_openpyxl_keeps_text_cells():
    frame = read_table(TABLES / "katalog.xlsx", dtype={"kode": str})
    assert frame["kode"].tolist() == ["1", "2", "3", "P4"]
    assert frame["nama"].iloc[2].startswith("=HYPERLINK(")  # text, not a formula
    assert frame["tkdn"].tolist() == [80, "78,5", 90, "65,25"]


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiter_is_taken_from_the_header_not_from_quoted_content(tmp_path, sep):
    others = "".join(d for d in ",;\t|" if d != sep)
    frame = pd.DataFrame(
        {"kode": ["1", "2", "3"], "nama": [f"a{others}b", f'"q"{others}\n{others}', "c"], "harga": [1, 2, 3]}
    )
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False, sep=sep)
    pd.testing.assert_frame_equal(read_table(path, dtype={"kode": str}), frame, check_dtype=False)


def test_tsv_suffix_means_tab_even_when_commas_dominate(tmp_path):
    path = _write(tmp_path, "kode\tnama, panjang, sekali\n1\ta, b, c, d\n", name="t.tsv")
    assert read_table(path).columns.tolist() == ["kode", "nama, panjang, sekali"]


def test_single_column_file_keeps_commas_in_values(tmp_path):
    path = _write(tmp_path, "need\nkopi, gula\nseminar kit tapis\n")
    assert read_table(path)["need"].tolist() == ["kopi, gula", "seminar kit tapis"]


def test_delimiter_inside_a_quoted_header_name_does_not_count(tmp_path):
    path = _write(tmp_path, 'kode;"nama, produk";harga\n1;Tas, tapis;100\n')
    assert read_table(path).columns.tolist() == ["kode", "nama, produk", "harga"]


def test_explicit_utf8_encoding_still_drops_the_bom(tmp_path):
    path = _write(tmp_path, "kode,nama\n1,Tas\n", encoding="utf-8-sig")
    assert read_table(path, encoding="utf-8").columns.tolist() == ["kode", "nama"]


def test_blank_lines_are_skipped_and_line_numbers_still_count_them(tmp_path):
    path = _write(tmp_path, "\nkode,nama\n\n1,Tas\n\n2,Map\n")
    frame, lines = read_table_and_lines(path)
    assert frame["nama"].tolist() == ["Tas", "Map"] and lines == [4, 6]


def test_a_cell_longer_than_the_csv_modules_default_limit(tmp_path):
    long = "kopi " * 40_000  # 200,000 characters; the csv module refuses over 131,072 by default
    pd.DataFrame({"kode": ["1"], "nama": [long]}).to_csv(tmp_path / "t.csv", index=False)
    assert read_table(tmp_path / "t.csv")["nama"].iloc[0] == long


def test_sniff_reports_the_layout():
    layout = sniff_csv('a;b\n1;"x\ny"\n2;z\n', source="t.csv")
    assert (layout.delimiter, layout.header, layout.header_line, layout.record_lines) == (";", ("a", "b"), 1, (2, 4))


# --- refusals -------------------------------------------------------------------------------


def test_rows_with_the_wrong_number_of_fields_are_refused_with_their_lines(tmp_path):
    # Today pandas pads a short row with NaN (the description lands in the price) and
    # errors on a long one; neither may pass silently.
    path = _write(
        tmp_path,
        "kode,nama,deskripsi,harga,tkdn\n"
        "P01,Seminar kit tapis,Paket tas,85000,80\n"
        'P02,"Tas seminar, tapis,Kulit sintetis",150000,65\n'
        "P03,Kopi,Kopi Lampung, bubuk,45000,90\n",
    )
    with pytest.raises(InputError) as err:
        read_table(path)
    msg = str(err.value)
    assert "t.csv" in msg and "2 rows have the wrong number of fields" in msg
    assert "header (line 1) has 5 fields separated by ','" in msg
    assert "line 3 has 4" in msg and "line 4 has 6" in msg
    assert "double quotes" in msg  # the fix


def test_unbalanced_quote_running_to_the_end_of_the_file(tmp_path):
    path = _write(tmp_path, 'kode,nama,harga\nP01,Tas,1\nP02,"Map tapis,2\nP03,Kopi,3\n')
    with pytest.raises(
        InputError,
        match=r"quote \(\"\) opened in the row starting on line 3 is never closed.*"
        r"'P02,\"Map tapis,2'",
    ):
        read_table(path)


def test_unbalanced_quote_closed_later_by_a_stray_quote(tmp_path):
    path = _write(tmp_path, 'kode,nama,harga\nP01,Tas,1\nP02,"Map tapis,2\nP03,Kopi,3\nP04,Map "x",4\n')
    with pytest.raises(
        InputError,
        match=r"unbalanced quote \(\"\) in the row starting on line 3 runs on to "
        r"line 5",
    ):
        read_table(path)


def test_unbalanced_quote_that_gives_the_right_field_count_is_still_refused(tmp_path):
    # The stray quote closes on the next row before a delimiter: the joined record has 5
    # fields, and P02 would get P03's price (45000) without a word.
    path = _write(
        tmp_path,
        "kode,nama,deskripsi,harga,tkdn\n"
        "P01,Seminar kit tapis,Paket,85000,80\n"
        'P02,"Tas seminar tapis,Kulit sintetis,150000,65\n'
        'P03,Kopi robusta",Kopi Lampung,45000,90\n'
        "P04,Map,Map tapis,30000,75\n",
    )
    with pytest.raises(InputError, match=r"unbalanced quote \(\"\) on line 3 joins lines 3-4 into one row"):
        read_table(path)


def test_genuine_multiline_cells_with_commas_are_not_mistaken_for_joined_rows(tmp_path):
    frame = pd.DataFrame(
        {"kode": ["P1", "P2"], "spec": ["Warna: merah, biru\nUkuran: 1, 2", "x"], "harga": [1000, 2000]}
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.csv"), frame, check_dtype=False)


def test_every_row_one_field_longer_than_the_header_is_refused(tmp_path):
    # pandas would silently use the first column as the index and shift every name.
    path = _write(tmp_path, "kode,nama\nP1,Tas,100\nP2,Map,200\n")
    with pytest.raises(InputError, match=r"line 2 has 3, line 3 has 3"):
        read_table(path)


@pytest.mark.parametrize(
    "header, dups",
    [
        ("kode,nama,harga,nama", r"'nama' in columns 2, 4"),
        ("kode;nama ;nama;harga;harga", r"'nama' in columns 2, 3; 'harga' in columns 4, 5"),
    ],
)
def test_duplicate_csv_headers_are_refused_not_renamed(tmp_path, header, dups):
    sep = ";" if ";" in header else ","
    width = header.count(sep) + 1
    path = _write(tmp_path, header + "\n" + sep.join(["x"] * width) + "\n")
    with pytest.raises(InputError, match=rf"the header \(line 1\) repeats column names: {dups}.*rename"):
        read_table(path)


def test_duplicate_excel_headers_are_refused(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["kode", "nama", "nama"])
    wb.active.append(["1", "Tas", "Map"])
    wb.save(tmp_path / "k.xlsx")
    with pytest.raises(InputError, match=r"first row of the sheet repeats column names: 'nama' in columns 2, 3"):
        read_table(tmp_path / "k.xlsx")


def test_empty_file_is_refused(tmp_path):
    with pytest.raises(InputError, match="the file is empty"):
        read_table(_write(tmp_path, "\n\n"))


def test_lone_carriage_return_in_a_pandas_cell_is_refused_with_a_hint(tmp_path):
    # pandas' to_csv does not quote a cell holding only a CR: its row falls apart.
    pd.DataFrame({"kode": ["K0"], "nama": ["Tas\rtapis"], "harga": [1]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(InputError, match=r"line 2 has 2, line 3 has 2.*line 2 ends with a lone carriage return"):
        read_table(tmp_path / "t.csv")
