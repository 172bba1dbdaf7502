"""`caresim compare`: Monte Carlo comparison of scenarios with common random numbers.

Replication i of every scenario uses the same seed (`--seed` + i) and the same parameter draw
(`ParameterSet.for_replication(seed)`), so scenario-minus-baseline differences are paired: they
are the levers' effect, not noise. Each (scenario, seed) run goes through the one Monte Carlo path
(runner/montecarlo.py): a pure task run serially, on local worker processes (`--workers`) or on
a Dask scheduler (`--scheduler`).

The experiment folder `DIR` holds:

* `manifest.json` - scenarios (as their files say), seeds, scale, end year, parameter file
  version and hash. Rerunning the same command resumes; other settings are refused.
* `runs.parquet/` - a parquet dataset, one small file per (scenario, seed), written atomically
  (temporary file, then `os.replace`) as each run finishes, so a killed driver loses at most
  the runs in flight. `pandas.read_parquet(DIR / "runs.parquet")` reads every row.
* `summary.csv` - per scenario and year: mean, median, 5th and 95th percentiles of the public
  measures of `sim.measures` and of the saving against the baseline net of edge-of-care
  spending (paired by seed), from `runner.summary.summarise`, the summary every command uses.
* `report.md` and PNG fan charts, with the report's headline figures (targets.md section 1)
  beside caresim's.

`--drivers FILE` replaces the referral, UASC and workforce trends with an observed series where it
has years (sim/driven.py). `--lever-uncertainty` draws each non-baseline replication's lever
strengths from their priors (by its seed, so that they are the same whatever the run order), and
splits each headline's end-year variance between the calibration posterior, the lever strengths,
the other assumptions and stochastic noise (`--variance-samples N`: a pick-freeze design of 15 N
rows, runner/variance_sources.py, kept in `variance_store/`): `variance_sources.csv`, share
columns in `summary.csv` and a section of `report.md`. Without these options compare is unchanged.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import sys
from pathlib import Path

from experiments.run_command import add_run_options, read_drivers_option
from runner.checks import check_output_dir, read_user_text
from runner.errors import UserError
from runner.options import check_seeds, name_value, path_value, replications_value, workers_value
from sim.dates import START_YEAR

BASELINE = "baseline"
STORE = "runs.parquet"
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 64 * 2**20  # a 10,000-seed manifest is about 100 kB


# ---------------------------------------------------------------------------- the store
def run_file(store: Path, scenario: str, seed: int) -> Path:
    return store / f"{scenario}--seed{seed}.parquet"


def write_run(store: Path, frame) -> Path:
    """Write one run atomically: readers never see a partial file."""
    scenario, seed = frame["scenario"].iloc[0], int(frame["seed"].iloc[0])
    final = run_file(store, scenario, seed)
    tmp = store / f".tmp-{final.name}-{os.getpid()}"  # a leading dot: parquet readers skip it
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, final)
    return final


def read_runs(out: Path):
    """Every stored run (a pandas DataFrame), sorted by scenario, seed and year."""
    import pandas as pd

    runs = pd.read_parquet(out / STORE)
    return runs.sort_values(["scenario", "seed", "year"]).reset_index(drop=True)


def _manifest(scenarios: list, seeds: list[int], args, pset) -> dict:
    path = Path(pset.source)
    return {
        "scenarios": [s.to_dict() for s in scenarios],
        "seeds": seeds,
        "scale": args.scale,
        "end_year": args.end_year,
        "params_file": str(path),
        "params_version": str(pset.meta.get("version", "unknown")),
        "params_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "params_draws": len(pset.draws),  # posterior draws; 0: every replication uses the point estimate
        "parameter_uncertainty": bool(pset.draws) and not args.point_estimate,
        **({"lever_uncertainty": True} if getattr(args, "lever_uncertainty", False) else {}),
        "drivers_sha256": (hashlib.sha256(Path(args.drivers).read_bytes()).hexdigest()
                           if getattr(args, "drivers", None) is not None else None),
    }


_COMPARED = ("scenarios", "seeds", "scale", "end_year", "params_version", "params_sha256",
             "parameter_uncertainty", "drivers_sha256", "lever_uncertainty")


def prepare_dir(out: Path, manifest: dict) -> set[tuple[str, int]]:
    """Create or reopen the experiment folder; the (scenario, seed) runs already stored.

    A folder made with other settings is refused before anything in it is touched."""
    store = out / STORE
    path = out / MANIFEST
    if os.path.lexists(path):
        try:
            old = json.loads(read_user_text(path, "experiment manifest", MAX_MANIFEST_BYTES))
        except json.JSONDecodeError:
            old = None
        if not isinstance(old, dict):
            raise UserError(f"{path}: not a caresim experiment manifest; use another --out")
        for key in _COMPARED:
            if old.get(key) != manifest.get(key):
                raise UserError(f"{out}: made with different {key} ({_short(old.get(key))} there, "
                                f"{_short(manifest.get(key))} now); use another --out")
    try:
        store.mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(path):
            tmp = out / f".{MANIFEST}.tmp"
            tmp.write_text(json.dumps(manifest, indent=2))
            os.replace(tmp, path)
        for leftover in store.glob(".tmp-*"):  # runs in flight when a driver was killed
            leftover.unlink()
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write ({exc.strerror})") from None
    done = set()
    for f in store.glob("*.parquet"):
        name, _, seed = f.stem.rpartition("--seed")
        if name and seed.isdigit() and _intact(f, manifest["end_year"] - START_YEAR + 1):
            done.add((name, int(seed)))
    return done


def _intact(run: Path, rows: int) -> bool:
    """Whether a stored run can be read and has a row per year; a damaged one is removed, so that
    it is run again (a killed writer never leaves one, as runs are renamed into place, but a disk
    or a person can)."""
    import pyarrow.parquet as pq

    try:
        ok = pq.read_metadata(run).num_rows == rows
        problem = "" if ok else "wrong number of rows"
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        ok, problem = False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not ok:
        print(f"caresim compare: {run} is damaged ({problem}); running it again", file=sys.stderr, flush=True)
        try:
            run.unlink()
        except OSError as exc:
            raise UserError(f"{run}: damaged and cannot be removed ({exc.strerror})") from None
    return ok


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------- command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                        help="scenario names or files; the baseline is added if absent")
    add_run_options(parser)
    parser.add_argument("--workers", type=workers_value, default=1, help="local worker processes (default 1)")
    parser.add_argument("--scheduler", type=name_value, default=None, metavar="tcp://HOST:PORT", help="a running Dask scheduler")
    parser.add_argument("--out", type=path_value, required=True, help="experiment folder (created; rerun to resume)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--lever-uncertainty", action="store_true",
                        help="sample each replication's lever strengths from their priors (by its seed), and split "
                             "each headline's variance between the calibration posterior, lever strengths, other "
                             "assumptions and stochastic noise (variance_sources.csv, summary.csv, report.md)")
    parser.add_argument("--by-lever", nargs="?", const="all", default=None, metavar="NAME,NAME",
                        help="decompose the end-year net saving of every scenario (or of those named) by lever: "
                             "Shapley values over paired seeds (by_lever.csv, waterfall charts, report.md); "
                             "costs a run per subset of levers and seed (57 subsets for 8 levers)")
    parser.add_argument("--by-lever-seeds", type=replications_value, default=None, metavar="N",
                        help="the decomposition uses the first N seeds (default: every replication)")
    parser.add_argument("--inferred", type=path_value, default=None, metavar="FILE",
                        help="infer.csv of `caresim infer`: report.md says what share of each opportunity the "
                             "report's totals imply (labelled as inferred)")
    parser.add_argument("--variance-samples", type=workers_value, default=8, metavar="N",
                        help="base samples of the variance-by-source design: 15 N rows, each a baseline and a "
                             "scenario run per scenario (default 8)")


def main(args) -> int:
    from experiments.scenarios import load_scenario, load_scenarios
    from runner.montecarlo import ExecutorOptions, as_rows, plan, run_replications, seeds_of
    from sim.parameter_file import ParameterSet

    check_seeds(args.seed, args.replications)
    scenarios = load_scenarios(args.scenarios)
    names = [s.name for s in scenarios]
    if BASELINE not in names:
        scenarios.insert(0, load_scenario(BASELINE))
    by_lever = _by_lever_scenarios(args, [s.name for s in scenarios])
    inferred = read_inferred(args.inferred)
    pset = ParameterSet.load(args.params)
    for s in scenarios:
        s.check_params(pset.point)
    check_output_dir(args.out)
    drivers = read_drivers_option(args.drivers)
    for note in ([] if args.point_estimate else pset.notes()):
        print(f"caresim: note: {note}", file=sys.stderr)
    seeds = seeds_of(args.seed, args.replications)
    manifest = _manifest(scenarios, seeds, args, pset)
    done = prepare_dir(args.out, manifest)
    store = args.out / STORE
    todo = plan([s.to_dict() for s in scenarios], seeds, pset, uncertainty=not args.point_estimate, skip=done)
    if args.lever_uncertainty:
        todo = with_sampled_levers(todo)
    total = len(seeds) * len(scenarios)
    if done:
        print(f"caresim compare: resuming, {total - len(todo)} of {total} runs already in {store}",
              file=sys.stderr, flush=True)
    run_replications(todo, lambda r, table: write_run(store, as_rows(table, r.scenario["name"], r.seed)),
                     scale=args.scale, end_year=args.end_year, key_prefix=f"{args.out.name}/",
                     executor=ExecutorOptions(args.workers, args.scheduler, progress=not args.no_progress),
                     drivers=drivers)
    shares = None
    if args.lever_uncertainty:
        shares = variance_by_source(args, scenarios, pset)
    if by_lever:
        from experiments.by_lever import run_by_lever

        run_by_lever(args.out, manifest, by_lever, seeds[: args.by_lever_seeds or len(seeds)], pset,
                     uncertainty=not args.point_estimate, drivers=drivers,
                     executor=ExecutorOptions(args.workers, args.scheduler, progress=not args.no_progress))
    write_outputs(args.out, manifest, command=shlex.join(["caresim", "compare", *sys.argv[2:]]), shares=shares,
                  inferred=inferred)
    print(f"caresim compare: {total} runs in {store}; summary.csv, report.md and charts in {args.out}")
    return 0


def _by_lever_scenarios(args, names: list[str]) -> list[str]:
    """The scenarios `--by-lever` decomposes (checked before any work)."""
    from experiments.by_lever import chosen_scenarios

    if args.by_lever is None:
        if args.by_lever_seeds is not None:
            raise UserError("--by-lever-seeds needs --by-lever")
        return []
    if args.lever_uncertainty:
        raise UserError("--by-lever with --lever-uncertainty: a decomposition needs the levers at their stated strengths")
    if args.by_lever_seeds is not None and args.by_lever_seeds > args.replications:
        raise UserError(f"--by-lever-seeds {args.by_lever_seeds} is more than --replications {args.replications}")
    return chosen_scenarios(args.by_lever, names)


def with_sampled_levers(replications: list) -> list:
    """Each non-baseline replication with lever strengths drawn from their priors by its seed
    (experiments/uncertain.py): the same strengths for a scenario at a seed, whatever the run order."""
    import dataclasses

    from experiments.uncertain import LEVER_STREAM, lever_inputs, uniform_values, with_lever_values

    out = []
    for r in replications:
        if r.scenario["name"] != BASELINE:
            values = uniform_values(lever_inputs(r.scenario), r.seed, LEVER_STREAM)
            r = dataclasses.replace(r, scenario=with_lever_values(r.scenario, values))
        out.append(r)
    return out


HEADLINES = ("children_in_care", "spend_gbp", "residential")  # the baseline's; each scenario adds its net saving


def variance_by_source(args, scenarios: list, pset):
    """Each headline's variance split by source (runner/variance_sources.py), in `variance_sources.csv`.

    Headlines at the end year: the baseline's children in care, spend and residential, and each
    scenario's net saving (GBP and %). The design (15 N rows for four sources) is evaluated through a
    resumable store in `DIR/variance_store`.
    """
    from experiments.uncertain import evaluate_sources
    from runner.design_store import DesignStore
    from runner.sensitivity import RunOptions
    from runner.variance_sources import CARESIM_SOURCES, SourceDesign, run_variance_study

    others = [s.to_dict() for s in scenarios if s.name != BASELINE]
    if not others:
        raise UserError("--lever-uncertainty: name at least one scenario with levers besides the baseline")
    outputs = [f"{others[0]['name']}:{h}" for h in HEADLINES]
    outputs += [f"{s['name']}:{h}" for s in others for h in ("net_saving_gbp", "net_saving_pct")]
    design = SourceDesign(CARESIM_SOURCES, args.variance_samples)
    settings = {"scenarios": others, "params_file": str(args.params) if args.params else None, "scale": args.scale,
                "end_year": args.end_year, "sources": list(CARESIM_SOURCES), "outputs": outputs}
    meta = {"fn": "experiments.uncertain.evaluate_sources", "settings": settings, "seed": args.seed}
    store = DesignStore(args.out / "variance_store", meta)
    print(f"caresim compare: variance by source, {len(design)} design rows "
          f"({len(store)} already in {args.out / 'variance_store'})", file=sys.stderr, flush=True)
    options = RunOptions(workers=args.workers, scheduler=args.scheduler, progress=not args.no_progress, store=store)
    shares, _ = run_variance_study(design, evaluate_sources, outputs, options, settings=settings, seed=args.seed)
    shares["output"] = [o.replace(f"{others[0]['name']}:", "baseline:") if o.split(":")[1] in HEADLINES else o
                        for o in shares["output"]]
    shares.to_csv(args.out / "variance_sources.csv", index=False, float_format="%.6g")
    return shares


SUMMARY_MEASURE = {"children_in_care": "children_in_care", "spend_gbp": "spend_gbp", "residential": "residential",
                   "net_saving_gbp": "savings_net_gbp", "net_saving_pct": "savings_net_pct"}


def _shares_into_summary(summary, shares, year: int):
    """summary.csv's end-year row of each scenario gains `<measure>_share_<source>` columns."""
    for _, row in shares.iterrows():
        scenario, output = row["output"].split(":")
        column = f"{SUMMARY_MEASURE[output]}_share_{row['source'].replace(' ', '_')}"
        if column not in summary.columns:
            summary[column] = float("nan")
        summary.loc[(summary["scenario"] == scenario) & (summary["year"] == year), column] = row["share"]
    return summary


