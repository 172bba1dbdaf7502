"""The fit report: every target beside the model, and the trajectories with the data drawn on them.

The model side is a baseline run of the parameter file 2015 -> 2025 with replications, each
using `ParameterSet.for_replication(seed)` (a posterior draw), so its 90% interval carries
parameter uncertainty as well as noise. Writes `fit_table.csv`, `fit_report.md` and PNG charts
(matplotlib, Agg backend). Out-of-sample checks (2025) are shown as checks, never as targets.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from calibration.targets import DERIVED, Target  # noqa: E402
from runner.montecarlo import BASELINE_SCENARIO, ExecutorOptions, plan, run_replications, seeds_of  # noqa: E402
from sim.parameter_file import ParameterSet  # noqa: E402

REPORT_END_YEAR = 2025
FIT_END = 2020  # last year of the calibration figures (2021/2024 rows are later supply figures)
STYLE = {"fit": dict(marker="o", color="black", label="target (fitted)"),
         "initial": dict(marker="s", color="tab:blue", label="initial stock (set)"),
         "check": dict(marker="D", color="tab:gray", mfc="white", label="check (not fitted)"),
         "oos": dict(marker="*", color="tab:red", markersize=14, label="2025 out-of-sample check (not fitted)")}


def run_baseline(params_path: Path | None, targets: list[Target], *, replications: int, scale: float, seed: int,
                 workers: int = 1, scheduler: str | None = None, progress: bool = True) -> list[pd.DataFrame]:
    """Replications of the baseline 2015 -> 2025; replication i uses the posterior draw of its seed."""
    pset = ParameterSet.load(params_path)
    seeds = seeds_of(seed, replications)
    out: dict[int, pd.DataFrame] = {}
    run_replications(plan([BASELINE_SCENARIO], seeds, pset), lambda r, table: out.__setitem__(r.seed, table),
                     scale=scale, end_year=REPORT_END_YEAR, key_prefix="report/",
                     executor=ExecutorOptions(workers, scheduler, progress))
    return [out[s] for s in seeds]


def _series(tables: list[pd.DataFrame], measure: str) -> np.ndarray:
    """(replications, years) values of a column or a derived measure for every model year."""
    years = tables[0].index
    if measure in DERIVED:
        fn = DERIVED[measure][0]
        return np.array([[fn(t, y) for y in years] for t in tables], dtype=float)
    return np.array([t[measure].to_numpy(dtype=float) for t in tables])


def fit_table(targets: list[Target], tables: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per target: observed, model mean and 90% interval, relative error, verdict."""
    rows = []
    for t in targets:
        if t.use == "unused":
            continue
        vals = np.array([t.model_value(tab) for tab in tables], dtype=float)
        mean = float(np.nanmean(vals))
        lo, hi = (float(np.nanpercentile(vals, 5)), float(np.nanpercentile(vals, 95)))
        rel = (mean - t.value) / abs(t.value)
        if t.tolerance is not None:
            within = abs(mean - t.value) <= t.scale()
        else:  # "up to" checks without a tolerance: is the figure inside the model's 90% interval?
            within = lo <= t.value <= hi
        rows.append({"measure": t.measure, "year": t.year, "model_year": t.model_year, "use": t.use,
                     "kind": t.kind, "grade": t.grade, "observed": t.value, "model_mean": mean, "model_p05": lo,
                     "model_p95": hi, "relative_error": rel,
                     "tolerance": (f"{t.tolerance:g} {t.tolerance_unit}" if t.tolerance is not None else ""),
                     "within_tolerance": bool(within), "in_90pct_interval": bool(lo <= t.value <= hi),
                     "source": t.source})
    return pd.DataFrame(rows)


def _fmt(v: float, measure: str) -> str:
    if measure.endswith("_gbp"):
        return f"£{v / 1e9:.2f}bn"
    if abs(v) < 5:
        return f"{v:.3f}"
    return f"{v:,.0f}"


