"""The page's authority view: England, or one local authority's SSDA903 files under a data root.

The files never leave this machine: the page lists the folders under the root that
`caresim dashboard --data-root DIR` names (nothing outside it can be chosen, and no path is typed),
and runs the chosen authority through the local model (`calibration.local.local_run`, the
function behind `caresim run --data`, registered by the command line: `register_local_model`). Counts are shown through `calibration.local.suppress_counts`
(a count of 1 to 5, and any count that would reveal one through the table's sums, shown as
`c`), as the Futures view shows England's: children in care by placement with the 90% band, and
a table by year. Where the local model is not installed yet, the view says so.
"""
from __future__ import annotations

import os
from pathlib import Path

import solara
import solara.lab
import solara.widgets

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


# the authority's counts shown, as the Futures view shows England's: placements, entries and exits
PLACEMENTS = {"n_in_care": "All children in care", "n_foster": "Foster care (incl. kinship)",
              "n_residential": "Children's homes and semi-independent", "n_other_care": "Other placements"}
FLOWS = {"new_entries": "Entering care in the year", "new_exits": "Leaving care in the year"}
HIDDEN = "c"


def shown_tables(runs, suppress_counts):
    """(mean, p05, p95) by year of each count over the replications, as shown: the means through
    `suppress_counts` (1-5, and what would reveal one through the sums of the table, as `c`),
    a percentile hidden where its mean is or where it is itself 1-5 (NaN)."""
    columns = [*PLACEMENTS, *FLOWS]
    by_year = runs.groupby("year")[columns]
    mean = suppress_counts(by_year.mean())
    bands = []
    for q in (0.05, 0.95):
        band = by_year.quantile(q)
        small = (band.round() >= 1) & (band.round() <= 5)
        bands.append(band.mask(small | (mean == HIDDEN).to_numpy()).astype(float))
    return mean, bands[0], bands[1]


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
    mean, p05, p95 = shown_tables(out.runs, suppress_counts)
    result.value = (name, mean, chart(name, len(seeds), mean, p05, p95))


def chart(name: str, replications: int, mean, p05, p95) -> dict:
    """The care chart of the Futures view for the authority: mean and 90% band by placement, the
    hidden counts left out."""
    import pandas as pd

    from experiments.page.charts import fan_chart

    frames = []
    for column, title in PLACEMENTS.items():
        values = pd.to_numeric(mean[column].replace(HIDDEN, float("nan")), errors="coerce")
        frames.append(pd.DataFrame({"series": name, "measure": title, "year": mean.index.astype(int),
                                    "median": values.to_numpy(), "p05": p05[column].to_numpy(),
                                    "p95": p95[column].to_numpy()}))
    data = pd.concat(frames, ignore_index=True).dropna(subset=["median"])
    return fan_chart(data, None, unit="children", label_year=int(mean.index.max()),
                     title=f"{name}: children in care at 31 March, mean and 90% band of {replications} runs "
                           "(counts of 1-5, and what would reveal one, not drawn)").to_dict(validate=False)


def table_html(mean) -> str:
    import html

    head = "".join(f"<th>{html.escape(t)}</th>" for t in [*PLACEMENTS.values(), *FLOWS.values()])
    rows = "".join(
        f"<tr><td style='text-align:left'>31 March {int(year)}</td>"
        + "".join(f"<td>{v if v == HIDDEN else ('' if v != v else f'{float(v):,.0f}')}</td>" for v in row)
        + "</tr>" for year, row in zip(mean.index, mean[[*PLACEMENTS, *FLOWS]].itertuples(index=False)))
    return (f"<table class='authority-table' style='border-collapse:collapse;width:100%'><tr><th style='text-align:left'>"
            f"Year</th>{head}</tr>{rows}</table>")


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
        solara.Error(message.value, dense=True, classes=["authority-error"])
    if result.value is not None and result.value[0] == chosen.value:
        name, mean, spec = result.value
        with solara.Div(classes=["authority-chart"]):
            solara.widgets.VegaLite.element(spec=spec, on_click=None, listen_to_click=False, on_hover=None,
                                            listen_to_hover=False)
        solara.Text("Means over the replications, from the authority's own return and local model (processed "
                    "on this machine). Counts from 1 to 5 are shown as c, and so is any count that would reveal one "
                    "by subtraction.", style={"font-size": "12px", "color": "#555"})
        solara.HTML(tag="div", unsafe_innerHTML=table_html(mean))
