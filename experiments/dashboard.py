"""The browser dashboard: choose a mix of policy levers and see its futures beside the baseline.

A Solara app (the stack of Mesa 3's own visualisation), started by `caresim dashboard`. Two tabs:

* **Futures** - start from a saved scenario, switch levers on and off and set their strengths
  (the controls are built from `sim.levers.LEVERS` and each argument's `ParamSpec`: range, unit,
  meaning, source), choose replications and scale, and run. The scenario and the baseline are
  run with the same seeds (common random numbers), 2015 -> 2030, in a background thread with a
  progress bar. Shown: children in care by placement type and spend on children in care as
  fan charts (median and 90% band across replications), and the 2025 figures with the saving
  net of investment, paired by seed. The mix can be saved as a scenario file that
  `caresim compare` reads unchanged, and a scenario file can be loaded.
* **Watch one run** - a single small run in the Mesa style (reset / step / play): the counts of
  children by state, month by month.

Every number on the page comes from the Monte Carlo runner every command uses
(`runner.montecarlo`, same seeds, same posterior draw per seed as `caresim compare`) and the one
summary (`runner.summary`: medians, 90% bands, the net saving paired by seed), or from
`sim.model.CareModel` for the single run; nothing is typed in here. Mesa 3.3.1's `mesa.visualization` needs its optional `viz` extras (altair,
networkx), which caresim does not install, so the step/play/reset controls are written here in
plain Solara, after Mesa's `ModelController`.
"""
from __future__ import annotations

import html
import io
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import solara
import solara.lab
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

import pandas as pd

from experiments.charts import fan
from experiments.scenarios import Scenario, ScenarioError, load_scenario, parse_scenario, scenario_names
from runner.montecarlo import BASELINE_SCENARIO, ExecutorOptions, as_rows, plan, run_replications, seeds_of
from runner.summary import BASELINE, SAVING, summarise
from sim.levers import DEFAULT_START, LEVERS, SHARE_REALISED, LeverError, ParamSpec, parse_start
from sim.measures import CONTRACT
from sim.parameters import ParameterError

matplotlib.use("Agg")

