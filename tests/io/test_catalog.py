import numpy as np
import pandas as pd
import pytest

from semantic_match import CatalogError, InputError, load_catalog, read_table


def test_dataframe_catalog_keeps_every_row_and_other_columns_as_metadata(small_catalog):
    cat = load_catalog(small_catalog, id_col="kode", text_cols=["nama", "deskripsi"])
    assert len(cat) == len(small_catalog)
    assert cat.ids == small_catalog["kode"].tolist()
    assert cat.meta_cols == ("supplier", "region", "harga", "tkdn")
    assert cat.texts[0] == "seminar kit motif tapis lampung. paket tas, map, blocknote bernuansa tapis"


def test_one_empty_text_column_is_fine_when_another_has_text(small_catalog):
    small_catalog.loc[2, "deskripsi"] = np.nan
    cat = load_catalog(small_catalog, id_col="kode", text_cols=["nama", "deskripsi"])
    assert cat.texts[2] == "mesin perontok padi 1 ton/jam"


def test_explicit_meta_cols(small_catalog):
    cat = load_catalog(small_catalog, id_col="kode", text_cols="nama", meta_cols=["harga"])
    assert list(cat.items.columns) == ["kode", "nama", "harga"]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx", ".parquet", ".jsonl"])
def test_file_formats_round_trip(small_catalog, tmp_path, suffix):
    path = tmp_path / f"katalog{suffix}"
    if suffix == ".csv":
        small_catalog.to_csv(path, index=False)
    elif suffix == ".tsv":
        small_catalog.to_csv(path, index=False, sep="\t")
    elif suffix == ".xlsx":
        small_catalog.to_excel(path, index=False)
    elif suffix == ".parquet":
        small_catalog.to_parquet(path, index=False)
    else:
        small_catalog.to_json(path, orient="records", lines=True)
    cat = load_catalog(path, id_col="kode", text_cols=["nama"])
    assert cat.ids == small_catalog["kode"].tolist()
    assert cat.items["harga"].tolist() == small_catalog["harga"].tolist()
    assert cat.source == str(path)


def test_semicolon_csv_from_indonesian_excel(tmp_path):
    path = tmp_path / "katalog.csv"
    path.write_text("kode;nama;harga\n001;Tas tapis;150000\n002;Kopi, bubuk;45000\n", encoding="utf-8")
    cat = load_catalog(path, id_col="kode", text_cols=["nama"])
    assert cat.ids == ["001", "002"]  # leading zeros kept
    assert cat.texts == ["tas tapis", "kopi, bubuk"]


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("kode,nama\n1,Tas\n".encode("utf-8-sig"))
    assert load_catalog(path, id_col="kode", text_cols=["nama"]).ids == ["1"]


def test_missing_column_names_columns_and_fix(small_catalog):
    with pytest.raises(
        CatalogError,
        match=r"missing text column 'deskripsi_produk'; columns are "
        r"\['kode', 'nama'.*pass text_cols",
    ):
        load_catalog(small_catalog, id_col="kode", text_cols=["deskripsi_produk"])
    with pytest.raises(CatalogError, match=r"missing id column 'id'.*--id-col"):
        load_catalog(small_catalog, id_col="id", text_cols=["nama"])


def test_duplicate_ids_are_reported_with_file_lines(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("kode,nama\nA,Tas\nB,Kopi\nA,Map\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"1 duplicate ids in column 'kode': 'A' \(line 2, line 4\)"):
        load_catalog(path, id_col="kode", text_cols=["nama"])


def test_empty_texts_are_reported_by_id(small_catalog):
    small_catalog.loc[[1, 4], ["nama", "deskripsi"]] = ["  ", np.nan]
    with pytest.raises(CatalogError, match=r"2 rows whose text columns .* empty, ids \['P02', 'P05'\]"):
        load_catalog(small_catalog, id_col="kode", text_cols=["nama", "deskripsi"])


def test_missing_ids_are_reported_by_row(small_catalog):
    small_catalog.loc[3, "kode"] = None
    with pytest.raises(CatalogError, match=r"1 rows without an id in column 'kode': \['row 3'\]"):
        load_catalog(small_catalog, id_col="kode", text_cols=["nama"])


def test_undecodable_file_names_file_and_encoding_fix(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("kode,nama\n1,Caf\xe9 kopi\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"cannot decode '.*latin.csv' as utf-8-sig.*encoding='cp1252'"):
        load_catalog(path, id_col="kode", text_cols=["nama"])
    assert load_catalog(path, id_col="kode", text_cols=["nama"], encoding="cp1252").texts == ["café kopi"]


def test_unknown_suffix_and_missing_file(tmp_path):
    bad = tmp_path / "katalog.docx"
    bad.write_text("x")
    with pytest.raises(InputError, match=r"unsupported file type '.docx'.*\.csv"):
        read_table(bad)
    with pytest.raises(FileNotFoundError, match="file not found"):
        read_table(tmp_path / "nope.csv")


def test_empty_table_and_no_text_columns(small_catalog):
    with pytest.raises(CatalogError, match="has no rows"):
        load_catalog(small_catalog.iloc[:0], id_col="kode", text_cols=["nama"])
    with pytest.raises(CatalogError, match="no text column"):
        load_catalog(small_catalog, id_col="kode", text_cols=[])


def test_numeric_ids_become_text_without_decimal_point():
    df = pd.DataFrame({"id": [1.0, 2.0], "nama": ["a", "b"]})
    assert load_catalog(df, id_col="id", text_cols=["nama"]).ids == ["1", "2"]


def test_input_frame_is_not_modified(small_catalog):
    before = small_catalog.copy()
    load_catalog(small_catalog, id_col="kode", text_cols=["nama"])
    pd.testing.assert_frame_equal(small_catalog, before)