INFERRED_COLUMNS = ("scenario", "target_net_cut", "reachable", "share", "share_lo", "share_hi", "spread_lo",
                    "spread_hi", "checked_share", "net_cut_mean", "net_cut_p05", "net_cut_p95", "homes_change_mean",
                    "residential_change_mean", "report_homes_change", "report_residential_change")


def read_inferred(path):
    """`--inferred FILE`: infer.csv of `caresim infer` as a DataFrame (None without the option)."""
    if path is None:
        return None
    import io

    import pandas as pd

    text = read_user_text(path, "infer.csv", 2**20)
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise UserError(f"--inferred {path}: not a CSV ({str(exc).splitlines()[0]})") from None
    missing = [c for c in INFERRED_COLUMNS if c not in table.columns]
    if missing or table.empty:
        raise UserError(f"--inferred {path}: not an infer.csv of caresim infer (missing column "
                        f"{missing[0] if missing else 'rows'})")
    for i, row in table.iterrows():
        for column in ("target_net_cut", "checked_share", "net_cut_mean", "net_cut_p05", "net_cut_p95",
                       "homes_change_mean", "residential_change_mean", "report_homes_change",
                       "report_residential_change", *(("share",) if row["reachable"] == "True" else ())):
            try:
                float(row[column])
            except ValueError:
                raise UserError(f"--inferred {path}: row {i + 2}, {column} = {row[column]!r} is not a number") from None
    for column in ("target_net_cut", "share", "checked_share", "net_cut_mean", "net_cut_p05", "net_cut_p95",
                   "homes_change_mean", "residential_change_mean", "report_homes_change", "report_residential_change"):
        table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


