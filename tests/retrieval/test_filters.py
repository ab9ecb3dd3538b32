import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semantic_match import FilterError
from semantic_match.retrieval.filters import build_mask, parse_filter, parse_filters


@pytest.mark.parametrize(
    "text, expected",
    [
        ("tkdn>=40", {"tkdn": {">=": 40}}),
        ("harga <= 150000", {"harga": {"<=": 150000}}),
        ("tkdn>25.5", {"tkdn": {">": 25.5}}),
        ("region=Metro", {"region": {"==": "Metro"}}),
        ("region=Metro,Pesawaran", {"region": {"in": ["Metro", "Pesawaran"]}}),
        ("region!=Metro,Pesawaran", {"region": {"not in": ["Metro", "Pesawaran"]}}),
        ("supplier==Tapis Sekar", {"supplier": {"==": "Tapis Sekar"}}),
    ],
)
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


@pytest.mark.parametrize(
    "exprs",
    [
        ["harga<=100000", "harga<=500000"],
        ["harga<=500000", "harga<=100000"],
        ["tkdn>=40", "tkdn>50", "harga<30000000"],
        ["region=Metro,Pesawaran", "region=Pesawaran,Bandar Lampung"],
        ["region!=Metro", "region!=Pesawaran"],
    ],
)
def test_repeated_filters_on_one_column_all_hold(small_catalog, exprs):
    """Every command-line filter must hold (AND), also several on one column."""
    mask = build_mask(small_catalog, parse_filters(exprs))
    expected = np.ones(len(small_catalog), dtype=bool)
    for expr in exprs:
        expected &= build_mask(small_catalog, parse_filter(expr))
    assert mask.tolist() == expected.tolist()


# --------------------------------------------------------------------------- missing values


def test_missing_values_never_pass_a_negative_condition(small_catalog):
    """P08 has no tkdn: `tkdn != 80` says nothing about it, so it is left out (as `tkdn < 40` leaves it out)."""

    def rows(filters):
        return small_catalog["kode"][build_mask(small_catalog, filters)].tolist()

    assert rows({"tkdn": {"!=": 80}}) == ["P02", "P03", "P04", "P05", "P06", "P07"]
    assert rows({"tkdn": {"not in": [80, 90]}}) == ["P02", "P03", "P05", "P06", "P07"]
    with_gaps = small_catalog.assign(region=small_catalog["region"].where(small_catalog["kode"] != "P01", None))
    assert "P01" not in with_gaps["kode"][build_mask(with_gaps, {"region": {"!=": "Pesawaran"}})].tolist()
    assert "P01" not in with_gaps["kode"][build_mask(with_gaps, parse_filters(["region!=Pesawaran"]))].tolist()


# --------------------------------------------------------------------------- build_mask equals pandas

_NUMBERS = [-1.5, 0, 0.5, 2, 40, 78.5, 80]
_TEXTS = ["Metro", "metro ", " METRO", "Pesawaran", "Bandar Lampung", "40", ""]
_RANGE = ("<", "<=", ">", ">=")


@st.composite
def _frames_and_filters(draw):
    n = draw(st.integers(0, 12))
    price = draw(st.lists(st.sampled_from([*_NUMBERS, None, np.nan]), min_size=n, max_size=n))
    tkdn = draw(st.lists(st.sampled_from([0, 40, 80, None]), min_size=n, max_size=n))
    region = draw(st.lists(st.sampled_from([*_TEXTS, None, np.nan]), min_size=n, max_size=n))
    frame = pd.DataFrame(
        {
            "price": pd.Series(price, dtype="float64"),
            "tkdn": pd.Series(tkdn, dtype="Int64"),
            "region": pd.Series(region, dtype=object),
        }
    )
    filters = {}
    for col in draw(st.lists(st.sampled_from(["price", "tkdn", "region"]), min_size=1, max_size=3, unique=True)):
        pool = _NUMBERS if col != "region" else [*_TEXTS, 40]
        ops = [*_RANGE, "==", "!=", "in", "not in"] if col != "region" else ["==", "!=", "in", "not in"]
        form = draw(st.sampled_from(["ops", "value", "list"]))
        if form == "value":
            filters[col] = draw(st.sampled_from(pool))
        elif form == "list":
            filters[col] = draw(st.lists(st.sampled_from(pool), max_size=3))
        else:
            cond = {}
            for op in draw(st.lists(st.sampled_from(ops), min_size=1, max_size=3, unique=True)):
                if op in _RANGE:
                    cond[op] = draw(st.sampled_from(_NUMBERS))
                elif op in ("in", "not in"):
                    cond[op] = draw(st.lists(st.sampled_from(pool), max_size=3))
                else:
                    cond[op] = draw(st.sampled_from(pool))
            filters[col] = cond
    return frame, filters


def _pandas_condition(frame: pd.DataFrame, filters: dict) -> np.ndarray:
    """The documented semantics, written directly in pandas: AND of every condition, missing never passes,
    equality of text ignoring case and surrounding spaces."""
    keep = pd.Series(True, index=frame.index)
    for col, cond in filters.items():
        s = frame[col]
        if isinstance(cond, dict):
            conds = list(cond.items())
        elif isinstance(cond, list):
            conds = [("in", cond)]
        else:
            conds = [("==", cond)]
        for op, value in conds:
            if op in _RANGE:
                num = s.astype("Float64")
                hit = {"<": num < value, "<=": num <= value, ">": num > value, ">=": num >= value}[op]
            else:
                values = value if op in ("in", "not in") else [value]
                if col == "region":
                    hit = s.str.strip().str.casefold().isin({str(v).strip().casefold() for v in values})
                else:
                    hit = s.astype("Float64").isin([float(v) for v in values])
                if op in ("!=", "not in"):
                    hit = ~hit.fillna(False).astype(bool)
            keep &= hit.fillna(False).astype(bool) & s.notna()
    return keep.to_numpy(dtype=bool)


@settings(max_examples=300, deadline=None)
@given(_frames_and_filters())
def test_build_mask_equals_the_same_condition_in_pandas(case):
    frame, filters = case
    mask = build_mask(frame, filters)
    assert mask.dtype == np.bool_ and mask.shape == (len(frame),)
    assert mask.tolist() == _pandas_condition(frame, filters).tolist(), filters
    for col in filters:
        assert not mask[frame[col].isna().to_numpy()].any()  # missing never passes


@pytest.mark.parametrize(
    "exprs, want",
    [
        (["region=Metro", "region=metro"], {"Metro"}),  # each alone matches "Metro": so must both
        (["region=Metro,Pesawaran", "region= pesawaran "], {"Pesawaran"}),
        (["region=Metro", "region=Pesawaran"], set()),
    ],
)
def test_repeated_equality_filters_are_the_and_of_each(exprs, want):
    frame = pd.DataFrame({"region": ["Metro", "Pesawaran", "Tanggamus"]})
    alone = [set(frame["region"][build_mask(frame, parse_filters([e]))]) for e in exprs]
    both = set(frame["region"][build_mask(frame, parse_filters(exprs))])
    assert both == set.intersection(*alone) == want
