"""Checks of the files and folders a user names, made before any work is done.

Inputs are read through `read_user_text` (sim/files.py: empty path, missing, under a file, a
directory, a device, a loop, too large, not UTF-8 — each one line). Outputs are checked by
`check_output_dir` and `check_output_file` without creating anything: the folder or file must
be creatable and writable, which is tested by creating and removing a hidden probe file in the
nearest folder that exists, so that an unwritable `--out` (a file, a path under a file, a
read-only or virtual file system such as /proc) is refused before a simulation or fit runs,
and a refused command leaves no file behind.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from runner.errors import UserError
from sim.files import read_text

NAME_MAX = 255  # bytes in one file name on Linux file systems


def read_user_text(path: str | Path, what: str, max_bytes: int) -> str:
    """The text of a file the user named, or a one-line UserError (see sim/files.py)."""
    return read_text(path, what, max_bytes, UserError)


def _nearest_existing(path: Path) -> Path:
    p = Path(os.path.abspath(path))
    while not os.path.lexists(p):
        p = p.parent
    return p


def _check_names(path: Path, option: str, suffix: str = "") -> None:
    for part in Path(os.path.abspath(path)).parts:
        if len(part.encode()) + len(suffix) > NAME_MAX:
            raise UserError(f"{option} {path}: the name {part[:40]!r}... is longer than a file name can be")
    if len((path.name + suffix).encode()) > NAME_MAX:
        raise UserError(f"{option} {path}: the name is longer than a file name can be")


def _probe(folder: Path, option: str, path: Path) -> None:
    """Create and remove a hidden file in `folder`: the only sure test that it can be written."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".caresim-probe-")
    except OSError as exc:
        raise UserError(f"{option} {path}: cannot write in {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(name)


def _existing_folder_above(path: Path, option: str) -> Path:
    """The nearest existing folder above a path that does not exist yet; refuses a file on the way."""
    above = _nearest_existing(path)
    if not above.is_dir():
        raise UserError(f"{option} {path}: {above} is a file, not a folder")
    return above


def check_output_dir(path: Path, option: str = "--out") -> None:
    """Refuse an output folder that cannot be created or written in; creates nothing."""
    try:
        _check_names(path, option)
        if os.path.lexists(path):
            if not os.path.isdir(path):
                raise UserError(f"{option} {path}: exists and is not a folder")
            _probe(path, option, path)
        else:
            _probe(_existing_folder_above(path, option), option, path)
    except ValueError:  # a NUL character
        raise UserError(f"{option} {str(path)!r}: not a usable path") from None


def check_output_file(path: Path, option: str = "--out", companions: tuple[str, ...] = ()) -> None:
    """Refuse an output file that cannot be written (atomically, through a temporary file beside
    it); `companions` are suffixes of other files written next to it (a checkpoint)."""
    try:
        _check_names(path, option, max(companions, key=len, default=""))
        if os.path.lexists(path):
            if os.path.isdir(path):
                raise UserError(f"{option} {path}: is a folder; give a file name")
            if not os.path.isfile(path):
                raise UserError(f"{option} {path}: exists and is not a regular file")
            _probe(path.parent, option, path)
        else:
            _probe(_existing_folder_above(path.parent, option), option, path)
    except ValueError:
        raise UserError(f"{option} {str(path)!r}: not a usable path") from None
