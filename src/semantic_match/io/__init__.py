"""Input and output: reading tables, validating catalogues, writing results and files safely.

Owns the file formats users hand us (CSV/TSV, Excel, Parquet, JSON Lines) and
those we hand back, the :class:`Catalog` every wing works on, atomic writes,
checksums and progress bars. May import :mod:`semantic_match.text` and
:mod:`semantic_match.errors`; never the retrieval core or a wing.
"""

from __future__ import annotations

from .catalog import Catalog, TableSource, combine_texts, load_catalog
from .tables import SUPPORTED_SUFFIXES, read_table

__all__ = ["Catalog", "TableSource", "load_catalog", "combine_texts", "read_table", "SUPPORTED_SUFFIXES"]
