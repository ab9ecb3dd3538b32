"""Safe writes: a failure mid-write never leaves a half-written file, nor loses the previous one."""

from __future__ import annotations

import os
import stat

import pytest

from semantic_match.io import files
from semantic_match.io.files import atomic_write, replace_folder


class Boom(Exception):
    pass


def test_a_failure_mid_write_leaves_the_previous_file_intact(tmp_path):
    target = tmp_path / "matches.csv"
    target.write_text("old,complete\n")

    def half_then_fail(tmp):
        with open(tmp, "w") as fh:
            fh.write("new,half")
            fh.flush()
        assert not target.read_text().startswith("new")  # the final path is not being written
        raise Boom

    with pytest.raises(Boom):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old,complete\n"
    assert os.listdir(tmp_path) == ["matches.csv"]  # the temporary sibling is gone too


def test_a_failure_before_the_first_write_leaves_no_new_file(tmp_path):
    target = tmp_path / "sub" / "new.csv"
    with pytest.raises(Boom):
        atomic_write(target, lambda tmp: (_ for _ in ()).throw(Boom()))
    assert not target.exists() and os.listdir(tmp_path / "sub") == []


def test_atomic_write_replaces_the_file_whole_with_the_usual_permissions(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    umask = os.umask(0o022)
    try:
        atomic_write(target, lambda tmp: tmp.write_text("new"))
    finally:
        os.umask(umask)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # mkstemp's 0600 is not kept


def test_replace_folder_keeps_the_old_folder_until_the_new_one_is_in_place(tmp_path, monkeypatch):
    """The old folder is moved aside, never deleted, before the new one is renamed into place."""
    target, new = tmp_path / "model", tmp_path / ".model.tmp-1"
    target.mkdir()
    (target / "weights.bin").write_text("old weights")
    new.mkdir()
    (new / "weights.bin").write_text("new weights")
    real_rename = os.rename

    def rename(src, dst, *a, **kw):
        if os.fspath(src) == os.fspath(new):
            # at the moment the new folder is renamed into place, the old one must still exist
            aside = [p for p in tmp_path.iterdir() if p.name.startswith(".model.old-")]
            assert len(aside) == 1 and (aside[0] / "weights.bin").read_text() == "old weights"
            raise Boom
        return real_rename(src, dst, *a, **kw)

    monkeypatch.setattr(files.os, "rename", rename)
    with pytest.raises(Boom):
        replace_folder(new, target)
    monkeypatch.undo()
    survivors = [
        p
        for p in tmp_path.iterdir()
        if (p / "weights.bin").is_file() and (p / "weights.bin").read_text() == "old weights"
    ]
    assert survivors, "the previous folder was deleted before the new one was in place"
    replace_folder(new, target)
    assert (target / "weights.bin").read_text() == "new weights"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".model.old-")) == ["model"]
