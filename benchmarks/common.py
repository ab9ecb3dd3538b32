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
