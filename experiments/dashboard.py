"""The browser dashboard: choose a mix of policy levers and see its futures beside the baseline.

A Solara app (the stack of Mesa 3's own visualisation), started by `caresim dashboard`. Views:

* **Futures** - opens on the baseline forecast with nothing to press (children in care by
  placement type and spend, median and 90% band, observed points to 2020), from a cache of
  results (`experiments.page.cache`, keyed by scenario, settings, parameter file and code).
  Start from a shipped scenario or a scenario file dropped on the page, switch levers on and off
  and set their strengths (controls built from `sim.levers.LEVERS` and each argument's
  `ParamSpec`), and run: the mix and the baseline with the same seeds (common random numbers),
  2015 -> 2030, in a background thread with progress and a Cancel button. Shown: interactive
  charts (`experiments.page.charts`: values on hover, legend entries switch series off, PNG/SVG
  from the chart's menu), the 2025 table with the saving net of investment paired by seed, and
  the 2025 net saving by lever as a waterfall (Shapley values, `runner.attribution`). The
  results download as CSV and the mix as a scenario file that `caresim compare` reads unchanged;
  no path on the server is ever typed.
* **Uncertainty** - the tornado of an output and its variance by source, from the files
  `caresim sensitivity` and the variance study write (`experiments.page.uncertainty`).
* **Authorities** - England, or an authority's SSDA903 files from a folder under
  `--data-root` (`experiments.page.authority`): its children in care by placement with the band
  and a table by year, counts of 1-5 and what would reveal them shown as `c`.

First sight is fast because nothing is built twice: the server's warm-up
(`dashboard_command.warm_cache`) reads or runs the baseline and builds its charts' specs, kept in
memory for every tab (`chart_spec`, `keep_first_sight`); a new tab shows them in its first
update, and the chart's widget is on the page, empty, before the result arrives, so the browser
loads vega meanwhile.
* **Watch one run** - a single small run in the Mesa style (reset / step / play).

Every number on the page comes from the Monte Carlo runner every command uses
(`runner.montecarlo`, same seeds, same posterior draw per seed as `caresim compare`) and the one
summary (`runner.summary`), or from `sim.model.CareModel` for the single run; nothing is typed in
here. Page state (`solara.reactive` at module level) is per browser tab (Solara keeps it per
kernel); only caches of finished runs are shared. Mesa 3.3.1's `mesa.visualization` needs extras
caresim does not install, so the step/play/reset controls are written here in plain Solara,
after Mesa's `ModelController`.
"""
from __future__ import annotations

import html
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import solara
import solara.lab
import solara.widgets
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

import pandas as pd

from experiments.page import cache as page_cache
from experiments.page import charts as page_charts
from experiments.scenarios import Scenario, ScenarioError, load_scenario, parse_scenario, scenario_names
from experiments.page.authority import AuthorityView
from experiments.page.uncertainty import UncertaintyView
from runner.attribution import LeverSavings, lever_savings, orders, subsets_needed
from runner.montecarlo import BASELINE_SCENARIO, ExecutorOptions, as_rows, plan, run_replications, seeds_of
from runner.summary import BASELINE, SAVING, summarise
from sim.levers import LEVERS
from sim.policy import DEFAULT_START, SHARE_REALISED, LeverError, ParamSpec, parse_start
from sim.measures import CONTRACT
from sim.parameters import ParameterError

matplotlib.use("Agg")

END_YEAR = 2030
TABLE_YEAR = 2025
SCALES = [0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
DEFAULT_SCALE = 0.05
DEFAULT_REPLICATIONS = 3
MAX_REPLICATIONS = 20
OBSERVED_UP_TO = 2020  # calibration targets after this year are forecasts or checks, not observations
MIX = "this mix"  # the label of the mix's runs beside the baseline's (a mix may be called "baseline")
# public measures (sim.measures) the page shows, by their summary names
PLACEMENTS = {"children_in_care": "All children in care", "foster": "Foster care (incl. kinship)",
              "residential": "Children's homes and semi-independent", "other": "Other placements"}
SHOWN = {name: CONTRACT[name] for name in [*PLACEMENTS, "spend_gbp", "edge_spend_gbp"]}
SCENARIO_COLOUR, BASELINE_COLOUR = "#1f5fa8", "#7f7f7f"
SINGLE_RUN_COUNTS = {"n_child_in_need": "Assessed at risk of care", "n_child_protection": "On a protection plan",
                     "n_edge_of_care": "Edge-of-care support", "n_foster": "Foster care",
                     "n_residential": "Children's homes and semi-independent", "n_other_care": "Other care",
                     "n_returned_home": "Returned home (monitored)"}


# ---------------------------------------------------------------------------- the mix of levers
@dataclass
class Mix:
    """What the controls show: the scenario being built. Every lever is present, on or off."""

    name: str = "my-mix"
    description: str = ""
    share_realised: float = SHARE_REALISED.default
    enabled: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(LEVERS, False))
    args: dict[str, dict] = field(default_factory=lambda: {k: default_args(k) for k in LEVERS})
    order: list[str] = field(default_factory=lambda: list(LEVERS))  # a loaded file's order is kept


