"""Stage 4 of an event, candidates: the buyer × supplier pairs the scheduler may choose from.

Each buyer's ``candidates_per_buyer`` best suppliers by pair score are the
candidates (default in :func:`semantic_match.run_event`: twice the number of
slots, so a buyer with a full agenda still leaves the solver room to balance
suppliers and tables); do-not-meet pairs are dropped, and must-meet and fixed
pairs are always added, with their pair score or 0 when no need links them.
:func:`choose_candidates` takes the pair scores (stage 3) and returns
:class:`Candidates` for the schedule stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .inputs import EventInputs
from .pairs import PairScores

__all__ = ["Candidates", "choose_candidates", "candidate_pairs"]


@dataclass(frozen=True, eq=False)
class Candidates:
    """What the candidates stage hands on.

    Attributes
    ----------
    offered : DataFrame
        ``buyer_id, supplier_id, score``: the pairs offered to the scheduler.
    pair_scores : DataFrame
        Every scored pair (:attr:`PairScores.pairs`) with ``candidate`` (bool) added.
    """

    offered: pd.DataFrame
    pair_scores: pd.DataFrame


def choose_candidates(scores: PairScores, inputs: EventInputs) -> Candidates:
    """The candidates of an event: best suppliers per buyer, the organiser's lists applied."""
    offered = candidate_pairs(
        scores.pairs,
        per_buyer=inputs.candidates_per_buyer,
        must_meet=inputs.must_meet,
        do_not_meet=inputs.do_not_meet,
        fixed=inputs.fixed,
    )
    chosen = set(zip(offered["buyer_id"], offered["supplier_id"]))
    pairs = scores.pairs.copy()
    pairs["candidate"] = [(b, s) in chosen for b, s in zip(pairs["buyer_id"], pairs["supplier_id"])]
    return Candidates(offered=offered, pair_scores=pairs)


def candidate_pairs(
    pairs: pd.DataFrame,
    *,
    per_buyer: int,
    must_meet: Sequence[tuple[str, str]] = (),
    do_not_meet: Sequence[tuple[str, str]] = (),
    fixed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The pairs offered to the scheduler: ``buyer_id, supplier_id, score``.

    Parameters
    ----------
    pairs : DataFrame
        Output of :func:`semantic_match.events.pairs.pair_scores` (with ``rank``).
    per_buyer : int
        Best suppliers kept per buyer.
    must_meet, do_not_meet : list of (buyer_id, supplier_id)
    fixed : DataFrame, optional
        Fixed meetings (``buyer_id, supplier_id, …``).

    Examples
    --------
    >>> pairs = pd.DataFrame({"buyer_id": ["B01", "B01"], "supplier_id": ["S001", "S041"],
    ...                       "score": [0.9, 0.4], "rank": [1, 2]})
    >>> candidate_pairs(pairs, per_buyer=1, must_meet=[("B01", "S900")])
      buyer_id supplier_id  score
    0      B01        S001    0.9
    1      B01        S900    0.0
    """
    banned = set(do_not_meet)
    drop = np.array([(b, s) in banned for b, s in zip(pairs["buyer_id"], pairs["supplier_id"])], dtype=bool)
    keep = pairs[(pairs["rank"] <= per_buyer).to_numpy() & ~drop]
    fixed_pairs = list(zip(fixed["buyer_id"], fixed["supplier_id"])) if fixed is not None else []
    required = list(dict.fromkeys(list(must_meet) + fixed_pairs))
    score_of = dict(zip(zip(pairs["buyer_id"], pairs["supplier_id"]), pairs["score"]))
    have = set(zip(keep["buyer_id"], keep["supplier_id"]))
    extra = [(b, s, float(score_of.get((b, s), 0.0))) for b, s in required if (b, s) not in have]
    return pd.concat(
        [keep[["buyer_id", "supplier_id", "score"]], pd.DataFrame(extra, columns=["buyer_id", "supplier_id", "score"])],
        ignore_index=True,
    )
