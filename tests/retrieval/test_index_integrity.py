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
    return Matcher.from_catalog(
        catalog, id_col="kode", text_cols=["nama", "deskripsi"], encoder=HashEncoder(), show_progress=False, **kw
    )


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
@pytest.mark.parametrize(
    "damage", ["truncate", "flip", "empty", "directory", "symlink_dev_zero", "symlink_other", "fifo", "missing", "swap"]
)
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
        assert "\n" not in str(info.value) and "rebuild" in str(info.value) or "changed" in str(info.value), (
            damage,
            rel,
            str(info.value),
        )


@pytest.mark.parametrize(
    "edit",
    [
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
    ],
)
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
    code = main(
        [
            "index",
            str(csv),
            "--out",
            str(target),
            "--id-col",
            "kode",
            "--text-col",
            "nama",
            "--encoder",
            "nonexistent-model-that-would-take-time",
        ]
    )
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
    names = (
        {f"{n} v0" for n in small_catalog["nama"]}
        | {f"{n} v1" for n in small_catalog["nama"]}
        | set(small_catalog["nama"])
    )
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
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER.format(root=str(ROOT), csv=str(csv), folder=str(folder), seconds=8)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
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


# ------------------------------------------------------------------ every file-system step of a save
# The crash tests above stop a save between its named steps, and the kill test stops it where the
# clock says; neither tells a save that writes into the live folder (in place) from one that
# writes to scratch and renames, since both leave a loadable index when the save completes. The
# tests below watch every file-system call of a save through an audit hook (``open``, ``mkdir``,
# ``rename``/``replace``, ``remove``, ``rmdir``, ``rmtree``) and ``os.fsync``.

_MUTATING = ("open", "os.mkdir", "os.rename", "os.remove", "os.rmdir", "shutil.rmtree", "os.truncate")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class _Watch:
    """Records (and optionally interrupts) the file-system calls of this process under one folder.

    Audit hooks cannot be removed, so one hook is installed per session and does nothing unless a
    watch is active.
    """

    active: _Watch | None = None
    installed = False

    def __init__(self, folder: Path, crash_at: int | None = None):
        self.folder = str(folder)
        self.crash_at = crash_at
        self.events: list[tuple] = []
        self.crashed = False

    @classmethod
    def install(cls) -> None:
        if not cls.installed:
            sys.addaudithook(lambda event, args: cls.active._hook(event, args) if cls.active else None)
            cls.installed = True

    def __enter__(self):
        self.install()
        _Watch.active = self
        return self

    def __exit__(self, *exc):
        _Watch.active = None

    def _inside(self, path) -> bool:
        return isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(self.folder)

    def _hook(self, event: str, args: tuple) -> None:
        if event not in _MUTATING or not self._inside(args[0]):
            return
        path = os.fspath(args[0])
        if event == "open":
            flags = args[2] if isinstance(args[2], int) else 0
            if not flags & _WRITE_FLAGS:
                return
            record = ("write", path, flags)
        elif event == "os.rename":
            record = ("rename", path, os.fspath(args[1]))
        else:
            record = (event, path)
        if self.crashed:  # a killed process does nothing more: no clean-up either
            raise InjectedCrash(f"after the crash: {record}")
        self.events.append(record)
        if self.crash_at is not None and len(self.events) - 1 == self.crash_at:
            self.crashed = True
            if record[0] == "write":  # killed right after open(): the file exists (emptied), nothing written
                if flags & os.O_TRUNC or not os.path.exists(path):
                    with _Watch._quiet():
                        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
            raise InjectedCrash(f"at {record}")

    @staticmethod
    def _quiet():
        class _Q:
            def __enter__(self):
                self.saved, _Watch.active = _Watch.active, None

            def __exit__(self, *exc):
                _Watch.active = self.saved

        return _Q()


from semantic_match.retrieval.storage.writer import InjectedCrash  # noqa: E402