def default_args(kind: str) -> dict:
    """Every argument of lever `kind` at its default, `start` included."""
    return {"start": DEFAULT_START, **{name: spec.default for name, spec in LEVERS[kind].specs().items()}}


def mix_tables(mix: Mix) -> list[dict]:
    """The lever tables of the switched-on levers, as a scenario file holds them."""
    return [{"type": kind, **mix.args[kind]} for kind in mix.order if mix.enabled[kind]]


def to_scenario(mix: Mix) -> Scenario:
    """The mix as a Scenario, checked by the scenario loader itself (ScenarioError if unusable)."""
    doc = {"name": mix.name, "description": mix.description, "share_realised": mix.share_realised,
           "levers": mix_tables(mix)}
    return parse_scenario(doc, source="the page")


def from_scenario(scenario: Scenario) -> Mix:
    """The controls for a scenario: its levers switched on with its arguments, the rest off.

    A scenario with two levers of one type shows the last (the page holds one of each type).
    """
    mix = Mix(name=scenario.name, description=scenario.description, share_realised=scenario.share_realised)
    for lever in scenario.levers:
        kind = lever.to_dict()["type"]
        mix.enabled[kind] = True
        mix.args[kind] = {**default_args(kind), **{k: v for k, v in lever.to_dict().items() if k != "type"}}
    kinds = [lever.to_dict()["type"] for lever in scenario.levers]
    mix.order = list(dict.fromkeys(kinds + list(LEVERS)))
    return mix


