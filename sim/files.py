"""Reading a file a user named: one line for every way the path can be wrong, and a cap on size.

A loader that calls `open(path).read()` on what a user typed can hang on a device (`/dev/zero`
reads until memory runs out), print a traceback for a path under a file or a symlink loop, or
misread a file in another encoding. `read_text` checks the path first (empty, missing, under a
file, a directory, a device or pipe, a loop, unreadable, too large), reads at most `max_bytes`,
and decodes UTF-8 (a byte-order mark is allowed), raising the caller's error class with a
message naming the file.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path


def read_text(path: str | Path, what: str, max_bytes: int, error: type[Exception] = ValueError) -> str:
    """The text of the file `path` (a `what`, e.g. "scenario file"), or `error` with one line.

    Args:
        path: the path as the user gave it.
        what: what the file should be, for messages.
        max_bytes: the most a file of this kind may hold; larger files are refused unread.
        error: the exception class raised (a one-line message naming the path).
    """
    text = str(path)
    if not text.strip():
        raise error(f"empty path given for the {what}")
    if "\0" in text:
        raise error(f"{text!r}: a path cannot contain a NUL character")
    try:
        info = os.stat(text)  # follows symlinks; a loop raises ELOOP
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{text}: is a directory, not a {what}")
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{text}: is not a regular file (a device, pipe or socket), not a {what}")
        if info.st_size > max_bytes:
            raise error(f"{text}: {info.st_size:,} bytes is larger than a {what} can be ({max_bytes:,} bytes at most)")
        with open(text, "rb") as fh:
            data = fh.read(max_bytes + 1)  # the size can change, or be 0 for /proc files
    except FileNotFoundError:
        raise error(f"{text}: {what} not found") from None
    except NotADirectoryError:
        raise error(f"{text}: {what} not found (a part of the path is a file, not a folder)") from None
    except PermissionError:
        raise error(f"{text}: cannot read the {what} (permission denied)") from None
    except OSError as exc:  # a symlink loop, a name too long, an I/O error
        raise error(f"{text}: cannot read the {what} ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise error(f"{text}: larger than a {what} can be ({max_bytes:,} bytes at most)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{text}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                    f"save the {what} as UTF-8") from None


def short_repr(value) -> str:
    """A value for a one-line message about a file's contents: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
