"""The fine-tuning loop of adaptation, and the dense-rank metrics measured before and after it.

torch and sentence-transformers are imported inside the functions: they are
heavy, and nothing else in the package needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.progress import progress_bar
from .prompts import DOCUMENT_PROMPT, QUERY_PROMPT

__all__ = ["model_prompts", "encode_texts", "dense_rank_metrics", "fine_tune"]


def model_prompts(model, base_path: Path) -> tuple[str, str]:
    """Query and document prompts of a sentence-transformers model.

    The model's own ``prompts`` (``query``, ``document`` or ``passage``) win;
    otherwise the e5 prefixes when the folder's name contains "e5", else none.
    """
    prompts: dict[str, str] = dict(getattr(model, "prompts", {}) or {})
    is_e5 = "e5" in base_path.name.lower()
    q_prompt = prompts.get("query", QUERY_PROMPT if is_e5 else "")
    d_prompt = prompts.get("document", prompts.get("passage", DOCUMENT_PROMPT if is_e5 else ""))
    return q_prompt, d_prompt


def encode_texts(model, texts: Sequence[str], prompt: str) -> np.ndarray:
    """Unit-length vectors of ``prompt + text`` for each text, shape (n, dim)."""
    return model.encode(
        [prompt + t for t in texts],
        batch_size=64,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )


def dense_rank_metrics(
    encode_queries: Callable[[list[str]], np.ndarray],
    doc_vectors: np.ndarray,
    needs: list[str],
    positives: np.ndarray,
    k: int = 10,
) -> dict:
    """MRR@k and Recall@k of each need's paired item among all items, by cosine alone.

    Parameters
    ----------
    encode_queries : callable
        Needs -> unit-length vectors comparable with ``doc_vectors``.
    doc_vectors : ndarray of shape (n_items, dim)
        Every catalogue item's vector.
    needs : list of str
        Need texts.
    positives : ndarray of int
        Row in ``doc_vectors`` of each need's paired item.
    k : int
        Cut-off. The result keys say ``@10`` whatever ``k`` is (the model card reads them).

    Returns
    -------
    dict
        ``mrr@10``, ``recall@10`` and ``pairs`` (the number of needs).
    """
    q = encode_queries(needs)
    scores = q @ doc_vectors.T
    target = scores[np.arange(len(needs)), positives][:, None]
    rank = (scores > target).sum(axis=1) + 1
    return {
        "mrr@10": float(np.mean(np.where(rank <= k, 1.0 / rank, 0.0))),
        "recall@10": float(np.mean(rank <= k)),
        "pairs": len(needs),
    }


def fine_tune(
    model,
    train: pd.DataFrame,
    texts: Sequence[str],
    catalog_ids: Sequence[str],
    q_prompt: str,
    d_prompt: str,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    warmup: float,
    freeze_embeddings: bool,
    rng: np.random.Generator,
    show_progress: bool | None,
) -> list[float]:
    """Train ``model`` in place with in-batch and hard negatives; return the loss per step.

    Loss: sentence-transformers' ``MultipleNegativesRankingLoss`` over (need,
    item, negative) triples; optimiser AdamW (weight decay 0.01, gradients
    clipped at 1), learning rate warmed up linearly then decayed linearly to 0.

    Parameters
    ----------
    model : SentenceTransformer
        Trained in place; left in eval mode.
    train : DataFrame
        Pairs with ``need``, ``item_id`` and ``negative_id`` (None: a random item).
    texts, catalog_ids : sequence of str
        The catalogue's item texts and ids, in the same order.
    q_prompt, d_prompt : str
        Prefixes of needs and items.
    epochs, batch_size, learning_rate, warmup
        Optimiser settings; ``warmup`` is a share of all steps.
    freeze_embeddings : bool
        Keep the token embedding table fixed.
    rng : numpy.random.Generator
        Shuffles each epoch and draws random negatives.
    show_progress : bool, optional
        Progress bar (default: when stderr is a terminal).
    """
    import torch

    try:  # sentence-transformers >= 6 moved the losses
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:  # pragma: no cover - older releases
        from sentence_transformers.losses import MultipleNegativesRankingLoss  # type: ignore[no-redef]

    id_pos = {i: p for p, i in enumerate(catalog_ids)}
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
        optim,
        lambda s: (
            min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)) if s >= warm else (s + 1) / warm
        ),
    )
    model.train()
    losses: list[float] = []
    with progress_bar(total, "fine-tuning", show_progress, unit="step") as bar:
        for _ in range(epochs):
            perm = rng.permutation(len(train))
            for step in range(steps_per_epoch):
                batch = train.iloc[perm[step * batch_size : (step + 1) * batch_size]]
                anchors = [q_prompt + t for t in batch["need"]]
                positives = [d_prompt + texts[id_pos[i]] for i in batch["item_id"]]
                negatives = [
                    d_prompt + texts[id_pos[n]]
                    if isinstance(n, str) and n in id_pos
                    else d_prompt + texts[id_pos[rng.choice(catalog_ids)]]
                    for n in batch["negative_id"]
                ]
                # sentence-transformers >= 6 renamed tokenize() to preprocess()
                tokenize = getattr(model, "preprocess", None) or model.tokenize
                features = [tokenize(x) for x in (anchors, positives, negatives)]
                features = [
                    {k: (v.to(model.device) if hasattr(v, "to") else v) for k, v in f.items()} for f in features
                ]
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
    return losses
