"""Matplotlib charts of a batch of matches and of the catalogue.

Every function builds a :class:`matplotlib.figure.Figure` directly (no pyplot
state, no backend chosen on import, nothing shown) and returns it: Jupyter
displays it, ``fig.savefig("chart.png")`` writes it. Pass ``ax=`` to draw into
an existing axes instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.columns import require_columns
from ..io.html import ACCENT, ACCENT_LIGHT, GRID, INK, LOW, OK
from ..text import normalize_text
from .columns import key_columns
from .confidence import renamed_min_confidence, resolve_min_confidence
from .figures import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..retrieval.filters import Filters
    from ..retrieval.matcher import Matcher

__all__ = ["plot_score_distribution", "plot_needs_served", "needs_served", "plot_catalog_map"]

logger = logging.getLogger(__name__)

# The need's star on the catalogue map must stand out from every category colour;
# the shared palette has no such colour (yet).
_NEED_STAR = "#facc15"
_MAX_CATEGORIES = 12


def _require(frame: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{what} takes the DataFrame returned by Matcher.match(), got {type(frame).__name__}")
    require_columns(frame, cols, where=f"{what}(matches)", hint="pass the DataFrame returned by Matcher.match()")


def plot_score_distribution(
    matches: pd.DataFrame,
    *,
    min_confidence: float | None = None,
    column: str = "confidence",
    bins: int = 20,
    ax: Axes | None = None,
    threshold: float | None = None,
) -> Figure:
    """Histogram of the rank-1 confidence (or another score) of a batch of needs.

    Parameters
    ----------
    matches : DataFrame
        Output of :meth:`Matcher.match` (columns ``need_id``, ``rank`` and ``column``).
    min_confidence : float, optional
        The no-good-match cut-off on ``column``, drawn as a vertical line;
        bars left of it are red, right of it green and the legend counts the
        needs on each side. Default for ``column="confidence"``: the shipped
        calibration's threshold (pass ``m.calibration_.threshold`` for a
        custom one); for other columns, no line.
    column : str
        The score to plot, e.g. ``"confidence"``, ``"score"``, ``"dense_score"``.
    bins : int
        Number of bins.
    ax : matplotlib Axes, optional
        Draw here instead of a new figure.
    threshold : float, optional
        Deprecated name of ``min_confidence`` (emits a :class:`DeprecationWarning`).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        ``matches`` lacks ``need_id``, ``rank`` or ``column``.

    Examples
    --------
    >>> matches = m.match("data/needs_lampung.csv", id_col="need_id", text_cols=["need", "spec"], k=3)
    >>> fig = plot_score_distribution(matches, min_confidence=m.calibration_.threshold)
    >>> fig.savefig("keyakinan_rank1.png")
    """
    cut = renamed_min_confidence(min_confidence, threshold, where="plot_score_distribution")
    _require(matches, ["need_id", "rank", column], "plot_score_distribution")
    top = matches[matches["rank"] == 1]
    values = pd.to_numeric(top[column], errors="coerce").to_numpy(dtype=np.float64)
    n_missing = int(np.isnan(values).sum())
    values = values[~np.isnan(values)]
    if cut is not None or column == "confidence":
        # Only confidences fall back to the shipped calibration's threshold.
        cut = resolve_min_confidence(cut, confidence=values)
    fig, ax = new_axes(ax, (7, 4))
    if column == "confidence":
        lo, hi = 0.0, 1.0
    elif len(values):
        lo, hi = float(values.min()), float(values.max())
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
    else:
        lo, hi = 0.0, 1.0
    grid = np.linspace(lo, hi, bins + 1)
    if cut is not None and lo < cut < hi:
        # Put an edge on the cut-off so no bar straddles it.
        grid = np.unique(np.r_[grid, cut])
    edges = [float(e) for e in grid]
    if cut is None:
        ax.hist(values, bins=edges, color=ACCENT, edgecolor="white", label=f"{len(values)} needs")
    else:
        below, above = values[values < cut], values[values >= cut]
        # The text colours of the tables' LOW and OK badges, so red/green mean the same there and here.
        ax.hist(
            [below, above],
            bins=edges,
            stacked=True,
            color=[LOW[0], OK[0]],
            edgecolor="white",
            label=[
                f"below {cut:.2f}: {len(below)} needs (no good match)",
                f"at or above {cut:.2f}: {len(above)} needs",
            ],
        )
        ax.axvline(cut, color="black", linestyle="--", linewidth=1.2, label=f"threshold {cut:.2f}", gid="threshold")
    ax.set_xlim(lo, hi)
    ax.set_xlabel(f"rank-1 {column}")
    ax.set_ylabel("needs")
    title = f"Rank-1 {column} of {len(values)} needs"
    if n_missing:
        title += f" ({n_missing} without a value)"
    ax.set_title(title)
    ax.legend(loc="upper left", frameon=False, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def needs_served(
    matches: pd.DataFrame, *, by: str = "supplier", min_confidence: float | None = None, threshold: float | None = None
) -> pd.DataFrame:
    """Count the needs each supplier (or category, …) can serve.

    A need counts for a group when one of the group's items is among the need's
    results with confidence at or above ``min_confidence`` (every result counts
    when it is None or the results have no confidences).

    Parameters
    ----------
    matches : DataFrame
        Output of :meth:`Matcher.match`.
    by : str
        Column to group by.
    min_confidence : float, optional
        The cut-off; no default here (the plot's default is resolved by
        :func:`plot_needs_served`).
    threshold : float, optional
        Deprecated name of ``min_confidence`` (emits a :class:`DeprecationWarning`).

    Returns
    -------
    DataFrame
        Index: the ``by`` values; columns ``rank1`` (needs where the group has
        the rank-1 item), ``top_k_only`` (needs where it appears lower only)
        and ``total``; sorted by ``total``, then ``rank1``, descending.
    """
    cut = renamed_min_confidence(min_confidence, threshold, where="needs_served")
    _require(matches, ["need_id", "rank", by], "needs_served")
    rows = matches
    if cut is not None:
        cut = resolve_min_confidence(cut)
        conf = pd.to_numeric(rows["confidence"], errors="coerce") if "confidence" in rows.columns else None
        if conf is None or conf.isna().all():
            logger.info("results have no confidence; every result counts as served")
        else:
            rows = rows[conf >= cut]
    rows = rows[rows[by].notna()]
    first = rows[rows["rank"] == 1].groupby(by, sort=False)["need_id"].nunique()
    total = rows.groupby(by, sort=False)["need_id"].nunique()
    out = pd.DataFrame({"rank1": first.reindex(total.index, fill_value=0).astype(int), "total": total.astype(int)})
    out["top_k_only"] = out["total"] - out["rank1"]
    out = out[["rank1", "top_k_only", "total"]]
    order = sorted(out.index, key=lambda g: (-int(out.at[g, "total"]), -int(out.at[g, "rank1"]), str(g)))
    out = out.loc[order]
    out.index.name = by
    return out


def plot_needs_served(
    matches: pd.DataFrame,
    *,
    by: str = "supplier",
    min_confidence: float | None = None,
    top: int = 20,
    ax: Axes | None = None,
    threshold: float | None = None,
) -> Figure:
    """Horizontal bars: how many needs each supplier (or category) can serve.

    Each bar has two parts: needs where the group holds the rank-1 product, and
    needs where it appears only lower in the top k. Only results with confidence
    at or above ``min_confidence`` count (see :func:`needs_served`).

    Parameters
    ----------
    matches : DataFrame
        Output of :meth:`Matcher.match`.
    by : str
        Column to group by: ``"supplier"``, ``"category"``, ``"region"``, …
    min_confidence : float, optional
        Default: the shipped calibration's threshold when the results have
        confidences; pass ``0`` to count every result.
    top : int
        Number of bars (the groups serving most needs).
    ax : matplotlib Axes, optional
    threshold : float, optional
        Deprecated name of ``min_confidence`` (emits a :class:`DeprecationWarning`).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        ``matches`` lacks ``need_id``, ``rank`` or ``by``, or ``top`` is not a positive integer.

    Examples
    --------
    >>> fig = plot_needs_served(matches, by="category", min_confidence=m.calibration_.threshold)
    """
    cut = renamed_min_confidence(min_confidence, threshold, where="plot_needs_served")
    _require(matches, ["need_id", "rank", by], "plot_needs_served")
    if not isinstance(top, (int, np.integer)) or isinstance(top, bool) or top < 1:
        raise InputError(f"top must be a positive integer, got {top!r}")
    conf = matches["confidence"] if "confidence" in matches.columns else None
    cut = resolve_min_confidence(cut, confidence=conf)
    counts = needs_served(matches, by=by, min_confidence=cut)
    shown = counts.head(int(top)).iloc[::-1]  # barh draws bottom-up; best on top
    fig, ax = new_axes(ax, (8, max(2.5, 0.32 * len(shown) + 1.3)))
    labels = [str(g) if len(str(g)) <= 34 else str(g)[:33] + "…" for g in shown.index]
    y = np.arange(len(shown))
    ax.barh(y, shown["rank1"], color=ACCENT, label="rank 1", gid="rank1")
    ax.barh(y, shown["top_k_only"], left=shown["rank1"], color=ACCENT_LIGHT, label="in top k only", gid="top_k_only")
    for yi, total in zip(y, shown["total"]):
        ax.text(total + 0.1, float(yi), str(total), va="center", fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("needs served")
    n_needs = matches["need_id"].nunique()
    cond = f"confidence ≥ {cut:.2f}" if cut is not None else "all results"
    ax.set_title(f"Needs served per {by} (top {len(shown)} of {len(counts)}; {n_needs} needs, {cond})", fontsize=10)
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]  # MaxNLocator
    return fig


def _project(
    matcher: Matcher, method: str, need_text: str | None
) -> tuple[np.ndarray, np.ndarray | None, str, np.ndarray]:
    """2-D coordinates of every item and of the need, what was projected, explained variance."""
    vectors = matcher.item_vectors() if method == "pca" else None
    if method == "pca" and vectors is None:
        logger.info("this matcher has no dense vectors (lexical mode); mapping the character TF-IDF with SVD")
        method = "svd"
    if method == "pca":
        from sklearn.decomposition import PCA

        vectors = np.asarray(vectors, dtype=np.float32)
        model = PCA(n_components=2, random_state=0).fit(vectors)
        xy = model.transform(vectors)
        q = model.transform(matcher.encode_queries([need_text])) if need_text is not None else None
        what = "PCA of the dense embeddings"
    else:
        from sklearn.decomposition import TruncatedSVD

        matrix = matcher.lexical_.item_char_matrix()
        model = TruncatedSVD(n_components=2, random_state=0).fit(matrix)
        xy = model.transform(matrix)
        q = model.transform(matcher.lexical_.char_vectors([need_text])) if need_text is not None else None
        what = "SVD of the character n-gram TF-IDF"
    return xy, (q[0] if q is not None else None), what, model.explained_variance_ratio_


def _is_scale(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _color_points(ax: Axes, fig: Figure, xy: np.ndarray, values: pd.Series | None, name: str | None) -> None:
    # Smaller points for big catalogues, or 20,000 commodities become one blot.
    base: dict[str, Any] = {"s": float(np.clip(4000 / max(len(xy), 1), 2, 14)), "alpha": 0.75, "linewidths": 0}
    if values is None:
        ax.scatter(xy[:, 0], xy[:, 1], color=GRID, label="catalogue", gid="catalog", **base)
        return
    if _is_scale(values):
        from matplotlib.colors import LogNorm

        num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        finite = num[np.isfinite(num)]
        # Prices span orders of magnitude (Rp 4.500 to Rp 100 juta): a log scale keeps them apart.
        norm = (
            LogNorm(finite.min(), finite.max())
            if len(finite) and finite.min() > 0 and finite.max() / finite.min() >= 100
            else None
        )
        sc = ax.scatter(xy[:, 0], xy[:, 1], c=num, cmap="viridis", norm=norm, plotnonfinite=True, gid="catalog", **base)
        fig.colorbar(sc, ax=ax, label=f"{name}{' (log scale)' if norm is not None else ''}", shrink=0.8)
        return
    import matplotlib as mpl

    labels = values.astype(object).where(values.notna(), "(none)").astype(str)
    counts = labels.value_counts()
    keep = list(counts.index[: _MAX_CATEGORIES - 1]) if len(counts) > _MAX_CATEGORIES else list(counts.index)
    labels = labels.where(labels.isin(keep), "other")
    palette = mpl.colormaps["tab20"].colors  # type: ignore[attr-defined]  # a ListedColormap
    for i, cat in enumerate(sorted(keep) + (["other"] if (labels == "other").any() else [])):
        sel = (labels == cat).to_numpy()
        color = GRID if cat == "other" else palette[(2 * i) % 20 if i < 10 else (2 * (i - 10) + 1) % 20]
        ax.scatter(xy[sel, 0], xy[sel, 1], color=color, label=f"{cat} ({int(sel.sum())})", gid="catalog", **base)


def plot_catalog_map(
    matcher: Matcher,
    *,
    need: str | None = None,
    k: int = 10,
    method: Literal["pca", "svd"] = "pca",
    color_by: str | None = "category",
    filters: Filters | None = None,
    ax: Axes | None = None,
) -> Figure:
    """2-D map of the catalogue, with a need and its top-k products marked.

    Parameters
    ----------
    matcher : Matcher
        A built matcher.
    need : str, optional
        A free-text need: it is projected onto the map (star) and its top-k
        products are circled and numbered by rank.
    k : int
        Products to mark for the need.
    method : {"pca", "svd"}
        ``"pca"``: principal components of the dense embeddings
        (``matcher.item_vectors()``); ``"svd"``: truncated SVD of the
        character n-gram TF-IDF matrix, which lexical-only matchers always use.
    color_by : str or None
        Catalogue column that colours the points (categories; a numeric column
        such as ``price`` or ``tkdn`` gets a colour scale); ``None`` for grey.
        When the catalogue has no ``category`` column, the default uses one
        named ``kategori`` or ``kelompok``, else no colours.
    filters : mapping, optional
        Passed to :meth:`Matcher.search` for the need's products.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_catalog_map(m, need="seminar kit bernuansa tapis", k=5)
    >>> fig.savefig("peta_katalog.png", dpi=150)
    """
    matcher.check_built()
    items = matcher.items
    if method not in ("pca", "svd"):
        raise InputError(f"unknown method {method!r}; use one of ['pca', 'svd']")
    if color_by == "category" and color_by not in items.columns:
        # The default: fall back to a category column by another usual name, else no colours.
        color_by = key_columns(items.columns)["category"]
    if color_by is not None:
        require_columns(
            items, [color_by], where="the catalogue", hint="color_by= names a catalogue column, or None for grey points"
        )
    need_text = normalize_text(need) if need is not None else None
    if need is not None and not need_text:
        raise InputError("need is empty; give it as text, e.g. 'seminar kit bernuansa tapis'")
    xy, q, what, ratio = _project(matcher, method, need_text)
    fig, ax = new_axes(ax, (9, 6.5))
    _color_points(ax, fig, xy, items[color_by] if color_by is not None else None, color_by)
    title = f"Catalogue map: {what}, {len(items)} items"
    if need is not None and q is not None:  # q is the need's point whenever a need is given
        res = matcher.search(need, k=k, filters=filters)
        ids = pd.Index(items[matcher.id_col].astype(object))
        pos = ids.get_indexer(res["item_id"].astype(object))
        pts = xy[pos]
        for p in pts:
            ax.plot([q[0], p[0]], [q[1], p[1]], color=INK, alpha=0.25, linewidth=0.8, zorder=3)
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            s=90,
            facecolors="none",
            edgecolors=INK,
            linewidths=1.6,
            label=f"top {len(pts)} for the need",
            gid="matches",
            zorder=4,
        )
        for rank, p in zip(res["rank"], pts):
            ax.annotate(str(rank), p, xytext=(4, 4), textcoords="offset points", fontsize=8, weight="bold", zorder=5)
        ax.scatter(
            [q[0]],
            [q[1]],
            marker="*",
            s=320,
            color=_NEED_STAR,
            edgecolors=INK,
            linewidths=1.2,
            label="need",
            gid="need",
            zorder=6,
        )
        short = need if len(need) <= 60 else need[:59] + "…"
        title += f'\nneed: "{short}"'
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(f"component 1 ({ratio[0]:.1%} of variance)")
    ax.set_ylabel(f"component 2 ({ratio[1]:.1%} of variance)")
    if color_by is not None and not _is_scale(items[color_by]):
        ax.legend(
            loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8, title=color_by, title_fontsize=9
        )
    elif need is not None:
        ax.legend(loc="best", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return fig
