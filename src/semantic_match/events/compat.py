"""Old keyword names of the wing's public functions, still accepted with a :class:`DeprecationWarning`.

Version 0.1.0 named one thing differently in different functions: ``must`` /
``dnm`` beside ``must_meet`` / ``do_not_meet``, ``threshold`` beside
``min_confidence``. Every function now uses the second name; the first keeps
working for a while, and the warning says what to write instead.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ..errors import InputError

__all__ = ["renamed_keywords", "warn_renamed"]

F = TypeVar("F", bound=Callable[..., Any])


def warn_renamed(old: str, new: str, *, stacklevel: int = 1) -> None:
    """Warn that ``old`` is deprecated in favour of ``new``.

    ``stacklevel`` counts as for :func:`warnings.warn`, from the caller of this
    function: 1 points at the line calling it, 2 at that function's caller.
    """
    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=stacklevel + 1)


def renamed_keywords(**renames: str) -> Callable[[F], F]:
    """Let a function accept old keyword names: ``@renamed_keywords(must="must_meet")``.

    A call with an old name warns (pointing at the caller's line) and is passed
    on under the new name; giving both names is an :class:`InputError`.

    Examples
    --------
    >>> @renamed_keywords(threshold="min_confidence")
    ... def cut(*, min_confidence):
    ...     return min_confidence
    >>> cut(threshold=0.3)   # doctest: +SKIP
    0.3
    """

    def decorate(func: F) -> F:
        name = func.__qualname__

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise InputError(
                            f"{name}() got both {old}= and {new}=; {old} is the old name of {new}, pass {new} only"
                        )
                    # stacklevel 2 from here: the line that called the public function.
                    warn_renamed(f"{name}({old}=...)", f"{name}({new}=...)", stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return cast(F, wrapper)

    return decorate
