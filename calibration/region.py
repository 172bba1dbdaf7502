"""A region: every authority of a folder fitted, then all of them run as ONE model, and rolled up.

`run_region(folder, ...)` (what `caresim region DIR` calls):

1. *prepare* every authority (a sub-folder of 903 files): read and clean its return, and fit
   its local parameters (calibration/local.py; cached under OUT/fits/NAME, so a rerun skips the
   fit: one task per authority) or, with `fit=False`, take the national posterior (one task per
   worker, each reading its share of the authorities in one pass: `prepare_unfitted`); each
   gives its name, its stock at its latest 31 March (`LocalStart`) and its parameters;
2. one *run* task per replication (`region_replication`): the authorities' children pooled into
   one model (`sim.local_start.pool`), each child tagged with its authority. The rates each
   authority fitted (`sim.local_start.AUTHORITY_RATES`: care entry from a plan and from at-risk,
   return home) are its own, and so is its workforce (its share of the FTE by size; its cases go to
   its own workers); every other parameter is the replication's national draw. Fostering
   households, children's homes and support are the region's, shared by its authorities (as in a
   Regional Care Co-operative: an assumption, said in the README): their measures are the region's,
   and an authority's table leaves them blank (NaN). One model, not
   one per authority, because a monthly step costs ~2,500 numpy calls whatever its population
   (docs/region-design.md): 150 authorities cost about 1.6x one national replication this way,
   and ~16x as 150 models;
3. an authority's table holds its own children's stocks by placement, care entries, exits and
   re-entries, spend on children in care (the fixed overhead split by size), social workers,
   direct hours and caseload; the regional
   total of a replication is the sum of its authorities' tables for those measures, added in the
   authorities' name order (exactly their sum), and the model's own figures for what the region
   shares.

Every task goes through `runner.executor.run_tasks` (serially, local worker processes or a Dask
scheduler): a lost worker costs a retry of its tasks. Finished replications are written to the
store OUT/runs.parquet/ (one file per seed, every authority and the total, written atomically),
so a rerun resumes: a seed whose file is stored is skipped. What the store and the
tables hold from a return is suppressed: a count that rounds to 1-5, and any count that would
reveal one through the total or the sums within a table (calibration/ssda903/privacy.py), is NaN
in the store and `c` in the tables.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.ssda903.privacy import count_columns, hidden_counts, hidden_yearly
from runner.errors import UserError
from runner.executor import Task, run_tasks, shared_scheduler, worker_threads
from runner.montecarlo import ExecutorOptions, as_rows
from sim.local_start import AUTHORITY_RATES, LocalStart, pool
from sim.measures import AUTHORITY_MEASURES, MEASURES
from sim.parameter_file import ParameterSet

TOTAL = "total"  # the store's name of the regional total
STORE = "runs.parquet"


@dataclass
class Prepared:
    name: str
    start: object  # sim.local_start.LocalStart
    parameters: object  # sim.parameter_file.ParameterSet; None from prepare_unfitted until run_region sets it
    notes: list[str]


def authority_folders(folder: Path) -> list[Path]:
    """The sub-folders of `folder` holding an authority's files, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"region {folder}: not a folder")
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subs:
        raise UserError(f"region {folder}: no sub-folder (one per authority)")
    return subs


def prepare(folder: str, params: str | None, cache_dir: str | None, fit: bool) -> Prepared:
    """Task: read an authority and fit it (or take the national posterior)."""
    from calibration.local import fit_local, load_authority, start_at

    authority = load_authority(Path(folder))
    national = ParameterSet.load(params)
    if fit:
        parameters, notes = fit_local(authority, national, cache_dir=Path(cache_dir) / authority.name
                                      if cache_dir else None)
    else:
        parameters, notes = national, [f"{authority.name}: national parameters (no local fit)"]
    return Prepared(authority.name, start_at(authority.ret, authority.last_year, authority.name), parameters, notes)


