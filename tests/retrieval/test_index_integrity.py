"""Index folders are read exactly as verified, from one commit, and survive crashes and tampering.

Each test here fails on the 0.1.0 folder code (flat files replaced by renaming the folder,
checksums verified and then each file reopened by path).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from semantic_match import IndexFormatError, Matcher
from semantic_match.retrieval import persist
from semantic_match.retrieval.storage.reader import CURRENT, commit_checksum
from tests.support import ROOT, HashEncoder


def _build(catalog: pd.DataFrame, **kw) -> Matcher:
    return Matcher.from_catalog(catalog, id_col="kode", text_cols=["nama", "deskripsi"], encoder=HashEncoder(),
                                show_progress=False, **kw)


@pytest.fixture
def matcher(small_catalog):
    return _build(small_catalog)


def _commit(folder: Path) -> dict:
    return json.loads((folder / (folder / CURRENT).read_text().strip()).read_text())


def _files(folder: Path) -> list[str]:
    return sorted(_commit(folder)["files"])


def _load(folder):
    return Matcher.load(folder, encoder=HashEncoder())


# ------------------------------------------------------------------ tampering: every file, every way
@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "directory", "symlink_dev_zero", "symlink_other",
                                    "fifo", "missing", "swap"])
def test_every_damaged_file_is_refused_with_one_line(matcher, tmp_path, damage):
    folder = matcher.save(tmp_path / "idx")
    for rel in _files(folder):
        work = tmp_path / f"w-{rel.replace('/', '_')}"
        shutil.copytree(folder, work, symlinks=True)
        path = work / rel
        if damage == "truncate":
            path.write_bytes(path.read_bytes()[:-1])
        elif damage == "flip":
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0x40
            path.write_bytes(bytes(data))
        elif damage == "empty":
            path.write_bytes(b"")
        elif damage == "directory":
            path.unlink()
            path.mkdir()
        elif damage == "symlink_dev_zero":
            path.unlink()
            path.symlink_to("/dev/zero")
        elif damage == "symlink_other":
            other = tmp_path / "elsewhere"
            other.write_bytes(path.read_bytes())
            path.unlink()
            path.symlink_to(other)
        elif damage == "fifo":
            path.unlink()
            os.mkfifo(path)
        elif damage == "missing":
            path.unlink()
        elif damage == "swap":
            partner = next(r for r in _files(folder) if r != rel and r.endswith(".npy"))
            data = path.read_bytes()
            path.write_bytes((work / partner).read_bytes())
            (work / partner).write_bytes(data)
        start = time.monotonic()
        with pytest.raises(IndexFormatError) as info:
            _load(work)
        assert time.monotonic() - start < 10, f"{damage} {rel} hung"
        assert "\n" not in str(info.value) and "rebuild" in str(info.value) or "changed" in str(info.value), \
            (damage, rel, str(info.value))


@pytest.mark.parametrize("edit", [
    lambda c: c.pop("files"),
    lambda c: c["files"].pop(sorted(c["files"])[0]),
    lambda c: c["files"].update({"c-000001/extra.npy": {"bytes": 1, "xxh3": "0" * 32}}),
    lambda c: c.update(dense=None),
    lambda c: c.update(dim=-1),
    lambda c: c["catalog"].update(id_col=7),
    lambda c: c["segments"][0].update(rows=c["segments"][0]["rows"] + 1),
    lambda c: c.update(n_items=999),
    lambda c: c["segments"].append(dict(c["segments"][0])),
    lambda c: c["segments"][0].update(name="../../etc"),
    lambda c: c["files"].update({"../outside.npy": {"bytes": 1, "xxh3": "0" * 32}}),
    lambda c: c["lexical"].update(char_ngrams="x"),
    lambda c: c.update(calibration=[]),
])
def test_malformed_commits_are_refused_even_with_a_valid_self_checksum(matcher, tmp_path, edit):
    folder = matcher.save(tmp_path / "idx")
    name = (folder / CURRENT).read_text().strip()
    commit = _commit(folder)
    edit(commit)
    commit["checksum"] = commit_checksum(commit)
    (folder / name).write_text(json.dumps(commit))
    with pytest.raises(IndexFormatError, match="rebuild the index"):
        _load(folder)


def test_an_edited_commit_is_refused(matcher, tmp_path):
    """Editing catalog.id_col would turn ids into names; the commit's own checksum stops it."""
    folder = matcher.save(tmp_path / "idx")
    name = (folder / CURRENT).read_text().strip()
    commit = _commit(folder)
    commit["catalog"]["id_col"] = "nama"
    (folder / name).write_text(json.dumps(commit))
    with pytest.raises(IndexFormatError, match="does not match its own checksum"):
        _load(folder)
    (folder / CURRENT).write_text("../../etc/passwd\n")
    with pytest.raises(IndexFormatError, match="does not name a commit file"):
        _load(folder)


