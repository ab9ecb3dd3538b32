"""load_catalog cleans what readers hand over: decimal commas, control and zero-width characters,
list-valued cells, ids equal after clean-up, and overlong texts (issue 10, failures 5, 6 and 8)."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import pytest

from semantic_match import CatalogError, Matcher, load_catalog
from semantic_match.io.cells import decimal_comma_floats
from semantic_match.text.normalize import MAX_TEXT_CHARS
from tests.support import ROOT, HashEncoder

TABLES = ROOT / "tests" / "fixtures" / "tables"


# --- decimal commas ---------------------------------------------------------------------------


def test_semicolon_file_mixing_80_and_78_5_keeps_every_row_for_tkdn_at_least_40():
    cat = load_catalog(TABLES / "katalog_excel_id.csv", id_col="kode", text_cols=["nama", "deskripsi"])
    assert cat.items["tkdn"].tolist() == [80.0, 78.5, 90.0, 65.25, 40.0, 22.5]
    assert cat.items["harga_teks"].tolist()[-1] == "3.500.000"  # thousands dots: left as text
    matcher = Matcher.from_catalog(cat, encoder=HashEncoder(), show_progress=False)
    res = matcher.search("tas seminar tapis", k=10, filters={"tkdn": {">=": 40}})
    assert sorted(res["item_id"]) == ["P01", "P02", "P03", "P04", "P05"]


def test_excel_column_mixing_number_and_text_cells_with_decimal_commas():
    cat = load_catalog(TABLES / "katalog.xlsx", id_col="kode", text_cols=["nama"])
    assert cat.ids == ["1", "2", "3", "P4"]
    assert cat.items["tkdn"].tolist() == [80.0, 78.5, 90.0, 65.25]


@pytest.mark.parametrize(
    "values, expected",
    [
        (["80", "78,5", None, "  "], [80.0, 78.5, np.nan, np.nan]),
        ([80, "78,5", 12.5], [80.0, 78.5, 12.5]),
        (["-1,5", "+2", "0,75"], [-1.5, 2.0, 0.75]),
    ],
)
def test_decimal_comma_columns_become_numbers(values, expected):
    np.testing.assert_array_equal(decimal_comma_floats(pd.Series(values, dtype=object)).to_numpy(), expected)


@pytest.mark.parametrize(
    "values",
    [
        ["80", "90"],  # no decimal comma: nothing to fix
        ["80", "78,5", "n/a"],  # half numbers: stays text, never half-read
        ["1.250.000", "2,5"],  # thousands dots
        ["1,250", "2,5"],  # three digits after the comma: 1.25 or 1250?
        ["007", "1,5"],  # a code with a leading zero
        ["78.5", "78,5"],  # dot and comma decimals mixed
        [True, "1,5"],
    ],
)
def test_other_columns_stay_as_they_are(values):
    assert decimal_comma_floats(pd.Series(values, dtype=object)) is None


def test_id_and_text_columns_are_never_converted():
    frame = pd.DataFrame({"kode": ["1,5", "2,5"], "nama": ["1,5", "2,5"], "ukuran": ["1,5", "2,5"]})
    cat = load_catalog(frame, id_col="kode", text_cols=["nama"])
    assert cat.ids == ["1,5", "2,5"] and cat.items["nama"].tolist() == ["1,5", "2,5"]
    assert cat.items["ukuran"].tolist() == [1.5, 2.5]


def test_text_columns_are_read_as_written():
    # A name such as "0123" or "1.50" must not become the number 123 or 1.5.
    cat = load_catalog(TABLES / "needs_crlf_bom.csv", id_col="need_id", text_cols=["need"])
    assert cat.items["need"].tolist() == ["Seminar kit tapis", "Kopi robusta", "Pompa air"]


def test_numeric_looking_text_column_from_csv_stays_text(tmp_path):
    (tmp_path / "k.csv").write_text("kode,nama\n1,0123\n2,1.50\n")
    cat = load_catalog(tmp_path / "k.csv", id_col="kode", text_cols=["nama"])
    assert cat.items["nama"].tolist() == ["0123", "1.50"] and cat.texts == ["0123", "1.50"]


# --- control and zero-width characters ----------------------------------------------------------


def test_control_characters_are_removed_from_text_cells_at_load(small_catalog):
    small_catalog.loc[0, "nama"] = "Seminar\x00 kit\x07 tapis\x1b\r\nLampung\x85x\x9b"
    small_catalog.loc[1, "supplier"] = "Tapis\tJaya\x0b"
    cat = load_catalog(small_catalog, id_col="kode", text_cols=["nama", "deskripsi"])
    assert cat.items["nama"].iloc[0] == "Seminar kit tapis Lampung x"
    assert cat.items["supplier"].iloc[1] == "Tapis Jaya "
    assert cat.texts[0].startswith("seminar kit tapis lampung x")


def test_control_characters_do_not_break_an_xlsx_export_of_the_items(small_catalog, tmp_path):
    small_catalog.loc[2, "nama"] = "Mesin\x01 perontok\x1f"
    cat = load_catalog(small_catalog, id_col="kode", text_cols=["nama"])
    cat.items.to_excel(tmp_path / "items.xlsx", index=False)  # openpyxl refuses C0 controls
    assert pd.read_excel(tmp_path / "items.xlsx")["nama"].iloc[2] == "Mesin perontok"


@pytest.mark.parametrize("invisible", ["\u200b", "\u200b\u200c\u200d", "\ufeff\u2060", "\u00ad", " \u200b\t\x00"])
def test_zero_width_only_text_counts_as_empty(small_catalog, invisible):
    small_catalog.loc[3, ["nama", "deskripsi"]] = [invisible, np.nan]
    with pytest.raises(CatalogError, match=r"1 rows whose text columns .* are all empty, ids \['P04'\]"):
        load_catalog(small_catalog, id_col="kode", text_cols=["nama", "deskripsi"])


def test_zero_width_characters_inside_words_are_dropped(small_catalog):
    small_catalog.loc[0, "nama"] = "Ko\u200bpi ta\u00adpis"
    assert load_catalog(small_catalog, id_col="kode", text_cols=["nama"]).texts[0] == "kopi tapis"


# --- list-valued text columns -------------------------------------------------------------------


def test_list_valued_parquet_text_column_is_refused_with_the_fix(tmp_path):
    frame = pd.DataFrame({"kode": ["P1", "P2"], "nama": [["kopi", "tapis"], ["map"]], "harga": [1, 2]})
    frame.to_parquet(tmp_path / "k.parquet")
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path / "k.parquet", id_col="kode", text_cols=["nama"])
    msg = str(err.value)
    assert "text column 'nama' holds arrays" in msg and "row 0: ['kopi', 'tapis']" in msg
    assert "df['nama'] = df['nama'].str.join(' ')" in msg


def test_json_array_text_is_refused_not_stringified(tmp_path):
    (tmp_path / "k.jsonl").write_text('{"kode": "P1", "nama": ["kopi", "tapis"]}\n{"kode": "P2", "nama": "x"}\n')
    with pytest.raises(CatalogError, match=r"text column 'nama' holds lists.*line 1"):
        load_catalog(tmp_path / "k.jsonl", id_col="kode", text_cols=["nama"])


def test_dict_valued_text_column_from_a_dataframe_is_refused():
    frame = pd.DataFrame({"kode": ["P1"], "nama": [{"id": "kopi"}]})
    with pytest.raises(CatalogError, match=r"text column 'nama' holds dicts"):
        load_catalog(frame, id_col="kode", text_cols=["nama"])


# --- ids equal after clean-up -------------------------------------------------------------------


@pytest.mark.parametrize(
    "ids",
    [
        ["A", "B", "A "],
        [1, "2", "1"],  # an Excel column mixing number 1 and text "1"
        [1.0, 2, "1"],
        ["A", "B", "A\u200b"],  # zero-width space: looks the same
        ["A", "B", "\x00A"],
        ["A", "B", "A\t"],
    ],
)
def test_ids_that_differ_only_after_clean_up_are_duplicates(ids):
    frame = pd.DataFrame({"kode": pd.Series(ids, dtype=object), "nama": ["Tas", "Map", "Kopi"]})
    with pytest.raises(
        CatalogError,
        match=r"1 duplicate ids in column 'kode': '1' \(row 0, row 2|"
        r"1 duplicate ids in column 'kode': 'A' \(row 0, row 2",
    ):
        load_catalog(frame, id_col="kode", text_cols=["nama"])


def test_duplicate_message_shows_how_each_id_was_written():
    frame = pd.DataFrame({"kode": ["A", "B", "A\u200b"], "nama": ["Tas", "Map", "Kopi"]})
    with pytest.raises(CatalogError, match=r"'A' \(row 0, row 2; written 'A', 'A\\u200b'\)"):
        load_catalog(frame, id_col="kode", text_cols=["nama"])


def test_invisible_only_id_is_a_missing_id():
    frame = pd.DataFrame({"kode": ["A", "\u200b"], "nama": ["Tas", "Map"]})
    with pytest.raises(CatalogError, match=r"1 rows without an id in column 'kode': \['row 1'\]"):
        load_catalog(frame, id_col="kode", text_cols=["nama"])


def test_clean_ids_are_kept_as_text():
    frame = pd.DataFrame({"kode": pd.Series([1, " B ", 3.0], dtype=object), "nama": ["Tas", "Map", "Kopi"]})
    assert load_catalog(frame, id_col="kode", text_cols=["nama"]).ids == ["1", "B", "3"]


def test_duplicate_lines_in_a_csv_with_multiline_cells_are_physical_lines(tmp_path):
    frame = pd.DataFrame({"kode": ["A", "B", "A"], "nama": ["Tas\nbesar", "Map", "Kopi"]})
    frame.to_csv(tmp_path / "k.csv", index=False)
    with pytest.raises(CatalogError, match=r"'A' \(line 2, line 5\)"):
        load_catalog(tmp_path / "k.csv", id_col="kode", text_cols=["nama"])


# --- the text cap ------------------------------------------------------------------------------


def test_long_texts_are_cut_counted_and_logged(small_catalog, caplog):
    small_catalog.loc[1, "deskripsi"] = "kulit sintetis " * 400  # 6,000 characters
    small_catalog.loc[4, "nama"] = "map " * 1000
    with caplog.at_level(logging.WARNING, logger="semantic_match.io.catalog"):
        cat = load_catalog(small_catalog, id_col="kode", text_cols=["nama", "deskripsi"])
    assert cat.truncated == 2
    assert all(len(t) <= MAX_TEXT_CHARS for t in cat.texts)
    assert cat.texts[1].startswith("tas seminar tapis kulit sintetis. kulit sintetis kulit")
    assert not cat.texts[1].endswith(" ") and cat.texts[1].split()[-1] in ("kulit", "sintetis")
    assert "2 rows have texts longer than 2000 characters" in caplog.text and "'P02', 'P05'" in caplog.text


def test_short_catalogues_report_no_truncation(small_catalog):
    assert load_catalog(small_catalog, id_col="kode", text_cols=["nama"]).truncated == 0


def test_one_megabyte_cell_loads_in_well_under_a_second(small_catalog):
    small_catalog.loc[0, "deskripsi"] = ("Seminar kit tapis 1.1.1.1 <<b " * 40_000)[:1_000_000]
    t0 = time.perf_counter()
    cat = load_catalog(small_catalog, id_col="kode", text_cols=["nama", "deskripsi"])
    assert time.perf_counter() - t0 < 10.0  # 530 s before the cap; generous for busy machines
    assert cat.truncated == 1 and len(cat.texts[0]) <= MAX_TEXT_CHARS


def test_rows_are_named_as_the_user_sees_them_in_each_format(tmp_path):
    frame = pd.DataFrame({"kode": ["A", "B", "A"], "nama": ["Tas", "Map", "Kopi"]})
    frame.to_excel(tmp_path / "k.xlsx", index=False)
    with pytest.raises(CatalogError, match=r"'A' \(row 2, row 4\)"):  # spreadsheet rows, header = row 1
        load_catalog(tmp_path / "k.xlsx", id_col="kode", text_cols=["nama"])
    frame.to_json(tmp_path / "k.jsonl", orient="records", lines=True)
    with pytest.raises(CatalogError, match=r"'A' \(line 1, line 3\)"):
        load_catalog(tmp_path / "k.jsonl", id_col="kode", text_cols=["nama"])
    frame.to_parquet(tmp_path / "k.parquet")
    with pytest.raises(CatalogError, match=r"'A' \(row 0, row 2\)"):  # positions, as in a DataFrame
        load_catalog(tmp_path / "k.parquet", id_col="kode", text_cols=["nama"])
