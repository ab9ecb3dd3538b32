from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from semantic_match import InputError
from semantic_match.retrieval.evaluate import (
    METRICS,
    FrozenSplitError,
    auroc,
    auroc_ci,
    bootstrap_ci,
    check_frozen,
    evaluate,
    frozen_record,
    load_qrels,
    no_match_auroc,
    paired_bootstrap,
)

QRELS = pd.DataFrame(
    {"need_id": ["a", "a", "a", "b", "b", "c"], "item_id": ["x", "y", "z", "x", "w", "x"], "grade": [2, 1, 0, 1, 0, 0]}
)


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


# ---------------------------------------------------------------- bootstrap intervals (issue 13)

ROOT = Path(__file__).resolve().parents[2]


def per_need(values, metric="ndcg@10", prefix="n"):
    return pd.DataFrame({"need_id": [f"{prefix}{i}" for i in range(len(values))], metric: values})


def test_bootstrap_constant_values_give_a_zero_width_interval():
    assert bootstrap_ci(per_need([0.5] * 40), "ndcg@10") == (0.5, 0.5)
    assert bootstrap_ci(np.ones(7)) == (1.0, 1.0)


def test_bootstrap_interval_of_a_known_mean():
    # 50 zeros and 50 ones: mean 0.5, standard error 0.05, so the 95 % interval is about 0.5 +- 0.098.
    values = np.r_[np.zeros(50), np.ones(50)]
    lo, hi = bootstrap_ci(values, n=4000, seed=1)
    assert lo == pytest.approx(0.4, abs=0.02) and hi == pytest.approx(0.6, abs=0.02)
    assert bootstrap_ci(values, n=4000, seed=1) == (lo, hi)  # seeded: reproducible
    narrow = bootstrap_ci(values, n=4000, seed=1, alpha=0.5)
    assert lo < narrow[0] < 0.5 < narrow[1] < hi


def test_bootstrap_leaves_out_needs_without_relevant_items():
    frame = per_need([1.0, 1.0, np.nan, np.nan])
    assert bootstrap_ci(frame, "ndcg@10") == (1.0, 1.0)
    assert all(np.isnan(bootstrap_ci(per_need([np.nan]), "ndcg@10")))
    with pytest.raises(InputError, match="not a column"):
        bootstrap_ci(frame, "map")
    with pytest.raises(InputError, match="positive integer"):
        bootstrap_ci(frame, "ndcg@10", n=0)


def test_paired_bootstrap_known_difference():
    rng = np.random.default_rng(0)
    base = rng.random(60)
    a, b = per_need(base + 0.1), per_need(base)
    res = paired_bootstrap(a, b, "ndcg@10")
    # Every need gains exactly 0.1: the paired interval has no width although the runs vary a lot.
    assert res.diff == pytest.approx(0.1) and res.lo == pytest.approx(0.1) and res.hi == pytest.approx(0.1)
    assert res.needs == 60 and res.p == 0.0
    back = paired_bootstrap(b, a, "ndcg@10")
    assert back.diff == pytest.approx(-0.1)
    # Noise (sd 0.05) on top of the gain: the interval, about +-1.96 * 0.05 / sqrt(60), contains the mean.
    noisy = paired_bootstrap(per_need(base + 0.1 + rng.normal(0, 0.05, 60)), b, "ndcg@10", seed=3)
    assert noisy.lo < noisy.diff < noisy.hi and 0.015 < noisy.hi - noisy.lo < 0.04
    # Needs matched by id, not by position.
    shuffled = a.sample(frac=1, random_state=0)
    assert paired_bootstrap(shuffled, b, "ndcg@10").diff == pytest.approx(0.1)


def test_paired_bootstrap_needs_the_same_needs():
    with pytest.raises(InputError, match="different needs"):
        paired_bootstrap(per_need([1.0, 0.5]), per_need([1.0, 0.5, 0.2]), "ndcg@10")


def test_evaluate_intervals_only_on_request():
    r = run([("a", "x", 1), ("a", "y", 2), ("b", "q", 1), ("b", "x", 2)])
    plain = evaluate(QRELS, r)
    assert plain.intervals == {} and plain.no_match is None
    res = evaluate(QRELS, r, ci=True, n_boot=500)
    assert set(res.intervals) == set(METRICS)
    assert res.summary == plain.summary
    for m, (lo, hi) in res.intervals.items():
        assert lo <= res.summary[m] + 1e-12 and res.summary[m] <= hi + 1e-12
    assert res.intervals["recall@10"] == (1.0, 1.0)  # both needs have every relevant item in the top 10
    assert res.no_match is None  # the run has no confidence column


def test_auroc_known_values():
    assert auroc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]) == 1.0
    assert auroc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]) == 0.0
    assert auroc([0.5, 0.5, 0.5], [1, 0, 1]) == 0.5  # ties count half
    assert auroc([0.9, 0.1, 0.5, 0.4], [1, 1, 0, 0]) == 0.5
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    y = rng.random(200) < 0.4
    s = np.round(rng.random(200) + 0.3 * y, 1)  # with ties
    assert auroc(s, y) == pytest.approx(roc_auc_score(y, s))
    res = auroc_ci(s, y, n=500)
    assert res.lo < res.auroc < res.hi and res.positives == y.sum() and res.negatives == (~y).sum()
    perfect = auroc_ci([0.9, 0.8, 0.7, 0.2, 0.1], [1, 1, 1, 0, 0], n=200)
    assert (perfect.auroc, perfect.lo, perfect.hi) == (1.0, 1.0, 1.0)