# ------------------------------------------------------------------ files that are not ours
def test_saving_never_deletes_files_it_did_not_write(matcher, small_catalog, tmp_path):
    folder = matcher.save(tmp_path / "idx")
    (folder / "catatan.txt").write_text("milik pengguna")
    (folder / "seg-notes").mkdir()
    for _ in range(3):
        _build(small_catalog.iloc[::-1]).save(folder)
    assert (folder / "catatan.txt").read_text() == "milik pengguna" and (folder / "seg-notes").is_dir()
    # Only the live commit and its predecessor are kept.
    assert sorted(p.name for p in folder.glob("commit-*.json")) == ["commit-000003.json", "commit-000004.json"]


def test_out_through_a_symlink_writes_into_its_target(matcher, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    matcher.save(link)
    assert link.is_symlink() and (real / CURRENT).exists()
    _load(link)


def test_saved_folders_follow_the_umask(matcher, tmp_path):
    old = os.umask(0o022)
    try:
        folder = matcher.save(tmp_path / "idx")
    finally:
        os.umask(old)
    for p in [folder, *folder.rglob("*")]:
        mode = p.stat().st_mode & 0o777
        assert mode == (0o755 if p.is_dir() else 0o644), (p, oct(mode))


def test_a_folder_that_is_not_an_index_is_refused_before_any_work(tmp_path, small_catalog, capsys):
    from semantic_match.cli import main

    target = tmp_path / "docs"
    target.mkdir()
    (target / "laporan.xlsx").write_text("precious")
    csv = tmp_path / "k.csv"
    small_catalog.to_csv(csv, index=False)
    code = main(["index", str(csv), "--out", str(target), "--id-col", "kode", "--text-col", "nama",
                 "--encoder", "nonexistent-model-that-would-take-time"])
    assert code == 2 and "not a semantic_match index folder" in capsys.readouterr().err
    assert (target / "laporan.xlsx").read_text() == "precious"


def test_format_1_folder_upgrades_in_place_and_ranks_the_same(tmp_path):
    src = ROOT / "tests" / "fixtures" / "index-0.1.0-lexical"
    folder = tmp_path / "old"
    shutil.copytree(src, folder)
    (folder / "catatan.txt").write_text("milik pengguna")
    before = Matcher.load(folder)
    from semantic_match.cli import main

    assert main(["upgrade", str(folder), "--no-progress"]) == 0
    assert not (folder / "manifest.json").exists() and (folder / CURRENT).exists()
    assert (folder / "catatan.txt").exists()
    after = Matcher.load(folder)
    for q in ["seminar kit tapis", "kopi bubuk", "mesin perontok"]:
        pd.testing.assert_frame_equal(before.search(q, k=6), after.search(q, k=6))


# ------------------------------------------------------------------ crashes
@pytest.mark.parametrize("point", ["rename", "commit", "current", "gc"])
def test_a_crash_at_every_step_of_save_leaves_old_or_new(small_catalog, tmp_path, point):
    old = _build(small_catalog)
    new = _build(small_catalog.assign(nama=small_catalog["nama"] + " baru"))
    folder = old.save(tmp_path / "idx")
    from semantic_match.retrieval.storage.writer import InjectedCrash

    with pytest.raises(InjectedCrash):
        persist.save_index(new, folder, crash_at=point)
    got = _load(folder)
    expect = new if point == "gc" else old
    pd.testing.assert_frame_equal(got.items, expect.items)
    new.save(folder)  # the next save cleans up whatever the crash left
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]
    live = {r.split("/")[0] for r in _commit(folder)["files"]}
    prev = json.loads((folder / _commit(folder)["previous"]).read_text())
    live |= {r.split("/")[0] for r in prev["files"]}
    leftovers = [p.name for p in folder.iterdir() if p.is_dir() and p.name not in live]
    assert not leftovers


