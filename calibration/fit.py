"""Fit the model's free parameters to the published 2015-2020 figures, with uncertainty.

Method (the README's calibration section says why):

* Free parameters are `Params.free_names()` (or a subset, for a reduced problem). Each has a
  prior range in `PRIORS` (inside its hard range in sim/parameters.py) and is fitted in the
  unit coordinate z = (value - lo) / (hi - lo), z in [0, 1].
* Distance: weighted least squares. Each target's residual is (model - observed) / tolerance,
  the tolerance being relative (counts, money) or absolute (shares); its square is a Gaussian
  deviance. A weakly informative Gaussian prior adds one residual per parameter,
  (z - 0.5) / 0.5 (mean at the centre of the prior range, sd half its width), so that
  directions the data cannot see stay proper rather than drift.
* Each candidate is the mean of `replications` runs with the same seeds for every candidate
  (common random numbers), so differences between candidates are not noise; they run through
  the Monte Carlo runner every command uses (runner/montecarlo.py).
* Optimiser: `scipy.optimize.least_squares` (trust-region reflective, bounds [0, 1]). Its
  Jacobian is forward differences with a fixed step of `DIFF_STEP` in z (5% of the prior
  range): large enough to see through the simulation's discreteness, and all the perturbed
  points of one Jacobian go to the executor as one batch.
* Uncertainty: the Laplace (Gauss-Newton) approximation at the optimum, covariance
  (Jd'Jd / c + Jp'Jp)^-1 in z, where Jd and Jp are the Jacobians of the target and prior
  residuals and c = max(1, chi-square of the targets / number of targets) widens the targets'
  tolerances when the model cannot meet them (the prior is not widened). The approximation is
  taken in u = logit(z), so posterior draws z = sigmoid(u) stay inside the prior range without
  clipping. Because the model is far from linear over the sloppy directions and a simulated
  chi-square is noisy, the Laplace approximation (its variance scaled by `PROPOSAL_VARIANCE`)
  is only the proposal: `proposals` draws are simulated with the fit's seeds and those whose
  targets' chi-square lies within c * chi2_0.90(k) of the optimum (the 90% likelihood-ratio
  region, k free parameters) and that miss no single target by more than 3 widened tolerances
  (history matching's implausibility cut-off, `IMPLAUSIBILITY`) are kept. The kept draws are written into the parameter file's
  `[posterior]` table, with 90% intervals in `[intervals]`.
* Every simulation result is appended to a checkpoint file as it arrives. A rerun with the
  same settings replays the optimiser from the cache (the optimiser is deterministic), so an
  interrupted calibration continues where it stopped.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w
from scipy.optimize import least_squares

from calibration.targets import Target, needed_columns
from runner.montecarlo import BASELINE_SCENARIO, ExecutorOptions, Replication, run_replications, seeds_of
from sim.parameters import ParameterError, Params

FORMAT_VERSION = "2"  # of the parameter file written here (2: free values only); [meta] version = FORMAT_VERSION + "+" + date
DIFF_STEP = 0.05  # forward-difference step in the unit coordinate z (5% of the prior range)
N_DRAWS = 200  # posterior draws written to the parameter file
LOGIT_EDGE = 0.02  # z is kept this far from the prior bounds when taking its logit
# The Laplace covariance is far too wide where the model is not linear: proposals use this share
# of its variance (so that a useful share of them falls inside the likelihood-ratio region).
PROPOSAL_VARIANCE = 0.25
# A posterior draw must also be plausible target by target: no target's residual beyond this many
# (widened) tolerances (history matching's implausibility cut-off, Pukelsheim's three-sigma rule:
# Craig et al. 1997; Vernon, Goldstein & Bower 2010). The joint region alone lets a draw with 28
# free parameters miss one target by 3.4 tolerances when the others fit well.
IMPLAUSIBILITY = 3.0

def prior_range(name: str) -> tuple[float, float]:
    """The prior range of a free parameter: declared with the parameter in sim/parameters.py."""
    return Params.prior_range(name)


# Prior ranges of the free parameters with the reason for each (read from sim/parameters.py, where
# they are written): the prior is Gaussian with mean at the centre and sd half the width, truncated.
PRIORS: dict[str, tuple[float, float, str]] = {n: tuple(Params.meta(n)["prior"]) for n in Params.free_names()}


@dataclass
class FitSettings:
    """What a calibration run does; everything that changes its result is here."""

    free: list[str]
    scale: float = 0.2
    replications: int = 4
    seed: int = 1
    end_year: int = 2024
    max_evaluations: int = 12  # optimiser iterations (each: one point and one Jacobian batch)
    draws: int = N_DRAWS
    proposals: int = 120  # simulated proposals of the importance resampling
    proposal_variance: float = PROPOSAL_VARIANCE
    quick: bool = False


@dataclass
class FitResult:
    point: Params
    settings: FitSettings
    z: np.ndarray
    cost: float
    target_cost: float
    n_targets: int
    cov_z: np.ndarray
    draws: np.ndarray  # (n_draws, n_free) in parameter units
    intervals: dict[str, tuple[float, float]]
    evaluations: int
    simulations: int
    seconds: float
    message: str
    ess: float = 0.0
    residuals: dict[str, float] = field(default_factory=dict)


def table_result(table: pd.DataFrame, columns: Sequence[str]) -> dict:
    """The yearly values of `columns` of one replication, as the checkpoint file stores them."""
    return {"years": [int(y) for y in table.index],
            "columns": {c: [None if not np.isfinite(v) else float(v) for v in table[c].to_numpy(dtype=float)]
                        for c in columns}}


def result_table(result: dict) -> pd.DataFrame:
    return pd.DataFrame({c: np.array([np.nan if v is None else v for v in vals], dtype=float)
                         for c, vals in result["columns"].items()},
                        index=pd.Index(result["years"], name="year"))


def model_source_digest() -> str:
    """Hash of the model's source: a checkpoint made with other model code is not reused."""
    h = hashlib.sha256()
    for package in ("sim", "agents"):
        for path in sorted(Path(str(resources.files(package))).glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


class Evaluator:
    """Residuals and Jacobians of the fit, with every simulation cached in a checkpoint file."""

    def __init__(self, base: Params, targets: list[Target], settings: FitSettings, *,
                 checkpoint: Path | None = None, workers: int = 1, scheduler: str | None = None,
                 log: Callable[[str], None] | None = None, data_sha256: str = ""):
        unknown = [n for n in settings.free if n not in Params.names()]
        if unknown:
            raise ParameterError(f"free parameter {unknown[0]!r} is not a parameter")
        self.base, self.settings = base, settings
        self.targets = [t for t in targets if t.use == "fit"]
        if not self.targets:
            raise ParameterError("the target file has no row with use = fit")
        self.columns = needed_columns(self.targets)
        self.lo = np.array([prior_range(n)[0] for n in settings.free])
        self.hi = np.array([prior_range(n)[1] for n in settings.free])
        self.workers, self.scheduler = workers, scheduler
        self.log = log or (lambda msg: None)
        self.cache: dict[tuple[str, int], dict] = {}
        self.simulations = 0
        self.batches = 0
        self.best = math.inf
        self.started = time.monotonic()
        self.checkpoint = checkpoint
        self.start = None  # an authority's own stock (sim/local_start.py; calibration/local.py sets it)
        self._header = {"model": model_source_digest(), "data": data_sha256, "base": base.to_dict(),
                        "settings": {k: v for k, v in asdict(settings).items()
                     if k not in ("max_evaluations", "draws", "quick", "proposals")},
                        "columns": self.columns, "diff_step": DIFF_STEP}
        self.resumed = 0
        if checkpoint is not None:
            self._open_checkpoint(checkpoint)

    # ---------------------------------------------------------------- coordinates
    def values(self, z: np.ndarray) -> np.ndarray:
        return self.lo + np.asarray(z) * (self.hi - self.lo)

    def to_z(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, dtype=float) - self.lo) / (self.hi - self.lo)

    def params_at(self, z: np.ndarray) -> Params:
        return self.base.replace(**{n: float(v) for n, v in zip(self.settings.free, self.values(z))})

    @staticmethod
    def key(z: np.ndarray) -> str:
        return ",".join(f"{v:.10f}" for v in np.asarray(z, dtype=float))

    # ---------------------------------------------------------------- checkpoint
    def _open_checkpoint(self, path: Path) -> None:
        header = json.dumps(self._header, sort_keys=True)
        if path.exists():
            lines = path.read_text().splitlines()
            if lines and lines[0] == header:
                kept = [header]
                for line in lines[1:]:
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        break  # a line cut short by an interruption: it is recomputed
                    self.cache[(rec["key"], rec["seed"])] = rec["result"]
                    kept.append(line)
                path.write_text("\n".join(kept) + "\n")
                self.resumed = len(self.cache)
                self.log(f"resuming from {path}: {self.resumed} simulations already done")
                return
            self.log(f"{path}: checkpoint of other settings, data or model code; starting afresh")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + "\n")

    def _store(self, key: str, seed: int, result: dict) -> None:
        self.cache[(key, seed)] = result
        if self.checkpoint is not None:
            with open(self.checkpoint, "a") as fh:
                fh.write(json.dumps({"key": key, "seed": seed, "result": result}) + "\n")

    # ---------------------------------------------------------------- simulation
    def seeds(self) -> list[int]:
        return seeds_of(self.settings.seed, self.settings.replications)

    def tables(self, zs: Sequence[np.ndarray], what: str = "") -> list[list[pd.DataFrame]]:
        """Yearly tables (one per replication) of each point, running what the cache lacks."""
        keys = [self.key(z) for z in zs]
        s = self.settings
        todo: dict[str, Replication] = {}
        for k, z in zip(keys, zs):
            for seed in self.seeds():
                if (k, seed) not in self.cache and f"{k}/{seed}" not in todo:
                    todo[f"{k}/{seed}"] = Replication(f"{k}/{seed}", BASELINE_SCENARIO, seed, self.params_at(z))
        if todo:
            self.batches += 1
            self.log(f"batch {self.batches}: {what}{len(zs)} point(s) x {s.replications} replication(s), "
                     f"{len(todo)} to simulate ({time.monotonic() - self.started:.0f} s so far)")

            def on_table(replication: Replication, table: pd.DataFrame) -> None:
                k, seed = replication.key.rsplit("/", 1)
                self._store(k, int(seed), table_result(table, self.columns))
                self.simulations += 1

            run_replications(list(todo.values()), on_table, scale=s.scale, end_year=s.end_year,
                             executor=ExecutorOptions(self.workers, self.scheduler), start=self.start)
        return [[result_table(self.cache[(k, seed)]) for seed in self.seeds()] for k in keys]

    # ---------------------------------------------------------------- residuals
    def target_residuals(self, reps: list[pd.DataFrame]) -> np.ndarray:
        mean = sum(reps) / len(reps)
        return np.array([t.residual(t.model_value(mean)) for t in self.targets])

    @staticmethod
    def prior_residuals(z: np.ndarray) -> np.ndarray:
        return (np.asarray(z) - 0.5) / 0.5

    def residuals(self, z: np.ndarray) -> np.ndarray:
        r = np.concatenate([self.target_residuals(self.tables([z], "point: ")[0]), self.prior_residuals(z)])
        cost = 0.5 * float(r @ r)
        if cost < self.best:
            self.best = cost
        self.log(f"  cost {cost:.3f} (best {self.best:.3f})")
        return r

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        """Forward differences (backward at the upper bound), all points in one batch."""
        z = np.asarray(z, dtype=float)
        steps = np.where(z + DIFF_STEP <= 1.0, DIFF_STEP, -DIFF_STEP)
        points = [z] + [z + np.eye(z.size)[i] * steps[i] for i in range(z.size)]
        tables = self.tables(points, "jacobian: ")
        r0 = np.concatenate([self.target_residuals(tables[0]), self.prior_residuals(z)])
        cols = [(np.concatenate([self.target_residuals(tables[i + 1]), self.prior_residuals(points[i + 1])]) - r0)
                / steps[i] for i in range(z.size)]
        return np.column_stack(cols)