def save_scenario(mix: Mix, path: Path) -> Scenario:
    """Write the mix as a scenario file and check that `load_scenario` reads back the same scenario."""
    scenario = to_scenario(mix)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(scenario.to_toml(), encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot write ({exc.strerror})") from None
    if load_scenario(path).to_dict() != scenario.to_dict():  # pragma: no cover - a bug, not a user error
        raise ScenarioError(f"{path}: the file written does not read back as the same scenario")
    return scenario


def scenario_text(mix: Mix) -> str:
    """The mix as the text of a scenario file (what the page offers to download)."""
    return to_scenario(mix).to_toml()


MAX_UPLOAD_BYTES = 256 * 1024  # a scenario file is well under 1 kB


def scenario_from_upload(name: str, data: bytes) -> Scenario:
    """A scenario file sent from the browser, read by the scenario loader itself (ScenarioError if unusable)."""
    import tomllib

    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioError(f"{name}: {len(data):,} bytes is too large for a scenario file")
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{name}: not a TOML scenario file ({exc})") from None
    return parse_scenario(doc, source=name)


def parse_value(spec: ParamSpec, kind: str, name: str, text: str) -> float | int:
    """A typed value checked against its spec; LeverError (one line) if it is not usable."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise LeverError(f"{name}: {text.strip()!r} is not a number") from None
    if spec.integer:
        if not value.is_integer():
            raise LeverError(f"{name}: {text.strip()!r} is not a whole number")
        value = int(value)
    try:
        spec.check(kind, name, value)
    except LeverError:
        raise LeverError(f"{name}: {format_value(value)} is outside {format_value(spec.lo)} to "
                         f"{format_value(spec.hi)} {spec.unit}") from None
    return value


def format_value(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) >= 1 else f"{value:.4g}"


def slider_range(spec: ParamSpec) -> tuple[float, float]:
    """The slider's span: the whole range, or up to 4x the default where the range is vast."""
    hi = spec.hi if spec.default <= 0 or spec.hi <= 20 * spec.default else 4 * spec.default
    return float(spec.lo), float(hi)


def pretty(name: str) -> str:
    words = name.replace("gbp_", "spending_").replace("_", " ")
    return words[:1].upper() + words[1:]


# ---------------------------------------------------------------------------- running the futures
@dataclass
class Futures:
    """A scenario and its baseline run with paired seeds, and their summary (runner.summary).

    `runs` holds one row per (run, seed, year): the mix's rows are labelled `MIX`, the baseline's
    `BASELINE`, whatever the mix is called. `summary` is `runner.summary.summarise` of them with
    paired changes: the statistics `caresim compare` computes from the same runs.
    """

    name: str
    levers: list[str]  # titles of the scenario's levers
    runs: pd.DataFrame
    summary: pd.DataFrame
    replications: int
    scale: float
    seed: int
    savings: LeverSavings | None = None  # the 2025 net saving by lever (None: no lever)
    from_cache: bool = False
    key: str = ""  # the result's key in the disk cache ("" when run without it): names its charts' specs

    @property
    def years(self) -> np.ndarray:
        return self.rows(BASELINE)["year"].to_numpy()

    def rows(self, which: str) -> pd.DataFrame:
        """Summary rows of `MIX` or `BASELINE`, one per year."""
        return self.summary[self.summary["scenario"] == which].reset_index(drop=True)

    def at(self, which: str, column: str, year: int = TABLE_YEAR) -> float:
        rows = self.rows(which)
        return float(rows.loc[rows["year"] == year, column].iloc[0])


_baseline_cache: dict[tuple, pd.DataFrame] = {}
_baseline_lock = threading.Lock()
_parameter_sets: list = []


def parameter_set():
    """The shipped parameter file (point estimate and any posterior draws), read once per server,
    so that every run of a session uses the same file; replication i uses the draw `caresim
    compare` uses for the same seed."""
    from sim.parameter_file import ParameterSet

    with _baseline_lock:
        if not _parameter_sets:
            _parameter_sets.append(ParameterSet.load(None))
        return _parameter_sets[0]


class _Cancelled(Exception):
    """A newer run replaced this one: stop between replications."""


def run_futures(scenario: Scenario, *, replications: int, scale: float, seed: int = 1, on_progress=None,
                cancelled=lambda: False, by_lever: bool = True, use_cache: bool = True) -> Futures | None:
    """Run the scenario and the baseline with paired seeds through the Monte Carlo runner, and
    (`by_lever`) every subset of its levers the Shapley decomposition needs (runner.attribution);
    `on_progress(done, total)` after each run. Baseline runs are kept in memory (the same for
    every mix); whole results are kept on disk (experiments.page.cache) under a key of the
    scenario, the settings, the parameter file and the code.

    Returns None if `cancelled()` became true between runs.
    """
    doc = scenario.to_dict()
    with _baseline_lock:
        key_lock = _result_locks.setdefault(repr(sorted(doc.items())) + f"{replications}/{scale}/{seed}", threading.Lock())
    with key_lock:  # the same result asked for twice at once (the warm-up and a first visitor) is run once
        return _run_futures(scenario, doc, replications=replications, scale=scale, seed=seed, on_progress=on_progress,
                            cancelled=cancelled, by_lever=by_lever, use_cache=use_cache)


_result_locks: dict[str, threading.Lock] = {}


def _run_futures(scenario: Scenario, doc: dict, *, replications: int, scale: float, seed: int, on_progress,
                 cancelled, by_lever: bool, use_cache: bool) -> Futures | None:
    entry = page_cache.key(doc, replications=replications, scale=scale, seed=seed, end_year=END_YEAR,
                           year=TABLE_YEAR, by_lever=by_lever) if use_cache else None
    if entry is not None and (hit := page_cache.load(entry)) is not None:
        tables, meta = hit
        return _futures(scenario, tables["runs"], replications, scale, seed,
                        _savings(tables.get("levers"), meta), from_cache=True, key=entry)
    seeds = seeds_of(seed, replications)
    mix_doc = {**doc, "name": MIX}
    levers_on = len(scenario.levers) > 0
    n_subsets = len(subsets_needed(len(scenario.levers), orders(len(scenario.levers)))) if by_lever and levers_on else 2
    todo = plan([mix_doc, BASELINE_SCENARIO] if levers_on else [BASELINE_SCENARIO], seeds, parameter_set())
    frames = []
    with _baseline_lock:
        for r in todo:
            cached = _baseline_cache.get((r.seed, scale, END_YEAR)) if r.scenario is BASELINE_SCENARIO else None
            if cached is not None:
                frames.append(cached)
    todo = [r for r in todo if not (r.scenario is BASELINE_SCENARIO and (r.seed, scale, END_YEAR) in _baseline_cache)]
    total, done = n_subsets * replications, [len(frames)]

    def count(replication, table) -> None:
        done[0] += 1
        if on_progress:
            on_progress(min(done[0], total), total)
        if cancelled():
            raise _Cancelled

    def keep(replication, table) -> None:
        rows = as_rows(table, replication.scenario["name"], replication.seed)
        frames.append(rows)
        if replication.scenario is BASELINE_SCENARIO:
            with _baseline_lock:
                _baseline_cache[(replication.seed, scale, END_YEAR)] = rows
        count(replication, table)

    try:
        run_replications(todo, keep, scale=scale, end_year=END_YEAR, executor=ExecutorOptions())
        runs = pd.concat(frames, ignore_index=True)
        if not levers_on:  # the mix is the baseline: its runs are the baseline's, shown once under each label
            runs = pd.concat([runs.assign(scenario=MIX), runs], ignore_index=True)
        savings = None
        if by_lever and levers_on:
            done_runs = runs.replace({"scenario": {MIX: "+".join(str(i) for i in range(len(scenario.levers)))}})
            savings = lever_savings(doc, seeds, parameter_set(), scale=scale, end_year=END_YEAR, year=TABLE_YEAR,
                                    on_table=count, runs_done=done_runs)
    except _Cancelled:
        return None
    f = _futures(scenario, runs, replications, scale, seed, savings, key=entry or "")
    if entry is not None:
        tables = {"runs": runs}
        if savings is not None:
            tables["levers"] = savings.table
        page_cache.store(entry, tables, {"total_gbp": None if savings is None else savings.total_gbp,
                                         "exact": None if savings is None else savings.exact})
    return f


def _futures(scenario: Scenario, runs: pd.DataFrame, replications: int, scale: float, seed: int,
             savings: LeverSavings | None, from_cache: bool = False, key: str = "") -> Futures:
    summary = summarise(runs, measures=SHOWN, baseline=BASELINE, changes=True)
    titles = [type(lever).TITLE or lever.name for lever in scenario.levers]
    return Futures(scenario.name, titles, runs, summary, replications, scale, seed, savings, from_cache, key)


def _savings(table: pd.DataFrame | None, meta: dict) -> LeverSavings | None:
    if table is None:
        return None
    return LeverSavings(table, float(meta["total_gbp"]), TABLE_YEAR, bool(meta["exact"]), pd.DataFrame())


def results_csv(f: Futures) -> bytes:
    """The summary behind the charts and the table, one row per (scenario, year), as CSV."""
    out = f.summary.replace({"scenario": {MIX: f.name}}) if f.name != BASELINE else f.summary
    if f.name == BASELINE:
        out = out[out["scenario"] == BASELINE]
    return out.to_csv(index=False).encode()


def table_rows(f: Futures) -> list[tuple[str, str, str, str]]:
    """The 2025 figures: (what, baseline, scenario, change with 90% range), medians of runs;
    changes are paired by seed."""
    rows = []

    def add(label, name, divisor):
        change = [f.at(MIX, f"{name}_change_{stat}") / divisor for stat in ("median", "p05", "p95")]
        rows.append((label, f"{f.at(BASELINE, f'{name}_median') / divisor:,.0f}",
                     f"{f.at(MIX, f'{name}_median') / divisor:,.0f}", _change(*change, f.replications)))

    for name, label in PLACEMENTS.items():
        add(f"{label} (31 March {TABLE_YEAR})", name, 1)
    add(f"Spend on children in care, £m (year to March {TABLE_YEAR})", "spend_gbp", 1e6)
    add(f"Edge-of-care spend, £m (year to March {TABLE_YEAR})", "edge_spend_gbp", 1e6)
    net = [f.at(MIX, f"{SAVING}_{stat}") / 1e6 for stat in ("median", "p05", "p95")]
    rows.append((f"Saving net of investment, £m (year to March {TABLE_YEAR})", "", "",
                 _change(*net, f.replications, signed=False)))
    return rows


def _change(median: float, lo: float, hi: float, replications: int, signed: bool = True) -> str:
    text = f"{median:+,.0f}" if signed else f"{median:,.0f}"
    if replications > 1:
        text += f" ({lo:,.0f} to {hi:,.0f})"
    return text


def table_html(f: Futures) -> str:
    head = ("<tr><th style='text-align:left'>2025</th><th>Baseline</th><th>This mix</th>"
            "<th>Change (90% range)</th></tr>")
    body = "".join(
        "<tr>" + f"<td style='text-align:left'>{html.escape(r[0])}</td>"
        + "".join(f"<td>{html.escape(c)}</td>" for c in r[1:]) + "</tr>" for r in table_rows(f))
    return (f"<table class='results-table' style='border-collapse:collapse;width:100%;font-size:15px'>"
            f"<style>.results-table td,.results-table th{{padding:6px 10px;border-bottom:1px solid #ddd;"
            f"text-align:right}}</style>{head}{body}</table>")


# ---------------------------------------------------------------------------- charts
def _series(f: Futures) -> dict[str, pd.DataFrame]:
    """Summary rows by the label a chart shows: the baseline, and the mix when it has levers."""
    rows = {"Baseline": f.rows(BASELINE)}
    if f.levers:
        rows[f.name] = f.rows(MIX)
    return rows


def observed_points() -> pd.DataFrame:
    """Observed values of the charts' measures to OBSERVED_UP_TO, from the calibration's data file
    (calibration/data/targets.csv, read as data: `experiments` does not import `calibration`):
    children in care, foster and residential as their observed shares of it, and spend (£m)."""
    from importlib import resources

    targets = pd.read_csv(resources.files("calibration.data") / "targets.csv")
    targets = targets[targets["year"] <= OBSERVED_UP_TO]
    by = {(m, y): (v, src) for m, y, v, src in targets[["measure", "year", "value", "source"]].itertuples(index=False)}
    rows = []
    for (measure, year), (value, source) in by.items():
        if measure == "n_in_care":
            rows.append(("All children in care", year, value, source))
            for share, title in (("foster_share", PLACEMENTS["foster"]), ("residential_share", PLACEMENTS["residential"])):
                if (share, year) in by:
                    rows.append((title, year, value * by[(share, year)][0], by[(share, year)][1]))
        elif measure == CONTRACT["spend_gbp"]:
            rows.append(("Spend on children in care", year, value / 1e6, source))
    return pd.DataFrame(rows, columns=["measure", "year", "value", "source"])


_specs: OrderedDict[tuple, dict] = OrderedDict()  # (result key, chart) -> Vega-Lite spec, shared by tabs
SPECS_KEPT = 64
# drawn where a chart will be before its result arrives, so that the browser loads vega meanwhile
PLACEHOLDER_SPEC = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "data": {"values": []},
                    "mark": "point", "width": 1, "height": 1, "config": {"view": {"stroke": None}},
                    "usermeta": {"embedOptions": {"actions": False}}}


