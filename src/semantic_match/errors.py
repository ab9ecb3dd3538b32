"""Exceptions raised by semantic_match.

Errors caused by the caller's input subclass :class:`ValueError`, so code that
already catches ``ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "SemanticMatchError",
    "InputError",
    "CatalogError",
    "FilterError",
    "EncoderError",
    "IndexFormatError",
    "EncoderMismatchError",
    "NotBuiltError",
    "ScheduleError",
]


class SemanticMatchError(Exception):
    """Base class of every error raised on purpose by semantic_match."""


class InputError(SemanticMatchError, ValueError):
    """A table, file, column or argument given by the caller is unusable."""


class CatalogError(InputError):
    """The catalogue (or the table of needs) fails validation."""


class FilterError(InputError):
    """A metadata filter names an unknown column or an impossible condition."""


class EncoderError(InputError):
    """An encoder cannot be created from the given name or path."""


class IndexFormatError(SemanticMatchError, ValueError):
    """A saved index folder is missing, corrupt or of another format version."""


class EncoderMismatchError(IndexFormatError):
    """A saved index was built with another encoder than the one requested."""


class NotBuiltError(SemanticMatchError, RuntimeError):
    """A query method was called before the index was built or loaded."""


class ScheduleError(SemanticMatchError, RuntimeError):
    """The solver stopped without a usable schedule (time limit, numerical trouble)."""


def format_list(values, limit: int = 5) -> str:
    """Render at most ``limit`` values for an error message, then '…'."""
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:limit])
    if len(values) > limit:
        shown += f", … ({len(values) - limit} more)"
    return "[" + shown + "]"