def calibrate(base: Params, targets: list[Target], settings: FitSettings, *, checkpoint: Path | None = None,
              workers: int = 1, scheduler: str | None = None, log: Callable[[str], None] | None = None,
              data_sha256: str = "") -> FitResult:
    """Fit `settings.free` to the `fit` targets, starting from `base` (clipped to the priors)."""
    log = log or (lambda msg: None)
    ev = Evaluator(base, targets, settings, checkpoint=checkpoint, workers=workers, scheduler=scheduler, log=log,
                   data_sha256=data_sha256)
    start = np.clip(ev.to_z([getattr(base, n) for n in settings.free]), 0.0, 1.0)
    t0 = time.monotonic()
    res = least_squares(ev.residuals, start, jac=ev.jacobian, bounds=(0.0, 1.0), method="trf",
                        max_nfev=settings.max_evaluations, xtol=1e-3, ftol=1e-3, gtol=1e-4)
    z = res.x
    jac = ev.jacobian(z)  # at the optimum (cached when least_squares ended on an accepted step)
    n_t = len(ev.targets)
    r = ev.residuals(z)
    target_cost = float(r[:n_t] @ r[:n_t])
    inflation = max(1.0, target_cost / n_t)  # the data's tolerances were too tight: widen them, not the prior
    # Laplace in the logit of z, so that draws respect the prior range without clipping (which
    # would break the correlations that keep the fitted targets in place)
    zc = np.clip(z, LOGIT_EDGE, 1 - LOGIT_EDGE)
    jac_u = jac * (zc * (1 - zc))[None, :]
    jd, jp = jac_u[:n_t], jac_u[n_t:]
    cov = np.linalg.pinv(jd.T @ jd / inflation + jp.T @ jp)
    draws_z, ess = _region_draws(ev, zc, cov, inflation, target_cost, settings)
    draws = ev.lo + draws_z * (ev.hi - ev.lo)
    intervals = {n: (float(np.percentile(draws[:, i], 5)), float(np.percentile(draws[:, i], 95)))
                 for i, n in enumerate(settings.free)}
    point = ev.params_at(z)
    return FitResult(point=point, settings=settings, z=z, cost=0.5 * float(r @ r), target_cost=target_cost,
                     n_targets=n_t, cov_z=cov, draws=draws, intervals=intervals, evaluations=int(res.nfev),
                     simulations=ev.simulations, seconds=time.monotonic() - t0, message=str(res.message), ess=ess,
                     residuals={t.label: float(v) for t, v in zip(ev.targets, r[:n_t])})


