"""The page's uncertainty view: the tornado of an output and the split of its variance by source.

Both read files that other commands write: `indices.csv` of `caresim sensitivity` (columns
`runner.sensitivity.INDEX_COLUMNS`) and a variance-by-source table (columns
`runner.variance_sources.SHARE_COLUMNS`). At first sight the view shows the study shipped in
`docs/sensitivity/` (the newest by its `study.json`), saying which study, scale and date it comes
from; a file dropped from the browser replaces it. A file is recognised by its columns; one that
has neither set is one line naming what is missing.
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
SHIPPED_STUDIES = Path(__file__).resolve().parents[2] / "docs" / "sensitivity"
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


def shipped_study(root: Path = SHIPPED_STUDIES) -> tuple[pd.DataFrame, str] | None:
    """The newest shipped study under `root` (by its study.json's date): its indices and a line
    naming it (folder, scenario, scale, end year, date); None if there is none."""
    found = []
    for note in sorted(root.glob("*/study.json")):
        if (note.parent / "indices.csv").is_file():
            study = json.loads(note.read_text())
            found.append((str(study.get("date", "")), note.parent, study))
    if not found:
        return None
    day, folder, study = max(found, key=lambda item: item[0])
    _, table = read_table("indices.csv", (folder / "indices.csv").read_bytes())
    settings = study.get("settings", {})
    described = ", ".join(f"{key} {settings[key]}" for key in ("scenario", "scale", "end year", "Morris trajectories",
                                                                "Sobol top", "Sobol N") if key in settings)
    return table, f"From the shipped study `docs/sensitivity/{folder.name}` ({described}; run {day})."


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
    shown_indices = indices.value
    if shown_indices is None:
        shipped = shipped_study()
        if shipped is not None:
            shown_indices, described = shipped
            solara.Markdown(described)
    outputs = sorted(set(() if shown_indices is None else shown_indices["output"])
                     | set(() if shares.value is None else shares.value["output"]))
    if not outputs:
        solara.Info("No sensitivity results read yet.")
        return
    chosen = output.value if output.value in outputs else outputs[0]
    solara.Select("Output", values=outputs, value=chosen, on_value=output.set)
    if shown_indices is not None and (shown_indices["output"] == chosen).any():
        with solara.Div(classes=["chart-tornado"]):
            solara.FigureAltair(page_charts.tornado_chart(shown_indices, chosen))
    if shares.value is not None and (shares.value["output"] == chosen).any():
        with solara.Div(classes=["chart-shares"]):
            solara.FigureAltair(page_charts.shares_chart(shares.value, chosen))
