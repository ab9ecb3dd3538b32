"""Catalogue loading: tests for the mutants of io/catalog.py that survived mutmut (docs/reliability.md).

Most survivors were in the one-line reasons (which table, which rows, which fix); the rest were a lost
``sheet=``, headers with spaces, duplicate column names, metadata that listed the id column, categorical
columns and the text cap's boundary.
"""

from __future__ import annotations

import logging
import re

import pandas as pd
import pytest

from semantic_match.errors import CatalogError
from semantic_match.io.catalog import combine_texts, load_catalog
from semantic_match.text.normalize import MAX_TEXT_CHARS, normalize_text


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"kode": ["P1", "P2"], "nama": ["Kopi robusta", "Tas tapis"], "harga": [30000, 85000], "region": ["a", "b"]}
    )


def test_missing_columns_name_the_table_the_column_and_the_fix(frame, tmp_path):
    """Kills _describe 1-6, _check_columns_3 and the message mutants of load_catalog (where, what, hints)."""
    cols = "columns are ['kode', 'nama', 'harga', 'region']"
    cases = [
        (dict(id_col="id", text_cols=["nama"]), f"catalog the DataFrame is missing id column 'id'; {cols}; "
         "pass id_col=... (--id-col COL)"),
        (dict(id_col="kode", text_cols=["deskripsi"]), f"catalog the DataFrame is missing text column 'deskripsi'; "
         f"{cols}; pass text_cols=[...] (--text-col COL)"),
        (dict(id_col="kode", text_cols=["nama"], meta_cols=["warna"]), f"catalog the DataFrame is missing metadata "
         f"column 'warna'; {cols}; fix meta_cols=[...] (--meta-col COL)"),
    ]  # fmt: skip
    for kw, message in cases:
        with pytest.raises(CatalogError) as err:
            load_catalog(frame, **kw)
        assert str(err.value) == message
    path = tmp_path / "katalog.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(CatalogError) as err:
        load_catalog(path, id_col="id", text_cols=["nama"], what="needs")
    assert str(err.value).startswith(f"needs '{path}' is missing id column 'id'")


def test_not_a_table_is_a_type_error_naming_the_type():
    with pytest.raises(TypeError, match=r"^catalog must be a pandas DataFrame or a file path, got int$"):
        load_catalog(123, id_col="kode", text_cols=["nama"])


@pytest.mark.parametrize(
    "name, labels",
    [
        ("katalog.v2.xlsx", "row 2, row 3"),  # spreadsheet rows, header on row 1; a dot in the name
        ("katalog.xlsm", "row 2, row 3"),
        ("katalog.ndjson", "line 1, line 2"),
        ("katalog.jsonl", "line 1, line 2"),
        ("katalog.parquet", "row 0, row 1"),
    ],
)
def test_rows_are_named_as_the_users_program_shows_them(tmp_path, name, labels):
    """Kills _row_labels 10, 20, 21, 30, 31."""
    frame = pd.DataFrame({"kode": ["A", "A"], "nama": ["kopi", "teh"]})
    path = tmp_path / name
    if name.endswith(("xlsx", "xlsm")):
        frame.to_excel(path, index=False)
    elif name.endswith("parquet"):
        frame.to_parquet(path)
    else:
        frame.to_json(path, orient="records", lines=True)
    with pytest.raises(CatalogError, match=rf"duplicate ids in column 'kode': 'A' \({labels}\)"):
        load_catalog(path, id_col="kode", text_cols=["nama"])


def test_texts_are_joined_without_doubled_dots():
    """Kills _texts 5, 6 and the untested combine_texts mutants 1-5."""
    frame = pd.DataFrame({"a": ["Kopi Robusta. ", "  .Bubuk", ""], "b": ["Lampung Barat", "halus", "Teh"]})
    assert combine_texts(frame, ["a", "b"]) == ["kopi robusta. lampung barat", ".bubuk. halus", "teh"]