def _region_draws(ev: Evaluator, z: np.ndarray, cov_u: np.ndarray, inflation: float, target_cost: float,
                  settings: FitSettings) -> tuple[np.ndarray, float]:
    """Posterior draws: Laplace proposals that lie inside the 90% likelihood-ratio region.

    Proposals u ~ N(logit(z), v * cov_u) (v = `settings.proposal_variance`) are simulated with the
    fit's seeds; a proposal is kept when its targets' chi-square exceeds the optimum's by at most
    c * chi2_0.90(k) (k free parameters, c the tolerance widening), the likelihood-ratio
    confidence region, and when no target's residual exceeds `IMPLAUSIBILITY` x sqrt(c) (the region
    over k = 28 parameters alone keeps draws that miss a single target by more than three
    tolerances: a fall of fostering households 2020-2024 of none at all against the data's 15%,
    tolerance 5 points, was kept). Far from the optimum the model is not linear and the simulated
    chi-square is noisy, so the Laplace approximation alone is too wide in directions the data
    cannot see and importance weights degenerate (an effective sample size of 1-2 of 120 was
    measured); the region test keeps what the data allow. Returns the draws (in z, the kept
    proposals cycled to `settings.draws`) and the share of proposals kept.
    """
    from scipy.stats import chi2

    rng = np.random.default_rng(np.random.SeedSequence([int(settings.seed) & 0xFFFFFFFF, 20151]))
    cov_u = (cov_u + cov_u.T) / 2 * settings.proposal_variance
    mu = np.log(z / (1 - z))
    u = rng.multivariate_normal(mu, cov_u, size=settings.proposals, method="eigh", check_valid="ignore")
    zs = 1 / (1 + np.exp(-u))
    tables = ev.tables(list(zs), "posterior proposals: ")
    limit = target_cost + inflation * chi2.ppf(0.90, len(z))
    residuals = [ev.target_residuals(reps) for reps in tables]
    costs = np.array([float(r @ r) if np.all(np.isfinite(r)) else np.inf for r in residuals])
    worst = np.array([float(np.max(np.abs(r))) if np.all(np.isfinite(r)) else np.inf for r in residuals])
    cut = IMPLAUSIBILITY * math.sqrt(inflation)
    inside = costs <= limit
    kept = zs[inside & (worst <= cut)]
    ev.log(f"posterior: {kept.shape[0]} of {len(zs)} proposals kept: {int(inside.sum())} inside the 90% region "
           f"(chi-square <= {limit:.1f}; proposals' median {np.median(costs):.1f}), of which "
           f"{int((inside & (worst > cut)).sum())} miss a target by more than {cut:.2f} tolerances")
    if kept.shape[0] == 0:
        kept = z[None, :]
    return np.resize(kept, (settings.draws, z.size)) if kept.shape[0] < settings.draws else kept[: settings.draws], \
        kept.shape[0] / len(zs)