def chart_spec(make, f: Futures, *args) -> dict:
    """The Vega-Lite spec of chart `make` for `f`, not re-validated against the schema. Altair
    takes ~0.3 s a chart, so a cached result's specs are built once per server (the warm-up
    builds the first sight's) and shared by every tab that shows that result."""
    if not f.key:
        return make(f, *args).to_dict(validate=False)
    name = (f.key, make.__name__, *args)
    with _baseline_lock:
        spec = _specs.get(name)
    if spec is None:
        spec = make(f, *args).to_dict(validate=False)
        with _baseline_lock:
            _specs[name] = spec
            while len(_specs) > SPECS_KEPT:
                _specs.popitem(last=False)
    return spec


@solara.component
def Chart(make, f: Futures | None, *args):
    """An Altair chart drawn by Solara's Vega-Lite widget (what `solara.FigureAltair` uses); with
    no result yet (`f` None) an empty one, which the result's chart then updates in place."""
    spec = solara.use_memo(lambda: PLACEHOLDER_SPEC if f is None else chart_spec(make, f, *args),
                           dependencies=[id(f), *args])
    return solara.widgets.VegaLite.element(spec=spec, on_click=None, listen_to_click=False, on_hover=None,
                                           listen_to_hover=False)


def waterfall(f: Futures):
    return page_charts.waterfall_chart(
        f.savings.table, f.savings.total_gbp,
        title=f"{f.name}: year to March {TABLE_YEAR}, £m (mean of {f.replications} paired runs)")


