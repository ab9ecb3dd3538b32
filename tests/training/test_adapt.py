"""Fine-tuning runs on real (small) models; marked slow."""

import json

import numpy as np
import pandas as pd
import pytest

from semantic_match import EncoderMismatchError, InputError, Matcher, SentenceTransformerEncoder
from semantic_match.io.catalog import load_catalog
from semantic_match.retrieval.persist import read_info
from semantic_match.training.adapt import adapt_encoder, weak_pairs
from tests.training.support import assert_readable_by_others, umask

pytestmark = pytest.mark.slow

PAIRS = pd.DataFrame(
    {
        "need": [
            "alat perontok gabah",
            "thresher padi",
            "mesin rontok padi",
            "kopi giling robusta",
            "bubuk kopi lampung",
            "traktor tangan",
            "hand traktor 2 roda",
            "pompa irigasi sawah",
            "pompa air bensin",
            "map folder tapis",
            "stopmap motif tapis",
            "keripik pisang",
            "oleh-oleh pisang coklat",
            "tas seminar tapis",
            "goodie bag tapis",
            "seminar kit tapis",
        ],
        "item_id": [
            "P03",
            "P03",
            "P03",
            "P04",
            "P04",
            "P08",
            "P08",
            "P06",
            "P06",
            "P05",
            "P05",
            "P07",
            "P07",
            "P02",
            "P02",
            "P01",
        ],
    }
)


@pytest.fixture(scope="module")
def adapted(tmp_path_factory, minilm_path):
    from tests.support import DATA  # noqa: F401  (keeps the import style of other suites)

    small = pd.DataFrame(
        {
            "kode": ["P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08"],
            "nama": [
                "Seminar kit motif tapis Lampung",
                "Tas seminar tapis kulit sintetis",
                "Mesin perontok padi 1 ton/jam",
                "Kopi robusta bubuk 250gr",
                "Map dokumen tapis",
                "Pompa air irigasi 3 inch",
                "Keripik pisang coklat",
                "Hand tractor roda dua",
            ],
        }
    )
    out = tmp_path_factory.mktemp("adapt") / "model"
    # umask 022, the common default: the folder must then be readable by everyone
    with umask(0o022):
        res = adapt_encoder(
            small,
            id_col="kode",
            text_cols=["nama"],
            pairs=PAIRS,
            base=minilm_path,
            out=out,
            epochs=4,
            batch_size=4,
            learning_rate=1e-4,
            holdout=0.25,
            seed=0,
            show_progress=False,
        )
    return small, res


