"""Saving a model folder: all at once, and readable by whoever may read its parent.

Conversion and adaptation both write a whole sentence-transformers folder. They
write it through :func:`write_model_folder`, so that a failure leaves nothing
behind, an existing model is replaced in one rename, and the result carries the
permissions the user's umask allows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from ..io.files import make_temp_dir, replace_folder, umask_mode

__all__ = ["write_model_folder", "apply_umask_permissions"]


def apply_umask_permissions(folder: Path) -> None:
    """Give ``folder``, its subfolders and files the modes ``mkdir``/``open`` give under the umask.

    Writers we do not control create some files private: safetensors writes its
    weights mode 0600, which would hide a saved model from the other users and
    services that load it.

    Parameters
    ----------
    folder : Path
        A folder this process has just written; links inside it are left alone.
    """
    dir_mode, file_mode = umask_mode(0o777), umask_mode(0o666)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, dir_mode)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, file_mode)
    os.chmod(folder, dir_mode)


def write_model_folder(
    target: Path, write: Callable[[Path], None], *, before_replace: Callable[[], None] | None = None
) -> Path:
    """Write a model folder into a scratch sibling, then move it into place.

    Parameters
    ----------
    target : Path
        The folder to create or replace; its parent is created if needed.
    write : callable
        ``write(folder)`` fills the empty scratch folder.
    before_replace : callable, optional
        Called after writing, just before the rename: a last check of ``target``,
        which may have changed during a long write. Raising leaves ``target`` as it is.

    Returns
    -------
    Path
        ``target``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(target.parent, f".{target.name}.tmp-")
    try:
        write(tmp)
        apply_umask_permissions(tmp)
        if before_replace is not None:
            before_replace()
        replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