def care_chart(f: Futures):
    data = page_charts.fan_data(_series(f), PLACEMENTS)
    return page_charts.fan_chart(data, observed_points(), unit="children", label_year=TABLE_YEAR,
                                 title=f"Children in care at 31 March: median and 90% band of {f.replications} runs")


def spend_chart(f: Futures):
    data = page_charts.fan_data(_series(f), {"spend_gbp": "Spend on children in care",
                                             "edge_spend_gbp": "Edge-of-care spend"}, divisor=1e6)
    return page_charts.fan_chart(data, observed_points(), unit="£m", label_year=TABLE_YEAR,
                                 title="Spend in the year to 31 March, £m (median and 90% band)")


def single_run_figure(table) -> Figure:
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    ax = fig.subplots()
    dates = table["year"] + (table["month_of_year"] - 1) / 12
    ax.plot(dates, table["n_in_care"], label="All children in care", color="black", linewidth=2.6)
    for col, label in SINGLE_RUN_COUNTS.items():
        ax.plot(dates, table[col], label=label, linewidth=1.8)
    ax.set_xlim(2015, END_YEAR + 0.3)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=10)
    ax.set_title("Children by state at the end of each month (England scale)", fontsize=13)
    return fig


# ---------------------------------------------------------------------------- page state (per browser session)
def first_mix() -> Mix:
    """The mix a new page starts with: the shipped baseline scenario."""
    return from_scenario(load_scenario(BASELINE))


mix = solara.reactive(first_mix())
errors = solara.reactive({})  # control key -> message; a run or save waits until none is left
drafts = solara.reactive({})  # control key -> the bad text the user typed (kept visible beside the message)
generation = solara.reactive(0)  # bumped when a scenario is loaded, to redraw the controls
replications = solara.reactive(DEFAULT_REPLICATIONS)
scale = solara.reactive(DEFAULT_SCALE)
seed = solara.reactive(1)
progress = solara.reactive(0.0)
run_error = solara.reactive("")
futures = solara.reactive(None)
start_from = solara.reactive(BASELINE)
cancel_requested = solara.reactive(False)
elapsed = solara.reactive(0.0)
indices_table = solara.reactive(None)  # an uploaded indices.csv (caresim sensitivity)
shares_table = solara.reactive(None)  # an uploaded variance-by-source table
uncertainty_message = solara.reactive(("", ""))
file_message = solara.reactive(("", ""))  # (kind, text): kind in {"ok", "error"}


def set_mix(**changes) -> None:
    m = mix.value
    mix.value = Mix(**{**m.__dict__, **changes})


def set_arg(kind: str, name: str, value) -> None:
    args = {**mix.value.args, kind: {**mix.value.args[kind], name: value}}
    set_mix(args=args)


def set_error(key: str, message: str | None, text: str | None = None) -> None:
    e, d = dict(errors.value), dict(drafts.value)
    e.pop(key, None)
    d.pop(key, None)
    if message:
        e[key], d[key] = message, text
    errors.value, drafts.value = e, d


@solara.lab.task(prefer_threaded=True)
def run_task(scenario: Scenario, reps: int, sc: float, sd: int):
    started = time.perf_counter()
    progress.value = 0.0
    cancel_requested.value = False

    def on_progress(done, total):
        progress.value = 100.0 * done / total

    result = run_futures(scenario, replications=reps, scale=sc, seed=sd, on_progress=on_progress,
                         cancelled=lambda: cancel_requested.value or not run_task.is_current())
    if result is not None:
        futures.value = result
    elapsed.value = time.perf_counter() - started
    return elapsed.value


def start_run() -> None:
    run_error.value = ""
    if seed.value is None or seed.value < 0:
        run_error.value = f"seed: {seed.value} must be a whole number of at least 0"
        return
    try:  # check the mix before the thread starts: a bad argument is a message, not a crash
        scenario = to_scenario(mix.value)
        scenario.check_params(parameter_set().point)
    except (ScenarioError, LeverError, ParameterError) as exc:
        run_error.value = str(exc)
        return
    run_task(scenario, replications.value, scale.value, seed.value)


