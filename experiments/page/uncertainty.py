"""The page's uncertainty view: the tornado of an output and the split of its variance by source.

Both read files that other commands write: `indices.csv` of `caresim sensitivity` (columns
`runner.sensitivity.INDEX_COLUMNS`) and a variance-by-source table (columns
`runner.variance_sources.SHARE_COLUMNS`). At first sight the view shows the newest study shipped
in `docs/sensitivity/` (the tornado) and the newest in `docs/variance/` (the split by source), each
the newest by its `study.json` and named with its scale and date; a file dropped from the browser
replaces the one of its kind. A file is recognised by its columns; one that has neither set is one
line naming what is missing. The two studies name their outputs differently (`spend_gbp` in
indices.csv, `baseline:spend_gbp` in the variance table): an output is matched by the measure after
the colon, so the tornado and the split of one output show side by side.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import solara

from experiments.page import charts as page_charts
from runner.errors import UserError
from runner.sensitivity import INDEX_COLUMNS
from runner.variance_sources import SHARE_COLUMNS

MAX_BYTES = 16 * 2**20
DOCS = Path(__file__).resolve().parents[2] / "docs"
SHIPPED_STUDIES = DOCS / "sensitivity"
SHIPPED_VARIANCE = DOCS / "variance"
INDICES_FILE = "indices.csv"
SHARES_FILE = "variance_sources.csv"  # as `caresim compare --lever-uncertainty` names it
indices = solara.reactive(None)
shares = solara.reactive(None)
message = solara.reactive(("", ""))
output = solara.reactive(None)


def read_table(name: str, data: bytes) -> tuple[str, pd.DataFrame]:
    """("indices" | "shares", table) of an uploaded CSV; UserError (one line) if it is neither."""
    if len(data) > MAX_BYTES:
        raise UserError(f"{name}: {len(data):,} bytes is more than a results table holds")
    try:
        table = pd.read_csv(io.BytesIO(data))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{name}: not a CSV table ({exc})") from None
    for kind, columns in (("indices", INDEX_COLUMNS), ("shares", SHARE_COLUMNS)):
        if set(columns) <= set(table.columns):
            numeric = [c for c in columns if c not in ("output", "input", "method", "index", "source")]
            for c in numeric:
                table[c] = pd.to_numeric(table[c], errors="coerce")
            return kind, table
    raise UserError(f"{name}: columns {list(table.columns)} are neither indices.csv's ({', '.join(INDEX_COLUMNS)}) "
                    f"nor a variance-by-source table's ({', '.join(SHARE_COLUMNS)})")


def newest_shipped(root: Path, table_file: str) -> tuple[Path, dict] | None:
    """(folder, its study.json) of the newest study under `root` (by study.json's date) that has
    `table_file`; None if there is none."""
    found = []
    for note in sorted(root.glob("*/study.json")):
        if (note.parent / table_file).is_file():
            study = json.loads(note.read_text())
            found.append((str(study.get("date", "")), note.parent, study))
    if not found:
        return None
    _, folder, study = max(found, key=lambda item: item[0])
    return folder, study


def _shipped(root: Path, table_file: str, label: str, keys: tuple[str, ...]) -> tuple[pd.DataFrame, str] | None:
    """The newest shipped study's table and a line naming it (folder under `label`, the settings in
    `keys`, date)."""
    newest = newest_shipped(root, table_file)
    if newest is None:
        return None
    folder, study = newest
    _, table = read_table(table_file, (folder / table_file).read_bytes())
    settings = study.get("settings", {})
    described = ", ".join(f"{key} {settings[key]}" for key in keys if key in settings)
    return table, f"From the shipped study `{label}/{folder.name}` ({described}; run {study.get('date', '')})."


def shipped_study(root: Path = SHIPPED_STUDIES) -> tuple[pd.DataFrame, str] | None:
    """The newest shipped sensitivity study under `root`: its indices and a line naming it (folder,
    scenario, scale, end year, date); None if there is none."""
    return _shipped(root, INDICES_FILE, "docs/sensitivity",
                    ("scenario", "scale", "end year", "Morris trajectories", "Sobol top", "Sobol N"))


def shipped_variance_study(root: Path = SHIPPED_VARIANCE) -> tuple[pd.DataFrame, str] | None:
    """The newest shipped variance-by-source study under `root`: its shares and a line naming it
    (folder, scenario, scale, end year, variance samples, date); None if there is none."""
    return _shipped(root, SHARES_FILE, "docs/variance", ("scenario", "scale", "end year", "variance samples"))


def measure(output: str) -> str:
    """`baseline:spend_gbp` -> `spend_gbp`: the measure an output names, whatever its scenario prefix."""
    return output.split(":", 1)[-1]


def matching_output(names, chosen: str) -> str | None:
    """The name among `names` that is `chosen`, else the first that names the same measure; None if none."""
    names = list(dict.fromkeys(names))
    if chosen in names:
        return chosen
    return next((name for name in names if measure(name) == measure(chosen)), None)


def output_choices(indices_table: pd.DataFrame | None, shares_table: pd.DataFrame | None) -> list[str]:
    """The outputs to choose from: the tornado's, then each variance output whose measure the tornado lacks."""
    tornado = list(dict.fromkeys(() if indices_table is None else indices_table["output"]))
    split = [] if shares_table is None else list(dict.fromkeys(shares_table["output"]))
    return sorted(tornado + [name for name in split if matching_output(tornado, name) is None])


@solara.component
def UncertaintyView():
    def uploaded(info) -> None:
        try:
            kind, table = read_table(info["name"], info["data"])
        except UserError as exc:
            message.value = ("error", str(exc))
            return
        (indices if kind == "indices" else shares).value = table
        message.value = ("ok", f"Read {info['name']} ({len(table):,} rows).")

    solara.Markdown("How sure is a figure? `caresim sensitivity` writes `indices.csv` (which inputs an output "
                    "rests on); a study of uncertainty by source writes the split of an output's variance. "
                    "Drop either file here.")
    with solara.Div(classes=["upload-indices"]):
        solara.FileDrop(label="Drop indices.csv or a variance-by-source CSV here", on_file=uploaded, lazy=False)
    kind, text = message.value
    if kind == "ok":
        solara.Success(text, dense=True)
    elif kind == "error":
        solara.Error(text, dense=True, classes=["uncertainty-error"])
    shown_indices, shown_shares = indices.value, shares.value
    if shown_indices is None:
        shipped = shipped_study()
        if shipped is not None:
            shown_indices, described = shipped
            solara.Markdown(f"Tornado: {described}")
    if shown_shares is None:
        shipped = shipped_variance_study()
        if shipped is not None:
            shown_shares, described = shipped
            solara.Markdown(f"Split by source: {described}")
    outputs = output_choices(shown_indices, shown_shares)
    if not outputs:
        solara.Info("No sensitivity results read yet.")
        return
    chosen = output.value if output.value in outputs else outputs[0]
    solara.Select("Output", values=outputs, value=chosen, on_value=output.set)
    tornado_output = None if shown_indices is None else matching_output(shown_indices["output"], chosen)
    split_output = None if shown_shares is None else matching_output(shown_shares["output"], chosen)
    with solara.Row():
        if tornado_output is not None:
            with solara.Div(classes=["chart-tornado"]):
                solara.FigureAltair(page_charts.tornado_chart(shown_indices, tornado_output))
        if split_output is not None:
            with solara.Div(classes=["chart-shares"]):
                solara.FigureAltair(page_charts.shares_chart(shown_shares, split_output))
