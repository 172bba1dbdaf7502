"""The local model: caresim for one authority, started from its own return and fitted to its own history.

`local_run(data_dir, ...)` (what `caresim run --data`, `compare --data`, `backtest`, `region`
and the dashboard call) does three things:

1. reads and cleans the authority's SSDA903 return (calibration/ssda903) and takes its children
   in care at the latest 31 March as a `sim.local_start.LocalStart`: ages, placements, legal
   status, months in care, UASC from the return; at-home stocks, workforce and providers from
   England's scaled by the authority's share of England's children in care (`size`);
2. fits `LOCAL_FREE` (entry rates from a plan and from at-risk, the return-home rate) to the
   authority's own stock, starts and ceased by year with the national calibration's machinery
   (calibration/fit.py: `Evaluator`, `FitSettings`, least squares, checkpoint): the model starts
   at the return's first 31 March and runs through its years; the prior of each free parameter
   is Gaussian with the national posterior's mean and sd (so with one year of returns the local
   model is the national one). The posterior is the Laplace approximation at the optimum, drawn
   without further simulation (quick; said in the parameter file's [meta]);
3. runs the scenario from the latest 31 March with the fitted parameters, replication by
   replication through the one Monte Carlo runner (runner/montecarlo.py).

The fitted parameters are cached beside the outputs (`--out`), or in the user's cache folder
($XDG_CACHE_HOME/caresim/local, ~/.cache by default), keyed by a digest of the return, the
national parameters and the model's code - never in the data folder. Outputs are the
authority's own counts; every count shown passes through `suppress_counts` (1 to 5 as `c`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from calibration.fit import Evaluator, FitSettings, model_source_digest, prior_range, write_document
from calibration.ssda903 import codes
from calibration.ssda903.cleaning import CleanReturn, clean, collection_end
from calibration.ssda903.counts import flow_table, stock_at
from calibration.ssda903.privacy import HIDDEN, count_columns, is_small
from calibration.targets import Target
from runner.errors import UserError
from runner.montecarlo import BASELINE_SCENARIO, ExecutorOptions, as_rows, plan, run_replications
from sim.dates import START_YEAR
from sim.local_start import AUTHORITY_RATES, LocalStart
from sim.measures import BY_NAME
from sim.parameters import ParameterError, Params
from sim.parameter_file import ParameterSet

LOCAL_FREE = AUTHORITY_RATES  # the rates a region lets differ by authority (sim/local_start.py)
# what the fit compares: the model's measure -> the return's count of the same thing
HISTORY = {"n_in_care": "stock", "new_entries": "started", "new_exits": "ceased"}
# the back-test's measures: stock by placement group, starts and ceased
BACKTEST_MEASURES = ("n_in_care", "n_foster", "n_residential", "n_other_care", "new_entries", "new_exits")
GROUP_MEASURE = {"foster": "n_foster", "residential": "n_residential", "with parents": "n_other_care",
                 "for adoption": "n_other_care", "other": "n_other_care"}
RELATIVE_MODEL_ERROR = 0.05  # a target's sd: Poisson noise of the count and 5% for the model (assumption)
LOCAL_FIT = FitSettings(free=list(LOCAL_FREE), scale=1.0, replications=3, seed=20_903, max_evaluations=4,
                        draws=200, proposals=0, quick=True)
CACHE_FILE = "local_params.toml"
CHECKPOINT_FILE = "local_fit_checkpoint.jsonl"
NAME_PATTERN = re.compile(r"[^A-Za-z0-9 ._-]+")


@dataclass
class Authority:
    """An authority's cleaned return and its name (the LA column, or else the folder's name)."""

    name: str
    ret: CleanReturn
    folder: Path

    @property
    def last_year(self) -> int:
        return int(self.ret.years[-1])


@dataclass
class LocalRun:
    """What `local_run` returns: the runs (one row per scenario, seed, year; the authority's own
    counts), the child-months simulated, the parameters used and the start."""

    name: str
    runs: pd.DataFrame
    child_months: int
    parameters: ParameterSet
    start: LocalStart
    notes: list[str]


def authority_name(text: str) -> str:
    name = NAME_PATTERN.sub("", str(text)).strip()[:60]
    return name or "authority"


def load_authority(folder: Path) -> Authority:
    """Read and clean a folder of one authority's 903 files (UserError names a bad file, line, column)."""
    from calibration.ssda903.reader import read_return

    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"--data {folder}: not a folder of SSDA903 files")
    raw = read_return(folder)
    las = sorted({str(v) for v in raw.episodes["la"].unique() if str(v).strip()})
    if len(las) > 1:
        raise UserError(f"--data {folder}: holds {len(las)} authorities (LA column); give one authority's "
                        "files, or a folder of authority folders to `caresim region`")
    name = authority_name(las[0] if las else folder.resolve().name)
    return Authority(name, clean(raw), folder)