# ---------------------------------------------------------------------------- components
@solara.component
def NumberControl(kind: str, name: str, spec: ParamSpec, value: float, disabled: bool):
    """A slider with a box to type an exact value; an out-of-range value is a message beside it."""
    key = f"{kind}.{name}"
    lo, hi = slider_range(spec)
    label = f"{pretty(name)} ({spec.unit})"
    with solara.Column(gap="0px", classes=[f"control-{kind}-{name}"]):
        solara.Text(label, style={"font-size": "14px", "font-weight": "500"})
        with solara.Row(style={"align-items": "center"}):
            with solara.Div(style={"flex": "1 1 auto"}):
                if spec.integer:
                    solara.SliderInt("", value=int(min(max(value, lo), hi)), min=int(lo), max=int(hi),
                                     on_value=lambda v: (set_arg(kind, name, int(v)), set_error(key, None)),
                                     disabled=disabled, thumb_label=False)
                else:
                    solara.SliderFloat("", value=float(min(max(value, lo), hi)), min=lo, max=hi,
                                       step=(hi - lo) / 100 or 1,
                                       on_value=lambda v: (set_arg(kind, name, float(v)), set_error(key, None)),
                                       disabled=disabled, thumb_label=False)

            def on_text(text, key=key):
                try:
                    set_arg(kind, name, parse_value(spec, kind, name, text or ""))
                    set_error(key, None)
                except LeverError as exc:
                    set_error(key, str(exc), text)

            solara.InputText("value", value=drafts.value.get(key) or format_value(value), on_value=on_text,
                             error=errors.value.get(key, False), disabled=disabled, dense=True,
                             style={"max-width": "190px"}, classes=[f"input-{kind}-{name}"])
        solara.Text(f"{spec.doc}. Range {format_value(spec.lo)} to {format_value(spec.hi)}. Source: {spec.source}.",
                    style={"font-size": "12px", "color": "#555"})


@solara.component
def StartControl(kind: str, value: str, disabled: bool):
    key = f"{kind}.start"

    def on_text(text):
        try:
            parse_start(kind, (text or "").strip())
            set_arg(kind, "start", (text or "").strip())
            set_error(key, None)
        except LeverError as exc:
            set_error(key, str(exc), text)

    solara.InputText("Starts (YYYY-MM)", value=drafts.value.get(key) or value, on_value=on_text,
                     error=errors.value.get(key, False), disabled=disabled, dense=True,
                     style={"max-width": "260px"}, classes=[f"input-{kind}-start"])


@solara.component
def LeverCard(kind: str):
    cls = LEVERS[kind]
    m = mix.value
    on = m.enabled[kind]
    doc = (cls.__doc__ or "").strip().splitlines()[0]
    with solara.Card(cls.TITLE or pretty(kind), margin=0, classes=[f"lever-{kind}"]):
        solara.Text(doc, style={"font-size": "13px", "color": "#444"})
        def switch(on_now: bool) -> None:
            set_mix(enabled={**mix.value.enabled, kind: on_now})
            for key in [k for k in errors.value if k.startswith(f"{kind}.")]:
                set_error(key, None)  # a hidden control holds no error

        solara.Switch(label="Include this lever", value=on, on_value=switch)
        if on:
            StartControl(kind, m.args[kind]["start"], disabled=False)
            for name, spec in cls.specs().items():
                NumberControl(kind, name, spec, m.args[kind][name], disabled=False)


@solara.component
def ScenarioFiles():
    """Start from a saved scenario; load and save scenario files."""

    def choose(name):
        start_from.value = name
        try:
            _load_mix(from_scenario(load_scenario(name)))
            file_message.value = ("", "")
        except Exception as exc:  # noqa: BLE001 - any failure to read is shown, never raised
            file_message.value = ("error", str(exc))

    solara.Select("Start from a saved scenario", values=scenario_names(), value=start_from.value,
                  on_value=choose, classes=["select-scenario"])
    solara.InputText("Name of this mix", value=mix.value.name,
                     on_value=lambda v: set_mix(name=(v or "").strip() or "my-mix"), classes=["input-mix-name"])
    solara.InputText("Description (one or two sentences)", value=mix.value.description,
                     on_value=lambda v: set_mix(description=(v or "").strip()), classes=["input-mix-description"])
    def uploaded(info) -> None:
        try:
            _load_mix(from_scenario(scenario_from_upload(info["name"], info["data"])))
            file_message.value = ("ok", f"Loaded {info['name']}.")
        except Exception as exc:  # noqa: BLE001 - any failure to read is shown, never raised
            file_message.value = ("error", str(exc))

    with solara.Div(classes=["upload-scenario"]):
        solara.FileDrop(label="Drop a scenario file (.toml) here", on_file=uploaded,
                        lazy=False)
    if errors.value:
        solara.Text("Fix the values marked in red to download the scenario file.", style={"color": "#b00"})
    else:
        try:
            text = scenario_text(mix.value)
        except (ScenarioError, LeverError) as exc:
            solara.Error(str(exc), dense=True)
        else:
            with solara.Div(classes=["download-scenario"]):
                solara.FileDownload(text.encode(), filename=f"{mix.value.name}.toml", label="Download scenario file",
                                    mime_type="application/toml")
            solara.Text("`caresim compare FILE` reads the downloaded file unchanged.",
                        style={"font-size": "12px", "color": "#555"})
    kind, text = file_message.value
    if kind == "ok":
        solara.Success(text, dense=True, classes=["file-message"])
    elif kind == "error":
        solara.Error(text, dense=True, classes=["file-message"])


