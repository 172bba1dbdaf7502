"""The page's authority view: England, or one local authority's SSDA903 files under a data root.

The files never leave this machine: the page lists the folders under the root that
`caresim dashboard --data-root DIR` names (nothing outside it can be chosen, and no path is typed),
and runs the chosen authority through the local model (`calibration.local.local_run`, the
function behind `caresim run --data`, registered by the command line: `register_local_model`). Counts are shown through `calibration.local.suppress_counts`
(a count of 1 to 5 shown as `c`). Where the local model is not installed yet, the view says so.
"""
from __future__ import annotations

import os
from pathlib import Path

import solara
import solara.lab

DATA_ROOT_ENV = "CARESIM_DATA_ROOT"
ENGLAND = "England"
chosen = solara.reactive(ENGLAND)
result = solara.reactive(None)
message = solara.reactive("")


def data_root() -> Path | None:
    root = os.environ.get(DATA_ROOT_ENV)
    return Path(root) if root else None


def authority_folders(root: Path | None) -> list[str]:
    """Names of the folders directly under `root` (each an authority's returns), sorted."""
    if root is None or not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def folder_of(root: Path, name: str) -> Path:
    """The folder `name` under `root`, refused if it resolves outside it (no way out by .. or a link)."""
    from runner.errors import UserError

    folder = (root / name).resolve()
    if folder.parent != root.resolve() or not folder.is_dir():
        raise UserError(f"{name}: not a folder under the data root {root}")
    return folder


_local_model: list = []


def register_local_model(local_run, suppress_counts) -> None:
    """Give the view the local model: `local_run(folder, scenario_doc, seeds)` returning an object
    with `runs`, and `suppress_counts(table)`. The command line does it (experiments.cli, where
    `calibration` and `experiments` meet), so that this module never imports `calibration`."""
    _local_model[:] = [(local_run, suppress_counts)]


def local_model():
    """(local_run, suppress_counts) of the local model, or None where none is registered."""
    return _local_model[0] if _local_model else None


@solara.lab.task(prefer_threaded=True)
def run_authority(root: Path, name: str, scenario_doc: dict, seeds: list[int]) -> None:
    """Fit (or read from the local model's cache) and run one authority, off the page's thread."""
    from runner.errors import UserError

    local_run, suppress_counts = local_model()
    message.value = ""
    try:
        out = local_run(folder_of(root, name), scenario_doc, seeds)
    except UserError as exc:
        message.value = str(exc)
        return
    result.value = suppress_counts(out.runs)


@solara.component
def AuthorityView(scenario_doc: dict, seeds: list[int]):
    root = data_root()
    names = [ENGLAND, *authority_folders(root)]
    solara.Select("Area", values=names, value=chosen.value if chosen.value in names else ENGLAND,
                  on_value=chosen.set, classes=["select-authority"])
    if root is None:
        solara.Info("England only: start the page with `caresim dashboard --data-root DIR` to choose an "
                    "authority's SSDA903 files from the folders under DIR (processed on this machine only).")
        return
    if chosen.value == ENGLAND:
        solara.Text("England: the Futures view shows the national model.")
        return
    model = local_model()
    if model is None:
        solara.Warning("authority runs need caresim run --data (coming)", classes=["authority-coming"])
        return
    solara.Button(f"Run {chosen.value}", on_click=lambda: run_authority(root, chosen.value, scenario_doc, seeds),
                  color="primary", disabled=run_authority.pending, classes=["authority-run"])
    if run_authority.pending:
        solara.ProgressLinear(True)
        solara.Text(f"fitting and running {chosen.value} on this machine", classes=["authority-progress"])
    if message.value:
        solara.Error(message.value, dense=True)
    if result.value is not None:
        solara.DataFrame(result.value, items_per_page=20)