def test_a_text_of_exactly_the_cap_is_not_cut(frame):
    """Kills _texts_13: MAX_TEXT_CHARS characters fit; one word more is cut and counted."""
    text = "kopi " * (MAX_TEXT_CHARS // 5 - 1) + "kopiz"
    assert len(normalize_text(text)) == MAX_TEXT_CHARS
    cat = load_catalog(frame.assign(nama=[text, "teh"]), id_col="kode", text_cols=["nama"])
    assert cat.truncated == 0 and cat.texts[0] == normalize_text(text)
    cat = load_catalog(frame.assign(nama=[text + " teh", "teh"]), id_col="kode", text_cols=["nama"])
    assert cat.truncated == 1 and len(cat.texts[0]) <= MAX_TEXT_CHARS


def test_long_texts_are_logged_with_the_table_and_the_reason(frame, caplog):
    """Kills load_catalog 155, 164-167."""
    with caplog.at_level(logging.WARNING, logger="semantic_match.io.catalog"):
        load_catalog(frame.assign(nama=["kopi " * 1000, "teh"]), id_col="kode", text_cols=["nama"])
    assert caplog.messages == [
        f"catalog the DataFrame: 1 rows have texts longer than {MAX_TEXT_CHARS} characters, cut at a word "
        "boundary (ids ['P1']); the encoder reads at most 512 tokens anyway"
    ]


def test_list_valued_columns_are_refused_with_a_short_example(frame):
    """Kills _refuse_nested 18-29 (20, 21: a 60-character example is shown whole) and load_catalog 103, 105: which table, id or text column, cut example."""
    words = [f"kata{i}" for i in range(20)]
    with pytest.raises(CatalogError) as err:
        load_catalog(frame.assign(nama=[words, "teh"]), id_col="kode", text_cols=["nama"])
    shown = repr(words)[:60] + "…"
    assert str(err.value).startswith(f"catalog the DataFrame text column 'nama' holds lists, not text (1 rows, e.g. "
                                     f"row 0: {shown}); join each")  # fmt: skip
    for value, shown in [(["x" * 56], repr(["x" * 56])), (["x" * 57], repr(["x" * 57])[:60] + "…")]:
        assert len(repr(value)) in (60, 61)  # 60 characters are shown whole, 61 are cut
        with pytest.raises(CatalogError, match=rf"e\.g\. row 0: {re.escape(shown)}\); join"):
            load_catalog(frame.assign(nama=[value, "teh"]), id_col="kode", text_cols=["nama"])
    with pytest.raises(CatalogError) as err:
        load_catalog(frame.assign(kode=[["P1"], "P2"]), id_col="kode", text_cols=["nama"])
    assert str(err.value).startswith("catalog the DataFrame id column 'kode' holds lists, not text (1 rows, e.g. "
                                     "row 0: ['P1']); join each")  # fmt: skip


def test_duplicate_ids_list_five_groups_three_rows_each_and_the_count(frame):
    """Kills _report_duplicates 13, 18, 23, 33-40, 43 and load_catalog_124."""
    ids = [f"K{i}" for i in range(7) for _ in range(4)]
    with pytest.raises(CatalogError) as err:
        load_catalog(pd.DataFrame({"kode": ids, "nama": ["kopi"] * 28}), id_col="kode", text_cols=["nama"])
    groups = ", ".join(f"'K{g}' ({', '.join(f'row {4 * g + r}' for r in range(3))})" for g in range(5))
    assert str(err.value) == (
        f"catalog the DataFrame has 7 duplicate ids in column 'kode': {groups}, … (2 more); "
        "ids must be unique: fix or drop the repeated rows, or choose another id column"
    )
    five = [f"K{i}" for i in range(5) for _ in range(2)]
    with pytest.raises(CatalogError) as err:
        load_catalog(pd.DataFrame({"kode": five, "nama": ["kopi"] * 10}), id_col="kode", text_cols=["nama"])
    assert str(err.value).endswith("'K4' (row 8, row 9); ids must be unique: fix or drop the repeated rows, "
                                   "or choose another id column")  # fmt: skip
    six = [f"K{i}" for i in range(6) for _ in range(2)]
    with pytest.raises(CatalogError, match=r"'K4' \(row 8, row 9\), … \(1 more\); ids must be unique"):
        load_catalog(pd.DataFrame({"kode": six, "nama": ["kopi"] * 12}), id_col="kode", text_cols=["nama"])


def test_duplicate_ids_show_how_the_first_three_rows_wrote_them(frame):
    """Kills _report_duplicates_23: only the three rows listed are quoted."""
    same3 = pd.DataFrame({"kode": ["A", "A", "A", "A "], "nama": ["kopi"] * 4})
    with pytest.raises(CatalogError, match=r"'A' \(row 0, row 1, row 2\); ids must be unique"):
        load_catalog(same3, id_col="kode", text_cols=["nama"])
    mixed = pd.DataFrame({"kode": ["A", "A ", 1, "1"], "nama": ["kopi"] * 4})
    with pytest.raises(
        CatalogError, match=r"'1' \(row 2, row 3; written 1, '1'\), 'A' \(row 0, row 1; written 'A', 'A '\)"
    ):
        load_catalog(mixed, id_col="kode", text_cols=["nama"])


def test_the_sheet_asked_for_is_read(tmp_path):
    """Kills load_catalog 16, 20: sheet= must reach the reader, not the first sheet."""
    path = tmp_path / "katalog.xlsx"
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame({"kode": ["A"], "nama": ["kopi"]}).to_excel(xl, sheet_name="lama", index=False)
        pd.DataFrame({"kode": ["B"], "nama": ["teh"]}).to_excel(xl, sheet_name="baru", index=False)
    assert load_catalog(path, id_col="kode", text_cols=["nama"], sheet="baru").ids == ["B"]
    assert load_catalog(path, id_col="kode", text_cols=["nama"]).ids == ["A"]


def test_header_spaces_are_ignored_and_other_column_names_kept(frame):
    """Kills load_catalog 25, 26: " kode " is kode; a non-text column name (0) stays 0."""
    spaced = frame.rename(columns={"kode": " kode ", "nama": "nama\t"}).assign(**{"0": 1}).rename(columns={"0": 0})
    cat = load_catalog(spaced, id_col="kode", text_cols=["nama"])
    assert cat.ids == ["P1", "P2"] and cat.meta_cols == ("harga", "region", 0)


def test_duplicate_column_names_are_refused(frame):
    """Kills load_catalog 28-32."""
    dup = pd.concat([frame, frame[["nama"]]], axis=1)
    with pytest.raises(CatalogError) as err:
        load_catalog(dup, id_col="kode", text_cols=["nama"])
    assert str(err.value) == "catalog the DataFrame has duplicate column names ['nama']; rename them"


def test_metadata_never_repeats_the_id_or_a_text_column(frame):
    """Kills load_catalog_70."""
    cat = load_catalog(frame, id_col="kode", text_cols=["nama"], meta_cols=["kode", "harga", "nama", "harga"])
    assert cat.meta_cols == ("harga",) and list(cat.items.columns) == ["kode", "nama", "harga"]


def test_control_characters_are_removed_from_every_text_column(frame):
    """Kills _clean_cells 5 (a numeric column stopped the clean-up) and 10-12 (categorical columns)."""
    dirty = frame.assign(
        region=["Metro\x07", "Pesawaran"],
        kategori=pd.Categorical(["Kopi\x00", "Tas"]),
    )
    cat = load_catalog(dirty, id_col="kode", text_cols=["nama"])
    assert cat.items["harga"].tolist() == [30000, 85000]
    assert cat.items["region"].tolist() == ["Metro", "Pesawaran"]
    assert cat.items["kategori"].astype(str).tolist() == ["Kopi", "Tas"]


def test_the_source_is_the_file_name_or_none(frame, tmp_path):
    """Kills load_catalog_185."""
    assert load_catalog(frame, id_col="kode", text_cols=["nama"]).source is None
    path = tmp_path / "katalog.csv"
    frame.to_csv(path, index=False)
    assert load_catalog(path, id_col="kode", text_cols=["nama"]).source == str(path)