def test_training_lowers_loss_and_changes_embeddings(adapted, minilm_path):
    small, res = adapted
    assert len(res.losses) == 4 * (12 // 4)
    assert np.mean(res.losses[-3:]) < np.mean(res.losses[:3])
    before = SentenceTransformerEncoder(minilm_path, device="cpu").encode_queries(["alat perontok gabah"])
    after = SentenceTransformerEncoder(res.path, device="cpu").encode_queries(["alat perontok gabah"])
    assert float(before[0] @ after[0]) < 0.999


def test_model_card_and_metadata(adapted):
    _, res = adapted
    card = (res.path / "README.md").read_text()
    for needle in [
        "## Base model",
        "## Data",
        "## Settings",
        "## Before / after",
        "training pairs: 12",
        "held-out pairs: 4",
        "seed: 0",
        "labelled",
    ]:
        assert needle in card
    meta = json.loads((res.path / "semantic_match_adapt.json").read_text())
    assert meta["data"]["pairs_by_source"] == {"labelled": 16}
    assert set(meta["metrics"]) == {"before", "after"}
    assert (res.path / "training_pairs.csv").exists()


def test_folder_is_readable_by_others_under_umask_022(adapted):
    _, res = adapted
    # the weights file too, although safetensors creates it private (0600)
    assert_readable_by_others(res.path)


def test_adapted_model_indexes_and_manifest_records_it(adapted, tmp_path):
    small, res = adapted
    m = Matcher.from_catalog(small, id_col="kode", text_cols=["nama"], encoder=str(res.path))
    assert m.search("perontok gabah", k=1)["item_id"].iloc[0] == "P03"
    m.save(tmp_path / "idx")
    manifest = read_info(tmp_path / "idx")  # the commit point (format 2) names the encoder
    assert manifest["encoder"]["model"] == str(res.path.resolve())
    assert manifest["encoder"]["query_prompt"] == ""  # MiniLM base: no e5 prompts
    again = Matcher.load(tmp_path / "idx")
    pd.testing.assert_frame_equal(m.search("kopi", k=3), again.search("kopi", k=3))
    with pytest.raises(EncoderMismatchError, match="was built with encoder"):
        Matcher.load(tmp_path / "idx", encoder="default")


def test_same_seed_same_model(adapted, minilm_path, tmp_path):
    small, res = adapted
    again = adapt_encoder(
        small,
        id_col="kode",
        text_cols=["nama"],
        pairs=PAIRS,
        base=minilm_path,
        out=tmp_path / "again",
        epochs=4,
        batch_size=4,
        learning_rate=1e-4,
        holdout=0.25,
        seed=0,
        show_progress=False,
    )
    np.testing.assert_allclose(again.losses, res.losses, rtol=1e-4)


def test_weak_pairs_keep_confident_matches(small_catalog):
    cat = load_catalog(small_catalog, id_col="kode", text_cols=["nama", "deskripsi"])
    needs = ["mesin perontok padi power thresher", "kopi robusta bubuk lampung", "laptop core i5 ram 8gb"]
    pairs = weak_pairs(cat, needs, min_confidence=0.3)
    assert set(pairs["need"]) <= set(needs) and "laptop core i5 ram 8gb" not in set(pairs["need"])
    assert dict(zip(pairs["need"], pairs["item_id"])).get("mesin perontok padi power thresher") == "P03"
    assert (pairs["confidence"] >= 0.3).all()


def test_bad_inputs(small_catalog, tmp_path, minilm_path):
    with pytest.raises(InputError, match="give unlabelled needs"):
        adapt_encoder(small_catalog, id_col="kode", text_cols=["nama"], out=tmp_path / "m", base=minilm_path)
    bad = PAIRS.assign(item_id="NOPE")
    with pytest.raises(InputError, match="item ids not in the catalogue"):
        adapt_encoder(small_catalog, id_col="kode", text_cols=["nama"], pairs=bad, out=tmp_path / "m", base=minilm_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        adapt_encoder(
            small_catalog, id_col="kode", text_cols=["nama"], pairs=PAIRS, out=tmp_path / "full", base=minilm_path
        )


def test_needs_text_cols_still_works_as_a_deprecated_alias(small_catalog, tmp_path, minilm_path):
    needs = pd.DataFrame(
        {
            "item": [
                "mesin perontok padi",
                "kopi robusta bubuk",
                "pompa air irigasi",
                "traktor roda dua",
                "seminar kit tapis",
                "keripik pisang",
            ],
            "spec": ["power thresher", "lampung barat", "3 inch", "8,5 HP", "tas map", "coklat"],
        }
    )
    kwargs = {
        "id_col": "kode",
        "text_cols": ["nama", "deskripsi"],
        "needs": needs,
        "base": minilm_path,
        "min_confidence": 0.2,
        "epochs": 1,
        "batch_size": 4,
        "holdout": 0,
        "seed": 0,
        "show_progress": False,
    }
    new = adapt_encoder(small_catalog, out=tmp_path / "new", need_text_cols=["item", "spec"], **kwargs)
    with pytest.warns(DeprecationWarning, match="use need_text_cols"):
        old = adapt_encoder(small_catalog, out=tmp_path / "old", needs_text_cols=["item", "spec"], **kwargs)
    assert len(new.pairs) >= 4
    pd.testing.assert_frame_equal(old.pairs, new.pairs)
    np.testing.assert_allclose(old.losses, new.losses, rtol=1e-4)
