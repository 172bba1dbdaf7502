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
memory for every tab (`futures.chart_spec`, `keep_first_sight`); a new tab shows them in its first
update, and the chart's widget is on the page, empty, before the result arrives, so the browser
loads vega meanwhile.
* **Watch one run** - a single small run in the Mesa style (reset / step / play).

Where things are: the mix of levers and its scenario file in `experiments.page.mix`; running the
futures, their table, CSV and charts in `experiments.page.futures`; here, the page's state and
its Solara components. Every number on the page comes from the Monte Carlo runner every command uses
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

import matplotlib
import numpy as np
import solara
import solara.lab
import solara.widgets
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from experiments.page.authority import AuthorityView
from experiments.page.futures import (END_YEAR, PLACEHOLDER_SPEC, TABLE_YEAR, Futures, cache_lock, care_chart,
                                      chart_spec, parameter_set, results_csv, run_futures, spend_chart, table_html,
                                      waterfall)
from experiments.page.mix import (Mix, format_value, from_scenario, parse_value, pretty, scenario_from_upload,
                                  scenario_text, slider_range, to_scenario)
from experiments.page.uncertainty import UncertaintyView
from experiments.scenarios import Scenario, ScenarioError, load_scenario, scenario_names
from runner.montecarlo import BASELINE_SCENARIO, seeds_of
from runner.summary import BASELINE
from sim.levers import LEVERS
from sim.policy import SHARE_REALISED, LeverError, ParamSpec, parse_start
from sim.parameters import ParameterError

matplotlib.use("Agg")

SCALES = [0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
DEFAULT_SCALE = 0.05
DEFAULT_REPLICATIONS = 3
MAX_REPLICATIONS = 20
SINGLE_RUN_COUNTS = {"n_child_in_need": "Assessed at risk of care", "n_child_protection": "On a protection plan",
                     "n_edge_of_care": "Edge-of-care support", "n_foster": "Foster care",
                     "n_residential": "Children's homes and semi-independent", "n_other_care": "Other care",
                     "n_returned_home": "Returned home (monitored)"}


# ---------------------------------------------------------------------------- charts
@solara.component
def Chart(make, f: Futures | None, *args):
    """An Altair chart drawn by Solara's Vega-Lite widget (what `solara.FigureAltair` uses); with
    no result yet (`f` None) an empty one, which the result's chart then updates in place."""
    spec = solara.use_memo(lambda: PLACEHOLDER_SPEC if f is None else chart_spec(make, f, *args),
                           dependencies=[id(f), *args])
    return solara.widgets.VegaLite.element(spec=spec, on_click=None, listen_to_click=False, on_hover=None,
                                           listen_to_hover=False)


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
    with cache_lock:
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