def truncate(ret: CleanReturn, last_year: int) -> CleanReturn:
    """The return as it stood at 31 March `last_year`: later years dropped, later endings reopened."""
    if last_year not in ret.years:
        raise UserError(f"--fit-until {last_year}: not a collection year of the return "
                        f"({ret.years[0]}-{ret.years[-1]})")
    end = collection_end(last_year)
    ep = ret.episodes[ret.episodes["decom"] <= end].copy()
    after = ep["dec"] > end
    ep.loc[after, "dec"] = pd.NaT
    ep.loc[after, "rec"] = ""
    children = ret.children.loc[ret.children.index.isin(ep["child"].unique())].copy()
    if "uasc_until" in children.columns:
        children.loc[children["uasc_until"] > end, "uasc_until"] = pd.NaT
    return CleanReturn(ep, children, [y for y in ret.years if y <= last_year], ret.n_authorities,
                       dict(ret.steps), dict(ret.optional_rows), ret.child_la)


def england_in_care(year: int) -> float:
    """England's children in care at 31 March `year`: the published figures caresim ships
    (calibration/data/targets.csv, not the out-of-sample projections), linear between published
    years and held at the nearest one outside them. (The latest published figure at or before
    the year, as `data check` shows, would size a 2019 authority by England's 2015 stock.)"""
    from calibration.targets import default_data_path

    path = default_data_path()
    stat = path.stat()
    years, values = _published_in_care(str(path), stat.st_mtime_ns, stat.st_size)
    return float(np.interp(year, years, values))