def test_no_match_auroc_uses_the_rank1_score_of_judged_needs():
    qrels = pd.DataFrame({"need_id": ["a", "b", "c", "d"], "item_id": ["x", "x", "x", "x"], "grade": [2, 1, 0, 0]})
    r = pd.DataFrame(
        {
            "need_id": ["a", "a", "b", "c", "d", "d", "e"],
            "item_id": ["x", "y", "x", "z", "z", "w", "x"],
            "rank": [2, 1, 1, 1, 2, 1, 1],
            "confidence": [0.1, 0.9, 0.8, 0.3, 0.95, 0.2, 0.99],
        }
    )
    res = no_match_auroc(qrels, r, n=200)
    # rank-1 confidence: a 0.9, b 0.8 (with relevant); c 0.3, d 0.2 (without); e is not judged.
    assert (res.auroc, res.positives, res.negatives) == (1.0, 2, 2)
    ev = evaluate(qrels, r, ci=True, n_boot=200)
    assert ev.no_match.auroc == 1.0 and ev.no_match.positives == 2


# ---------------------------------------------------------------- frozen test split (issue 13)


@pytest.mark.parametrize("set_name", ["kbki", "market"])
def test_frozen_test_split_is_unchanged(set_name):
    """Fails when a test need or a judgment of a test need is edited: see data/eval/FROZEN.md."""
    rec = check_frozen(set_name, ROOT / "data" / "eval")
    needs = pd.read_csv(ROOT / "data" / "eval" / f"{set_name}_needs.csv", dtype=str)
    assert sorted(needs.loc[needs["split"] == "test", "eval_id"]) == rec["need_ids"]


def test_check_frozen_catches_edits(tmp_path):
    import json

    needs = pd.DataFrame(
        {"eval_id": ["K1", "K2", "K3"], "item": ["kertas", "tinta", "map"], "split": ["dev", "test", "test"]}
    )
    qrels = pd.DataFrame(
        {"need_id": ["K1", "K2", "K3", "K3"], "item_id": ["01", "02", "03", "04"], "grade": [1, 2, 0, 1]}
    )

    def save(n, q):
        n.to_csv(tmp_path / "toy_needs.csv", index=False)
        q.to_csv(tmp_path / "toy_qrels.csv", index=False)

    save(needs, qrels)
    rec = frozen_record(
        pd.read_csv(tmp_path / "toy_needs.csv", dtype=str), pd.read_csv(tmp_path / "toy_qrels.csv", dtype=str)
    )
    assert rec["need_ids"] == ["K2", "K3"] and rec["judgments"] == 3 and rec["needs_with_relevant"] == 2
    (tmp_path / "frozen.json").write_text(json.dumps({"sets": {"toy": rec}}))
    assert check_frozen("toy", tmp_path)["needs"] == 2
    # Dev rows may change; row order in the files does not matter.
    save(needs.assign(item=["kertas hvs", "tinta", "map"]).iloc[::-1], pd.concat([qrels, qrels.iloc[:0]]))
    check_frozen("toy", tmp_path)
    save(needs.assign(item=["kertas", "tinta printer", "map"]), qrels)
    with pytest.raises(FrozenSplitError, match="rows changed"):
        check_frozen("toy", tmp_path)
    save(needs, qrels.assign(grade=[1, 1, 0, 1]))
    with pytest.raises(FrozenSplitError, match="judgments changed"):
        check_frozen("toy", tmp_path)
    save(needs.assign(split=["test", "test", "test"]), qrels)
    with pytest.raises(FrozenSplitError, match=r"now in test: \['K1'\]"):
        check_frozen("toy", tmp_path)
    # Leading zeros of item ids are part of the text.
    save(needs, qrels.assign(item_id=["1", "2", "3", "4"]))
    with pytest.raises(FrozenSplitError, match="judgments changed"):
        check_frozen("toy", tmp_path)


def test_tuning_needs_refuses_the_test_split():
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from common import tuning_needs, tuning_qrels
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    dev = tuning_needs("market")
    assert set(dev["split"]) == {"dev"} and len(dev) == 168
    assert set(tuning_qrels("market")["need_id"]) <= set(dev["eval_id"])
    with pytest.raises(FrozenSplitError, match="dev split only"):
        tuning_needs("market", "test")


def test_cli_evaluate_prints_intervals(tmp_path, capsys):
    from semantic_match.cli import main

    cat = pd.DataFrame(
        {
            "kode": ["P1", "P2", "P3", "P4"],
            "nama": ["kertas hvs a4 80 gram", "tinta printer hitam", "map dokumen plastik", "kopi robusta bubuk"],
        }
    )
    needs = pd.DataFrame(
        {
            "nid": ["n1", "n2", "n3"],
            "teks": ["kertas hvs", "tinta printer", "semen portland"],
            "split": ["test", "test", "test"],
        }
    )
    qrels = pd.DataFrame({"need_id": ["n1", "n2", "n3"], "item_id": ["P1", "P2", "P1"], "grade": [2, 2, 0]})
    for name, frame in (("cat", cat), ("needs", needs), ("qrels", qrels)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    assert (
        main(
            [
                "index",
                str(tmp_path / "cat.csv"),
                "--out",
                str(tmp_path / "idx"),
                "--id-col",
                "kode",
                "--text-col",
                "nama",
                "--mode",
                "lexical",
                "--no-progress",
            ]
        )
        == 0
    )
    capsys.readouterr()
    args = [
        "evaluate",
        str(tmp_path / "idx"),
        "--needs",
        str(tmp_path / "needs.csv"),
        "--qrels",
        str(tmp_path / "qrels.csv"),
        "--id-col",
        "nid",
        "--text-col",
        "teks",
        "--split",
        "test",
    ]
    assert main(args) == 0
    assert "95% CI" not in capsys.readouterr().out
    assert main([*args, "--ci"]) == 0
    out = capsys.readouterr().out
    assert "ndcg@10 95% CI" in out and "[1.0000, 1.0000]" in out
