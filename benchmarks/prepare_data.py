"""Write the real-data inputs of the README's KBKI example and the benchmarks.

    python benchmarks/prepare_data.py [OUT_DIR]      (default build/)

- OUT_DIR/kbki10.csv: the 20,809 ten-digit KBKI goods commodities (kode, judul);
- OUT_DIR/rup_needs.csv: distinct item + specification needs of RUP 2023–2024
  (need_id, tahun, kd_rup, satker, item, spec). RUP 2025 is held out.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import kbki_commodities, rup_needs  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "build")
    out.mkdir(parents=True, exist_ok=True)
    kbki = kbki_commodities()
    kbki.to_csv(out / "kbki10.csv", index=False)
    needs = rup_needs()
    needs.to_csv(out / "rup_needs.csv", index=False)
    print(f"{len(kbki)} commodities -> {out / 'kbki10.csv'}")
    print(f"{len(needs)} distinct RUP 2023-2024 needs -> {out / 'rup_needs.csv'}")


if __name__ == "__main__":
    main()
