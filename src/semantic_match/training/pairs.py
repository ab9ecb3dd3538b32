"""Training pairs for adaptation: what a need should find, from labels, self-training or structure.

Every source gives rows ``need, item_id, negative_id, source``: a need text, the
catalogue item it should rank first and, when one is known, a hard negative.

- ``labelled``: pairs the user already judged (:func:`labelled_pairs`);
- ``weak``: unlabelled needs paired with their confident hybrid match, the
  self-training rule of :func:`weak_pairs`;
- ``structure``: a product's name paired with its full text (:func:`name_text_pairs`).

:func:`split_holdout` then sets some pairs aside for the before/after metrics.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.catalog import Catalog, TableSource, combine_texts
from ..io.columns import require_columns
from ..io.tables import read_table
from ..text.normalize import normalize_text

__all__ = ["PAIR_COLUMNS", "weak_pairs", "labelled_pairs", "name_text_pairs", "read_need_texts", "split_holdout"]

#: Columns of every pair table, whatever its source.
PAIR_COLUMNS = ["need", "item_id", "negative_id", "source"]


def weak_pairs(
    catalog: Catalog,
    need_texts: Sequence[str],
    *,
    teacher=None,
    min_confidence: float = 0.5,
    hard_negative_ranks: tuple[int, int] = (5, 30),
    seed: int = 0,
    show_progress: bool | None = None,
) -> pd.DataFrame:
    """Pair unlabelled needs with their confident hybrid match (self-training).

    Rule: a need is kept when the hybrid ranking's rank-1 item has a calibrated
    confidence of at least ``min_confidence``; that item is the positive. A hard
    negative is drawn from ranks ``hard_negative_ranks`` among items whose
    character similarity to the positive is below 0.5 (so near-duplicates of
    the positive, likely also relevant, are not used as negatives).

    Parameters
    ----------
    catalog : Catalog
        The items the needs should find.
    need_texts : sequence of str
        Normalised need texts; empty ones and repeats are dropped.
    teacher : Matcher, optional
        A fitted hybrid matcher over ``catalog``; built with the default encoder if omitted.
    min_confidence : float
        Keep a need whose rank-1 match has at least this calibrated confidence.
    hard_negative_ranks : (int, int)
        First and last rank (1-based, inclusive) to draw a hard negative from.
    seed : int
        Seeds the choice of hard negatives.
    show_progress : bool, optional
        Progress bars while building the teacher.

    Returns
    -------
    DataFrame
        ``need, item_id, negative_id, confidence, source`` (source "weak").

    Raises
    ------
    InputError
        The teacher has no confidence calibration for its encoder.
    """
    from ..retrieval.matcher import Matcher

    m = teacher or Matcher(show_progress=show_progress).fit(catalog)
    if m.calibration_ is None:
        raise InputError(
            "the teacher has no confidence calibration for its encoder; use the default "
            "encoder as teacher or pass labelled pairs"
        )
    needs = list(dict.fromkeys(t for t in need_texts if isinstance(t, str) and t.strip()))
    lo, hi = hard_negative_ranks
    res = m.rank(needs, k=hi)
    rng = np.random.default_rng(seed)
    ids = np.asarray(m.catalog_.ids, dtype=object)
    char_matrix = m.lexical_.item_char_matrix()
    rows = []
    for qi, need in enumerate(needs):
        if not res.confidence[qi, 0] >= min_confidence:
            continue
        pos = res.indices[qi, 0]
        cands = [j for j in res.indices[qi, lo - 1 : hi] if j >= 0]
        neg = None
        if cands:
            sims = char_matrix[cands] @ char_matrix[pos].T
            sims = np.asarray(sims.todense()).ravel()
            far = [c for c, s in zip(cands, sims) if s < 0.5]
            if far:
                neg = ids[far[rng.integers(len(far))]]
        rows.append(
            {
                "need": need,
                "item_id": ids[pos],
                "negative_id": neg,
                "confidence": float(res.confidence[qi, 0]),
                "source": "weak",
            }
        )
    return pd.DataFrame(rows, columns=["need", "item_id", "negative_id", "confidence", "source"])


def labelled_pairs(pairs: TableSource, catalog_ids: Sequence[str]) -> pd.DataFrame:
    """The user's judged pairs (columns ``need``, ``item_id``), checked against the catalogue.

    Parameters
    ----------
    pairs : DataFrame or file
        One row per need and the id of the catalogue item it should find.
    catalog_ids : sequence of str
        The catalogue's ids.

    Returns
    -------
    DataFrame
        :data:`PAIR_COLUMNS`, needs normalised, source "labelled".

    Raises
    ------
    InputError
        A column is missing, or an ``item_id`` is not in the catalogue.
    """
    labelled = pairs.copy() if isinstance(pairs, pd.DataFrame) else read_table(pairs, dtype={"item_id": str})
    require_columns(
        labelled,
        ["need", "item_id"],
        where="the labelled pairs",
        hint="expected columns need (text) and item_id (a catalogue id)",
    )
    labelled["item_id"] = labelled["item_id"].astype(str)
    unknown = sorted(set(labelled["item_id"]) - set(catalog_ids))
    if unknown:
        raise InputError(
            f"labelled pairs name {len(unknown)} item ids not in the catalogue, e.g. "
            f"{unknown[:5]}; fix them or drop those rows"
        )
    labelled["need"] = labelled["need"].map(normalize_text)
    return labelled.assign(negative_id=None, source="labelled")[PAIR_COLUMNS]


def read_need_texts(
    needs: TableSource | Sequence[str], need_text_cols: Sequence[str] | str | None, exclude: set[str]
) -> list[str]:
    """Distinct, non-empty, normalised need texts, without those in ``exclude``.

    Parameters
    ----------
    needs : DataFrame, file or list of str
        Unlabelled needs.
    need_text_cols : str or list of str, optional
        Columns of a needs table joined as the need text; not used for a list.
    exclude : set of str
        Normalised need texts never to train on.

    Raises
    ------
    InputError
        A table without ``need_text_cols``, or one lacking those columns.
    """
    if isinstance(needs, (list, tuple)):
        texts = [normalize_text(t) for t in needs]
    else:
        if need_text_cols is None:
            raise InputError(
                "pass need_text_cols=[...] (--needs-text-col COL) to say which needs columns hold the text"
            )
        frame = needs if isinstance(needs, pd.DataFrame) else read_table(needs)  # type: ignore[arg-type]  # a path here
        cols = [need_text_cols] if isinstance(need_text_cols, str) else list(need_text_cols)
        require_columns(
            frame, cols, where="the needs table", what="text", hint="check need_text_cols (--needs-text-col)"
        )
        texts = combine_texts(frame, cols)
    return [t for t in dict.fromkeys(texts) if t and t not in exclude]


def name_text_pairs(catalog: Catalog, limit: int, rng: np.random.Generator) -> pd.DataFrame:
    """Product name -> its full text, when the catalogue has several text columns.

    Parameters
    ----------
    catalog : Catalog
        Its first text column is taken as the name.
    limit : int
        Most pairs, drawn at random among items with a name.
    rng : numpy.random.Generator
        Draws the items (nothing is drawn with fewer than two text columns).
    """
    if len(catalog.text_cols) < 2:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    first = catalog.items[catalog.text_cols[0]].fillna("").astype(str)
    pos = np.flatnonzero(first.str.strip().to_numpy() != "")
    pos = rng.permutation(pos)[:limit]
    return pd.DataFrame(
        {
            "need": first.to_numpy()[pos],
            "item_id": np.asarray(catalog.ids, dtype=object)[pos],
            "negative_id": None,
            "source": "structure",
        }
    )


def split_holdout(
    all_pairs: pd.DataFrame, holdout: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Set a share of the pairs aside; adds column ``split`` ("train" / "holdout") in place.

    Parameters
    ----------
    all_pairs : DataFrame
        Every pair; gains the ``split`` column.
    holdout : float
        Share of pairs held out (0 for none).
    rng : numpy.random.Generator
        Draws the order; the training pairs keep that shuffled order.

    Returns
    -------
    train, hold : DataFrame
        The training pairs (shuffled) and the held-out pairs (in input order).
    """
    order = rng.permutation(len(all_pairs))
    n_hold = int(round(holdout * len(all_pairs))) if holdout else 0
    split = np.array(["train"] * len(all_pairs), dtype=object)
    split[order[:n_hold]] = "holdout"
    all_pairs["split"] = split
    train = all_pairs.iloc[[i for i in order if split[i] == "train"]].reset_index(drop=True)
    hold = all_pairs[all_pairs["split"] == "holdout"].reset_index(drop=True)
    return train, hold
