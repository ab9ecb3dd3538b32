"""Index folders: tests for the mutants of storage/reader.py and writer.py that survived mutmut.

See docs/reliability.md, "Mutation testing". The file-level damage test in test_index_integrity.py
replaces files; these replace the segment *folders*, leave a dead writer's scratch behind, and check
that a verified file is read through its own descriptor.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from semantic_match import IndexFormatError, Matcher
from semantic_match.retrieval.storage.reader import CURRENT, verify_file
from semantic_match.retrieval.storage.writer import clean_scratch
from tests.support import HashEncoder


@pytest.fixture
def folder(small_catalog, tmp_path) -> Path:
    matcher = Matcher.from_catalog(
        small_catalog, id_col="kode", text_cols=["nama", "deskripsi"], encoder=HashEncoder(), show_progress=False
    )
    return matcher.save(tmp_path / "idx")


def _commit(folder: Path) -> dict:
    return json.loads((folder / (folder / CURRENT).read_text().strip()).read_text())


def _load(folder: Path) -> Matcher:
    return Matcher.load(folder, encoder=HashEncoder())


def _subfolders(folder: Path) -> list[str]:
    return sorted({rel.split("/")[0] for rel in _commit(folder)["files"] if "/" in rel})


@pytest.mark.parametrize("damage", ["symlink_to_a_copy", "regular_file"])
def test_a_segment_folder_that_is_not_a_plain_folder_is_refused(folder, tmp_path, damage):
    """Kills verify_file 10, 11, 16, 17, 24, 25: the folder part of each path is opened with O_DIRECTORY and
    O_NOFOLLOW, so a symlink (even to an identical copy) or a file in its place is refused with one line."""
    subs = _subfolders(folder)
    assert subs
    for sub in subs:
        work = tmp_path / f"w-{sub}"
        shutil.copytree(folder, work, symlinks=True)
        if damage == "symlink_to_a_copy":
            copy = tmp_path / f"copy-{sub}"
            shutil.move(work / sub, copy)
            (work / sub).symlink_to(copy, target_is_directory=True)
        else:
            shutil.rmtree(work / sub)
            (work / sub).write_bytes(b"not a folder")
        with pytest.raises(IndexFormatError) as err:
            _load(work)
        message = str(err.value)
        assert "\n" not in message and f"index folder part '{work / sub}' is not a plain folder" in message, message


def test_a_dead_writers_scratch_is_removed_by_the_next_save(folder, small_catalog, tmp_path, monkeypatch):
    """Kills clean_scratch 1, 2, 6, 7, 9, 12: scratch of the index folder (not of the working directory) is removed
    and named; other dot-folders and links are left alone."""
    stale = folder / ".tmp-0123456789abcdef"
    (stale / "seg").mkdir(parents=True)
    (stale / "seg" / "dense.npy").write_bytes(b"half written")
    mine = folder / ".tmp-notscratch"
    mine.mkdir()
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    link = folder / ".tmp-aaaaaaaaaaaaaaaa"
    link.symlink_to(outside, target_is_directory=True)  # a scratch name, but a link: never followed
    cwd = tmp_path / "cwd"
    (cwd / ".tmp-fedcba9876543210").mkdir(parents=True)
    monkeypatch.chdir(cwd)
    assert clean_scratch(folder) == [".tmp-0123456789abcdef"]
    assert not stale.exists() and mine.is_dir() and (cwd / ".tmp-fedcba9876543210").is_dir()
    assert link.is_symlink() and (outside / "keep").is_dir()

    (stale / "seg").mkdir(parents=True)
    _load(folder).save(folder)
    assert not stale.exists() and mine.is_dir() and (cwd / ".tmp-fedcba9876543210").is_dir()
    assert _load(folder).items["kode"].tolist() == small_catalog["kode"].tolist()


def test_a_verified_file_is_read_through_its_own_descriptor(folder):
    """Kills _fd_path_2 and VerifiedFile.close 4, 5, 7: the path names the open descriptor (Linux), so a library
    that opens by path reads the verified bytes even after the folder changed; closing twice is harmless."""
    rel = next(r for r in _commit(folder)["files"] if "/" in r)
    info = _commit(folder)["files"][rel]
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        vf = verify_file(folder, rel, dir_fd, info, keep_bytes=False)
    finally:
        os.close(dir_fd)
    data = (folder / rel).read_bytes()
    try:
        if sys.platform.startswith("linux"):
            assert vf.path == f"/proc/self/fd/{vf.fd}"
            (folder / rel).rename(folder / (rel + ".moved"))  # the folder changes under the reader
            with open(vf.path, "rb") as f:
                assert f.read() == data
        assert vf.read_bytes() == data
    finally:
        vf.close()
    assert vf.fd < 0 and vf.data is None
    vf.close()
    assert vf.fd < 0 and vf.data is None


def test_links_named_like_our_files_are_never_deleted(folder, small_catalog, tmp_path):
    """Kills collect_garbage 32, 42: only regular files and plain folders of our name patterns are collected;
    a link with such a name (to a file or folder of the user's) survives every save."""
    user_file, user_dir = tmp_path / "notes.json", tmp_path / "data"
    user_file.write_text("{}")
    (user_dir / "keep").mkdir(parents=True)
    links = {folder / "commit-000099.json": user_file, folder / "seg-000099-deadbeef": user_dir}
    for link, target in links.items():
        link.symlink_to(target, target_is_directory=target.is_dir())
    for _ in range(3):  # a save collects what neither the live commit nor its predecessor uses
        _load(folder).save(folder)
    assert all(link.is_symlink() for link in links) and user_file.read_text() == "{}" and (user_dir / "keep").is_dir()
    assert _load(folder).items["kode"].tolist() == small_catalog["kode"].tolist()