def _load_mix(m: Mix) -> None:
    mix.value = m
    errors.value, drafts.value = {}, {}
    generation.value += 1


@solara.component
def RunControls():
    with solara.Div(classes=["slider-replications"]):
        solara.SliderInt(f"Replications: {replications.value}", value=replications, min=1, max=MAX_REPLICATIONS)
    solara.Text("Each replication is a run of the mix and a run of the baseline with the same seed; "
                "more replications give a truer 90% band and take longer.",
                style={"font-size": "12px", "color": "#555"})
    solara.Select("Scale (share of England simulated)", values=SCALES, value=scale, classes=["select-scale"])
    solara.InputInt("Seed of the first replication", value=seed)
    spec = SHARE_REALISED
    share = mix.value.share_realised
    solara.SliderFloat(f"Share of the opportunity realised: {share:.2f}", value=share, min=spec.lo, max=spec.hi,
                       step=0.05, on_value=lambda v: set_mix(share_realised=float(v)))
    solara.Text(f"{spec.doc}.", style={"font-size": "12px", "color": "#555"})
    pending = run_task.pending
    solara.Button("Run mix and baseline", on_click=start_run, color="primary",
                  disabled=pending or bool(errors.value), classes=["run-button"])
    if errors.value:
        solara.Error(f"{len(errors.value)} value(s) need fixing before a run", dense=True)
    if pending:
        solara.ProgressLinear(progress.value or True)
        solara.Text(f"running: {progress.value:.0f}% done", classes=["run-progress"])
        solara.Button("Cancel", on_click=lambda: cancel_requested.set(True), outlined=True, classes=["cancel-button"])
    if run_error.value:
        solara.Error(run_error.value, dense=True, classes=["run-failed"])
    if run_task.error:
        solara.Error(f"the run failed: {run_task.exception}", dense=True, classes=["run-failed"])


@solara.component
def Results():
    f = futures.value
    if f is None:
        if run_task.pending:
            solara.Info("Running the baseline forecast, 2015 to 2030 (first start only: results are then kept).")
        else:
            solara.Info("Choose a mix of levers on the left and press Run: the mix and the baseline are run "
                        "with the same seeds, 2015 to 2030.")
        with solara.Div(classes=["chart-care"]):  # the chart's widget, empty: the browser loads vega meanwhile
            Chart(care_chart, None)
        return
    levers = ", ".join(f.levers) or "no levers"
    kept = " (kept from an earlier run of the same inputs)" if f.from_cache else ""
    solara.HTML(tag="div", unsafe_innerHTML=(
        f"<b>{html.escape(f.name)}</b> ({html.escape(levers)}): {f.replications} replication(s) at scale "
        f"{f.scale:g}, seeds {f.seed}-{f.seed + f.replications - 1}, baseline with the same seeds{kept}."))
    with solara.Div(classes=["chart-care"]):
        Chart(care_chart, f)
    solara.Text("Hover a point to read its value; click a legend entry to show one series (shift-click for "
                "several); the chart's menu (…) saves it as PNG or SVG. Diamonds: observed (calibration targets).",
                style={"font-size": "12px", "color": "#555"})
    with solara.Div(classes=["results-2025"]):
        solara.HTML(tag="div", unsafe_innerHTML=table_html(f))
    with solara.Div(classes=["download-results"]):
        solara.FileDownload(lambda: results_csv(f), filename=f"{f.name}-results.csv",
                            label="Download results (CSV)", mime_type="text/csv")
    if f.savings is not None:
        LeverWaterfall(f)
    with solara.Div(classes=["chart-spend"]):
        Chart(spend_chart, f)
    solara.Text("Stocks at 31 March; spend for the year to 31 March, England scale, cash prices. "
                "Saving net of investment: runner.summary's net saving, run by run with the same seed.",
                style={"font-size": "12px", "color": "#555"})


@solara.component
def LeverWaterfall(f: Futures):
    s = f.savings
    how = ("exact Shapley values over every subset of levers" if s.exact else
           "Shapley values averaged over sampled orders of the levers (with their reverses)")
    solara.HTML(tag="h3", unsafe_innerHTML=f"Net saving in {TABLE_YEAR} by lever", classes=["by-lever-heading"])
    with solara.Div(classes=["chart-waterfall"]):
        Chart(waterfall, f)
    solara.Text(f"Each lever's share of the net saving: {how}, every subset run with the same seeds, so that "
                "interactions are shared between the levers that make them and the bars add up to the total. "
                "'Alone' is the lever run by itself.", style={"font-size": "12px", "color": "#555"})
    rows = "".join(f"<tr><td style='text-align:left'>{html.escape(r.lever)}</td><td>{r.saving_gbp / 1e6:,.1f}</td>"
                   f"<td>{'' if np.isnan(r.solo_gbp) else f'{r.solo_gbp / 1e6:,.1f}'}</td></tr>"
                   for r in s.table.itertuples())
    solara.HTML(tag="div", unsafe_innerHTML=(
        "<table class='lever-table results-table-levers' style='border-collapse:collapse;width:100%'>"
        "<tr><th style='text-align:left'>Lever</th><th>Share of net saving, £m</th><th>Alone, £m</th></tr>"
        f"{rows}<tr><td style='text-align:left'><b>All levers</b></td><td><b>{s.total_gbp / 1e6:,.1f}</b></td>"
        "<td></td></tr></table>"))


