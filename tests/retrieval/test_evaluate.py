import numpy as np
import pandas as pd
import pytest

from semantic_match import InputError
from semantic_match.retrieval.evaluate import evaluate, load_qrels

QRELS = pd.DataFrame({"need_id": ["a", "a", "a", "b", "b", "c"],
                      "item_id": ["x", "y", "z", "x", "w", "x"],
                      "grade": [2, 1, 0, 1, 0, 0]})


def run(rows):
    return pd.DataFrame(rows, columns=["need_id", "item_id", "rank"])


def test_perfect_and_known_values():
    r = run([("a", "x", 1), ("a", "y", 2), ("b", "q", 1), ("b", "x", 2)])
    res = evaluate(QRELS, r)
    per = res.per_need.set_index("need_id")
    assert per.loc["a", "ndcg@10"] == pytest.approx(1.0)
    # b: relevant x (grade 1, gain 1) at rank 2 -> dcg 1/log2(3); ideal 1
    assert per.loc["b", "ndcg@10"] == pytest.approx(1 / np.log2(3))
    assert per.loc["b", "mrr"] == pytest.approx(0.5)
    assert per.loc["a", "recall@10"] == 1.0 and per.loc["b", "recall@10"] == 1.0
    # c has no relevant item: left out of the means, still listed
    assert np.isnan(per.loc["c", "ndcg@10"]) and per.loc["c", "n_relevant"] == 0
    assert res.summary["needs"] == 3 and res.summary["needs_with_relevant"] == 2
    assert res.summary["ndcg@10"] == pytest.approx((1 + 1 / np.log2(3)) / 2)


def test_unjudged_items_count_as_not_relevant_and_order_by_score():
    r = pd.DataFrame({"need_id": ["a", "a", "a"], "item_id": ["new", "y", "x"], "score": [0.9, 0.5, 0.7]})
    per = evaluate(QRELS, r).per_need.set_index("need_id")
    gains = np.array([0, 3, 1])  # new (unjudged), x (2), y (1)
    ideal = np.array([3, 1, 0])
    disc = 1 / np.log2(np.arange(2, 5))
    assert per.loc["a", "ndcg@10"] == pytest.approx((gains * disc).sum() / (ideal * disc).sum())
    assert per.loc["a", "mrr"] == pytest.approx(0.5)
    assert per.loc["b", "recall@10"] == 0.0  # b not in the run at all


def test_recall_at_50_counts_deep_hits():
    rows = [("a", f"junk{i}", i + 1) for i in range(20)] + [("a", "x", 21)]
    rows += [("a", f"more{i}", i + 22) for i in range(38)] + [("a", "y", 60)]
    per = evaluate(QRELS, run(rows), depth=100).per_need.set_index("need_id")
    assert per.loc["a", "recall@10"] == 0 and per.loc["a", "recall@50"] == 0.5


def test_qrels_validation():
    with pytest.raises(InputError, match=r"missing column\(s\) \['grade'\]"):
        load_qrels(QRELS.drop(columns="grade"))
    bad = QRELS.copy()
    bad.loc[1, "grade"] = 3
    with pytest.raises(InputError, match="not 0, 1 or 2"):
        load_qrels(bad)
    with pytest.raises(InputError, match="twice"):
        load_qrels(pd.concat([QRELS, QRELS.iloc[:1]]))
    with pytest.raises(InputError, match="rank or score"):
        evaluate(QRELS, pd.DataFrame({"need_id": ["a"], "item_id": ["x"]}))


def test_evaluate_a_matcher(small_catalog, hash_encoder):
    from semantic_match import Matcher

    m = Matcher.from_catalog(small_catalog, id_col="kode", text_cols=["nama"], encoder=hash_encoder)
    needs = pd.DataFrame({"nid": ["n1", "n2"], "teks": ["perontok padi", "kopi robusta"]})
    qrels = pd.DataFrame({"need_id": ["n1", "n2"], "item_id": ["P03", "P04"], "grade": [2, 2]})
    res = evaluate(qrels, matcher=m, needs=needs, id_col="nid", text_cols="teks", depth=5)
    assert res.summary["mrr"] == 1.0 and res.summary["ndcg@10"] == 1.0
