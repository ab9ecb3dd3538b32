"""Matplotlib charts: returned figures hold the expected artists and counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

from semantic_match import InputError, Matcher  # noqa: E402
from semantic_match.notebook.plots import needs_served, plot_catalog_map, plot_needs_served, plot_score_distribution  # noqa: E402
from tests.support import HashEncoder  # noqa: E402


@pytest.fixture
def matches() -> pd.DataFrame:
    """Three needs × two results, hand-made so the counts can be checked by hand."""
    return pd.DataFrame(
        {
            "need_id": ["A", "A", "B", "B", "C", "C", "D", "D"],
            "rank": [1, 2, 1, 2, 1, 2, 1, 2],
            "confidence": [0.9, 0.8, 0.7, 0.3, 0.2, 0.6, 0.55, 0.1],
            "supplier": [
                "Tapis Sekar",
                "UD Tani",
                "UD Tani",
                "Tapis Sekar",
                "Tapis Sekar",
                "Kopi WK",
                "Tapis Sekar",
                "UD Tani",
            ],
            "category": ["Tapis", "Mesin", "Mesin", "Tapis", "Tapis", "Kopi", "Tapis", "Mesin"],
        }
    )


@pytest.fixture
def matcher(small_catalog):
    return Matcher.from_catalog(
        small_catalog, id_col="kode", text_cols=["nama", "deskripsi"], encoder=HashEncoder(), show_progress=False
    )


def _legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_score_distribution_marks_the_threshold_and_counts(matches):
    fig = plot_score_distribution(matches, min_confidence=0.5)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    line = [ln for ln in ax.lines if ln.get_gid() == "threshold"]
    assert len(line) == 1 and list(line[0].get_xdata()) == [0.5, 0.5]
    # rank-1 confidences 0.9, 0.7, 0.2, 0.55: one below, three at or above.
    texts = _legend_texts(ax)
    assert "below 0.50: 1 needs (no good match)" in texts
    assert "at or above 0.50: 3 needs" in texts
    heights = sum(p.get_height() for p in ax.patches)
    assert heights == 4


def test_score_distribution_without_threshold_or_confidence(matches):
    no_conf = matches.assign(confidence=np.nan)
    ax = plot_score_distribution(no_conf).axes[0]
    assert not [ln for ln in ax.lines if ln.get_gid() == "threshold"]
    assert "without a value" in ax.get_title()
    ax = plot_score_distribution(matches.assign(score=[1.0, 0.5] * 4), column="score").axes[0]
    assert sum(p.get_height() for p in ax.patches) == 4
    with pytest.raises(InputError, match=r"plot_score_distribution\(matches\) is missing column 'need_id'"):
        plot_score_distribution(matches.drop(columns=["need_id"]))


def test_score_distribution_draws_into_given_axes(matches):
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_score_distribution(matches, min_confidence=0.5, ax=ax) is fig


def test_needs_served_counts(matches):
    counts = needs_served(matches, by="supplier", min_confidence=0.5)
    # Tapis Sekar: rank 1 of A and D (C's 0.2 is below); UD Tani: rank 1 of B, also in A.
    assert counts.to_dict("index") == {
        "Tapis Sekar": {"rank1": 2, "top_k_only": 0, "total": 2},
        "UD Tani": {"rank1": 1, "top_k_only": 1, "total": 2},
        "Kopi WK": {"rank1": 0, "top_k_only": 1, "total": 1},
    }
    assert needs_served(matches, by="supplier")["total"].to_dict() == {"Tapis Sekar": 4, "UD Tani": 3, "Kopi WK": 1}


def test_plot_needs_served_bars_equal_hand_counts(matches):
    fig = plot_needs_served(matches, by="supplier", min_confidence=0.5)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Kopi WK", "UD Tani", "Tapis Sekar"]  # best on top
    rank1, lower = ([p.get_width() for p in bars] for bars in ax.containers)
    assert rank1 == [0, 1, 2]
    assert lower == [1, 1, 0]
    assert [t.get_text() for t in ax.texts] == ["1", "2", "2"]
    ax = plot_needs_served(matches, by="category", min_confidence=0.5, top=1).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Tapis"]
    with pytest.raises(InputError, match=r"plot_needs_served\(matches\) is missing column 'wilayah'"):
        plot_needs_served(matches, by="wilayah")
    with pytest.raises(InputError, match="top must be a positive integer"):
        plot_needs_served(matches, top=0)


def _offsets(ax, gid: str) -> np.ndarray:
    parts = [c.get_offsets() for c in ax.collections if c.get_gid() == gid]
    return np.vstack(parts) if parts else np.empty((0, 2))


def test_catalog_map_highlights_k_matches_and_the_need(matcher):
    fig = plot_catalog_map(matcher, need="tas seminar tapis", k=3)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    catalog = _offsets(ax, "catalog")
    hits = _offsets(ax, "matches")
    assert len(catalog) == matcher.n_items
    assert len(hits) == 3
    assert len(_offsets(ax, "need")) == 1
    # The circled points are the items search() ranks first, at their own coordinates.
    from sklearn.decomposition import PCA

    xy = PCA(n_components=2, random_state=0).fit_transform(matcher.item_vectors())
    pos = [matcher.catalog_.ids.index(i) for i in matcher.search("tas seminar tapis", k=3)["item_id"]]
    np.testing.assert_allclose(hits, xy[pos], atol=1e-5)
    assert "PCA" in ax.get_title()
    # No category column in this catalogue: grey points, legend for catalogue, matches and need.
    assert _legend_texts(ax) == ["catalogue", "top 3 for the need", "need"]
    ax = plot_catalog_map(matcher, color_by="supplier").axes[0]
    assert _legend_texts(ax) == ["Kopi WK (1)", "Kripik Bu Ani (1)", "Tapis Jaya (1)", "Tapis Sekar (2)", "UD Tani (3)"]


def test_catalog_map_for_lexical_matcher_and_numeric_colours(small_catalog):
    m = Matcher.from_catalog(small_catalog, id_col="kode", text_cols=["nama", "deskripsi"], mode="lexical")
    fig = plot_catalog_map(m, need="mesin perontok padi", k=2, color_by="harga")
    ax = fig.axes[0]
    assert "SVD" in ax.get_title()
    assert len(_offsets(ax, "matches")) == 2
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "harga (log scale)"  # the colour bar
    fig = plot_catalog_map(m, color_by=None)
    assert len(_offsets(fig.axes[0], "matches")) == 0
    with pytest.raises(InputError, match="the catalogue is missing column 'kategori'.*color_by= names a catalogue"):
        plot_catalog_map(m, color_by="kategori")
    with pytest.raises(InputError, match=r"unknown method 'tsne'; use one of \['pca', 'svd'\]"):
        plot_catalog_map(m, method="tsne")


def test_plots_leave_pyplot_alone(matches, matcher):
    import sys

    figs = [
        plot_score_distribution(matches, min_confidence=0.5),
        plot_needs_served(matches),
        plot_catalog_map(matcher, need="kopi", k=2),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        assert not any(plt.figure(n) in figs for n in plt.get_fignums())