END_YEAR = 2030
TABLE_YEAR = 2025
SCALES = [0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
DEFAULT_SCALE = 0.05
DEFAULT_REPLICATIONS = 3
MAX_REPLICATIONS = 20
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


def default_path(mix: Mix) -> str:
    return str(Path.cwd() / f"{mix.name}.toml")


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
    charts: dict = field(default_factory=dict, repr=False)  # drawn once: name -> PNG bytes

    @property
    def years(self) -> np.ndarray:
        return self.rows(BASELINE)["year"].to_numpy()

    def rows(self, which: str) -> pd.DataFrame:
        """Summary rows of `MIX` or `BASELINE`, one per year."""
        return self.summary[self.summary["scenario"] == which].reset_index(drop=True)

    def at(self, which: str, column: str, year: int = TABLE_YEAR) -> float:
        rows = self.rows(which)
        return float(rows.loc[rows["year"] == year, column].iloc[0])


def chart_png(f: Futures, name: str) -> bytes:
    """The chart `name` ("care" or "spend") of these results as PNG, drawn on first request."""
    if name not in f.charts:
        fig = {"care": care_figure, "spend": spend_figure}[name](f)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        f.charts[name] = buffer.getvalue()
    return f.charts[name]


_baseline_cache: dict[tuple, pd.DataFrame] = {}
_baseline_lock = threading.Lock()
_parameter_sets: list = []


def parameter_set():
    """The shipped parameter file (point estimate and any posterior draws), read once per server,
    so that every run of a session uses the same file; replication i uses the draw `caresim
    compare` uses for the same seed."""
    from sim.parameters import ParameterSet

    with _baseline_lock:
        if not _parameter_sets:
            _parameter_sets.append(ParameterSet.load(None))
        return _parameter_sets[0]


class _Cancelled(Exception):
    """A newer run replaced this one: stop between replications."""


def run_futures(scenario: Scenario, *, replications: int, scale: float, seed: int = 1, on_progress=None,
                cancelled=lambda: False) -> Futures | None:
    """Run the scenario and the baseline with paired seeds through the Monte Carlo runner;
    `on_progress(done, total)` after each run. Baseline runs are cached (the same for every mix).

    Returns None if `cancelled()` became true between runs.
    """
    seeds = seeds_of(seed, replications)
    mix_doc = {**scenario.to_dict(), "name": MIX}
    todo = plan([mix_doc, BASELINE_SCENARIO], seeds, parameter_set())
    frames = []
    with _baseline_lock:
        for r in todo:
            cached = _baseline_cache.get((r.seed, scale, END_YEAR)) if r.scenario is BASELINE_SCENARIO else None
            if cached is not None:
                frames.append(cached)
    todo = [r for r in todo if not (r.scenario is BASELINE_SCENARIO and (r.seed, scale, END_YEAR) in _baseline_cache)]
    total, done = 2 * replications, [len(frames)]

    def keep(replication, table) -> None:
        rows = as_rows(table, replication.scenario["name"], replication.seed)
        frames.append(rows)
        if replication.scenario is BASELINE_SCENARIO:
            with _baseline_lock:
                _baseline_cache[(replication.seed, scale, END_YEAR)] = rows
        done[0] += 1
        if on_progress:
            on_progress(done[0], total)
        if cancelled():
            raise _Cancelled

    try:
        run_replications(todo, keep, scale=scale, end_year=END_YEAR, executor=ExecutorOptions())
    except _Cancelled:
        return None
    runs = pd.concat(frames, ignore_index=True)
    summary = summarise(runs, measures=SHOWN, baseline=BASELINE, changes=True)
    titles = [type(lever).TITLE or lever.name for lever in scenario.levers]
    return Futures(scenario.name, titles, runs, summary, replications, scale, seed)


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
def _fan(ax, f: Futures, which: str, name: str, colour: str, label: str, divisor: float = 1.0) -> None:
    fan(ax, f.rows(which), name, colour=colour, label=label, centre="median", divisor=divisor, alpha=0.22,
        linewidth=2.2)


def care_figure(f: Futures) -> Figure:
    """Children in care by placement type: scenario and baseline fans, 2015-2030."""
    fig = Figure(figsize=(11, 6.2), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True)
    for ax, (name, label) in zip(axes.flat, PLACEMENTS.items()):
        _fan(ax, f, BASELINE, name, BASELINE_COLOUR, "Baseline")
        _fan(ax, f, MIX, name, SCENARIO_COLOUR, f.name)
        ax.set_title(label, fontsize=13)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.grid(alpha=0.3)
        ax.axvline(TABLE_YEAR, color="#bbbbbb", linestyle=":", linewidth=1)
    axes[0, 0].legend(loc="lower left", fontsize=11)
    fig.suptitle(f"Children in care at 31 March (median and 90% band of {f.replications} runs)", fontsize=14)
    return fig


def spend_figure(f: Futures) -> Figure:
    """Spend on children in care, and the saving net of investment, per year (GBP bn / m)."""
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    _fan(ax1, f, BASELINE, "spend_gbp", BASELINE_COLOUR, "Baseline", 1e9)
    _fan(ax1, f, MIX, "spend_gbp", SCENARIO_COLOUR, f.name, 1e9)
    ax1.set_title("Spend on children in care, £bn a year", fontsize=13)
    ax1.legend(loc="upper left", fontsize=11)
    _fan(ax2, f, MIX, SAVING, SCENARIO_COLOUR, f.name, 1e6)
    ax2.axhline(0, color="black", linewidth=0.8)
    ax2.set_title("Saving net of investment, £m a year", fontsize=13)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.axvline(TABLE_YEAR, color="#bbbbbb", linestyle=":", linewidth=1)
    fig.suptitle("Spend in the year to 31 March (median and 90% band)", fontsize=14)
    return fig


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
mix = solara.reactive(Mix())
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
file_path = solara.reactive("")
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

    def on_progress(done, total):
        progress.value = 100.0 * done / total

    result = run_futures(scenario, replications=reps, scale=sc, seed=sd, on_progress=on_progress,
                         cancelled=lambda: not run_task.is_current())
    if result is not None:
        for name in ("care", "spend"):
            chart_png(result, name)  # drawn here, off the page's thread
        futures.value = result
    return time.perf_counter() - started


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
    solara.InputText("Scenario file (path on this machine)", value=file_path.value or default_path(mix.value),
                     on_value=lambda v: file_path.set(v or ""), classes=["input-file-path"])

    def save():
        path = Path(file_path.value or default_path(mix.value)).expanduser()
        if errors.value:
            file_message.value = ("error", "fix the values marked in red before saving")
            return
        try:
            save_scenario(mix.value, path)
            file_message.value = ("ok", f"Saved {path}: `caresim compare {path}` reads it back unchanged.")
            file_path.value = str(path)
        except Exception as exc:  # noqa: BLE001
            file_message.value = ("error", str(exc))

    def load():
        path = Path(file_path.value or default_path(mix.value)).expanduser()
        try:
            _load_mix(from_scenario(load_scenario(str(path))))
            file_message.value = ("ok", f"Loaded {path}.")
        except Exception as exc:  # noqa: BLE001
            file_message.value = ("error", str(exc))

    with solara.Row(style={"flex-wrap": "wrap"}):
        solara.Button("Save scenario file", on_click=save, color="primary", outlined=True, classes=["save-button"])
        solara.Button("Load scenario file", on_click=load, outlined=True, classes=["load-button"])
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
    solara.Select("Scale (share of England simulated)", values=SCALES, value=scale)
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
        solara.Text(f"running: {progress.value:.0f}% of {2 * replications.value} runs", classes=["run-progress"])
    if run_error.value:
        solara.Error(run_error.value, dense=True, classes=["run-failed"])
    if run_task.error:
        solara.Error(f"the run failed: {run_task.exception}", dense=True, classes=["run-failed"])


@solara.component
def Results():
    f = futures.value
    if f is None:
        solara.Info("Choose a mix of levers on the left and press Run: the mix and the baseline are run "
                    "with the same seeds, 2015 to 2030.")
        return
    levers = ", ".join(f.levers) or "no levers"
    solara.HTML(tag="div", unsafe_innerHTML=(
        f"<b>{html.escape(f.name)}</b> ({html.escape(levers)}): {f.replications} replication(s) at scale "
        f"{f.scale:g}, seeds {f.seed}-{f.seed + f.replications - 1}, baseline with the same seeds."))
    with solara.Div(classes=["results-2025"]):
        solara.HTML(tag="div", unsafe_innerHTML=table_html(f))
    with solara.Div(classes=["chart-care"]):
        solara.Image(chart_png(f, "care"), width="100%")
    with solara.Div(classes=["chart-spend"]):
        solara.Image(chart_png(f, "spend"), width="100%")
    solara.Text("Stocks at 31 March; spend for the year to 31 March, England scale, cash prices. "
                "Saving net of investment = baseline minus scenario spend on children in care, less the "
                "scenario's extra edge-of-care spend, run by run with the same seed.",
                style={"font-size": "12px", "color": "#555"})


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


VIEWS = ["Futures: a mix of levers against the baseline", "Watch one run"]
view = solara.reactive(VIEWS[0])


@solara.component
def Page():
    solara.Title("caresim: futures of children's social care")
    with solara.AppBar():
        solara.AppBarTitle("caresim: children's social care in England, 2015-2030")
    with solara.Row(classes=["view-choice"]):
        solara.ToggleButtonsSingle(value=view, values=VIEWS)
    if view.value == VIEWS[0]:
        FuturesTab()
    else:
        SingleRunTab()
