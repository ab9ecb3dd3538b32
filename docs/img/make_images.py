"""Regenerate the images of docs/notebooks.md from the sample data.

    .venv/bin/python docs/img/make_images.py            # builds the index with the default encoder
    .venv/bin/python docs/img/make_images.py --index build/demo/index   # or reuses a saved one

Writes, next to this script: result_table.png and explain_match.png (HTML
rendered by headless Chromium: ``apt-get install -y chromium``; skipped with a
message when no Chromium is found), catalog_map.png, score_distribution.png and
needs_served.png (matplotlib).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
QUERY = "seminar kit bernuansa tapis"
EXPLAIN = ("mesin perontokan gabah kapasitas 1 ton/jam", "P0246")


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html: str, out: Path, *, width: int = 1200, height: int = 700) -> None:
    """Render an HTML fragment with headless Chromium, then trim the empty margin."""
    browser = chromium()
    if browser is None:
        print(f"skipped {out.name}: no chromium on PATH (apt-get install -y chromium)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(html, encoding="utf-8")
        shot = Path(tmp) / "shot.png"
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                        f"--user-data-dir={tmp}/profile", f"--screenshot={shot}", f"--window-size={width},{height}",
                        page.as_uri()], check=True, capture_output=True, timeout=120)
        trim(shot, out)
    print(f"wrote {out.relative_to(ROOT)}")


def trim(src: Path, out: Path, margin: int = 12) -> None:
    from PIL import Image, ImageChops

    img = Image.open(src).convert("RGB")
    bbox = ImageChops.difference(img, Image.new("RGB", img.size, "white")).getbbox()
    if bbox:
        left, top, right, bottom = bbox
        img = img.crop((max(left - margin, 0), max(top - margin, 0), min(right + margin, img.width),
                        min(bottom + margin, img.height)))
    img.save(out, optimize=True)


def page(body: str) -> str:
    return ('<!DOCTYPE html><html lang="id"><head><meta charset="utf-8"></head>'
            f'<body style="margin:16px;background:#fff;color:#111827">{body}</body></html>')


def main() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from semantic_match import Matcher
    from semantic_match.notebook import show
    from semantic_match.notebook import explain_match
    from semantic_match.notebook.plots import plot_catalog_map, plot_needs_served, plot_score_distribution

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="a saved index of data/catalog_lampung.csv to reuse")
    args = parser.parse_args()
    clock = time.perf_counter()
    if args.index:
        m = Matcher.load(args.index)
    else:
        m = Matcher.from_catalog(ROOT / "data" / "catalog_lampung.csv", id_col="product_id",
                                 text_cols=["name", "description"], show_progress=False)
    print(f"matcher ready in {time.perf_counter() - clock:.1f} s: {m!r}")

    res = m.search(QUERY, k=5)
    screenshot(page(show(res, query=QUERY, matcher=m).to_html()), HERE / "result_table.png")
    screenshot(page(explain_match(m, *EXPLAIN, alternatives=3)._repr_html_()), HERE / "explain_match.png",
               height=1000)

    fig = plot_catalog_map(m, need=QUERY, k=10)
    fig.savefig(HERE / "catalog_map.png", dpi=110)
    print("wrote docs/img/catalog_map.png")

    needs = pd.read_csv(ROOT / "data" / "needs_lampung.csv")
    matches = m.match(needs, id_col="need_id", text_cols=["need", "spec"], k=3, keep_cols=["buyer"])
    threshold = m.calibration_.threshold if m.calibration_ is not None else None
    plot_score_distribution(matches, min_confidence=threshold).savefig(HERE / "score_distribution.png", dpi=110)
    print("wrote docs/img/score_distribution.png")
    plot_needs_served(matches, by="supplier", min_confidence=threshold, top=15).savefig(HERE / "needs_served.png",
                                                                                   dpi=110)
    print("wrote docs/img/needs_served.png")


if __name__ == "__main__":
    main()