@functools.lru_cache(maxsize=4)
def _published_in_care(path: str, mtime_ns: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """England's published children in care by year from the targets file, read once per
    process and version of the file (a region asks for it once per authority)."""
    data = pd.read_csv(path)
    rows = data[(data["measure"] == "n_in_care") & (data["use"] != "oos")].sort_values("year")
    years, values = rows["year"].to_numpy(dtype=float), rows["value"].to_numpy(dtype=float)
    years.flags.writeable = values.flags.writeable = False  # shared by every call
    return years, values


def start_at(ret: CleanReturn, year: int, name: str) -> LocalStart:
    """The authority's children in care at 31 March `year`, sized by its share of England's then."""
    from calibration.ssda903.estimates import population_at

    population = population_at(ret, collection_end(year))
    if len(population) == 0:
        raise UserError(f"the return has no child in care at 31 March {year}: nothing to start a model from")
    size = min(len(population) / england_in_care(year), 1.0)
    return LocalStart(int(year), population.reset_index(drop=True), size, name)


def history(ret: CleanReturn) -> pd.DataFrame:
    """The return's counts by collection year as the model's measures (record-level counts stay
    in memory; what is shown goes through `suppress_counts`)."""
    flows = flow_table(ret)
    rows = {}
    for year in ret.years:
        s = stock_at(ret, collection_end(year))
        group = s["state"].map({st: g for g, states in codes.GROUP_STATES.items() for st in states})
        row = {"n_in_care": float(len(s)), "new_entries": float(flows.at[year, "started"]),
               "new_exits": float(flows.at[year, "ceased"])}
        for measure in ("n_foster", "n_residential", "n_other_care"):
            row[measure] = float(sum((group == g).sum() for g, m in GROUP_MEASURE.items() if m == measure))
        rows[year] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("year")


def targets_of(hist: pd.DataFrame, first_year: int) -> list[Target]:
    """Fit targets: stock, starts and ceased of every year after `first_year` (the start)."""
    out = []
    for year in hist.index:
        if year <= first_year:
            continue
        for measure in HISTORY:
            value = float(hist.at[year, measure])
            sd = float(np.sqrt(max(value, 1.0) + (RELATIVE_MODEL_ERROR * value) ** 2))
            kind = "stock" if measure.startswith("n_") else "flow"
            out.append(Target(int(year), measure, value, "children", kind, "fit", int(year), sd, "absolute",
                              "the authority's SSDA903 return", "A", ""))
    return out


class LocalEvaluator(Evaluator):
    """The national `Evaluator` with an authority's start and the national posterior as prior:
    each free parameter's prior residual is (value - national mean) / national sd."""

    def __init__(self, base: Params, targets: list[Target], settings: FitSettings, start: LocalStart,
                 prior_mean: np.ndarray, prior_sd: np.ndarray, **kwargs):
        super().__init__(base, targets, settings, **kwargs)
        self.start = start
        self.mu_z = self.to_z(prior_mean)
        self.sd_z = np.maximum(np.asarray(prior_sd) / (self.hi - self.lo), 1e-6)

    def prior_residuals(self, z: np.ndarray) -> np.ndarray:  # an instance method here: the prior is the data's
        return (np.asarray(z) - self.mu_z) / self.sd_z


def national_prior(national: ParameterSet, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of each name over the national posterior draws (the point and its prior range's
    sixth when the file has no draws)."""
    mean, sd = [], []
    for n in names:
        if national.draws and n in national.names:
            values = np.array([d[national.names.index(n)] for d in national.draws], dtype=float)
            mean.append(values.mean())
            sd.append(values.std() if values.std() > 0 else abs(values.mean()) * 0.05 + 1e-9)
        else:
            lo, hi = prior_range(n)
            mean.append(getattr(national.point, n))
            sd.append((hi - lo) / 6)
    return np.array(mean), np.array(sd)


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\x1f")
    return h.hexdigest()[:16]


def return_digest(ret: CleanReturn) -> str:
    """A digest of the cleaned return (one-way: names a cache, reveals nothing)."""
    ep = pd.util.hash_pandas_object(ret.episodes.reset_index(drop=True), index=False).to_numpy()
    ch = pd.util.hash_pandas_object(ret.children.reset_index(drop=True), index=False).to_numpy()
    return hashlib.sha256(ep.tobytes() + ch.tobytes()).hexdigest()[:16]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "caresim" / "local"


def fit_local(authority: Authority, national: ParameterSet, *, cache_dir: Path | None = None,
              settings: FitSettings = LOCAL_FIT, executor: ExecutorOptions = ExecutorOptions(),
              log: Callable[[str], None] | None = None) -> tuple[ParameterSet, list[str]]:
    """The authority's parameters: `LOCAL_FREE` fitted to its history (module docstring), the rest
    the national file's, with draws that vary the local parameters by their local posterior and
    the others by the national one. Cached in `cache_dir`; returns (parameters, notes)."""
    log = log or (lambda msg: None)
    ret = authority.ret
    first, last = int(ret.years[0]), int(ret.years[-1])
    key = _digest(return_digest(ret), json.dumps(national.point.to_dict(), sort_keys=True),
                  json.dumps(national.draws), model_source_digest(), json.dumps(settings.__dict__, sort_keys=True,
                                                                                default=str))
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir() / f"{authority.name}-{key}"
    cached = folder / CACHE_FILE
    if cached.exists():
        try:
            pset = ParameterSet.load(cached)
            if pset.meta.get("local_key") == key:
                return pset, [f"local parameters from {cached} (cached)"]
        except (ParameterError, OSError):  # an unreadable cache is refitted, never trusted
            pass
    mean, sd = national_prior(national, settings.free)
    if last - first < 1 or first < START_YEAR:
        why = "one collection year" if last - first < 1 else f"returns start before {START_YEAR}"
        notes = [f"{authority.name}: {why}: no local fit; the national posterior is used"]
        return national, notes
    hist = history(ret)
    targets = targets_of(hist, first)
    start = start_at(ret, first, authority.name)
    run_settings = FitSettings(**{**settings.__dict__, "end_year": last})
    folder.mkdir(parents=True, exist_ok=True)
    base = national.point.replace(**{n: float(v) for n, v in zip(settings.free, mean)})
    ev = LocalEvaluator(base, targets, run_settings, start, mean, sd, checkpoint=folder / CHECKPOINT_FILE,
                        workers=executor.workers, scheduler=executor.scheduler, log=log, data_sha256=key)
    t0 = time.monotonic()
    z0 = np.clip(ev.mu_z, 0.0, 1.0)
    res = least_squares(ev.residuals, z0, jac=ev.jacobian, bounds=(0.0, 1.0), method="trf",
                        max_nfev=run_settings.max_evaluations, xtol=1e-3, ftol=1e-3, gtol=1e-4)
    z = res.x
    jac = ev.jacobian(z)
    r = ev.residuals(z)
    n_t = len(ev.targets)
    target_cost = float(r[:n_t] @ r[:n_t])
    inflation = max(1.0, target_cost / n_t)
    jd, jp = jac[:n_t], jac[n_t:]
    cov = np.linalg.pinv(jd.T @ jd / inflation + jp.T @ jp)
    rng = np.random.default_rng(np.random.SeedSequence([int(settings.seed), 903]))
    zs = np.clip(rng.multivariate_normal(z, (cov + cov.T) / 2, size=settings.draws, method="eigh",
                                         check_valid="ignore"), 0.0, 1.0)
    local_draws = ev.values(zs)
    point = ev.params_at(z)
    pset = _local_parameter_set(national, point, settings.free, local_draws)
    doc = {"meta": {"local_key": key, "authority": authority.name, "method": (
               "local least squares of the authority's stock, starts and ceased by year (calibration/local.py); "
               "prior: national posterior mean and sd; posterior: Laplace at the optimum, drawn without simulation"),
                    "years": f"{first}-{last}", "target_chi_square": round(target_cost, 3), "n_targets": n_t,
                    "optimiser_evaluations": int(res.nfev), "simulations": ev.simulations,
                    "seconds": round(time.monotonic() - t0, 1), "free": list(settings.free)},
           "parameters": pset.point.to_dict(),
           "posterior": {"names": pset.names, "fitted": [getattr(pset.point, n) for n in pset.names],
                         "draws": pset.draws}}
    write_document(cached, doc)
    notes = [f"{authority.name}: fitted {', '.join(settings.free)} to {first}-{last} "
             f"(chi-square {target_cost:.1f} over {n_t} targets, {ev.simulations} simulations, "
             f"{time.monotonic() - t0:.1f} s); parameters in {cached}"]
    return ParameterSet.load(cached), notes


def _local_parameter_set(national: ParameterSet, point: Params, free: Sequence[str],
                         local_draws: np.ndarray) -> ParameterSet:
    names = list(national.names) or list(free)
    for n in free:
        if n not in names:
            names.append(n)
    base_draws = national.draws or [[getattr(national.point, n) for n in names]]
    draws = []
    for k in range(local_draws.shape[0]):
        row = dict(zip(national.names, base_draws[k % len(base_draws)])) if national.draws else {}
        row.update({n: float(v) for n, v in zip(free, local_draws[k])})
        draws.append([float(row.get(n, getattr(point, n))) for n in names])
    return ParameterSet(point, names, draws, source="local fit", fitted=[getattr(point, n) for n in names])


def local_run(data_dir: Path | str | Authority, scenario: dict = BASELINE_SCENARIO, seeds: Sequence[int] = (1,), *,
              end_year: int | None = None, params: Path | None = None, cache_dir: Path | None = None,
              uncertainty: bool = True, executor: ExecutorOptions = ExecutorOptions(),
              log: Callable[[str], None] | None = None,
              on_table: Callable[[str, int, pd.DataFrame], None] | None = None) -> LocalRun:
    """Fit (or read from the cache) and run one authority: the runs of `scenario` for each seed.

    Args:
        data_dir: the authority's folder of 903 files (or an `Authority` already read).
        scenario: a scenario as its file says it (`experiments.scenarios.load_scenario(name).to_dict()`).
        seeds: one per replication (`runner.montecarlo.seeds_of`).
        end_year: last 31 March simulated (default: five years after the latest 31 March).
        params: the national parameter file (default: the shipped one) whose posterior is the prior.
        cache_dir: where the fitted parameters are kept (default: the user's cache folder).
    Returns a `LocalRun`; `runs` are the authority's own counts, unsuppressed (in memory): show
    them through `suppress_counts`.
    """
    authority = data_dir if isinstance(data_dir, Authority) else load_authority(Path(data_dir))
    scenario_dict = dict(scenario)
    national = ParameterSet.load(params)
    end_year = authority.last_year + 5 if end_year is None else int(end_year)
    if end_year <= authority.last_year:
        raise UserError(f"--end-year {end_year}: not after the authority's latest 31 March ({authority.last_year})")
    parameters, notes = fit_local(authority, national, cache_dir=cache_dir, executor=executor, log=log)
    start = start_at(authority.ret, authority.last_year, authority.name)
    tables: dict[int, pd.DataFrame] = {}

    def keep(replication, table):
        tables[replication.seed] = table
        if on_table is not None:
            on_table(replication.scenario["name"], replication.seed, table)

    run_replications(plan([scenario_dict], list(seeds), parameters, uncertainty=uncertainty), keep, scale=1.0,
                     end_year=end_year, executor=executor, start=start, key_prefix=f"{authority.name}/")
    runs = pd.concat([as_rows(tables[s], scenario_dict["name"], s) for s in seeds], ignore_index=True)
    child_months = sum(int(t.attrs.get("child_months", 0)) for t in tables.values())
    return LocalRun(authority.name, runs, child_months, parameters, start, notes)


def suppress_value(value):
    """A count as shown from a return: `c` when it rounds to 1-5, else the value."""
    if value is None or not np.isfinite(value):
        return value
    return HIDDEN if is_small([round(float(value))])[0] else value


def suppress_counts(table: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """`table` with every count column's values that round to 1-5 shown as `c` (object columns);
    a yearly table (one row a year) also hides what would reveal one through its sums
    (secondary suppression, calibration/ssda903/privacy.py)."""
    from calibration.ssda903.privacy import hidden_yearly

    out = table.copy()
    columns = [c for c in (count_columns() if columns is None else columns) if c in out.columns]
    masks = hidden_yearly({"t": table}, columns)["t"] if table.index.is_unique and len(table) else None
    for col in columns:
        out[col] = out[col].astype(object).map(suppress_value)
        if masks is not None and col in masks.columns:
            out[col] = out[col].mask(masks[col].to_numpy() & table[col].notna().to_numpy(), HIDDEN)
    return out


def suppress_contract(doc: dict) -> dict:
    """The JSON contract with every count (a children measure, its p05 and p95) of 1-5 as "c"."""
    from sim.measures import CONTRACT

    counts = {k for k, col in CONTRACT.items() if BY_NAME[col].unit.startswith("children")}
    out = dict(doc)
    for key, values in doc.items():
        base = re.sub(r"_(p05|p95)$", "", key)
        if base in counts and isinstance(values, list):
            out[key] = [suppress_value(v) if v is not None else None for v in values]
    return out

