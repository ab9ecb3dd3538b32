"""Scale-out on Dask: encoding catalogues and matching needs on a cluster of workers.

Owns the cluster side of indexing and batch matching: getting a client (:mod:`.cluster`), inputs
given as many files and their cutting into partitions (:mod:`.partitions`), running one task per
partition with retries and progress (:mod:`.tasks`), what each worker runs and keeps
(:mod:`.worker`), encoding (:mod:`.encode`), matching (:mod:`.match`) and resumable folder
outputs (:mod:`.outputs`). The index a cluster builds and the matches it returns are those of a
single process; see docs/scale-out.md.

May import the retrieval core, :mod:`semantic_match.io` and :mod:`semantic_match.errors`; never
the events, notebook or training wings. Dask itself is imported only inside the functions that
talk to a cluster, so ``import semantic_match`` (and this package) never loads it.

>>> from semantic_match import Matcher
>>> from semantic_match.distributed import connect, load_catalog_parts
>>> with connect(workers=2) as client:                                         # doctest: +SKIP
...     katalog = load_catalog_parts("katalog/*.parquet", id_col="kode", text_cols=["nama"])
...     m = Matcher().fit(katalog, client=client)
...     m.save("/shared/index")
...     hasil = m.match("rup.csv", text_cols=["item", "spec"], client=client)
"""

from __future__ import annotations

from .cluster import connect, describe, total_threads
from .encode import encode_documents
from .match import match_on_cluster
from .outputs import FolderResult, is_folder_output, match_to_folder, read_match_folder
from .partitions import input_files, load_catalog_parts, table_source

__all__ = [
    "connect",
    "describe",
    "total_threads",
    "encode_documents",
    "match_on_cluster",
    "match_to_folder",
    "read_match_folder",
    "FolderResult",
    "is_folder_output",
    "input_files",
    "load_catalog_parts",
    "table_source",
]
