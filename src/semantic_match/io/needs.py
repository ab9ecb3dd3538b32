"""Loading a table of needs: like a catalogue, but the id column is optional and lists of text are accepted."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import cast

import pandas as pd

from ..errors import InputError
from ..text.procurement import weight_item
from .catalog import Catalog, TableSource, load_catalog
from .frames import is_missing
from .tables import read_table

__all__ = ["load_needs", "raw_texts"]


def load_needs(
    needs: TableSource | Sequence[str],
    *,
    text_cols: Sequence[str] | str | None,
    id_col: str | None = None,
    keep_cols: Sequence[str] = (),
    sheet: str | int | None = None,
    encoding: str | None = None,
    weight_item_name: bool = True,
) -> Catalog:
    """Validate a table of needs (DataFrame, file, or a plain list of texts).

    Parameters
    ----------
    needs : DataFrame, file path or list of str
        A list of strings becomes needs ``"1"``, ``"2"``, … with text column ``need``.
    text_cols : str or sequence of str
        Column(s) with the need's text (e.g. item and specification).
    id_col : str, optional
        Column with a unique need id; default the row number from 1 (as ``need_id``).
    keep_cols : sequence of str
        Further columns to carry along (e.g. the buyer).
    weight_item_name : bool
        With several text columns, the first is the item name and is said twice in the need's
        text ("item. item. spec", :func:`semantic_match.text.procurement.weight_item`), so that
        a long or boilerplate specification does not outweigh what is bought. Measured on the
        frozen test split of the labelled sets (docs/quality.md, "Ranking levers"); ``False``
        joins the columns once, as before.

    Returns
    -------
    Catalog
        ``meta_cols`` are ``keep_cols``.
    """
    if isinstance(needs, (list, tuple)) and all(isinstance(n, str) for n in needs):
        needs = pd.DataFrame({"need_id": [str(i) for i in range(1, len(needs) + 1)], "need": list(needs)})
        id_col, text_cols = "need_id", "need"
    if text_cols is None:
        raise InputError(
            "pass text_cols=... to say which needs column holds the text (--text-col COL on the command line)"
        )
    source = cast(TableSource, needs)  # a list of texts became a DataFrame above
    if id_col is None:
        frame = source if isinstance(source, pd.DataFrame) else read_table(source, sheet=sheet, encoding=encoding)
        frame = frame.copy()
        if "need_id" in frame.columns:
            raise InputError(
                "the needs table already has a column 'need_id'; pass id_col='need_id' "
                "(--id-col need_id) to use it as the need id, or rename it"
            )
        frame.insert(0, "need_id", [str(i) for i in range(1, len(frame) + 1)])
        source, id_col = frame, "need_id"
    cols = [text_cols] if isinstance(text_cols, str) else list(text_cols)
    table = load_catalog(
        source, id_col=id_col, text_cols=cols, meta_cols=list(keep_cols), sheet=sheet, encoding=encoding, what="needs"
    )
    if weight_item_name and len(cols) > 1:
        texts = [weight_item(item, text) for item, text in zip(table.items[cols[0]].tolist(), table.texts)]
        table = dataclasses.replace(table, texts=texts)
    return table


def raw_texts(table: Catalog) -> list[str]:
    """Each row's text columns as written (white space folded), joined with "; ", for display."""
    cols = [table.items[c].map(lambda v: "" if is_missing(v) else " ".join(str(v).split())) for c in table.text_cols]
    return ["; ".join(p for p in parts if p) for parts in zip(*cols)]