@solara.component
def FuturesTab():
    with solara.Columns([4, 7]):
        with solara.Column():
            with solara.Card("Scenario", margin=0):
                ScenarioFiles()
            with solara.Card("Run", margin=0):
                RunControls()
            with solara.Column(classes=["lever-controls"]).key(f"levers-{generation.value}"):
                for kind in LEVERS:
                    LeverCard(kind)
        with solara.Column():
            Results()


# ---- single run (Mesa style): reset / step / play
single_model = solara.reactive(None)
single_playing = solara.reactive(False)
single_tick = solara.reactive(0)
single_lock = threading.Lock()
SINGLE_SCALE = 0.02
PLAY_INTERVAL_S = 0.15


def single_reset() -> None:
    from sim.model import CareModel

    single_playing.value = False
    run_error.value = ""
    try:
        levers = to_scenario(mix.value).fresh_levers()
    except (ScenarioError, LeverError) as exc:
        run_error.value = str(exc)
        return
    with single_lock:
        old = single_model.value
        try:
            model = CareModel(parameter_set().for_replication(seed.value), seed=seed.value, scale=SINGLE_SCALE,
                              journeys=False, levers=levers)
        except (ValueError, TypeError, ParameterError) as exc:  # a bad seed or a lever the model refuses: a message
            run_error.value = str(exc)
            return
        single_model.value = model
        if old is not None:
            old.release()
    single_tick.value += 1


def single_step() -> None:
    with single_lock:
        model = single_model.value
        if model is None or model.year >= END_YEAR + 0.25:
            single_playing.value = False
            return
        model.step()
    single_tick.value += 1


@solara.lab.task(prefer_threaded=True)
def single_play():
    while single_playing.value and single_play.is_current():
        single_step()
        time.sleep(PLAY_INTERVAL_S)


@solara.component
def SingleRunTab():
    model = single_model.value
    tick = single_tick.value  # read here so that each step redraws
    solara.Text(f"One run of the current mix at scale {SINGLE_SCALE:g} (about {SINGLE_SCALE:.0%} of "
                    "England, counts scaled back up), month by month from 31 March 2015 to 2030.")
    with solara.Row(classes=["single-controls"]):
        solara.Button("Reset", on_click=single_reset, color="primary", classes=["single-reset"])

        def toggle():
            single_playing.value = not single_playing.value
            if single_playing.value:
                single_play()

        solara.Button("❚❚ Pause" if single_playing.value else "▶ Play", on_click=toggle, color="primary",
                      disabled=model is None, classes=["single-play"])
        solara.Button("Step one month", on_click=single_step, color="primary",
                      disabled=model is None or single_playing.value, classes=["single-step"])
    if run_error.value:
        solara.Error(run_error.value, dense=True)
    if model is None:
        solara.Info("Press Reset to build the model at 31 March 2015.")
        return
    table = model.monthly_table()
    last = table.iloc[-1]
    solara.Text(f"{model.date:%d %B %Y} (month {model.month}): {last['n_in_care']:,.0f} children in care, "
                f"{last['n_residential']:,.0f} in children's homes or semi-independent, "
                f"{last['n_edge_of_care']:,.0f} in edge-of-care support", classes=["single-date"],
                style={"font-size": "16px"})
    solara.FigureMatplotlib(single_run_figure(table), format="png", dependencies=[tick])


VIEWS = ["Futures: a mix of levers against the baseline", "Uncertainty", "Authorities", "Watch one run"]
view = solara.reactive(VIEWS[0])


_first_sight: list[Futures] = []  # the first sight's result once this server has it (warm-up or a first visit)


def keep_first_sight(f: Futures) -> None:
    with _baseline_lock:
        _first_sight[:] = [f]


def first_sight() -> None:
    """On opening the page: the baseline forecast at the default settings, at once when this
    server holds it, else from the disk cache or run (no button to press)."""
    if futures.value is not None or run_task.pending:
        return
    kept = _first_sight[0] if _first_sight else None
    if kept is not None and _is_first_mix():
        futures.value = kept
        return
    start_run()


def _is_first_mix() -> bool:
    return (mix.value == first_mix() and replications.value == DEFAULT_REPLICATIONS and scale.value == DEFAULT_SCALE
            and seed.value == 1)


@solara.component
def Page():
    solara.Title("caresim: futures of children's social care")
    solara.use_effect(first_sight, [])
    with solara.AppBar():
        solara.AppBarTitle("caresim: children's social care in England, 2015-2030")
    with solara.Row(classes=["view-choice"]):
        solara.ToggleButtonsSingle(value=view, values=VIEWS)
    if view.value == VIEWS[0]:
        FuturesTab()
    elif view.value == VIEWS[1]:
        UncertaintyView()
    elif view.value == VIEWS[2]:
        try:
            doc = to_scenario(mix.value).to_dict()
        except (ScenarioError, LeverError):
            doc = BASELINE_SCENARIO
        AuthorityView(doc, seeds_of(seed.value or 0, replications.value))
    else:
        SingleRunTab()