def write_outputs(out: Path, manifest: dict, command: str = "", shares=None, inferred=None) -> None:
    """summary.csv, the charts and report.md (with the variance by source when `shares` is given)."""
    from experiments.report import write_charts, write_report
    from runner.summary import summarise, with_saving

    names = [s["name"] for s in manifest["scenarios"]]
    runs = read_runs(out)
    runs = with_saving(runs[runs["scenario"].isin(names) & runs["seed"].isin(manifest["seeds"])], BASELINE)
    order = {n: i for i, n in enumerate(names)}  # the summary lists scenarios as the command named them
    summary = summarise(runs.sort_values("scenario", key=lambda c: c.map(order), kind="stable"), baseline=BASELINE)
    if shares is not None:
        summary = _shares_into_summary(summary, shares, int(manifest["end_year"]))
    summary.to_csv(out / "summary.csv", index=False, float_format="%.6g")
    charts = write_charts(out, summary, names)
    write_report(out, runs, summary, manifest, charts, command, inferred=inferred)
    _append_by_lever(out, manifest, summary)
    if shares is not None:
        from experiments.sensitivity_report import variance_shares_markdown

        text = ["", f"## Uncertainty by source ({manifest['end_year']})", "",
                "Each headline's variance across replications split between the calibration posterior (which "
                "posterior draw), the lever strengths (drawn from their priors), the other fixed assumptions "
                "(drawn from their priors) and stochastic noise (the seed): Shapley effects from a pick-freeze "
                "design (runner/variance_sources.py), shares that sum to 1, with 95% bootstrap intervals. "
                "The replications above sample lever strengths by seed too.", "",
                variance_shares_markdown(shares)]
        with open(out / "report.md", "a") as report:
            report.write("\n".join(text))


def _append_by_lever(out: Path, manifest: dict, summary) -> None:
    """report.md's "Saving by lever" section and waterfall charts, when the folder has by_lever.csv."""
    from experiments import by_lever

    table = by_lever.read_table(out)
    if table is None:
        return
    year = int(manifest["end_year"])
    at_year = summary[summary["year"] == year].set_index("scenario")
    totals = {name: float(at_year.loc[name, "savings_net_gbp_mean"]) for name in table["scenario"].unique()
              if name in at_year.index}
    charts = by_lever.write_charts(out, table)
    with open(out / "report.md", "a") as report:
        report.write("\n".join(by_lever.markdown(table, charts, len(manifest["seeds"]), totals)))
