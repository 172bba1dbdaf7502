"""A resumable store of evaluated design points: each row's outputs kept under a hash of its inputs.

A sensitivity study or a variance-by-source experiment evaluates thousands of input rows, each a
few simulations. If it is stopped (Ctrl-C, a lost worker, a closed laptop), a rerun should
evaluate only what is missing. So every result is appended, as soon as it arrives, as one line of
JSON to `points.jsonl` in the store's folder:

    {"key": "<sha256 of the row>", "inputs": {...}, "outputs": {...}}

A line is written with a single `write` on a file opened for appending and flushed, so a run
killed mid-write leaves at most one torn last line, which the loader drops (and a rerun
re-evaluates). The key is a hash of the row's inputs with floats written exactly (`float.hex`),
so the same row always finds its result and a different row never does.

`meta.json` records what the rows are evaluated with (the evaluation function and its fixed
settings: scale, end year, scenario...). A store opened with a different description is refused
with one line, rather than silently mixing results of two experiments.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.errors import UserError

POINTS_FILE = "points.jsonl"
META_FILE = "meta.json"


class StoreMismatch(UserError):
    """The store folder holds results of a different experiment."""


def row_key(inputs: Mapping[str, Any]) -> str:
    """A hex SHA-256 naming the row: its names and exact values, independent of their order."""
    return hashlib.sha256(_canonical(inputs).encode()).hexdigest()


def _canonical(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_canonical(value[k])}" for k in sorted(value, key=str)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) or hasattr(value, "__float__"):
        number = float(value)
        return "0x0p+0" if number == 0 else number.hex()  # +0.0 and -0.0 are one input
    return json.dumps(str(value))


class DesignStore:
    """Outputs of evaluated rows, on disk under `folder` (or in memory when `folder` is None).

    Args:
        folder: where `points.jsonl` and `meta.json` live; created if missing.
        meta: a JSON-able description of how rows are evaluated; must match an existing store's.
    """

    def __init__(self, folder: str | Path | None, meta: Mapping[str, Any] | None = None):
        self.folder = Path(folder) if folder is not None else None
        self._results: dict[str, dict[str, float]] = {}
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self._check_meta(dict(meta or {}))
        self._load()

    def __contains__(self, key: str) -> bool:
        return key in self._results

    def __len__(self) -> int:
        return len(self._results)

    def get(self, key: str) -> dict[str, float]:
        return self._results[key]

    def put(self, key: str, inputs: Mapping[str, Any], outputs: Mapping[str, float]) -> None:
        """Keep a row's outputs, appending them to disk at once (one line, one write, flushed)."""
        clean = {name: float(value) for name, value in outputs.items()}
        self._results[key] = clean
        if self.folder is None:
            return
        line = json.dumps({"key": key, "inputs": _plain(inputs), "outputs": clean}, allow_nan=True) + "\n"
        descriptor = os.open(self.folder / POINTS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line.encode())
        finally:
            os.close(descriptor)

    def _check_meta(self, meta: dict[str, Any]) -> None:
        path = self.folder / META_FILE
        written = json.dumps(_plain(meta), sort_keys=True, indent=1)
        if path.exists():
            found = path.read_text()
            if json.loads(found) != json.loads(written):
                raise StoreMismatch(f"{path}: this store holds results of another experiment "
                                    f"({_first_difference(json.loads(found), json.loads(written))}); "
                                    f"use another --out folder or delete it")
            return
        temporary = path.with_suffix(".tmp")
        temporary.write_text(written)
        os.replace(temporary, path)

    def _load(self) -> None:
        path = self.folder / POINTS_FILE
        if not path.exists():
            return
        with open(path, "rb") as handle:
            data = handle.read()
        lines = data.split(b"\n")
        if lines and lines[-1]:  # a torn last line (killed mid-write): drop it and cut it off
            with open(path, "r+b") as handle:
                handle.truncate(len(data) - len(lines[-1]))
        for line in lines[:-1]:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                self._results[record["key"]] = {k: float(v) for k, v in record["outputs"].items()}
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a damaged line is a row to evaluate again, not a reason to stop


def _plain(value: Any) -> Any:
    """`value` with numpy scalars turned into Python numbers, for JSON."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if hasattr(value, "__float__"):
        number = float(value)
        return int(number) if hasattr(value, "dtype") and value.dtype.kind in "iu" else number
    return str(value)


def _first_difference(found: Any, wanted: Any, path: str = "") -> str:
    if isinstance(found, dict) and isinstance(wanted, dict):
        for name in sorted(set(found) | set(wanted)):
            if found.get(name) != wanted.get(name):
                return _first_difference(found.get(name), wanted.get(name), f"{path}.{name}" if path else name)
    return f"{path or 'meta'}: stored {found!r}, now {wanted!r}"


def is_finite_outputs(outputs: Mapping[str, float]) -> bool:
    """True when every output is a finite number (the engines refuse NaN and infinities)."""
    return all(math.isfinite(float(v)) for v in outputs.values())
