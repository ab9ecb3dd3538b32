"""Word tokens of normalised text for the BM25 channel, explanations and displays.

Stop words cover Indonesian function words and procurement boilerplate;
stemming (PySastrawi) is optional because it is slow and helps little on
product names (see docs/quality.md).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["tokenize", "STOPWORDS"]

#: Function words and procurement boilerplate that carry no product meaning.
STOPWORDS = frozenset(
    """
ada adalah agar akan antara atas atau bagi bahwa banyak beberapa belanja bentuk berbagai
berupa bisa buah dalam dan dari dengan di dll dsb hal harus ini itu jenis juga ke kami
kegiatan karena keperluan lain lainnya lain-lain lebih macam maupun merk nya oleh pada paket
para pengadaan per sampai satu se sebagai sebuah secara serta setiap sudah tahun tanpa
tentang tersebut untuk yaitu yakni yang the and of for with
""".split()
)

_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")


@lru_cache(maxsize=1)
def _stemmer():
    try:
        from Sastrawi.Stemmer.StemmerFactory import StemmerFactory
    except ImportError as exc:
        raise ImportError("stemming needs PySastrawi: pip install PySastrawi") from exc
    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    if word.isalpha() and len(word) > 3:
        return _stemmer().stem(word)
    return word


def tokenize(text: str, *, stopwords: frozenset[str] = STOPWORDS, stem: bool = False) -> list[str]:
    """Word tokens of normalised text, stop words removed, optionally stemmed.

    >>> tokenize("mesin perontok padi untuk kelompok tani 1 ton/jam")
    ['mesin', 'perontok', 'padi', 'kelompok', 'tani', '1', 'ton', 'jam']
    """
    words = [w for w in _TOKEN.findall(text) if w not in stopwords]
    if stem:
        words = [_stem(w) for w in words]
    return words