def markdown(table: pd.DataFrame, meta: dict, checks: list[str]) -> str:
    lines = ["# caresim fit report", "",
             f"Parameter file version {meta.get('version', '?')} ({meta.get('method', '')}).", "",
             "Model: mean and 90% interval over replications, each with its own posterior draw of the free",
             "parameters. `use`: fit = a target of the calibration; initial = the 2015 starting stock;",
             "check = shown, not fitted; oos = the report's 2025 projections, out-of-sample, never fitted.", "",
             "| measure | year (model) | use | grade | observed | model mean | model 90% | rel. error | tolerance | ok |",
             "|---|---|---|---|---:|---:|---:|---:|---|---|"]
    for _, r in table.iterrows():
        yr = f"{r.year}" + (f" ({r.model_year})" if r.model_year != r.year else "")
        lines.append(f"| {r.measure} | {yr} | {r.use} | {r.grade} | {_fmt(r.observed, r.measure)} | "
                     f"{_fmt(r.model_mean, r.measure)} | {_fmt(r.model_p05, r.measure)} – {_fmt(r.model_p95, r.measure)} | "
                     f"{r.relative_error:+.1%} | {r.tolerance} | {'yes' if r.within_tolerance else '**no**'} |")
    lines += ["", "## Out-of-sample checks (2025, not fitted)", ""] + [f"- {c}" for c in checks]
    return "\n".join(lines) + "\n"


def oos_checks(tables: list[pd.DataFrame]) -> list[str]:
    care = _series(tables, "n_in_care")[:, list(tables[0].index).index(2025)]
    spend = _series(tables, "spend_children_in_care_gbp")
    years = list(tables[0].index)
    s20, s25 = spend[:, years.index(2020)], spend[:, years.index(2025)]
    growth = s25 - s20
    p5, p95 = np.percentile(care, [5, 95])
    g5, g95 = np.percentile(growth, [5, 95])
    return [
        f"Children in care at 31 March 2025: model mean {care.mean():,.0f} (90% {p5:,.0f} – {p95:,.0f}); the report "
        f"says \"up to 95,000\" (R3, D). Mean ≥ 90,000: {'yes' if care.mean() >= 90_000 else 'no'}; "
        f"95,000 inside the 90% interval: {'yes' if p5 <= 95_000 <= p95 else 'no'}.",
        f"Spend on children in care 2019-20: model £{s20.mean() / 1e9:.2f}bn (derived figure ≈ £5.3bn, C); "
        f"growth to 2024-25: model £{growth.mean() / 1e9:.2f}bn (90% £{g5 / 1e9:.2f}bn – £{g95 / 1e9:.2f}bn); the report "
        f"says £2.1bn (R4, D), within £0.3bn: {'yes' if abs(growth.mean() - 2.1e9) <= 0.3e9 else 'no'}.",
    ]


PANELS = [
    ("Children in care (31 March)", [("n_in_care", 1.0)], "children"),
    ("Entries in year", [("new_entries", 1.0)], "children per year"),
    ("Exits in year", [("new_exits", 1.0)], "children per year"),
    ("Adoptions in year", [("new_adoptions", 1.0)], "children per year"),
    ("Child protection plans (31 March)", [("n_cp_plans", 1.0)], "children"),
    ("Placement mix (31 March)", [("foster_share", 100.0), ("residential_share", 100.0),
                                  ("placed_with_parents_share", 100.0)], "% of children in care"),
    ("Fostering households (31 March)", [("n_foster_households", 1.0)], "households"),
    ("Spend on children in care (year to 31 March)", [("spend_children_in_care_gbp", 1e-9)], "£bn"),
    ("UASC in care (31 March)", [("n_uasc_in_care", 1.0)], "children"),
]