def _live(folder: Path) -> set[str]:
    """Top-level entries the live commit and its predecessor need."""
    names = set()
    for commit_name in (folder / CURRENT).read_text().split()[:1]:
        c = json.loads((folder / commit_name).read_text())
        names |= {commit_name} | {r.split("/")[0] for r in c["files"]}
        if c.get("previous"):
            p = json.loads((folder / c["previous"]).read_text())
            names |= {c["previous"]} | {r.split("/")[0] for r in p["files"]}
    return names


class _Versions:
    """Version i of the small catalogue, built afresh on each access (a saved matcher remembers its folder)."""

    def __init__(self, catalog: pd.DataFrame):
        self.catalog = catalog

    def __getitem__(self, i: int) -> Matcher:
        return _build(self.catalog.assign(nama=self.catalog["nama"] + f" v{i}"))


@pytest.fixture
def three_versions(small_catalog):
    return _Versions(small_catalog)


def test_a_save_writes_only_into_scratch_and_publishes_by_rename(three_versions, tmp_path):
    """Nothing is written or created in the live folder in place: every new entry arrives by one rename."""
    folder = tmp_path / "idx"
    three_versions[0].save(folder)
    three_versions[1].save(folder)
    before = set(os.listdir(folder))
    with _Watch(folder) as watch:
        three_versions[2].save(folder)
    scratch = [n for n in before | set(os.listdir(folder)) if n.startswith(".tmp-")]
    assert not scratch, scratch

    def live_entry(path: str) -> bool:  # a path in the live folder, not in a writer's scratch
        rel = Path(path).relative_to(folder).parts
        return bool(rel) and not rel[0].startswith(".tmp-")

    in_place = [
        e for e in watch.events if e[0] in ("write", "os.mkdir") and live_entry(e[1]) and Path(e[1]).name != ".lock"
    ]
    assert not in_place, in_place
    renames = [e for e in watch.events if e[0] == "rename"]
    assert all(not live_entry(src) and live_entry(dst) for _, src, dst in renames), renames
    arrived = {Path(dst).name for _, _, dst in renames}
    assert set(os.listdir(folder)) - before <= arrived
    assert "CURRENT" in arrived
    # Deletions come after CURRENT names the new commit, and only of what no live commit needs.
    swap = next(i for i, e in enumerate(watch.events) if e[0] == "rename" and e[2] == str(folder / CURRENT))
    deletions = [
        (i, e)
        for i, e in enumerate(watch.events)
        if e[0] in ("os.remove", "os.rmdir", "shutil.rmtree") and live_entry(e[1])
    ]
    assert deletions, "the third save collects the first commit's files"
    assert all(i > swap for i, _ in deletions), deletions
    assert not {Path(e[1]).relative_to(folder).parts[0] for _, e in deletions} & _live(folder)
    pd.testing.assert_frame_equal(_load(folder).items, three_versions[2].items)


