"""Real needs files through the command line: `semantic-match match` reads what pandas writes.

Failure 1 of issue 10: a needs file written by ``DataFrame.to_csv`` whose quoted
``spec`` cells hold tabs and line breaks could not be matched from the CLI. The
index here is built with the fast HashEncoder; ``Matcher.load`` is pointed at it
because the CLI would otherwise recreate the encoder named in the manifest.
"""

from __future__ import annotations

import io
import sys

import pandas as pd
import pytest

from semantic_match import Matcher
from semantic_match.cli import main
from tests.support import ROOT, HashEncoder

TABLES = ROOT / "tests" / "fixtures" / "tables"
sys.path.insert(0, str(TABLES))
from make_tables import needs_pandas_tabs  # noqa: E402


@pytest.fixture
def index_dir(small_catalog, tmp_path, monkeypatch):
    folder = tmp_path / "index"
    Matcher.from_catalog(
        small_catalog, id_col="kode", text_cols=["nama", "deskripsi"], encoder=HashEncoder(), show_progress=False
    ).save(folder)
    load = Matcher.load.__func__

    def load_with_hash_encoder(cls, path, *, encoder=None, **kwargs):
        return load(cls, path, encoder=HashEncoder(), **kwargs)

    monkeypatch.setattr(Matcher, "load", classmethod(load_with_hash_encoder))
    return folder


def test_match_reads_a_pandas_needs_file_with_tabs_and_line_breaks(index_dir, tmp_path, capsys):
    out = tmp_path / "hasil.csv"
    code = main(
        [
            "match",
            str(index_dir),
            str(TABLES / "needs_pandas_tabs.csv"),
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
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = pd.read_csv(out)
    assert result["need_id"].nunique() == 40 and len(result) == 80
    assert set(result["buyer"]) == {"Dinas 0", "Dinas 1", "Dinas 2", "Dinas 3"}


def test_match_without_an_id_column_reads_it_too(index_dir, tmp_path, capsys):
    needs = tmp_path / "needs.csv"
    needs_pandas_tabs().drop(columns="need_id").to_csv(needs, index=False)
    code = main(
        ["match", str(index_dir), str(needs), "--text-col", "spec", "-k", "1", "--format", "csv", "--no-progress"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert len(pd.read_csv(io.StringIO(captured.out.split("\n\n")[0]))) >= 40


def test_match_refuses_an_unbalanced_quote_with_its_line(index_dir, tmp_path, capsys):
    needs = tmp_path / "needs.csv"
    needs.write_text(
        'need_id,need,buyer\nN1,Seminar kit tapis,Dinas A\nN2,"Kopi robusta,Dinas B\nN3,Map tapis,Dinas C\n',
        encoding="utf-8",
    )
    code = main(["match", str(index_dir), str(needs), "--id-col", "need_id", "--text-col", "need", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "needs.csv" in err and "line 3" in err and "never closed" in err
