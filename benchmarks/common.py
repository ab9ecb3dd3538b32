"""Shared helpers of the benchmarks: the real data in ../shared/data and table printing."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def require_shared() -> Path:
    if not (SHARED / "kbki_2012_barang.csv").exists():
        sys.exit(f"the benchmarks need the shared data in {SHARED}")
    return SHARED


def kbki_commodities() -> pd.DataFrame:
    """The 20,809 ten-digit KBKI goods commodities (kode, judul)."""
    df = pd.read_csv(require_shared() / "kbki_2012_barang.csv", dtype=str)
    return df[df["kode"].str.len() == 10][["kode", "judul"]].reset_index(drop=True)


def eval_catalogs() -> dict[str, tuple[pd.DataFrame, str, list[str]]]:
    """The catalogues of the two evaluation sets: name -> (frame, id column, text columns)."""
    market = pd.read_csv(require_shared() / "prdect_id_products.csv", dtype={"product_id": str})
    return {"kbki": (kbki_commodities(), "kode", ["judul"]), "market": (market, "product_id", ["Product Name"])}


def pair_model(cal):
    """The pair model (confidence only, no re-ranking) that a shipped re-ranking model replaced.

    Session 5's re-ranking models keep the session-4 pair model they replaced under
    ``info["replaced"]``; a model that re-ranks nothing is returned as it is.
    """
    from semantic_match.retrieval.calibration import Calibration

    return Calibration.from_dict(cal.info["replaced"]) if cal.rerank_depth else cal


def rup_needs(years: tuple[str, ...] = ("2023", "2024")) -> pd.DataFrame:
    """Distinct (item, specification) needs of the RUP packages of the given years.

    Budget year 2025 is held out: never pass it here for tuning or training.
    """
    if "2025" in years:
        raise ValueError("RUP 2025 is the held-out year; do not benchmark or tune on it")
    df = pd.read_csv(require_shared() / "rup_kalbar_barang_2023_2025.csv", dtype=str)
    df = df[df["tahun_anggaran"].isin(years)]
    rows = []
    for rec in df.itertuples(index=False):
        items = str(rec.uraian_pekerjaan).split(";")
        specs = str(rec.spesifikasi_pekerjaan).split(";")
        for i, item in enumerate(items):
            item = " ".join(item.split())
            if not item or item.lower() == "nan":
                continue
            spec = " ".join(specs[i].split()) if i < len(specs) else ""
            if spec in ("---", "-") or spec.lower() == "nan" or spec.lower() == item.lower():
                spec = ""
            rows.append((rec.tahun_anggaran, rec.kd_rup, rec.nama_satker, item, spec))
    out = pd.DataFrame(rows, columns=["tahun", "kd_rup", "satker", "item", "spec"])
    out = out.drop_duplicates(["item", "spec"]).reset_index(drop=True)
    out.insert(0, "need_id", [f"R{i:05d}" for i in range(1, len(out) + 1)])
    return out


EVAL_SETS = ("kbki", "market")


def _eval_dir() -> Path:
    return ROOT / "data" / "eval"


def _frozen_test_ids(set_name: str) -> set[str]:
    import json

    path = _eval_dir() / "frozen.json"
    if not path.exists():
        return set()
    return set(json.loads(path.read_text(encoding="utf-8"))["sets"].get(set_name, {}).get("need_ids", []))


def tuning_needs(set_name: str, split: str = "dev") -> pd.DataFrame:
    """The needs of an evaluation set that tuning may read: the 'dev' split only.

    Every tuning, threshold-choosing or calibration script takes its needs from
    here (and its judgments from :func:`tuning_qrels`). Asking for any other
    split raises :class:`FrozenSplitError`: the test split is frozen
    (data/eval/FROZEN.md) and is read only by reports, via :func:`report_set`.
    """
    from semantic_match.retrieval.evaluate import FrozenSplitError

    if set_name not in EVAL_SETS:
        raise ValueError(f"unknown evaluation set {set_name!r}; expected one of {EVAL_SETS}")
    if split != "dev":
        raise FrozenSplitError(
            f"tuning_needs({set_name!r}, split={split!r}): tuning reads the dev split only; "
            f"the test split is frozen (data/eval/FROZEN.md). Use report_set() to report it."
        )
    needs = pd.read_csv(_eval_dir() / f"{set_name}_needs.csv", dtype=str).fillna("")
    dev = needs[needs["split"] == "dev"].reset_index(drop=True)
    leaked = set(dev["eval_id"]) & _frozen_test_ids(set_name)
    if leaked:  # the split column was edited to move frozen test needs into dev
        raise FrozenSplitError(
            f"{set_name}: {len(leaked)} frozen test needs are marked dev "
            f"(e.g. {sorted(leaked)[:3]}); the needs file was edited"
        )
    return dev


def tuning_qrels(set_name: str) -> pd.DataFrame:
    """The judgments of the dev needs of an evaluation set (see :func:`tuning_needs`)."""
    ids = set(tuning_needs(set_name)["eval_id"])
    qrels = pd.read_csv(_eval_dir() / f"{set_name}_qrels.csv", dtype={"need_id": str, "item_id": str})
    return qrels[qrels["need_id"].isin(ids)].reset_index(drop=True)


def report_set(set_name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All needs and judgments of an evaluation set, for reporting dev and test separately.

    Checks the frozen test split first (raises :class:`FrozenSplitError` if it
    was edited). Never choose a setting from what this returns for 'test'.
    """
    from semantic_match.retrieval.evaluate import check_frozen

    check_frozen(set_name, _eval_dir())
    needs = pd.read_csv(_eval_dir() / f"{set_name}_needs.csv", dtype=str).fillna("")
    qrels = pd.read_csv(_eval_dir() / f"{set_name}_qrels.csv", dtype={"need_id": str, "item_id": str})
    return needs, qrels