_KILL_SCRIPT = textwrap.dedent("""
    import sys, pandas as pd
    sys.path.insert(0, {root!r})
    from tests.support import HashEncoder
    from semantic_match import Matcher
    cat = pd.read_csv({csv!r}, dtype=str)
    i = 0
    while True:
        i += 1
        c = cat.assign(nama=cat["nama"] + f" v{{i % 2}}")
        Matcher.from_catalog(c, id_col="kode", text_cols=["nama", "deskripsi"], encoder=HashEncoder(),
                             show_progress=False).save({folder!r})
        print(i, flush=True)
""")


def test_kill_9_at_random_moments_leaves_a_loadable_index(small_catalog, tmp_path):
    """The CLI-level guarantee with a real SIGKILL: old or new, never a mix; scratch cleaned next time."""
    csv = tmp_path / "k.csv"
    small_catalog.to_csv(csv, index=False)
    folder = tmp_path / "idx"
    _build(small_catalog).save(folder)
    script = _KILL_SCRIPT.format(root=str(ROOT), csv=str(csv), folder=str(folder))
    rng = np.random.default_rng(0)
    names = {f"{n} v0" for n in small_catalog["nama"]} | {f"{n} v1" for n in small_catalog["nama"]} | \
        set(small_catalog["nama"])
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        proc.stdout.readline()  # at least one save done: the next ones race with the kill
        time.sleep(float(rng.uniform(0.0, 0.3)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        got = _load(folder)
        assert set(got.items["nama"]) <= names and len(got.items) == len(small_catalog)
        suffixes = {n.rsplit(" ", 1)[-1] for n in got.items["nama"] if n.endswith((" v0", " v1"))}
        assert len(suffixes) <= 1  # one version, never a mix
    _build(small_catalog).save(folder)
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]


# ------------------------------------------------------------------ readers while a writer saves
_WRITER = textwrap.dedent("""
    import sys, time, pandas as pd
    sys.path.insert(0, {root!r})
    from tests.support import HashEncoder
    from semantic_match import Matcher
    cat = pd.read_csv({csv!r}, dtype=str)
    versions = [cat, cat.iloc[::-1].assign(nama=lambda d: "mesin " + d["nama"])]
    ms = [Matcher.from_catalog(v, id_col="kode", text_cols=["nama", "deskripsi"], encoder=HashEncoder(),
                               show_progress=False) for v in versions]
    end = time.monotonic() + {seconds}
    i = 0
    while time.monotonic() < end:
        ms[i % 2].save({folder!r})
        i += 1
        time.sleep(0.02)
    print(i, flush=True)
""")


def test_readers_never_see_a_mix_while_a_writer_saves(small_catalog, tmp_path):
    csv = tmp_path / "k.csv"
    small_catalog.to_csv(csv, index=False)
    folder = tmp_path / "idx"
    versions = [small_catalog, small_catalog.iloc[::-1].assign(nama=lambda d: "mesin " + d["nama"])]
    expected = []
    for v in versions:
        m = _build(v)
        expected.append({q: m.search(q, k=5)[["item_id", "score", "nama"]] for q in ["seminar kit tapis", "mesin"]})
    _build(versions[0]).save(folder)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER.format(root=str(ROOT), csv=str(csv),
                                                                     folder=str(folder), seconds=8)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    loads = 0
    seen = set()
    try:
        while writer.poll() is None:
            m = _load(folder)
            loads += 1
            version = 1 if m.items["nama"].iloc[0].startswith("mesin ") else 0
            seen.add(version)
            for q, want in expected[version].items():
                got = m.search(q, k=5)[["item_id", "score", "nama"]]
                pd.testing.assert_frame_equal(got, want)
    finally:
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert int(out.split()[-1]) > 20 and loads > 10 and seen == {0, 1}
