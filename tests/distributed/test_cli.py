"""The command-line forms on a local Dask cluster: index, match to a file or a folder, event."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from semantic_match import Matcher
from semantic_match.cli import main
from semantic_match.distributed import read_match_folder
from tests.distributed.conftest import CATALOG, NEEDS
from tests.support import DATA

MATCH_ARGS = [
    "--id-col",
    "need_id",
    "--text-col",
    "need",
    "--text-col",
    "spec",
    "--keep-col",
    "buyer",
    "-k",
    "5",
    "--no-progress",
]


@pytest.fixture(scope="module")
def lexical_index(tmp_path_factory):
    """The sample catalogue, lexical channels only: the CLI loads it without an encoder, fast."""
    out = tmp_path_factory.mktemp("cli") / "index"
    assert (
        main(
            [
                "index",
                str(CATALOG),
                "--out",
                str(out),
                "--id-col",
                "product_id",
                "--text-col",
                "name",
                "--text-col",
                "description",
                "--mode",
                "lexical",
                "--no-progress",
            ]
        )
        == 0
    )
    return out


def test_match_on_a_cluster_writes_the_single_process_file(client, lexical_index, tmp_path, capsys):
    single, dist = tmp_path / "single.csv", tmp_path / "dist.csv"
    assert main(["match", str(lexical_index), str(NEEDS), *MATCH_ARGS, "--out", str(single)]) == 0
    assert (
        main(
            [
                "match",
                str(lexical_index),
                str(NEEDS),
                *MATCH_ARGS,
                "--out",
                str(dist),
                "--scheduler",
                client.scheduler.address,
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "dask: 2 workers x 1 thread" in captured.err
    assert "matched 82 needs against 335 items" in captured.out
    assert dist.read_bytes() == single.read_bytes()


def test_match_needs_in_parts_to_a_folder_resumes(client, lexical_index, tmp_path, capsys):
    needs = pd.read_csv(NEEDS, dtype=str)
    parts = tmp_path / "needs"
    parts.mkdir()
    for i in range(3):
        needs.iloc[i * 30 : (i + 1) * 30].to_parquet(parts / f"part-{i:05d}.parquet")
    single = tmp_path / "single.parquet"
    assert main(["match", str(lexical_index), str(NEEDS), *MATCH_ARGS, "--out", str(single)]) == 0
    argv = [
        "match",
        str(lexical_index),
        str(parts),
        *MATCH_ARGS,
        "--out",
        f"{tmp_path / 'hasil'}/",
        "--scheduler",
        client.scheduler.address,
    ]
    assert main(argv) == 0
    pd.testing.assert_frame_equal(read_match_folder(tmp_path / "hasil"), pd.read_parquet(single))
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "410 rows" in out and "1 reused from an earlier run" in out and "no good match" in out


def test_event_matching_step_on_a_cluster(client, lexical_index, tmp_path, capsys):
    def run(out, *extra):
        argv = [
            "event",
            str(NEEDS),
            str(lexical_index),
            "--buyer-col",
            "buyer",
            "--need-text-col",
            "need",
            "--need-text-col",
            "spec",
            "--buyers",
            str(DATA / "event_buyers.csv"),
            "--suppliers",
            str(DATA / "event_suppliers.csv"),
            "--slots",
            "09:00-12:00/20",
            "--tables",
            "12",
            "--time-limit",
            "10",
            "--formats",
            "csv",
            "--out",
            str(out),
            "--no-progress",
            *extra,
        ]
        assert main(argv) == 0
        return pd.read_csv(out / "pair_scores.csv", dtype=str)

    single = run(tmp_path / "single")
    dist = run(tmp_path / "dist", "--scheduler", client.scheduler.address)
    pd.testing.assert_frame_equal(dist, single)
    assert "dask: 2 workers" in capsys.readouterr().err


def test_cluster_options_are_checked(lexical_index, capsys):
    with pytest.raises(SystemExit):
        main(["match", str(lexical_index), str(NEEDS), *MATCH_ARGS, "--workers", "2", "--scheduler", "tcp://x:1"])
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["index", str(CATALOG), "--out", "x", "--id-col", "product_id", "--text-col", "name", "--workers", "0"])
    assert main(["match", str(lexical_index), str(NEEDS), *MATCH_ARGS, "--threads-per-worker", "2"]) == 2
    assert "--threads-per-worker applies to a local cluster" in capsys.readouterr().err


@pytest.mark.slow
def test_index_and_match_with_workers_and_the_embedded_encoder(tmp_path, capsys):
    cat = pd.read_csv(CATALOG, dtype=str).head(48)
    parts = tmp_path / "katalog"
    parts.mkdir()
    cat.iloc[:20].to_csv(parts / "a.csv", index=False)
    cat.iloc[20:].to_csv(parts / "b.csv", index=False)
    cat.to_csv(tmp_path / "katalog.csv", index=False)
    cols = ["--id-col", "product_id", "--text-col", "name", "--text-col", "description", "--no-progress"]
    assert main(["index", str(tmp_path / "katalog.csv"), "--out", str(tmp_path / "single"), *cols]) == 0
    assert (
        main(
            ["index", str(parts), "--out", str(tmp_path / "dist"), *cols, "--workers", "2", "--threads-per-worker", "1"]
        )
        == 0
    )
    assert "dask: 2 workers x 1 thread" in capsys.readouterr().err
    single, dist = Matcher.load(tmp_path / "single"), Matcher.load(tmp_path / "dist")
    np.testing.assert_array_equal(dist.item_vectors(), single.item_vectors())
    pd.testing.assert_frame_equal(dist.items, single.items)

    assert main(["match", str(tmp_path / "single"), str(NEEDS), *MATCH_ARGS, "--out", str(tmp_path / "a.csv")]) == 0
    assert (
        main(
            [
                "match",
                str(tmp_path / "single"),
                str(NEEDS),
                *MATCH_ARGS,
                "--out",
                str(tmp_path / "b.csv"),
                "--workers",
                "2",
            ]
        )
        == 0
    )
    assert (tmp_path / "b.csv").read_bytes() == (tmp_path / "a.csv").read_bytes()


def test_match_in_threads_writes_the_rows_of_one_thread(lexical_index, tmp_path, capsys):
    outs = {}
    for threads in ("1", "3"):
        outs[threads] = tmp_path / f"t{threads}.csv"
        args = ["match", str(lexical_index), str(NEEDS), *MATCH_ARGS, "--threads", threads, "--out", str(outs[threads])]
        assert main(args) == 0
    pd.testing.assert_frame_equal(pd.read_csv(outs["3"]), pd.read_csv(outs["1"]))
    folder = tmp_path / "parts/"
    assert main(["match", str(lexical_index), str(NEEDS), *MATCH_ARGS, "--threads", "2", "--out", f"{folder}/"]) == 0
    parts = read_match_folder(folder)
    key = ["need_id", "rank", "item_id", "score"]
    pd.testing.assert_frame_equal(parts[key].reset_index(drop=True), pd.read_csv(outs["1"])[key], check_dtype=False)
    capsys.readouterr()
    assert main(["match", str(lexical_index), str(NEEDS), *MATCH_ARGS, "--threads", "2", "--workers", "2"]) == 2
    assert "--threads applies to matching in one process" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["match", str(lexical_index), str(NEEDS), *MATCH_ARGS, "--threads", "0"])
