"""`semantic-match update`, `compact` and `--exact`: index folders changed from the command line.

Lexical indexes keep these fast; the --exact test reuses vectors of the real default encoder.
"""

import json

import pandas as pd
import pytest

from semantic_match import Matcher
from semantic_match.cli import main
from semantic_match.retrieval.persist import read_info
from tests.support import DATA

CATALOG = DATA / "catalog_lampung.csv"
READ = ["--id-col", "product_id", "--text-col", "name", "--text-col", "description"]


@pytest.fixture(scope="module")
def catalog():
    return pd.read_csv(CATALOG, dtype={"product_id": str})


@pytest.fixture()
def index(tmp_path):
    out = tmp_path / "idx"
    assert main(["index", str(CATALOG), "--out", str(out), *READ, "--mode", "lexical", "--no-progress"]) == 0
    return out


def _search(folder, query, k=5, exact=None):
    return Matcher.load(folder, exact=exact).search(query, k=k)


def test_update_adds_replaces_and_removes_as_a_fresh_build_would(index, catalog, tmp_path, capsys):
    changes = catalog.iloc[[0]].copy()
    changes["name"] = "Mesin Perontok Padi Kapasitas 1 Ton/Jam"
    new = catalog.iloc[[1]].copy()
    new["product_id"] = "P9999"
    new["name"] = "Kopi Luwak Liwa Bubuk 250 g"
    changes = pd.concat([changes, new])
    changes.to_csv(tmp_path / "changes.csv", index=False)
    removed = catalog["product_id"].iloc[[5, 6]].tolist()
    (tmp_path / "gone.txt").write_text("\n".join(removed) + "\n")
    capsys.readouterr()
    assert (
        main(
            [
                "update",
                str(index),
                str(tmp_path / "changes.csv"),
                "--remove",
                str(tmp_path / "gone.txt"),
                "--no-progress",
                "--no-auto-compact",
            ]
        )
        == 0
    )
    assert "1 added, 1 replaced, 2 removed" in capsys.readouterr().out
    # the order an update leaves: the old items less the removed and replaced ones, then the changes
    kept = catalog.iloc[1:]
    final = pd.concat([kept[~kept["product_id"].isin(removed)], changes])
    assert read_info(index)["n_items"] == len(final) == len(catalog) - 1
    fresh = tmp_path / "fresh"
    final.to_csv(tmp_path / "final.csv", index=False)
    assert (
        main(["index", str(tmp_path / "final.csv"), "--out", str(fresh), *READ, "--mode", "lexical", "--no-progress"])
        == 0
    )
    for query in ["perontok padi", "kopi luwak bubuk", "seminar kit tapis"]:
        got, want = _search(index, query), _search(fresh, query)
        pd.testing.assert_frame_equal(
            got.drop(columns=["confidence"]), want.drop(columns=["confidence"]), check_exact=False, atol=1e-6
        )
    assert not set(removed) & set(Matcher.load(index).match(["tapis"], k=300)["item_id"])


def test_remove_ids_from_a_table_and_compact(index, catalog, tmp_path, capsys):
    catalog.iloc[:20][["product_id"]].to_csv(tmp_path / "gone.csv", index=False)
    before = _search(index, "kopi robusta", k=10)
    assert (
        main(["update", str(index), "--remove", str(tmp_path / "gone.csv"), "--no-progress", "--no-auto-compact"]) == 0
    )
    after_update = _search(index, "kopi robusta", k=10)
    assert not set(catalog["product_id"].iloc[:20]) & set(after_update["item_id"])
    assert set(before["item_id"]) - set(catalog["product_id"].iloc[:20]) <= set(after_update["item_id"])
    assert main(["compact", str(index), "--no-progress"]) == 0
    info = read_info(index)
    assert len(info["segments"]) == 1 and info["segments"][0]["deleted"] == 0
    pd.testing.assert_frame_equal(_search(index, "kopi robusta", k=10), after_update)
    assert "1 segment" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["unknown-id", "missing-column", "nothing"])
def test_a_refused_update_leaves_the_index_as_it_was(index, catalog, tmp_path, capsys, bad):
    current = (index / "CURRENT").read_text()
    argv = ["update", str(index), "--no-progress"]
    if bad == "unknown-id":
        (tmp_path / "gone.txt").write_text(f"{catalog['product_id'].iloc[0]}\nP-NOPE\n")
        argv += ["--remove", str(tmp_path / "gone.txt")]
    elif bad == "missing-column":
        catalog.drop(columns=["description"]).head(3).to_csv(tmp_path / "changes.csv", index=False)
        argv.insert(2, str(tmp_path / "changes.csv"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("semantic-match update: error:")
    assert {"unknown-id": "P-NOPE", "missing-column": "description", "nothing": "nothing to do"}[bad] in err
    assert (index / "CURRENT").read_text() == current
    assert read_info(index)["n_items"] == len(catalog)


def test_ignore_missing_skips_unknown_ids(index, catalog, tmp_path):
    (tmp_path / "gone.txt").write_text(f"{catalog['product_id'].iloc[0]}\nP-NOPE\n")
    assert (
        main(["update", str(index), "--remove", str(tmp_path / "gone.txt"), "--ignore-missing", "--no-progress"]) == 0
    )
    assert read_info(index)["n_items"] == len(catalog) - 1


@pytest.mark.slow
def test_exact_flag_gives_the_exhaustive_ranking_of_an_approximate_index(catalog, tmp_path, capsys):
    # The real encoder's vectors in an index whose one segment has an IVF index (a low threshold).
    small = tmp_path / "small.csv"
    catalog.iloc[::3].to_csv(small, index=False)
    needs = tmp_path / "needs.csv"
    pd.read_csv(DATA / "needs_lampung.csv").head(12).to_csv(needs, index=False)
    m = Matcher.from_catalog(small, id_col="product_id", text_cols=["name", "description"], ann_min_rows=100)
    m.save(tmp_path / "ann")
    assert read_info(tmp_path / "ann")["segments"][0]["ann"]
    assert Matcher.load(tmp_path / "ann").uses_candidates
    for exact in (False, True):
        flag = ["--exact"] if exact else []
        capsys.readouterr()
        assert (
            main(["search", str(tmp_path / "ann"), "tas laptop motif tapis", "-k", "5", "--format", "json", *flag]) == 0
        )
        got = pd.DataFrame(json.loads(capsys.readouterr().out))
        want = Matcher.load(tmp_path / "ann", exact=exact).search("tas laptop motif tapis", k=5)
        assert got["item_id"].tolist() == want["item_id"].tolist()
        assert got["score"].round(6).tolist() == want["score"].round(6).tolist()
        out = tmp_path / f"m{exact}.csv"
        assert (
            main(
                [
                    "match",
                    str(tmp_path / "ann"),
                    str(needs),
                    "--text-col",
                    "need",
                    "--id-col",
                    "need_id",
                    "-k",
                    "3",
                    "--out",
                    str(out),
                    "--no-progress",
                    *flag,
                ]
            )
            == 0
        )
        want = Matcher.load(tmp_path / "ann", exact=exact).match(needs, text_cols="need", id_col="need_id", k=3)
        assert pd.read_csv(out, dtype={"item_id": str})["item_id"].tolist() == want["item_id"].tolist()
    # index --exact stores no approximate index: every search is exhaustive
    assert main(["index", str(small), "--out", str(tmp_path / "flat"), *READ, "--exact", "--no-progress"]) == 0
    assert not read_info(tmp_path / "flat")["segments"][0]["ann"]
