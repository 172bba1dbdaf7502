"""The page's uncertainty view: the tornado of an output and the split of its variance by source.

Both read files that other commands write, sent from the browser: `indices.csv` of `caresim
sensitivity` (columns `runner.sensitivity.INDEX_COLUMNS`) and a variance-by-source table
(columns `runner.variance_sources.SHARE_COLUMNS`). A file is recognised by its columns; one that
has neither set is one line naming what is missing.
"""
from __future__ import annotations

import io

import pandas as pd
import solara

from experiments.page import charts as page_charts
from runner.errors import UserError
from runner.sensitivity import INDEX_COLUMNS
from runner.variance_sources import SHARE_COLUMNS

MAX_BYTES = 16 * 2**20
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
    outputs = sorted(set(() if indices.value is None else indices.value["output"])
                     | set(() if shares.value is None else shares.value["output"]))
    if not outputs:
        solara.Info("No sensitivity results read yet.")
        return
    chosen = output.value if output.value in outputs else outputs[0]
    solara.Select("Output", values=outputs, value=chosen, on_value=output.set)
    if indices.value is not None and (indices.value["output"] == chosen).any():
        with solara.Div(classes=["chart-tornado"]):
            solara.FigureAltair(page_charts.tornado_chart(indices.value, chosen))
    if shares.value is not None and (shares.value["output"] == chosen).any():
        with solara.Div(classes=["chart-shares"]):
            solara.FigureAltair(page_charts.shares_chart(shares.value, chosen))