def charts(targets: list[Target], tables: list[pd.DataFrame], out: Path) -> list[Path]:
    """A grid of trajectories with the observed points, and one PNG per panel."""
    years = np.array(tables[0].index, dtype=int)
    fig, axes = plt.subplots(3, 3, figsize=(17, 13))
    written = []
    for ax, (title, measures, unit) in zip(axes.flat, PANELS):
        _panel(ax, title, measures, unit, targets, tables, years)
    handles = [plt.Line2D([], [], linestyle="none", **{k: v for k, v in st.items()}) for st in STYLE.values()]
    handles += [plt.Line2D([], [], color="tab:green", lw=2, label="model mean"),
                matplotlib.patches.Patch(color="tab:green", alpha=0.2, label="model 90% interval")]
    fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=10, frameon=False)
    fig.suptitle("caresim baseline vs published figures (shaded: years after the 2020 calibration point)\n"
                 "flows of the years to March 2014/2015 are drawn at the model's first full year, 2016; "
                 "error bars: the fit's tolerance", fontsize=13)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    path = out / "fit_trajectories.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    written.append(path)
    return written


def _panel(ax, title, measures, unit, targets, tables, years) -> None:
    colors = ["tab:green", "tab:purple", "tab:orange"]
    ax.axvspan(FIT_END + 0.02, years[-1] + 0.5, color="0.93", zorder=0)
    for (measure, factor), color in zip(measures, colors):
        vals = _series(tables, measure) * factor
        ok = np.isfinite(vals).any(axis=0)  # flows have no value in the first year
        mean = np.full(years.size, np.nan)
        mean[ok] = np.nanmean(vals[:, ok], axis=0)
        lo, hi = np.nanpercentile(vals[:, ok], 5, axis=0), np.nanpercentile(vals[:, ok], 95, axis=0)
        label = measure.replace("_share", "").replace("_", " ") if len(measures) > 1 else None
        ax.plot(years[ok], mean[ok], color=color, lw=2, label=label)
        ax.fill_between(years[ok], lo, hi, color=color, alpha=0.2, lw=0)
        for t in targets:
            if t.measure != measure or t.use == "unused" or t.model_year is None:
                continue
            st = dict(STYLE[t.use])
            st.pop("label")
            if len(measures) > 1:
                st["color"] = color
            err = t.scale() * factor if t.tolerance is not None else None
            ax.errorbar([t.model_year], [t.value * factor], yerr=err, linestyle="none", capsize=4, zorder=5, **st)
            if t.use == "oos":
                ax.annotate("report: up to" if t.measure == "n_in_care" else "report", (t.model_year, t.value * factor),
                            textcoords="offset points", xytext=(-60, 8), fontsize=9, color="tab:red")
    # figures stated relative to the model's own 2020 value are drawn on that scale
    relative = {"spend_children_in_care_gbp": ("spend_growth_from_2020_gbp", lambda base, v: base + v,
                                               "model 2020 + £2.1bn"),
                "n_foster_households": ("foster_households_vs_2020", lambda base, v: base * v, "model 2020 x 0.85")}
    if measures[0][0] in relative:
        name, combine, text = relative[measures[0][0]]
        base = np.nanmean(_series(tables, measures[0][0])[:, list(years).index(2020)])
        for t in targets:
            if t.measure != name or t.use == "unused":
                continue
            y = combine(base, t.value) * factor
            err = (abs(combine(base, t.value + t.scale()) - combine(base, t.value)) * factor if t.tolerance else None)
            st = {k: v for k, v in STYLE[t.use].items() if k != "label"}
            ax.errorbar([t.model_year], [y], yerr=err, linestyle="none", capsize=4, **st)
            ax.annotate(text, (t.model_year, y), textcoords="offset points", xytext=(-105, -12), fontsize=9,
                        color=st["color"])
    ax.set_title(title)
    ax.set_ylabel(unit)
    ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
    ax.grid(alpha=0.3)
    if len(measures) > 1:
        ax.legend(fontsize=9, loc="center left")


def write_report(targets: list[Target], tables: list[pd.DataFrame], meta: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    table = fit_table(targets, tables)
    table.to_csv(out / "fit_table.csv", index=False)
    checks = oos_checks(tables)
    (out / "fit_report.md").write_text(markdown(table, meta, checks))
    return [out / "fit_table.csv", out / "fit_report.md"] + charts(targets, tables, out)
