"""`caresim backtest`: how well the model projects years it was not fitted to.

    caresim backtest --data DIR --fit-until YYYY --out OUT   an authority (calibration/local.py)
    caresim backtest --out OUT                               England, against unfitted figures

With `--data`, the return is cut at 31 March YYYY as it stood then (later years dropped, later
endings reopened), the local model is fitted to the years up to YYYY and started from the
stock at 31 March YYYY, exactly as `caresim run --data` would have been then, and its
projections of the later years are set beside what the return records: stock by placement
group, starts and ceased. Without `--data`, the national model (the shipped calibration, fitted
to figures up to 2020-21) is set beside the figures of calibration/data/targets.csv it was not
fitted to (`use` = check or oos); their horizon is counted from 2020, and nothing is tuned to them.

`OUT/backtest.csv` has year, measure, horizon (years after the last fitted year), mean, p05,
p95 (over replications), actual and error (mean - actual); `OUT/backtest.png` charts them. From a
return, a figure that rounds to 1-5 is shown as `c` (its error too: it would reveal it).

`--drivers FILE` (national only) runs the projection twice on the same seeds, with the fitted
trends and with the observed drivers (runner/drivers.py), so that what the drivers published
after 2020 add can be read: the table gains a `drivers` column (`fitted trends` or `observed`),
and `OUT/backtest.md` says which run is closer to the actual figures of 2021 onwards (mean
absolute relative error), leaving out the figures the drivers file itself sets (they would be
closer by construction). Nothing is fitted to care outcomes after 2020 in either run.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runner.checks import check_output_dir
from runner.errors import UserError
from runner.options import check_seeds, path_value, replications_value, scale_value, seed_value

NATIONAL_FIT_UNTIL = 2020  # the shipped calibration's fitted years end here (README: calibration)
COLUMNS = ["year", "measure", "horizon", "mean", "p05", "p95", "actual", "error"]
WITHOUT_DRIVERS, WITH_DRIVERS = "fitted trends", "observed"
# a back-test figure that is (a form of) a driver: with that driver observed it is an input, not a test
FIGURE_SET_BY_DRIVER = {"n_social_workers": "social_worker_fte"}  # caseload is an outcome (sim/workforce.py)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=path_value, default=None, metavar="DIR",
                        help="an authority's SSDA903 folder (default: England against unfitted national figures)")
    parser.add_argument("--fit-until", type=int, default=None, metavar="YYYY",
                        help="last collection year fitted (with --data; default: two years before the last)")
    parser.add_argument("--out", type=path_value, required=True, help="folder for backtest.csv and backtest.png")
    parser.add_argument("--seed", type=seed_value, default=1, help="base seed (default 1)")
    parser.add_argument("--replications", type=replications_value, default=5, help="replications (default 5)")
    parser.add_argument("--scale", type=scale_value, default=0.1,
                        help="share of England simulated without --data (default 0.1)")
    parser.add_argument("--params", type=path_value, default=None, help="national parameter file (default: shipped)")
    parser.add_argument("--drivers", type=path_value, default=None, metavar="FILE",
                        help="CSV of observed drivers (e.g. ../shared/drivers.csv): project with and without them "
                             "and say which is closer to the figures of 2021 onwards (national only)")


def _stats(values):
    import numpy as np

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    return float(v.mean()), float(np.percentile(v, 5)), float(np.percentile(v, 95))


def local_backtest(data: Path, fit_until: int | None, seeds: list[int], out: Path, params: Path | None = None,
                   log=None):
    """The back-test table of one authority (unsuppressed; `suppressed` shows it)."""
    import pandas as pd

    from calibration.local import BACKTEST_MEASURES, Authority, history, load_authority, local_run, truncate
    from runner.montecarlo import BASELINE_SCENARIO

    authority = load_authority(data)
    years = authority.ret.years
    if len(years) < 3:
        raise UserError(f"--data {data}: {len(years)} collection year(s); a back-test needs at least three")
    fit_until = years[-3] if fit_until is None else fit_until
    if fit_until not in years or fit_until >= years[-1] or fit_until <= years[0]:
        raise UserError(f"--fit-until {fit_until}: must be a collection year of the return after its first and "
                        f"before its last ({years[0]}-{years[-1]})")
    actual = history(authority.ret)
    cut = Authority(authority.name, truncate(authority.ret, fit_until), authority.folder)
    result = local_run(cut, BASELINE_SCENARIO, seeds, end_year=years[-1], params=params, cache_dir=out / "fit", log=log)
    rows = []
    for year in [y for y in years if y > fit_until]:
        at = result.runs[result.runs["year"] == year]
        for measure in BACKTEST_MEASURES:
            mean, p05, p95 = _stats(at[measure])
            a = float(actual.at[year, measure])
            rows.append({"year": year, "measure": measure, "horizon": year - fit_until, "mean": mean, "p05": p05,
                         "p95": p95, "actual": a, "error": mean - a})
    return authority.name, pd.DataFrame(rows, columns=COLUMNS), result.notes


def suppressed(table):
    """A back-test table from a return as written: actuals rounding to 1-5 as `c` (with their error),
    and so any projection that rounds to 1-5."""
    from calibration.local import suppress_value
    from calibration.ssda903.privacy import HIDDEN

    out = table.astype(object).copy()
    for col in ("mean", "p05", "p95", "actual"):
        out[col] = table[col].map(suppress_value).astype(object)
    out.loc[out["actual"] == HIDDEN, "error"] = HIDDEN
    return out


def national_backtest(seeds: list[int], scale: float, params: Path | None = None, drivers=None):
    """England against the figures of targets.csv that were not fitted (check, oos).

    `drivers` (runner.drivers.Drivers, or None): the observed drivers replace the fitted trends.
    """
    import pandas as pd

    from calibration.targets import load_targets
    from runner.montecarlo import BASELINE_SCENARIO, plan, run_replications
    from sim.parameter_file import ParameterSet

    targets = [t for t in load_targets() if t.use in ("check", "oos") and t.model_year is not None]
    end_year = max(t.model_year for t in targets)
    tables = []
    run_replications(plan([BASELINE_SCENARIO], seeds, ParameterSet.load(params)),
                     lambda r, table: tables.append(table), scale=scale, end_year=end_year, drivers=drivers)
    rows = []
    for t in targets:
        mean, p05, p95 = _stats([t.model_value(table) for table in tables])
        rows.append({"year": t.model_year, "measure": t.measure, "horizon": t.model_year - NATIONAL_FIT_UNTIL,
                     "mean": mean, "p05": p05, "p95": p95, "actual": t.value, "error": mean - t.value})
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["year", "measure"], kind="stable").reset_index(drop=True)


def with_and_without_drivers(seeds: list[int], scale: float, drivers, params: Path | None = None):
    """The national back-test twice on the same seeds, fitted trends then observed drivers: one table
    with a `drivers` column."""
    import pandas as pd

    tables = []
    for label, used in ((WITHOUT_DRIVERS, None), (WITH_DRIVERS, drivers)):
        table = national_backtest(seeds, scale, params, drivers=used)
        table.insert(0, "drivers", label)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def closeness(table, driver_measures, after: int = NATIONAL_FIT_UNTIL) -> dict:
    """Which run is closer to the actual figures of the years after `after`.

    Mean absolute relative error |mean - actual| / |actual| of each run over the figures both
    runs have, leaving out those the drivers file sets (`FIGURE_SET_BY_DRIVER`). Returns
    {"figures": [...], "left_out": [...], "error": {label: value}, "closer": label or None (a tie)}.
    """
    import numpy as np

    later = table[table["year"] > after]
    left_out = sorted({m for m in later["measure"] if FIGURE_SET_BY_DRIVER.get(m) in set(driver_measures)})
    kept = later[~later["measure"].isin(left_out) & (later["actual"] != 0)]
    error = {}
    for label in (WITHOUT_DRIVERS, WITH_DRIVERS):
        rows = kept[kept["drivers"] == label]
        relative = (rows["error"].astype(float).abs() / rows["actual"].astype(float).abs()).to_numpy()
        error[label] = float(np.mean(relative)) if relative.size else float("nan")
    figures = sorted({f"{m} {y}" for m, y in zip(kept["measure"], kept["year"])})
    a, b = error[WITHOUT_DRIVERS], error[WITH_DRIVERS]
    closer = None if not (np.isfinite(a) and np.isfinite(b)) or a == b else (WITH_DRIVERS if b < a else WITHOUT_DRIVERS)
    return {"figures": figures, "left_out": left_out, "error": error, "closer": closer}


def closeness_sentence(found: dict, source: str) -> str:
    """One line for the report: which run is closer to the figures of 2021 onwards."""
    error = found["error"]
    measured = (f"mean absolute relative error {100 * error[WITH_DRIVERS]:.1f}% with the observed drivers of "
                f"{source}, {100 * error[WITHOUT_DRIVERS]:.1f}% with the fitted trends, over "
                f"{len(found['figures'])} figure(s) of {NATIONAL_FIT_UNTIL + 1} onwards ({', '.join(found['figures'])})")
    left = (f"; left out as set by the drivers file: {', '.join(found['left_out'])}" if found["left_out"] else "")
    if found["closer"] is None:
        return f"Neither run is closer: {measured}{left}."
    which = "the observed drivers" if found["closer"] == WITH_DRIVERS else "the fitted trends"
    return f"Closer to the actual figures: the run with {which} ({measured}){left}."


def drivers_markdown(table, sentence: str, scale: float, replications: int) -> str:
    """backtest.md: the closeness line and the table of 2021 onwards, both runs side by side."""
    later = table[table["year"] > NATIONAL_FIT_UNTIL]
    wide = later.pivot_table(index=["year", "measure"], columns="drivers", values="mean", sort=False)
    actual = later.drop_duplicates(["year", "measure"]).set_index(["year", "measure"])["actual"]
    from calibration.targets import load_targets

    grades = {(t.model_year, t.measure): t.grade for t in load_targets() if t.use in ("check", "oos")}
    lines = [f"# Back-test with and without observed drivers (England, scale {scale}, {replications} replications)",
             "", sentence, "",
             "An actual figure's grade is its grade in calibration/data/targets.csv (A read from an official "
             "release; B an official figure quoted by a secondary source; C derived by arithmetic; D a non-official "
             "figure: the 2025 ones are the CCN/Newton 2022 projection, not an outturn).", "",
             f"| year | measure | actual | grade | {WITHOUT_DRIVERS} | {WITH_DRIVERS} |", "|---|---|---:|---|---:|---:|"]
    for (year, measure), row in wide.iterrows():
        lines.append(f"| {year} | {measure} | {actual[(year, measure)]:,.4g} | {grades.get((year, measure), '')} | "
                     f"{row[WITHOUT_DRIVERS]:,.4g} | {row[WITH_DRIVERS]:,.4g} |")
    return "\n".join(lines) + "\n"


def chart(table, path: Path, title: str) -> None:
    """One panel per measure: the projection's mean and 5-95% band, and the actual figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    from matplotlib.ticker import MaxNLocator

    measures = list(dict.fromkeys(table["measure"]))
    cols = min(3, len(measures))
    rows = (len(measures) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    runs = list(dict.fromkeys(table["drivers"])) if "drivers" in table else [None]
    for ax, measure in zip(axes.ravel(), measures):
        for run in runs:
            t = table[(table["measure"] == measure) & ((table["drivers"] == run) if run else True)]
            num = lambda c: pd.to_numeric(t[c], errors="coerce")  # noqa: E731 - `c` (suppressed) is not drawn
            x = num("year").to_numpy(dtype=float)
            named = f" ({run})" if run else ""
            ax.fill_between(x, num("p05").to_numpy(dtype=float), num("p95").to_numpy(dtype=float), alpha=0.25,
                            label=f"model 5-95%{named}")
            ax.plot(x, num("mean").to_numpy(dtype=float), "o-", label=f"model mean{named}")
        ax.plot(x, num("actual").to_numpy(dtype=float), "ks", label="actual")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(measure, fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes.ravel()[len(measures):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(args) -> int:
    from runner.montecarlo import seeds_of

    check_seeds(args.seed, args.replications)
    check_output_dir(args.out)
    seeds = seeds_of(args.seed, args.replications)
    log = lambda msg: print(f"backtest: {msg}", file=sys.stderr, flush=True)  # noqa: E731
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {args.out}: cannot write ({exc.strerror})") from None
    if args.data is not None and args.drivers is not None:
        raise UserError("--drivers: the back-test with observed drivers is national; leave out --data")
    if args.data is not None:
        name, table, notes = local_backtest(args.data, args.fit_until, seeds, args.out, args.params, log)
        for note in notes:
            print(f"caresim: note: {note}", file=sys.stderr)
        shown = suppressed(table)
        title = f"{name}: fitted to {table['year'].min() - table['horizon'].min()}, projected after"
    else:
        if args.fit_until not in (None, NATIONAL_FIT_UNTIL):
            raise UserError(f"--fit-until {args.fit_until}: the national calibration is fitted up to "
                            f"{NATIONAL_FIT_UNTIL}; give --data for an authority's back-test")
        title = f"England: calibrated to figures up to {NATIONAL_FIT_UNTIL}; check and out-of-sample figures"
        if args.drivers is None:
            table = national_backtest(seeds, args.scale, args.params)
        else:
            from runner.drivers import load_drivers

            drivers = load_drivers(args.drivers)
            table = with_and_without_drivers(seeds, args.scale, drivers, args.params)
            sentence = closeness_sentence(closeness(table, drivers.measures), args.drivers.name)
            (args.out / "backtest.md").write_text(drivers_markdown(table, sentence, args.scale, len(seeds)))
        shown = table
    shown.to_csv(args.out / "backtest.csv", index=False, float_format="%.6g")
    chart(shown, args.out / "backtest.png", title)
    print(shown.to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
    if args.data is None and args.drivers is not None:
        print(f"\n{sentence}")
        print(f"wrote {args.out / 'backtest.csv'}, {args.out / 'backtest.png'} and {args.out / 'backtest.md'}")
    else:
        print(f"\nwrote {args.out / 'backtest.csv'} and {args.out / 'backtest.png'}")
    return 0
