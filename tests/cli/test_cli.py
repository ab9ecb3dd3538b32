"""The command-line forms of the README, with the real default encoder."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from semantic_match.cli import main
from tests.support import DATA

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "index"
    code = main(
        [
            "index",
            str(DATA / "catalog_lampung.csv"),
            "--out",
            str(out),
            "--id-col",
            "product_id",
            "--text-col",
            "name",
            "--text-col",
            "description",
            "--no-progress",
        ]
    )
    assert code == 0
    return out


def test_index_writes_a_manifest(index_dir, capsys):
    assert main(["info", str(index_dir)]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["n_items"] == len(pd.read_csv(DATA / "catalog_lampung.csv"))
    assert manifest["catalog"]["text_cols"] == ["name", "description"]
    assert manifest["encoder"]["model"] == "intfloat/multilingual-e5-small"


def test_search_table(index_dir, capsys):
    assert main(["search", str(index_dir), "seminar kit bernuansa tapis", "-k", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0] == "query: seminar kit bernuansa tapis"
    assert lines[1].split()[:3] == ["rank", "item_id", "score"]
    assert len(lines) == 2 + 3
    assert all("Seminar Kit" in line for line in lines[2:])


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_search_csv_and_json(index_dir, capsys, fmt):
    assert (
        main(
            [
                "search",
                str(index_dir),
                "kopi robusta",
                "-k",
                "4",
                "--format",
                fmt,
                "--filter",
                "region=Lampung Barat,Tanggamus",
                "--filter",
                "price<=100000",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    if fmt == "csv":
        from io import StringIO

        rows = pd.read_csv(StringIO(out))
    else:
        rows = pd.DataFrame(json.loads(out))
    assert len(rows) == 4 and rows["rank"].tolist() == [1, 2, 3, 4]
    assert set(rows["region"]) <= {"Lampung Barat", "Tanggamus"} and (rows["price"] <= 100000).all()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_match_writes_file(index_dir, tmp_path, capsys, suffix):
    out = tmp_path / f"hasil{suffix}"
    assert (
        main(
            [
                "match",
                str(index_dir),
                str(DATA / "needs_lampung.csv"),
                "--id-col",
                "need_id",
                "--text-col",
                "need",
                "--text-col",
                "spec",
                "-k",
                "2",
                "--keep-col",
                "buyer",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    assert f"-> {out}" in capsys.readouterr().out
    result = {".csv": pd.read_csv, ".xlsx": pd.read_excel, ".parquet": pd.read_parquet}[suffix](out)
    n_needs = len(pd.read_csv(DATA / "needs_lampung.csv"))
    assert {"need_id", "rank", "item_id", "score", "buyer"} <= set(result.columns)
    assert len(result) == 2 * n_needs and result["rank"].min() == 1
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary files left


def test_errors_are_one_line_with_exit_code_2(index_dir, tmp_path, capsys):
    assert (
        main(
            [
                "match",
                str(index_dir),
                str(DATA / "needs_lampung.csv"),
                "--id-col",
                "need_id",
                "--text-col",
                "uraian",
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "missing text column 'uraian'" in err and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()
    assert main(["search", str(index_dir), "kopi", "--filter", "warna=merah"]) == 2
    assert "unknown column 'warna'" in capsys.readouterr().err
    assert main(["search", str(tmp_path / "nope"), "kopi"]) == 2
    assert "index folder not found" in capsys.readouterr().err
    assert (
        main(["index", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "i"), "--id-col", "a", "--text-col", "b"])
        == 2
    )
    assert "file not found" in capsys.readouterr().err


def test_console_script_runs(index_dir):
    exe = [sys.executable, "-m", "semantic_match.cli"]
    proc = subprocess.run(
        [*exe, "search", str(index_dir), "mesin perontok padi", "-k", "2", "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("rank,item_id,score")