def prepare_unfitted(root: str, folders: list[str]) -> list[Prepared]:
    """Task: authorities (sub-folders of `root`) read and cleaned as one return
    (`reader.read_region`: one pass over all their files, which for 150 small returns is ~10x
    quicker than a pass each), each taking its stock at its own latest 31 March. Each authority
    is what `prepare(..., fit=False)` makes of it alone (tested), but for its parameters: None
    here, the national posterior's once `run_region` has them."""
    from calibration.local import authority_name, england_in_care
    from calibration.ssda903.cleaning import clean, collection_end
    from calibration.ssda903.estimates import population_at
    from calibration.ssda903.reader import read_region

    raw = read_region(Path(root), [Path(f) for f in folders])
    folder_of = _authority_folders(Path(root), raw.batch_year)
    empty = sorted({Path(f).name for f in folders} - set(folder_of.values()))
    if empty:
        raise UserError(f"region {root}: {empty[0]}: the episodes files have no rows")
    ret = clean(raw)
    last = {}  # each authority's latest collection year
    for batch, year in raw.batch_year.items():
        la = _batch_la(batch)
        last[la] = max(last.get(la, year), year)
    out = []
    for year in sorted(set(last.values())):
        population = population_at(ret, collection_end(year), by_authority=True)
        code, las = pd.factorize(population.pop("la"))
        population = population.take(np.argsort(code, kind="stable"))  # by authority, each in its order
        counts = np.bincount(code, minlength=len(las))
        first = dict(zip(las, np.cumsum(counts) - counts))
        for la in sorted(la for la, y in last.items() if y == year):
            name = authority_name(la)
            if la not in first:
                raise UserError(f"region {root}: {folder_of[la]}: the return has no child in care at 31 March "
                                f"{year}: nothing to start a model from")
            k = las.get_loc(la)
            children = population.iloc[first[la]:first[la] + counts[k]].reset_index(drop=True)
            start = LocalStart(int(year), children, min(len(children) / england_in_care(year), 1.0), name)
            out.append(Prepared(name, start, None, []))  # `caresim region --no-fit` says it once
    return out


def _batch_la(batch: str) -> str:
    """The authority of a batch of `read_region`'s rows: its LA column, else its sub-folder."""
    folder, la, _ = batch.split("|")
    return la or folder.split("/")[0]


def _authority_folders(root: Path, batch_year: dict[str, int]) -> dict[str, str]:
    """Each authority's sub-folder, from the batches read (`_batch_la`); a sub-folder holding
    several authorities (LA column), or an authority in several sub-folders, is refused."""
    folders: dict[str, set[str]] = {}
    las: dict[str, set[str]] = {}
    for batch in batch_year:
        folder, la = batch.split("|")[0].split("/")[0], _batch_la(batch)
        folders.setdefault(la, set()).add(folder)
        las.setdefault(folder, set()).add(la)
    for folder, names in sorted(las.items()):
        if len(names) > 1:
            raise UserError(f"region {root}: {folder} holds {len(names)} authorities (LA column); give one "
                            "authority's files in each sub-folder")
    for la, names in sorted(folders.items()):
        if len(names) > 1:
            raise UserError(f"region {root}: two authorities have the same name (LA column or folder): "
                            f"{', '.join(sorted(names))}")
    return {la: names.pop() for la, names in folders.items()}


def _chunks(folders: list[Path], n: int) -> list[list[Path]]:
    """`folders` in at most `n` runs of about equal bytes of files, in order."""
    sizes = np.array([sum(os.path.getsize(os.path.join(top, name)) for top, _, names in os.walk(folder)
                          for name in names) for folder in folders], float)
    edges = np.searchsorted(np.cumsum(sizes), np.arange(1, n) * sizes.sum() / n)
    return [list(part) for part in np.split(np.array(folders, dtype=object), edges) if len(part)]


def summed_columns() -> list[str]:
    """The measures an authority's table holds and the region's total adds up: its own children's
    counts, flows and spend on children in care (sim/recorder.py `_record_authorities`)."""
    return [m.name for m in MEASURES if m.name in AUTHORITY_MEASURES and (m.scaled or m.kind == "work")]


def region_total(tables: dict[str, pd.DataFrame], shared: pd.DataFrame | None = None) -> pd.DataFrame:
    """The region's yearly table: each summed measure added over the authorities in name order,
    over the years every authority has; the other measures are `shared`'s (the region's model's
    own figures), or NaN without it."""
    names = sorted(tables)
    years = pd.Index(sorted(set.intersection(*(set(tables[n].index) for n in names))), name="year")
    columns = [m.name for m in MEASURES]
    out = np.full((len(years), len(columns)), np.nan)
    if shared is not None:
        common = [i for i, c in enumerate(columns) if c in shared.columns]
        out[:, common] = shared.loc[years, [columns[i] for i in common]].to_numpy(dtype=float)
    summed = summed_columns()
    # every table in one frame (a table's rows in the order of `years`): one numpy array, not 150 .loc
    each = pd.concat([t if t.index.equals(years) else t.loc[years] for t in (tables[n] for n in names)])
    parts = each[summed].to_numpy(dtype=float).reshape(len(names), len(years), len(summed))
    total = np.zeros((len(years), len(summed)))
    for part in parts:  # one table at a time, in name order: each cell the same sum as column by column
        total = total + part
    out[:, [columns.index(c) for c in summed]] = total
    return pd.DataFrame(out, index=years, columns=columns)


