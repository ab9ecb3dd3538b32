"""write_model_folder: a model folder appears all at once, with the permissions the umask gives."""

from __future__ import annotations

import os

import pytest

from semantic_match.training.model_folder import apply_umask_permissions, write_model_folder
from tests.training.support import assert_readable_by_others, modes, umask


def _write_like_safetensors(folder):
    (folder / "config.json").write_text("{}")
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text("{}")
    # safetensors creates its weights file private, as here
    fd = os.open(folder / "model.safetensors", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)


def test_folder_is_readable_by_others_under_umask_022(tmp_path):
    with umask(0o022):
        target = write_model_folder(tmp_path / "models" / "e5", _write_like_safetensors)
    assert target == tmp_path / "models" / "e5"
    assert_readable_by_others(target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["e5"]


def test_permissions_follow_a_stricter_umask(tmp_path):
    with umask(0o077):
        target = write_model_folder(tmp_path / "e5", _write_like_safetensors)
    assert set(modes(target).values()) <= {0o700, 0o600}
    assert modes(target)["."] == 0o700 and modes(target)["config.json"] == 0o600


def test_replaces_an_existing_folder_in_one_step(tmp_path):
    target = tmp_path / "e5"
    target.mkdir()
    (target / "stale.bin").write_text("old")
    write_model_folder(target, _write_like_safetensors)
    assert not (target / "stale.bin").exists() and (target / "config.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5"]


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "e5"
    target.mkdir()
    (target / "keep.txt").write_text("old model")

    def fail(folder):
        (folder / "half.bin").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_model_folder(target, fail)
    assert (target / "keep.txt").read_text() == "old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5"]


def test_a_last_check_can_refuse_the_replacement(tmp_path):
    target = tmp_path / "e5"
    target.mkdir()
    (target / "notes.txt").write_text("appeared meanwhile")

    def refuse():
        raise ValueError("target changed")

    with pytest.raises(ValueError, match="target changed"):
        write_model_folder(target, _write_like_safetensors, before_replace=refuse)
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5"]


def test_apply_umask_permissions_leaves_links_alone(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    os.chmod(outside, 0o600)
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "link").symlink_to(outside)
    with umask(0o022):
        apply_umask_permissions(folder)
    assert modes(tmp_path)["outside.txt"] == 0o600
