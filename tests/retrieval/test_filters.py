import numpy as np
import pytest

from semantic_match import FilterError
from semantic_match.retrieval.filters import build_mask, parse_filter, parse_filters


@pytest.mark.parametrize("text, expected", [
    ("tkdn>=40", {"tkdn": {">=": 40}}),
    ("harga <= 150000", {"harga": {"<=": 150000}}),
    ("tkdn>25.5", {"tkdn": {">": 25.5}}),
    ("region=Metro", {"region": {"==": "Metro"}}),
    ("region=Metro,Pesawaran", {"region": {"in": ["Metro", "Pesawaran"]}}),
    ("region!=Metro,Pesawaran", {"region": {"not in": ["Metro", "Pesawaran"]}}),
    ("supplier==Tapis Sekar", {"supplier": {"==": "Tapis Sekar"}}),
])
def test_parse_filter(text, expected):
    assert parse_filter(text) == expected


@pytest.mark.parametrize("text", ["tkdn", "tkdn>=", ">=40", "tkdn=>40x"])
def test_parse_filter_errors_explain_syntax(text):
    with pytest.raises(FilterError, match="COLUMN OP VALUE"):
        parse_filter(text)


def test_equality_membership_ranges(small_catalog):
    def rows(filters):
        return small_catalog["kode"][build_mask(small_catalog, filters)].tolist()

    assert rows({"region": "Metro"}) == ["P01", "P05"]
    assert rows({"region": "metro "}) == ["P01", "P05"]  # case and spaces forgiven
    assert rows({"region": ["Metro", "Lampung Barat"]}) == ["P01", "P04", "P05"]
    assert rows({"harga": {"<=": 85000}}) == ["P01", "P04", "P05", "P07"]
    assert rows({"tkdn": {">=": 40}, "harga": {"max": 100000}}) == ["P01", "P04", "P05", "P07"]
    assert rows({"tkdn": {"<": 40}}) == ["P03", "P06"]  # NaN (P08) never matches
    assert rows({"supplier": {"!=": "UD Tani"}}) == ["P01", "P02", "P04", "P05", "P07"]
    assert rows({"tkdn": {">=": 25, "<=": 80}}) == ["P01", "P02", "P03", "P05"]
    assert build_mask(small_catalog, None) is None
    assert build_mask(small_catalog, {}) is None


def test_unknown_column_lists_filterable_columns(small_catalog):
    with pytest.raises(FilterError, match=r"unknown column 'provinsi'; filterable columns are \['harga'"):
        build_mask(small_catalog, {"provinsi": "Lampung"}, columns=["harga", "region"])


def test_range_on_text_column_is_refused(small_catalog):
    with pytest.raises(FilterError, match=r"column 'region' is not numeric.*use = or !="):
        build_mask(small_catalog, {"region": {">=": 3}})


def test_unknown_operator(small_catalog):
    with pytest.raises(FilterError, match="unknown operator '~'"):
        build_mask(small_catalog, {"harga": {"~": 3}})


def test_mask_shape_and_dtype(small_catalog):
    mask = build_mask(small_catalog, {"region": "Metro"})
    assert mask.dtype == np.bool_ and mask.shape == (len(small_catalog),)


@pytest.mark.parametrize("exprs", [
    ["harga<=100000", "harga<=500000"],
    ["harga<=500000", "harga<=100000"],
    ["tkdn>=40", "tkdn>50", "harga<30000000"],
    ["region=Metro,Pesawaran", "region=Pesawaran,Bandar Lampung"],
    ["region!=Metro", "region!=Pesawaran"],
])
def test_repeated_filters_on_one_column_all_hold(small_catalog, exprs):
    """Every command-line filter must hold (AND), also several on one column."""
    mask = build_mask(small_catalog, parse_filters(exprs))
    expected = np.ones(len(small_catalog), dtype=bool)
    for expr in exprs:
        expected &= build_mask(small_catalog, parse_filter(expr))
    assert mask.tolist() == expected.tolist()