@dataclass
class RegionRun:
    """A replication of a region: each authority's yearly table, by name, and the model's own
    (the region's) table. One object, not a tuple holding a dict: Dask sizes and sends a dict of
    150 frames frame by frame (~0.09 s measured), an object as one pickle (~0.02 s)."""
    tables: dict[str, pd.DataFrame]
    shared: pd.DataFrame


def region_replication(start, params, authority_rates: dict[str, list[float]], seed: int,
                       end_year: int) -> RegionRun:
    """The task: one replication of a region as one model (`start` from `sim.local_start.pool`)."""
    from sim.model import CareModel

    model = CareModel(params, seed=seed, start=start, journeys=False, authority_rates=authority_rates)
    try:
        model.run_until(end_year)
        by_authority = model.recorder.yearly_by_authority()
        shared = model.yearly_table()
        for table in by_authority.values():
            table.attrs.update(seed=seed, child_months=int(np.nansum(table["child_months"])))
        return RegionRun(by_authority, shared)
    finally:
        model.release()


def _suppressed_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Store rows (one table per scenario and seed) with every count of children that rounds to
    1-5, and what would reveal one within its table (calibration/ssda903/privacy.py), as NaN."""
    keys = [k for k in ("scenario", "seed") if k in rows.columns]
    groups = rows.groupby(keys, sort=False) if keys else [((), rows)]
    parts = [suppressed_tables({"one": g.set_index("year", drop=False)})["one"].set_index(g.index)
             for _, g in groups]
    return pd.concat(parts).loc[rows.index]


def suppressed_tables(tables: dict[str, pd.DataFrame], total: str | None = None) -> dict[str, pd.DataFrame]:
    """Yearly tables published together (an authority's, or a region's authorities and their
    `total`) with each count hidden by primary or secondary suppression as NaN."""
    masks = hidden_yearly(tables, count_columns(), total=total)
    out = {}
    for name, table in tables.items():
        t = table.copy()
        cols = list(masks[name].columns)
        t[cols] = np.where(masks[name].to_numpy(), np.nan, t[cols].to_numpy(dtype=float))
        out[name] = t
    return out


def store_rows(tables: dict[str, pd.DataFrame], total: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A replication's rows of the store: each authority's table by name, then the region's
    `total`, as `as_rows` gives them with their `authority`, suppressed as `suppressed_tables`
    does the authorities and their total published together (the same cells NaN).

    One frame and one array for every table, not a frame each: ~0.03 s against ~0.9 s for 150
    authorities, where a replication of the model takes ~2 s."""
    every = {**tables, TOTAL: total}
    names = [*sorted(tables), TOTAL]
    frames = [every[n] for n in names]
    if any(not t.index.equals(total.index) for t in frames):  # one model's tables: never
        raise RuntimeError("a region's tables do not all have the years of its total")
    each = pd.concat(frames)
    if any(len(t.columns) != len(each.columns) for t in frames):  # as as_rows checks each table
        raise RuntimeError("a region's tables do not all have the same measures")
    rows = as_rows(each, "baseline", seed)
    rows["authority"] = np.repeat(names, len(total))
    counts = [c for c in count_columns() if c in rows.columns]
    values = rows[counts].to_numpy(dtype=float).reshape(len(names), len(total), len(counts))
    # the cells numbered in the order of suppressed_tables({**tables, TOTAL: total}): where either
    # of two cells would protect a count, the first is hidden
    order = [names.index(n) for n in every]
    hide = np.empty(values.shape, bool)
    hide[order] = hidden_counts(values[order], counts, total=len(order) - 1)
    rows[counts] = np.where(hide, np.nan, values).reshape(len(rows), len(counts))
    return rows


def _write(store: Path, name: str, seed: int, rows: pd.DataFrame) -> None:
    final = store / f"{name}--seed{seed}.parquet"
    tmp = store / f".tmp-{final.name}-{os.getpid()}"
    rows.to_parquet(tmp, index=False)
    os.replace(tmp, final)


def read_store(out: Path) -> pd.DataFrame:
    """Every stored run: `authority`, `seed`, `year` and the measures (counts of 1-5 as NaN)."""
    return pd.read_parquet(Path(out) / STORE).sort_values(["authority", "seed", "year"]).reset_index(drop=True)


