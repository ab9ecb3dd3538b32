"""Synthetic national-size catalogues from real titles, and the stand-in encoder of speed runs.

Catalogue: every item is a real title — one of the 20,809 ten-digit KBKI commodity names or the
1,308 Tokopedia product titles in ../shared/data — followed by one to four attribute words
drawn at random (colours, materials, sizes with units, pack sizes, model codes, grades), with
metadata like an e-Katalog listing: supplier (one of n/50 synthetic suppliers), province
(the 38 Indonesian provinces), category (KBKI two-digit group or marketplace category),
price (log-normal, rupiah) and TKDN (0-100 %). Seeded, so a size always gives the same items.

Stand-in encoder (:class:`StandInEncoder`): each word of a text gets a random unit vector seeded
by a hash of the word, and the text's vector is their normalised sum. It costs microseconds, so
speed runs measure the index and not the encoder, and like a real embedding it puts texts that
share words near each other. A vector drawn at random per whole text (``per_word=False``) would
make the dense channel pure noise: no approximate index can find the nearest of a million
random points (IVF recall@10 0.08-0.34 measured here), so such runs measure nothing useful. It
carries no meaning: for speed and memory only, never for quality, and every table says so.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xxhash

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED, kbki_commodities  # noqa: E402
from semantic_match.retrieval.encoders import Encoder  # noqa: E402

PROVINCES = [
    "Aceh",
    "Sumatera Utara",
    "Sumatera Barat",
    "Riau",
    "Jambi",
    "Sumatera Selatan",
    "Bengkulu",
    "Lampung",
    "Kepulauan Bangka Belitung",
    "Kepulauan Riau",
    "DKI Jakarta",
    "Jawa Barat",
    "Jawa Tengah",
    "DI Yogyakarta",
    "Jawa Timur",
    "Banten",
    "Bali",
    "Nusa Tenggara Barat",
    "Nusa Tenggara Timur",
    "Kalimantan Barat",
    "Kalimantan Tengah",
    "Kalimantan Selatan",
    "Kalimantan Timur",
    "Kalimantan Utara",
    "Sulawesi Utara",
    "Sulawesi Tengah",
    "Sulawesi Selatan",
    "Sulawesi Tenggara",
    "Gorontalo",
    "Sulawesi Barat",
    "Maluku",
    "Maluku Utara",
    "Papua",
    "Papua Barat",
    "Papua Selatan",
    "Papua Tengah",
    "Papua Pegunungan",
    "Papua Barat Daya",
]
COLOURS = ["merah", "biru", "hijau", "kuning", "hitam", "putih", "abu-abu", "coklat", "krem", "silver", "emas"]
MATERIALS = [
    "plastik",
    "kayu jati",
    "besi",
    "stainless",
    "aluminium",
    "kain katun",
    "kulit sintetis",
    "rotan",
    "bambu",
    "kaca",
    "keramik",
    "karet",
    "tembaga",
    "anyaman pandan",
]
UNITS = ["cm", "mm", "meter", "kg", "gram", "liter", "ml", "inch", "watt", "volt", "pk", "ton/jam"]
PACKS = ["isi 6", "isi 12", "isi 24", "per rim", "per lusin", "per pak", "per box", "1 set", "per roll"]
GRADES = ["premium", "standar", "ekonomis", "grade a", "original", "lokal", "ber-sni", "tkdn"]


def base_titles() -> tuple[list[str], list[str]]:
    """Real titles and their categories: KBKI commodities then marketplace products."""
    kbki = kbki_commodities()
    market = pd.read_csv(SHARED / "prdect_id_products.csv", dtype=str)
    titles = kbki["judul"].tolist() + market["Product Name"].tolist()
    cats = [f"KBKI {k[:2]}" for k in kbki["kode"]] + market["Category"].tolist()
    return titles, cats


def _attribute(rng: np.random.Generator) -> str:
    kind = rng.integers(6)
    if kind == 0:
        return str(rng.choice(COLOURS))
    if kind == 1:
        return str(rng.choice(MATERIALS))
    if kind == 2:
        return f"{int(rng.integers(1, 500))} {rng.choice(UNITS)}"
    if kind == 3:
        return str(rng.choice(PACKS))
    if kind == 4:
        return str(rng.choice(GRADES))
    letters = "".join(rng.choice(list("ABCDEFGHJKLMNPRSTUVWXYZ"), size=2))
    return f"{letters}-{int(rng.integers(100, 9999))}"


def synthetic_catalog(n: int, *, seed: int = 0) -> pd.DataFrame:
    """``n`` items: ``item_id, name, supplier, region, category, price, tkdn`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    titles, cats = base_titles()
    pick = rng.integers(len(titles), size=n)
    n_attr = rng.integers(1, 5, size=n)
    names = []
    for i in range(n):
        words = [_attribute(rng) for _ in range(n_attr[i])]
        names.append(f"{titles[pick[i]]} {' '.join(words)}")
    n_sup = max(n // 50, 1)
    return pd.DataFrame(
        {
            "item_id": [f"S{i:07d}" for i in range(n)],
            "name": names,
            "supplier": [f"IKM {j:06d}" for j in rng.integers(n_sup, size=n)],
            "region": np.asarray(PROVINCES, dtype=object)[rng.integers(len(PROVINCES), size=n)],
            "category": np.asarray(cats, dtype=object)[pick],
            "price": np.round(np.exp(rng.normal(12.0, 1.6, size=n)), -2),
            "tkdn": np.round(rng.uniform(0, 100, size=n), 1),
        }
    )


class StandInEncoder(Encoder):
    """Sum of per-word random unit vectors seeded by each word's hash: for speed runs only."""

    def __init__(self, dim: int = 384, *, per_word: bool = True):
        self._dim = dim
        self.per_word = per_word
        self.batch_size = 4096
        self._words: dict[str, np.ndarray] = {}
        #: Seconds spent encoding so far: benchmarks subtract them to leave encoding out.
        self.seconds = 0.0

    @property
    def dim(self) -> int:
        return self._dim

    def identity(self) -> dict:
        kind = "words" if self.per_word else "text"
        return {"backend": "stand-in", "model": f"random-{kind}-{self._dim}", "dim": self._dim}

    def _word(self, w: str) -> np.ndarray:
        v = self._words.get(w)
        if v is None:
            v = np.random.default_rng(xxhash.xxh64_intdigest(str(w).encode("utf-8"))).standard_normal(
                self._dim, dtype=np.float32
            )
            if len(self._words) < 2_000_000:
                self._words[w] = v
        return v

    def _encode(self, texts, *, is_query):
        t0 = time.perf_counter()
        try:
            return self._vectors(texts)
        finally:
            self.seconds += time.perf_counter() - t0

    def _vectors(self, texts):
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        for i, t in enumerate(texts):
            if self.per_word:
                words = t.lower().split() or [""]
                out[i] = np.sum([self._word(w) for w in words], axis=0)
            else:
                out[i] = np.random.default_rng(xxhash.xxh64_intdigest(str(t).encode("utf-8"))).standard_normal(
                    self._dim, dtype=np.float32
                )
        return out
