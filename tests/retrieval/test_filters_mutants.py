"""Filters: deterministic tests for the mutants that survived mutmut (docs/reliability.md, "Mutation testing").

The property test in test_filters.py finds some of these only by chance (a strict bound equal to a value in
a random frame); each test here fails on a named mutant of ``retrieval/filters.py`` every time.
"""

import math

import numpy as np
import pandas as pd
import pytest

from semantic_match import FilterError
from semantic_match.retrieval.filters import build_mask, parse_filter, parse_filters


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kode": ["A", "B", "C", "D"],
            "harga": [10, 20, 30, None],
            "tkdn": pd.Series([40, 60, 40, None], dtype="Int64"),
            "region": ["Metro", "Pesawaran", "Metro", "Bandar Lampung"],
            "ukuran": ["XL", "L", "M", "XL"],
            "catatan": [None, "tanpa angka", None, None],
        }
    )


def _rows(frame, filters):
    return frame["kode"][build_mask(frame, filters)].tolist()


@pytest.mark.parametrize(
    "text, value, kind",
    [
        ("tkdn>=40", 40, int),
        ("tkdn>=40.0", 40.0, float),  # written with a point: stays a float ("40.0" in a text column)
        ("harga<=1_000", 1000, int),
        ("tkdn>25.5", 25.5, float),
        ("harga<=inf", math.inf, float),  # not an integer; int(inf) would raise
    ],
)
def test_parse_filter_keeps_the_number_as_written(text, value, kind):
    """Kills _coerce mutants 8, 9, 12, 13, 14 (an int where a float was written, and the reverse)."""
    ((col, cond),) = parse_filter(text).items()
    ((op, got),) = cond.items()
    assert got == value and type(got) is kind


def test_an_integer_filter_matches_an_integer_written_as_text(frame):
    """`kode=40` must match the text "40", which it only does while 40 stays an int (mutant _coerce_9)."""
    ids = frame.assign(kode=["40", "41", "40.0", "42"])
    assert build_mask(ids, parse_filter("kode=40")).tolist() == [True, False, False, False]
    assert build_mask(ids, parse_filter("kode=40.0")).tolist() == [False, False, True, False]


def test_a_value_may_start_with_any_letter():
    """Kills parse_filter_13: only a value starting with < > = ! is a syntax error, not one starting with X."""
    assert parse_filter("ukuran=XL") == {"ukuran": {"==": "XL"}}


def test_a_single_equality_filter_from_the_command_line(frame):
    """Kills parse_filters 5-8: `=` becomes a one-value membership that build_mask understands."""
    assert parse_filters(["region=Metro"]) == {"region": {"in": ["Metro"]}}
    assert _rows(frame, parse_filters(["region=Metro"])) == ["A", "C"]


def test_repeated_equality_filters_keep_the_intersection(frame):
    merged = parse_filters(["region=Metro", "region=Pesawaran"])
    assert merged == {"region": {"in": []}}
    assert _rows(frame, merged) == []
    assert _rows(frame, parse_filters(["region=Metro,Pesawaran", "region=Pesawaran"])) == ["B"]


@pytest.mark.parametrize(
    "exprs, expected",
    [
        (["harga<25", "harga<15"], {"harga": {"<": 15}}),
        (["harga<=15", "harga<=25"], {"harga": {"<=": 15}}),
        (["tkdn>30", "tkdn>50"], {"tkdn": {">": 50}}),
        (["tkdn>=50", "tkdn>=30"], {"tkdn": {">=": 50}}),
    ],
)
def test_repeated_bounds_keep_the_stricter_one(frame, exprs, expected):
    """Kills _and 2, 9-14: repeated < and > / >= must combine, not crash or keep the looser bound."""
    assert parse_filters(exprs) == expected
    both = build_mask(frame, parse_filter(exprs[0])) & build_mask(frame, parse_filter(exprs[1]))
    assert build_mask(frame, parse_filters(exprs)).tolist() == both.tolist()


def test_bounds_are_strict_or_inclusive_as_written(frame):
    """Kills build_mask 33, 64, 66: a value equal to the bound is in for <= and >=, out for < and >."""
    assert _rows(frame, {"harga": {"<": 20}}) == ["A"]
    assert _rows(frame, {"harga": {"<=": 20}}) == ["A", "B"]
    assert _rows(frame, {"harga": {">": 20}}) == ["C"]
    assert _rows(frame, {"harga": {">=": 20}}) == ["B", "C"]
    assert _rows(frame, {"tkdn": {">": 40}}) == ["B"]
    assert _rows(frame, {"tkdn": {">=": 60}}) == ["B"]


def test_a_bound_given_as_text_is_a_number(frame):
    """Kills build_mask 47-49: {"<=": "20"} compares numbers; a word is refused with the reason."""
    assert _rows(frame, {"harga": {"<=": "20"}}) == ["A", "B"]
    with pytest.raises(FilterError, match=r"filter harga <= 'dua puluh' needs a number"):
        build_mask(frame, {"harga": {"<=": "dua puluh"}})


def test_a_range_on_a_text_column_with_one_value_is_refused(frame):
    """Kills build_mask_46: the error shows the first value (there is no second)."""
    with pytest.raises(FilterError, match=r"column 'catatan' is not numeric \(e.g. 'tanpa angka'\)"):
        build_mask(frame, {"catatan": {"<": 5}})


def test_membership_with_one_value_not_in_a_list(frame):
    """Kills build_mask 80, 88: {"in": "Metro"} is one value, not the letters M, e, t, r, o."""
    assert _rows(frame, {"region": {"in": "Metro"}}) == ["A", "C"]
    assert _rows(frame, {"region": {"not in": "Metro"}}) == ["B", "D"]
    assert _rows(frame, {"tkdn": {"in": 40}}) == ["A", "C"]


def test_errors_name_what_was_wrong(frame):
    """Kills build_mask 3, 4, 21, 26: the one-line reasons name the type, the column and the columns."""
    with pytest.raises(FilterError, match=r"must be a mapping of column to condition, got list"):
        build_mask(frame, ["harga<=20"])
    with pytest.raises(FilterError, match=r"unknown operator 'about' for column 'harga'"):
        build_mask(frame, {"harga": {"about": 20}})
    with pytest.raises(FilterError) as err:
        build_mask(frame, {"warna": "merah"})
    assert all(repr(c) in str(err.value) for c in frame.columns)  # all six filterable columns listed


def test_masks_are_boolean_arrays(frame):
    mask = build_mask(frame, {"region": ["Metro"], "harga": {"<=": 30}})
    assert mask.dtype == np.bool_ and mask.tolist() == [True, False, True, False]
