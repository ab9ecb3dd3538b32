"""Which columns of a result frame are the name, description, supplier, region, price, TKDN, ….

Catalogues name these columns in Indonesian or English and in many spellings
(``harga``, ``harga_satuan``, ``price``); the table and the explanations find
them by their usual names so that ``show(results)`` needs no configuration.
:class:`TableLayout` decides, once per table, which column goes where.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..io.columns import require_columns
from ..retrieval.results import RESULT_COLUMNS
from .format import MISSING, display_text, format_percent, format_rupiah, is_missing

if TYPE_CHECKING:
    from ..retrieval.matcher import Matcher

__all__ = ["key_columns", "find_column", "item_columns", "TableLayout", "NAME_COLUMNS", "DESCRIPTION_COLUMNS"]

# Likely names of the columns the table gives a place of their own (lower case, best first).
NAME_COLUMNS = (
    "name",
    "nama",
    "nama_produk",
    "nama_barang",
    "product_name",
    "produk",
    "judul",
    "title",
    "uraian",
    "item_name",
)
DESCRIPTION_COLUMNS = ("description", "deskripsi", "spesifikasi", "spec", "specification", "keterangan", "detail")
_SUPPLIER_COLS = ("supplier", "pemasok", "penyedia", "nama_penyedia", "vendor", "seller", "toko", "ikm", "umkm")
_REGION_COLS = ("region", "wilayah", "daerah", "kabupaten", "kab_kota", "kota", "lokasi", "provinsi")
_PRICE_COLS = ("price", "harga", "harga_satuan", "unit_price")
_TKDN_COLS = ("tkdn", "nilai_tkdn", "tkdn_pct", "tkdn_persen")
_UNIT_COLS = ("unit", "satuan")
_CATEGORY_COLS = ("category", "kategori", "kelompok")


def find_column(columns: Sequence[str], names: Sequence[str]) -> str | None:
    """The first of ``names`` that is a column (compared in lower case), as the column is spelled.

    Examples
    --------
    >>> find_column(["Kode", "Nama"], NAME_COLUMNS)
    'Nama'
    """
    lower = {c.lower(): c for c in columns}
    for name in names:
        if name in lower:
            return lower[name]
    return None


def key_columns(columns: Iterable[str]) -> dict[str, str | None]:
    """Find the supplier, region, category, price, unit and TKDN columns by their usual names.

    Examples
    --------
    >>> key_columns(["kode", "nama", "penyedia", "wilayah", "harga", "satuan", "tkdn"])["price"]
    'harga'
    """
    columns = list(columns)
    return {
        "supplier": find_column(columns, _SUPPLIER_COLS),
        "region": find_column(columns, _REGION_COLS),
        "category": find_column(columns, _CATEGORY_COLS),
        "price": find_column(columns, _PRICE_COLS),
        "unit": find_column(columns, _UNIT_COLS),
        "tkdn": find_column(columns, _TKDN_COLS),
    }


def item_columns(frame: pd.DataFrame) -> list[str]:
    """The item's own columns of a result frame (those after the result columns)."""
    cols = list(frame.columns)
    if "matched_terms" in cols:
        # match() puts keep_cols among the result columns, so the names alone cannot
        # tell them from the item's; everything after matched_terms is the item's.
        return cols[cols.index("matched_terms") + 1 :]
    return [c for c in cols if c not in RESULT_COLUMNS]


class TableLayout:
    """Which columns of a result frame go where in a results table.

    Parameters
    ----------
    frame : DataFrame
        Results of :meth:`Matcher.search` or :meth:`Matcher.match`.
    matcher : Matcher, optional
        Its text columns are the product text when ``text_cols`` is not given.
    columns, text_cols : sequence of str, optional
        As in :func:`semantic_match.notebook.show`.

    Attributes
    ----------
    title : str or None
        The column shown in bold as the product name.
    details : list of str
        Further text columns, shown below the title.
    meta : list of str
        Metadata columns after the product.
    supplier, price, tkdn, unit, category : str or None
        The columns found by their usual names (see :func:`key_columns`).
    stem : bool
        Whether the matcher stems words (its matched terms are then stems).
    grouped : bool
        ``match()`` output, shown with one header row per need.
    need_extra : list of str
        The ``keep_cols`` of ``match()``, shown in each need's header.

    Raises
    ------
    InputError
        ``columns`` or ``text_cols`` names a column the results lack.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        matcher: Matcher | None = None,
        columns: Sequence[str] | None = None,
        text_cols: Sequence[str] | None = None,
    ):
        cols = list(frame.columns)
        items = item_columns(frame)
        if text_cols is None and matcher is not None:
            # Item columns named like a result column come out as item_<name> (see RESULT_COLUMNS).
            renamed = {c: f"item_{c}" if c in RESULT_COLUMNS else c for c in matcher.catalog_.text_cols}
            text_cols = [renamed[c] for c in matcher.catalog_.text_cols if renamed[c] in cols]
        key = key_columns(items)
        if text_cols is None:
            name = find_column(items, NAME_COLUMNS)
            desc = find_column(items, DESCRIPTION_COLUMNS)
            if name is None:
                taken = set(key.values())
                name = next(
                    (
                        c
                        for c in items
                        if c not in taken and (pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object)
                    ),
                    None,
                )
            text_cols = [c for c in (name, desc) if c is not None]
        text_cols = list(text_cols)
        require_columns(
            frame, text_cols, where="the result frame", hint="text_cols= may name only columns of the results"
        )
        self.title = text_cols[0] if text_cols else None
        self.details = text_cols[1:]
        self.supplier, self.price, self.tkdn = key["supplier"], key["price"], key["tkdn"]
        self.unit, self.category = key["unit"], key["category"]
        if columns is None:
            columns = [c for c in (self.supplier, key["region"], self.price, self.tkdn) if c is not None]
        columns = list(columns)
        require_columns(frame, columns, where="the result frame", hint="columns= may name only columns of the results")
        self.meta = [c for c in columns if c not in text_cols]
        self.stem = bool(getattr(getattr(matcher, "lexical_", None), "stem", False))
        self.grouped = "need_id" in cols
        self.need_extra = (
            cols[cols.index("need_text") + 1 : cols.index("rank")]
            if self.grouped and "need_text" in cols and "rank" in cols
            else []
        )

    def cell_text(self, col: str, value: object) -> str:
        """Plain text of a metadata value (rupiah, percent, or as is)."""
        if col == self.price:
            return format_rupiah(value)
        if col == self.tkdn:
            return format_percent(value)
        if is_missing(value):
            return MISSING
        if isinstance(value, (float, np.floating)):
            return f"{value:,.2f}".rstrip("0").rstrip(".")
        return display_text(value)
