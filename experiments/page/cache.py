"""Results of runs kept on disk, so that the page shows the forecast at first sight.

A result (the runs of a scenario and its baseline, and its savings by lever) is stored under a
key made of everything it depends on: the scenario as its file says it, replications, scale,
seed, end year, the parameter file's bytes and the code (the hash of every source file of
`sim/`, `agents/` and `runner/`). A change to any of them is a new key, so a stale result is
never shown: it is recomputed. Files are Parquet (runs) and JSON (metadata), in
`$CARESIM_CACHE` or `~/.cache/caresim/page`; a damaged entry is treated as missing.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
_code_digest: list[str] = []
_lock = threading.Lock()


def cache_dir() -> Path:
    return Path(os.environ.get("CARESIM_CACHE") or Path.home() / ".cache" / "caresim" / "page")


def code_digest() -> str:
    """Hash of the model's and the runner's source files (computed once per process)."""
    with _lock:
        if not _code_digest:
            h = hashlib.sha256()
            for package in ("sim", "agents", "runner"):
                for path in sorted((ROOT / package).rglob("*.py")):
                    h.update(str(path.relative_to(ROOT)).encode())
                    h.update(path.read_bytes())
            _code_digest.append(h.hexdigest()[:16])
        return _code_digest[0]


def params_digest() -> str:
    from sim.parameter_file import default_params_path

    return hashlib.sha256(default_params_path().read_bytes()).hexdigest()[:16]


def key(scenario: dict, **settings) -> str:
    """The cache key of a result: the scenario, the settings, the parameter file and the code."""
    doc = {"scenario": scenario, "settings": settings, "params": params_digest(), "code": code_digest()}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:24]


def load(name: str) -> tuple[dict[str, pd.DataFrame], dict] | None:
    """The tables and metadata stored under `name`, or None if absent or unreadable."""
    folder = cache_dir() / name
    try:
        meta = json.loads((folder / "meta.json").read_text())
        tables = {t: pd.read_parquet(folder / f"{t}.parquet") for t in meta["tables"]}
    except (OSError, ValueError, KeyError):
        return None
    return tables, meta


def store(name: str, tables: dict[str, pd.DataFrame], meta: dict) -> None:
    """Write the entry atomically (a folder renamed into place); a failure to write is not an error."""
    import shutil
    import tempfile

    root = cache_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            for t, frame in tables.items():
                frame.to_parquet(Path(tmp) / f"{t}.parquet")
            (Path(tmp) / "meta.json").write_text(json.dumps({**meta, "tables": list(tables)}))
            target = root / name
            if target.exists():
                shutil.rmtree(target, ignore_errors=True)
            os.rename(tmp, target)
            os.mkdir(tmp)  # for TemporaryDirectory's clean-up
    except OSError:
        pass