def _round(v: float) -> float:
    return float(f"{v:.6g}")


HEADER = """\
# caresim calibrated parameters, written by `caresim calibrate`. To try other values, copy this file,
# edit the copy and pass it with --params; an edited free parameter is then held at its new value in
# every replication. [parameters]: the free parameters' point estimate (and any fixed parameter the
# fit ran with that differs from its value in sim/parameters.py, where every fixed value, with its
# source, is set). [intervals]: 90% posterior intervals. [posterior]: `fitted` (the point estimate
# the draws belong to) and `draws`, one per replication, that carry parameter uncertainty.
"""


def params_document(result: FitResult, *, data_sha256: str, data_file: str, command: str) -> dict:
    """The calibrated parameter file as a TOML document: [meta], the free parameters' point
    estimate (with any fixed value that differs from sim/parameters.py), [intervals], [posterior]."""
    s = result.settings
    today = dt.datetime.now(dt.timezone.utc)
    point = result.point.replace(**{n: _round(getattr(result.point, n)) for n in s.free})
    fixed = Params.fixed_values()
    values = {n: v for n, v in point.to_dict().items() if n not in fixed or v != fixed[n]}
    meta = {
        "version": f"{FORMAT_VERSION}+{today:%Y-%m-%d}",
        "method": ("weighted least squares (scipy.optimize.least_squares, trf) of model means over common-random-"
                   "number replications; Laplace (Gauss-Newton) posterior"),
        "date": today.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "objective": _round(result.cost),
        "target_chi_square": _round(result.target_cost),
        "n_targets": result.n_targets,
        "quick": s.quick,
        "scale": s.scale,
        "replications": s.replications,
        "seed": s.seed,
        "end_year": s.end_year,
        "optimiser_evaluations": result.evaluations,
        "simulations": result.simulations,
        "seconds": round(result.seconds, 1),
        "optimiser_message": result.message,
        "posterior": ("Laplace (Gauss-Newton) in logit coordinates as proposal; simulated proposals kept inside "
                      "the 90% likelihood-ratio region that miss no target by more than 3 tolerances"),
        "posterior_proposals": s.proposals,
        "posterior_proposal_variance": s.proposal_variance,
        "posterior_share_kept": round(result.ess, 3),
        "data_file": data_file,
        "data_sha256": data_sha256,
        "command": command,
        "free": list(s.free),
        "fixed_overrides": sorted(n for n in values if n in fixed),
    }
    return {
        "meta": meta,
        "parameters": values,
        "intervals": {n: [_round(lo), _round(hi)] for n, (lo, hi) in result.intervals.items()},
        "posterior": {"names": list(s.free),
                      "fitted": [getattr(point, n) for n in s.free],
                      "draws": [[_round(v) for v in row] for row in result.draws]},
    }


def write_document(path: Path, doc: dict) -> None:
    """Write a parameter document atomically (a temporary file beside it, then a rename)."""
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.write_text(HEADER + tomli_w.dumps(doc))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_params_file(path: Path, result: FitResult, *, data_sha256: str, data_file: str, command: str) -> None:
    """Write the calibrated parameter file (see `params_document`) to `path`."""
    write_document(path, params_document(result, data_sha256=data_sha256, data_file=data_file, command=command))


def progress_log(msg: str) -> None:
    print(f"calibrate: {msg}", file=sys.stderr, flush=True)