def judged_pairs(set_name: str, needs: pd.DataFrame, qrels: pd.DataFrame, item_ids, features: dict) -> pd.DataFrame:
    """One row per ranked (need, item) pair with its features and judgment.

    ``item_ids`` and every feature are arrays of shape (n_needs, depth), rows in the order of
    ``needs`` (columns ``eval_id``, ``satker``, ``split``). Adds ``grade`` (unjudged: 0),
    ``relevant`` (grade >= 1) and ``need_has_relevant``.
    """
    import numpy as np

    item_ids = np.asarray(item_ids).astype(str)
    depth = item_ids.shape[1]
    frame = pd.DataFrame(
        {
            "set": set_name,
            **{
                c: np.repeat(needs[col].to_numpy(), depth)
                for c, col in (("need_id", "eval_id"), ("satker", "satker"), ("split", "split"))
            },
            "rank": np.tile(np.arange(1, depth + 1), len(needs)),
            "item_id": item_ids.ravel(),
            **{f: np.asarray(v).ravel() for f, v in features.items()},
        }
    )
    grades = {(n, i): g for n, i, g in zip(qrels["need_id"], qrels["item_id"].astype(str), qrels["grade"])}
    has_rel = set(qrels.loc[qrels["grade"] >= 1, "need_id"])
    frame["grade"] = [grades.get((n, i), 0) for n, i in zip(frame["need_id"], frame["item_id"])]
    frame["relevant"] = (frame["grade"] >= 1).astype(int)
    frame["need_has_relevant"] = frame["need_id"].isin(has_rel).astype(int)
    return frame


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def print_table(rows: list[dict], title: str) -> None:
    frame = pd.DataFrame(rows)
    print(f"\n### {title}\n")
    print(frame.to_markdown(index=False) if _has_tabulate() else frame.to_string(index=False))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


class CachedEncoder:
    """Wrap an encoder and remember its vectors on disk, keyed by text.

    Benchmarks compare many rankings over the same texts; the cache makes the
    dense vectors identical across runs and saves re-encoding 20,809 items.
    The identity is the wrapped encoder's, since the vectors are its own.
    """

    def __new__(cls, inner, path):
        import numpy as np

        from semantic_match.retrieval.encoders import Encoder

        class _Cached(Encoder):
            def __init__(self):
                self.inner = inner
                self.batch_size = inner.batch_size
                self.path = Path(path)
                self.cache = {}
                if self.path.exists():
                    data = np.load(self.path, allow_pickle=False)
                    keys = data["keys"].tolist()
                    self.cache = dict(zip(keys, data["vectors"]))

            @property
            def dim(self):
                return inner.dim

            def identity(self):
                return inner.identity()

            def _encode(self, texts, *, is_query):
                tag = "q:" if is_query else "d:"
                missing = [t for t in dict.fromkeys(texts) if tag + t not in self.cache]
                if missing:
                    vecs = (
                        inner.encode_queries(missing)
                        if is_query
                        else inner.encode_documents(missing, show_progress=False)
                    )
                    for t, v in zip(missing, vecs):
                        self.cache[tag + t] = v
                return np.vstack([self.cache[tag + t] for t in texts])

            def save(self):
                self.path.parent.mkdir(parents=True, exist_ok=True)
                keys = list(self.cache)
                np.savez(self.path, keys=np.array(keys), vectors=np.vstack([self.cache[k] for k in keys]))

        return _Cached()