def run_region(folder: Path, out: Path, seeds: Sequence[int], *, end_year: int | None = None,
               params: Path | None = None, fit: bool = True, executor: ExecutorOptions = ExecutorOptions(),
               on_totals: Callable[[int, dict[str, pd.DataFrame], pd.DataFrame], None] | None = None,
               log: Callable[[str], None] | None = None) -> tuple[list[Prepared], list[int]]:
    """Prepare every authority, run each replication, store them and each seed's total.

    `on_totals(seed, authority tables, total)` is called in this process once a seed's every
    authority has run (the tables unsuppressed, in memory only). Returns the prepared
    authorities and the seeds run now (the others were in the store). Local workers are started
    once for both steps."""
    with shared_scheduler(executor.workers, executor.scheduler) as scheduler:
        return _run_region(folder, out, seeds, end_year, params, fit,
                           ExecutorOptions(executor.workers, scheduler, executor.progress), on_totals, log)


def _run_region(folder, out, seeds, end_year, params, fit, executor, on_totals, log):
    log = log or (lambda msg: None)
    out = Path(out)
    store = out / STORE
    store.mkdir(parents=True, exist_ok=True)
    for leftover in store.glob(".tmp-*"):
        leftover.unlink()
    folders = authority_folders(folder)
    prepared: dict[str, Prepared] = {}
    params_text = None if params is None else str(params)
    if fit:  # a task per authority: its fit takes seconds
        tasks = [Task(f"prepare/{f.name}", prepare, {"folder": str(f), "params": params_text,
                                                     "cache_dir": str(out / "fits"), "fit": True}) for f in folders]
    else:  # reading is all there is to do: as few tasks as the workers can run at once
        chunks = _chunks(folders, worker_threads(executor.workers, executor.scheduler))
        tasks = [Task(f"prepare/{c[0].name}..{c[-1].name}", prepare_unfitted,
                      {"root": str(folder), "folders": [str(f) for f in c]}) for c in chunks]
    log(f"preparing {len(folders)} authorities ({'fitting' if fit else 'national parameters'}) ...")

    def arrived_prepared(task: Task, result: Prepared | list[Prepared]) -> None:
        for p in result if isinstance(result, list) else [result]:
            prepared[p.name] = p

    run_tasks(tasks, arrived_prepared, workers=executor.workers, scheduler=executor.scheduler,
              progress=executor.progress)
    if len(prepared) != len(folders):
        raise UserError(f"region {folder}: two authorities have the same name (LA column or folder)")
    years = {p.start.year for p in prepared.values()}
    if len(years) > 1:
        first = {y: sorted(n for n, p in prepared.items() if p.start.year == y)[0] for y in sorted(years)}
        raise UserError(f"region {folder}: the authorities' latest 31 March differ ("
                        + ", ".join(f"{y}: {n}" for y, n in first.items())
                        + "); a region runs from one 31 March: give returns that end in the same year")
    last = years.pop()
    end_year = last + 5 if end_year is None else int(end_year)
    if end_year <= last:
        raise UserError(f"--end-year {end_year}: not after the latest 31 March of an authority ({last})")

    names = sorted(prepared)
    start = pool([prepared[n].start for n in names])
    national = ParameterSet.load(params)
    for p in prepared.values():
        p.parameters = p.parameters or national  # an unfitted authority's (prepare_unfitted)
    done = {int(f.stem.rpartition("--seed")[2]) for f in store.glob(f"{TOTAL}--seed*.parquet")}
    todo = [s for s in seeds if s not in done]

    def task(seed: int) -> Task:
        draws = {}  # by parameter set: unfitted authorities share the national one
        for n in names:
            draws.setdefault(id(prepared[n].parameters), prepared[n].parameters.for_replication(seed))
        rates = {r: [getattr(draws[id(prepared[n].parameters)], r) for n in names] for r in AUTHORITY_RATES}
        return Task(f"{out.name}/region/seed={seed}", region_replication, {
            "start": start, "params": national.for_replication(seed), "authority_rates": rates, "seed": seed,
            "end_year": end_year})

    def arrived(task: Task, result) -> None:
        seed = int(task.key.rpartition("=")[2])
        tables, shared = result.tables, result.shared
        total = region_total(tables, shared)
        if on_totals is not None:
            on_totals(seed, tables, total)
        # one file a seed, written atomically: a seed whose file is stored is complete
        _write(store, TOTAL, seed, store_rows(tables, total, seed))

    log(f"running {len(todo)} replication(s) of {len(prepared)} authorities as one model "
        f"({len(done)} seed(s) already stored) ...")
    run_tasks([task(s) for s in todo], arrived, workers=executor.workers, scheduler=executor.scheduler,
              progress=executor.progress)
    return list(prepared.values()), todo
