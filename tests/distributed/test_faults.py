"""Faults and restarts: a worker killed in the middle of a job, a folder job run again."""

from __future__ import annotations

import json
import os
import signal

import pandas as pd
import pytest

from semantic_match import InputError, Matcher
from semantic_match.distributed import match_on_cluster, match_to_folder, read_match_folder
from tests.distributed.conftest import MATCH, repeated_needs
from tests.distributed.slow import SlowHashEncoder


@pytest.fixture(scope="module")
def many_needs() -> pd.DataFrame:
    return repeated_needs(7)  # 574 needs: three parts of 256, 256 and 62


@pytest.fixture(scope="module")
def expected(hash_index, many_needs) -> pd.DataFrame:
    """The undisturbed single-process result."""
    return hash_index.match(many_needs, **MATCH)


def _kill_a_busy_worker(client) -> int:
    busy = [addr for addr, keys in client.processing().items() if keys] or list(client.nthreads())
    pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
    os.kill(pid, signal.SIGKILL)
    return pid


@pytest.mark.parametrize("output", ["frame", pytest.param("folder", marks=pytest.mark.slow)])
def test_a_worker_killed_mid_job_loses_and_duplicates_no_need(
    client, hash_index, many_needs, expected, output, tmp_path
):
    # The same index and vectors, but query encoding sleeps: the job is still running when a worker dies.
    slow = Matcher.load(hash_index.folder_, encoder=SlowHashEncoder(delay=0.15), show_progress=False)
    # A worker killed by an earlier test may still be restarting: count both before starting.
    client.wait_for_workers(2, timeout=120)
    before = set(client.run(os.getpid).values())
    killed = []

    def kill_once(done, total):
        if not killed:
            assert done < total
            killed.append(_kill_a_busy_worker(client))

    kw = {**MATCH, "partition_rows": 256, "on_partition": kill_once}
    if output == "frame":
        got = match_on_cluster(client, slow, many_needs, **kw)
    else:
        res = match_to_folder(slow, many_needs, tmp_path / "out", client=client, **kw)
        assert res.computed == [0, 1, 2] and res.rows == len(expected)
        got = read_match_folder(res.folder)
        leftovers = sorted(p.name for p in res.folder.iterdir() if p.name.startswith("."))
        assert leftovers == []  # no half-written part of the killed worker stays behind
        expected_frame = pd.read_parquet(_single_parquet(expected, tmp_path))
        pd.testing.assert_frame_equal(got, expected_frame)
    assert killed and killed[0] in before
    assert got.groupby("need_id", sort=False).size().eq(MATCH["k"]).all()
    assert got["need_id"].drop_duplicates().tolist() == many_needs["need_id"].tolist()
    if output == "frame":
        pd.testing.assert_frame_equal(got, expected)


def _single_parquet(frame: pd.DataFrame, tmp_path) -> str:
    from semantic_match.io.frames import parquet_safe
    from semantic_match.io.output import write_table

    return str(write_table(parquet_safe(frame), tmp_path / "single.parquet"))


def _stamps(folder) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(folder.glob("part-*.parquet"))}


def test_a_job_run_again_computes_only_the_missing_parts(client, hash_index, many_needs, expected, tmp_path):
    from distributed import get_task_stream

    out = tmp_path / "matches"

    def run(**kw):
        with get_task_stream(client) as stream:
            res = match_to_folder(hash_index, many_needs, f"{out}/", client=client, **{**MATCH, **kw})
        return res, sorted(int(t["key"].rsplit("-", 1)[1]) for t in stream.data if "match-part" in str(t["key"]))

    res, executed = run()
    assert executed == res.computed == [0, 1, 2] and res.skipped == []
    first = read_match_folder(out)
    pd.testing.assert_frame_equal(first, pd.read_parquet(_single_parquet(expected, tmp_path)))
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["complete"] and manifest["settings"]["k"] == 5 and manifest["needs"]["rows"] == len(many_needs)
    assert [manifest["parts"][str(i)]["needs"] for i in range(3)] == [[0, 256], [256, 512], [512, 574]]

    # Stopped and started again: one part lost, one corrupted; only those two are computed again.
    stamps = _stamps(out)
    (out / "part-00002.parquet").unlink()
    data = (out / "part-00001.parquet").read_bytes()
    (out / "part-00001.parquet").write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    res, executed = run()
    assert executed == res.computed == [1, 2] and res.skipped == [0]
    assert _stamps(out)["part-00000.parquet"] == stamps["part-00000.parquet"]
    pd.testing.assert_frame_equal(read_match_folder(out), first)

    # A finished job run again computes nothing; other settings reuse nothing.
    assert run()[1] == []
    res, executed = run(k=3)
    assert executed == [0, 1, 2] and res.rows == 3 * len(many_needs)
    assert read_match_folder(out)["rank"].max() == 3


def test_the_folder_job_runs_without_a_cluster_too(hash_index, many_needs, expected, tmp_path):
    res = match_to_folder(hash_index, many_needs, tmp_path / "local", partition_rows=300, **MATCH)
    assert res.computed == [0, 1] and res.rows == len(expected)  # 300 is rounded up to 512 needs per part
    pd.testing.assert_frame_equal(read_match_folder(res.folder), pd.read_parquet(_single_parquet(expected, tmp_path)))


def test_a_folder_that_is_not_a_match_job_is_refused(hash_index, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="holds no _manifest.json"):
        match_to_folder(hash_index, repeated_needs(1), tmp_path, **MATCH)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    with pytest.raises(InputError, match="unfinished|not a match folder"):
        read_match_folder(tmp_path)