def test_a_save_is_durable_before_current_names_it(three_versions, tmp_path, monkeypatch):
    """Every new file, the commit and their folder entries are fsynced before ``CURRENT`` is replaced.

    A process crash cannot show a missing fsync (the page cache survives it); a power cut can: a
    ``CURRENT`` naming a commit whose bytes never reached the disk. So the order of the calls is
    checked instead.
    """
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd to name fsynced descriptors")
    folder = tmp_path / "idx"
    three_versions[0].save(folder)
    three_versions[1].save(folder)
    real_fsync = os.fsync

    def fsync(fd):
        path = os.readlink(f"/proc/self/fd/{fd}")
        real_fsync(fd)
        if _Watch.active is not None:
            _Watch.active.events.append(("fsync", path))

    monkeypatch.setattr(os, "fsync", fsync)
    with _Watch(folder) as watch:
        three_versions[2].save(folder)
    events = watch.events
    name = (folder / CURRENT).read_text().strip()
    commit = _commit(folder)

    def index(pred, what):
        hits = [i for i, e in enumerate(events) if pred(e)]
        assert hits, f"no {what} in {events}"
        return hits

    swap = index(lambda e: e[0] == "rename" and e[2] == str(folder / CURRENT), "swap of CURRENT")[-1]
    commit_rename = index(lambda e: e[0] == "rename" and e[2] == str(folder / name), "rename of the commit")[-1]
    assert commit_rename < swap
    tmp_commit = events[commit_rename][1]
    # the commit's bytes, then its folder entry, are on disk before CURRENT moves
    assert [i for i in index(lambda e: e == ("fsync", tmp_commit), "fsync of the commit") if i < commit_rename]
    assert [i for i in index(lambda e: e == ("fsync", str(folder)), "fsync of the folder") if commit_rename < i < swap]
    # so is every file the new commit names, and the renames that put them in place
    new_files = [
        r
        for r in commit["files"]
        if r.split("/")[0].endswith(f"{commit['commit']:06d}") or f"-{commit['commit']:06d}-" in r.split("/")[0]
    ]
    assert new_files
    for rel in new_files:
        top = rel.split("/")[0]
        moved = index(lambda e: e[0] == "rename" and e[2] == str(folder / top), f"rename of {top}")[-1]
        scratch_path = str(Path(events[moved][1]) / rel.split("/", 1)[1])
        assert [i for i in index(lambda e: e == ("fsync", scratch_path), f"fsync of {rel}") if i < moved], rel
        assert [i for i, e in enumerate(events) if e == ("fsync", str(folder)) and moved < i < swap], rel
    # CURRENT's own bytes are durable before the rename, the rename before anything is deleted
    tmp_current = events[swap][1]
    assert [i for i in index(lambda e: e == ("fsync", tmp_current), "fsync of CURRENT") if i < swap]
    deletions = [
        i
        for i, e in enumerate(events)
        if e[0] in ("os.remove", "os.rmdir", "shutil.rmtree")
        and not Path(e[1]).name.startswith(".tmp-")
        and ".tmp-" not in Path(e[1]).parent.name
    ]
    synced_after = [i for i, e in enumerate(events) if e == ("fsync", str(folder)) and i > swap]
    assert synced_after and all(i > synced_after[0] for i in deletions)


def test_a_crash_at_every_file_system_step_leaves_old_or_new(three_versions, tmp_path):
    """Stop a save at each of its file-system calls (before it, or right after an open), as a kill would.

    After each: the folder loads as the old or the new version, and the next save cleans up.
    """
    base = tmp_path / "base"
    three_versions[0].save(base)
    three_versions[1].save(base)
    old, new, first = three_versions[1].items, three_versions[2].items, three_versions[0].items
    probe = tmp_path / "probe"
    shutil.copytree(base, probe)
    with _Watch(probe) as watch:
        three_versions[2].save(probe)
    steps = len(watch.events)
    assert steps > 10
    outcomes = []
    for step in range(steps):
        folder = tmp_path / f"s{step}"
        shutil.copytree(base, folder)
        with _Watch(folder, crash_at=step) as watch:
            with pytest.raises(InjectedCrash):
                three_versions[2].save(folder)
        got = _load(folder).items
        if got.equals(new):
            outcomes.append("new")
        else:
            pd.testing.assert_frame_equal(got, old, obj=f"after a crash at {watch.events[step]}")
            outcomes.append("old")
        three_versions[0].save(folder)  # the next save cleans whatever the crash left
        assert not [p for p in os.listdir(folder) if p.startswith(".tmp-")]
        assert set(os.listdir(folder)) - {".lock", CURRENT} <= _live(folder), watch.events[step]
        pd.testing.assert_frame_equal(_load(folder).items, first)
        shutil.rmtree(folder)
    # early crashes keep the old version, late ones (after CURRENT moved) the new one
    assert outcomes[0] == "old" and outcomes[-1] == "new" and outcomes == sorted(outcomes, key=["old", "new"].index)
