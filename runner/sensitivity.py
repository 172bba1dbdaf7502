"""Global sensitivity analysis: Morris screening of every uncertain input, then Sobol indices of the few that matter.

Model-independent: an experiment is a `Problem` (named inputs, each with a range, a nominal value
and a linear or log scale) and an `Evaluation` (a module-level function mapping one row of inputs
to named outputs, with fixed settings). The method is the usual two stages (Saltelli et al. 2008,
*Global Sensitivity Analysis: The Primer*, ch. 3-4), computed with SALib 1.6.0:

1. **Morris** elementary effects over all inputs: `r` one-at-a-time trajectories through a
   `levels`-level grid, `r (D + 1)` rows for D inputs. `mu_star` (mean absolute effect of moving
   an input by 2/3 of its range in quantile space) with a bootstrap 95% interval ranks them.
2. **Sobol** first-order (S1) and total (ST) indices, with bootstrap 95% intervals, over the
   top-k inputs by `mu_star` (each output's `mu_star` divided by its largest; an input's score is
   its largest over outputs), every other input at its nominal value: `N (k + 3)` rows from
   Saltelli's scheme on a scrambled Sobol' sequence (k inputs, the dummy, and the A and B
   matrices; no second-order indices).

A **dummy** input, which the evaluation never sees, is always added: its true indices are zero,
so an input whose index is not clearly above the dummy's is not distinguishable from nothing.
With `seeds="common"` every row is run on the same seed (common random numbers: the model is
then a deterministic function of its inputs, and the dummy's indices are exactly 0). With
`seeds="per_row"` each row gets its own seed derived from the row, dummy included: the dummy then
measures what stochastic noise alone does to the estimates.

SALib works on the unit hypercube; `Problem.to_values` maps it to inputs (linear or log), so
elementary effects are per fraction of each input's range and comparable across inputs.

Rows run as `runner.executor` tasks (serially, on local Dask workers or on a scheduler) and every
result goes at once to a `DesignStore`: a rerun evaluates only the rows not yet stored.
"""
from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from runner.design_store import DesignStore, is_finite_outputs, row_key
from runner.errors import UserError
from runner.executor import Task, run_tasks

DUMMY = "dummy"
INDEX_COLUMNS = ["output", "input", "method", "index", "value", "lo", "hi"]
CONFIDENCE_LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class Input:
    """One uncertain input: its range (a prior's support), nominal value and scale.

    `log=True` spreads the range evenly in log space (for rates spanning orders of magnitude).
    The nominal value (default: the range's midpoint, geometric when `log`) is where the input
    stays while others vary in the Sobol stage.
    """

    name: str
    low: float
    high: float
    nominal: float | None = None
    log: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise UserError(f"input {self.name!r}: range [{self.low}, {self.high}] needs finite low < high")
        if self.log and self.low <= 0:
            raise UserError(f"input {self.name!r}: a log-scale range must be positive, got low {self.low}")
        if self.nominal is not None and not self.low <= self.nominal <= self.high:
            raise UserError(f"input {self.name!r}: nominal {self.nominal} is outside [{self.low}, {self.high}]")

    @property
    def nominal_value(self) -> float:
        if self.nominal is not None:
            return float(self.nominal)
        return math.sqrt(self.low * self.high) if self.log else (self.low + self.high) / 2

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        """Values at quantiles `unit` (0 = low, 1 = high) of the input's range."""
        if self.log:
            return np.exp(np.log(self.low) + unit * (np.log(self.high) - np.log(self.low)))
        return self.low + unit * (self.high - self.low)


@dataclass(frozen=True)
class Problem:
    """The uncertain inputs of a study; `with_dummy()` appends the dummy check input."""

    inputs: tuple[Input, ...]

    def __post_init__(self) -> None:
        names = [item.name for item in self.inputs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise UserError(f"input {repeated[0]!r} appears twice in the sensitivity problem")
        if not names:
            raise UserError("a sensitivity problem needs at least one input")

    @classmethod
    def from_ranges(cls, ranges: Mapping[str, tuple[float, float]], nominal: Mapping[str, float] | None = None,
                    log: Sequence[str] = ()) -> Problem:
        """A problem from {name: (low, high)} (a prior's range, as parameter metadata gives it)."""
        nominal = nominal or {}
        return cls(tuple(Input(name, float(low), float(high), nominal.get(name), name in log)
                         for name, (low, high) in ranges.items()))

    @property
    def names(self) -> list[str]:
        return [item.name for item in self.inputs]

    def with_dummy(self) -> Problem:
        if DUMMY in self.names:
            return self
        return Problem(tuple(self.inputs) + (Input(DUMMY, 0.0, 1.0),))

    def nominal(self) -> dict[str, float]:
        return {item.name: item.nominal_value for item in self.inputs}

    def salib(self, names: Sequence[str] | None = None) -> dict[str, Any]:
        """SALib's problem dict on the unit hypercube over `names` (default: every input)."""
        names = list(names or self.names)
        return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}

    def to_rows(self, unit: np.ndarray, names: Sequence[str] | None = None) -> list[dict[str, float]]:
        """Rows of input values: `unit[:, j]` gives the quantile of `names[j]`, the rest stay nominal."""
        names = list(names or self.names)
        by_name = {item.name: item for item in self.inputs}
        columns = {name: by_name[name].from_unit(unit[:, j]) for j, name in enumerate(names)}
        nominal = self.nominal()
        return [{name: float(columns[name][i]) if name in columns else nominal[name] for name in self.names}
                for i in range(unit.shape[0])]


@dataclass(frozen=True)
class Evaluation:
    """How a row is evaluated: `fn(inputs=row_without_dummy, seed=seed, **settings)` -> {output: value}.

    `fn` must be a module-level function (tasks are pickled to workers). `settings` must be
    JSON-able: with `fn`'s name they describe the store, so a store of another study is refused.

    `shared_fn` (optional) is a part of the evaluation that depends only on the inputs named in
    `shared_inputs` and the seed (caresim: the baseline run, which no lever strength changes).
    Rows that agree on those inputs and the seed - a Morris step or a Sobol column that moves only
    a lever - are then evaluated in one task that runs `shared_fn(inputs=..., seed=...,
    **settings)` once and passes its result to `fn(..., shared=result)`. The outputs are the same
    as without it (it describes no other study: the store is the same); only the cost falls.
    """

    fn: Callable[..., Mapping[str, float]]
    outputs: tuple[str, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 1
    seeds: str = "common"  # "common" (one seed for all rows) or "per_row" (a seed derived from each row)
    shared_fn: Callable[..., Any] | None = None
    shared_inputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.seeds not in ("common", "per_row"):
            raise UserError(f"seeds must be 'common' or 'per_row', got {self.seeds!r}")
        if not self.outputs:
            raise UserError("an evaluation needs at least one named output")

    def describe(self) -> dict[str, Any]:
        return {"fn": f"{self.fn.__module__}.{self.fn.__qualname__}", "outputs": list(self.outputs),
                "settings": dict(self.settings), "seed": self.seed, "seeds": self.seeds}

    def seed_for(self, row: Mapping[str, float]) -> int:
        if self.seeds == "common":
            return self.seed
        digest = hashlib.sha256(f"{self.seed}:{row_key(row)}".encode()).digest()
        return int.from_bytes(digest[:8], "little") >> 1  # 63 bits: a valid numpy seed


@dataclass
class RunOptions:
    """Where rows run (see `runner.executor.run_tasks`) and where their results are kept."""

    workers: int = 1
    scheduler: str | None = None
    progress: bool = False
    store: DesignStore | None = None


def evaluate_rows(rows: Sequence[Mapping[str, float]], evaluation: Evaluation, options: RunOptions,
                  label: str = "row") -> tuple[np.ndarray, int]:
    """Outputs of every row (rows x outputs), evaluating only rows not already in the store.

    Returns the outputs and the number of rows evaluated now (repeated and stored rows are not).
    """
    store = options.store if options.store is not None else DesignStore(None)
    keyed = []
    for row in rows:
        seed = evaluation.seed_for(row)
        model_inputs = {name: value for name, value in row.items() if name != DUMMY}
        keyed.append((row_key({"inputs": model_inputs, "seed": seed}), model_inputs, seed))
    missing: dict[str, tuple[dict[str, float], int]] = {}
    for key, model_inputs, seed in keyed:
        if key not in store and key not in missing:
            missing[key] = (model_inputs, seed)

    def keep(task: Task, key: str, model_inputs: Mapping[str, float], seed: int, outputs: Mapping[str, float]) -> None:
        absent = [name for name in evaluation.outputs if name not in outputs]
        if absent:
            raise UserError(f"task {task.key!r}: the evaluation returned no output {absent[0]!r}")
        chosen = {name: float(outputs[name]) for name in evaluation.outputs}
        if not is_finite_outputs(chosen):
            raise UserError(f"task {task.key!r}: the evaluation returned a non-finite output {chosen}")
        store.put(key, dict(model_inputs) | {"seed": seed}, chosen)

    if evaluation.shared_fn is None:
        tasks = [Task(f"{label}/{key}", evaluation.fn,
                      {"inputs": model_inputs, "seed": seed, **dict(evaluation.settings)})
                 for key, (model_inputs, seed) in missing.items()]

        def on_result(task: Task, outputs: Mapping[str, float]) -> None:
            keep(task, task.key.rsplit("/", 1)[1], task.kwargs["inputs"], task.kwargs["seed"], outputs)
    else:
        tasks = _group_tasks(missing, evaluation, label)

        def on_result(task: Task, outputs: Sequence[Mapping[str, float]]) -> None:
            for (key, model_inputs), row_outputs in zip(task.kwargs["rows"], outputs):
                keep(task, key, model_inputs, task.kwargs["seed"], row_outputs)
    run_tasks(tasks, on_result, workers=options.workers, scheduler=options.scheduler, progress=options.progress)
    table = np.array([[store.get(key)[name] for name in evaluation.outputs] for key, _, _ in keyed], dtype=float)
    return table, len(missing)


def _group_tasks(missing: Mapping[str, tuple[dict[str, float], int]], evaluation: Evaluation, label: str) -> list[Task]:
    """One task per group of rows that share `evaluation.shared_inputs`' values and the seed."""
    groups: dict[str, list[tuple[str, dict[str, float]]]] = {}
    seeds: dict[str, int] = {}
    for key, (model_inputs, seed) in missing.items():
        shared = {name: model_inputs[name] for name in evaluation.shared_inputs if name in model_inputs}
        group = row_key({"inputs": shared, "seed": seed})
        groups.setdefault(group, []).append((key, model_inputs))
        seeds[group] = seed
    return [Task(f"{label}/{group}", evaluate_group,
                 {"fn": evaluation.fn, "shared_fn": evaluation.shared_fn, "rows": rows, "seed": seeds[group],
                  "settings": dict(evaluation.settings)})
            for group, rows in groups.items()]


def evaluate_group(fn: Callable[..., Mapping[str, float]], shared_fn: Callable[..., Any],
                   rows: Sequence[tuple[str, Mapping[str, float]]], seed: int,
                   settings: Mapping[str, Any]) -> list[Mapping[str, float]]:
    """The outputs of rows that share `shared_fn`'s result: it runs once, then `fn` per row."""
    shared = shared_fn(inputs=rows[0][1], seed=seed, **settings)
    return [fn(inputs=model_inputs, seed=seed, shared=shared, **settings) for _, model_inputs in rows]


@dataclass
class SensitivityResult:
    """Tidy indices (`INDEX_COLUMNS`), the inputs chosen for Sobol, and the rows each stage used."""

    indices: pd.DataFrame
    top: list[str]
    rows: dict[str, int]  # design rows per stage ("morris", "sobol") and rows evaluated now ("evaluated")
    stages: list[StageTiming] = field(default_factory=list)


@dataclass(frozen=True)
class StageTiming:
    """One stage's wall time and rows, so a study's cost can be read and extrapolated."""

    stage: str  # "morris" or "sobol"
    rows: int  # design rows
    evaluated: int  # rows evaluated now (not found in the store)
    seconds: float

    def sentence(self) -> str:
        per_minute = 60 * self.evaluated / self.seconds if self.seconds > 0 else math.nan
        per_row = self.seconds / self.evaluated if self.evaluated else math.nan
        return (f"{self.stage}: {self.rows} rows ({self.evaluated} evaluated now) in {self.seconds:.0f} s, "
                f"{per_minute:.1f} rows per minute, {per_row:.2f} s per row")


def morris_screening(problem: Problem, evaluation: Evaluation, options: RunOptions, *, trajectories: int = 10,
                     levels: int = 4, seed: int = 1) -> tuple[pd.DataFrame, int, int]:
    """Morris `mu_star` (with its bootstrap interval) and `sigma` of every input and the dummy.

    Returns the tidy indices, the number of design rows and the number evaluated now.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    problem = problem.with_dummy()
    salib_problem = problem.salib()
    unit = morris_sample.sample(salib_problem, trajectories, num_levels=levels, seed=seed)
    outputs, evaluated = evaluate_rows(problem.to_rows(unit), evaluation, options, label="morris")
    records = []
    for j, output in enumerate(evaluation.outputs):
        result = morris_analyze.analyze(salib_problem, unit, outputs[:, j], num_resamples=BOOTSTRAP_RESAMPLES,
                                        conf_level=CONFIDENCE_LEVEL, num_levels=levels, seed=seed + 1)
        for i, name in enumerate(problem.names):
            mu_star, half = float(result["mu_star"][i]), float(result["mu_star_conf"][i])
            records.append((output, name, "morris", "mu_star", mu_star, mu_star - half, mu_star + half))
            sigma = float(result["sigma"][i])
            records.append((output, name, "morris", "sigma", sigma, math.nan, math.nan))
    return pd.DataFrame.from_records(records, columns=INDEX_COLUMNS), len(unit), evaluated


def top_inputs(morris: pd.DataFrame, k: int) -> list[str]:
    """The k inputs (never the dummy) with the largest `mu_star`, each output scaled by its largest."""
    table = morris[(morris["method"] == "morris") & (morris["index"] == "mu_star")]
    wide = table.pivot(index="input", columns="output", values="value")
    largest = wide.max(axis=0).replace(0.0, 1.0)
    score = (wide / largest).max(axis=1).drop(DUMMY, errors="ignore")
    return list(score.sort_values(ascending=False, kind="stable").index[:k])


def sobol_indices(problem: Problem, names: Sequence[str], evaluation: Evaluation, options: RunOptions, *,
                  base_samples: int = 256, seed: int = 1) -> tuple[pd.DataFrame, int, int]:
    """Sobol S1 and ST, with bootstrap intervals, of `names` and the dummy; other inputs at nominal.

    `base_samples` should be a power of 2 (the Sobol' sequence's balance). Returns the tidy
    indices, the number of design rows and the number evaluated now.
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    problem = problem.with_dummy()
    varied = [name for name in names if name != DUMMY] + [DUMMY]
    unknown = [name for name in varied if name not in problem.names]
    if unknown:
        raise UserError(f"Sobol input {unknown[0]!r} is not an input of the problem")
    salib_problem = problem.salib(varied)
    unit = sobol_sample.sample(salib_problem, base_samples, calc_second_order=False, scramble=True, seed=seed)
    outputs, evaluated = evaluate_rows(problem.to_rows(unit, varied), evaluation, options, label="sobol")
    records = []
    for j, output in enumerate(evaluation.outputs):
        if np.ptp(outputs[:, j]) == 0:  # a constant output: every index is 0 (SALib would divide by 0)
            records += [(output, name, "sobol", index, 0.0, 0.0, 0.0) for name in varied for index in ("S1", "ST")]
            continue
        result = sobol_analyze.analyze(salib_problem, outputs[:, j], calc_second_order=False,
                                       num_resamples=BOOTSTRAP_RESAMPLES, conf_level=CONFIDENCE_LEVEL,
                                       seed=seed + 1)  # a nonzero seed: SALib uses numpy's global RNG for 0
        for i, name in enumerate(varied):
            for index in ("S1", "ST"):
                value, half = float(result[index][i]), float(result[f"{index}_conf"][i])
                records.append((output, name, "sobol", index, value, value - half, value + half))
    return pd.DataFrame.from_records(records, columns=INDEX_COLUMNS), len(unit), evaluated


def run_sensitivity(problem: Problem, evaluation: Evaluation, options: RunOptions, *, trajectories: int = 10,
                    levels: int = 4, top_k: int = 8, base_samples: int = 256, seed: int = 1,
                    on_stage: Callable[[StageTiming], None] | None = None) -> SensitivityResult:
    """Morris over every input, then Sobol over the top `top_k`: one tidy table of indices.

    `on_stage` is called with each stage's timing as soon as the stage ends (a long study shows
    Morris's cost before Sobol starts).
    """
    started = time.perf_counter()
    morris, morris_rows, morris_evaluated = morris_screening(problem, evaluation, options, trajectories=trajectories,
                                                             levels=levels, seed=seed)
    stages = [StageTiming("morris", morris_rows, morris_evaluated, time.perf_counter() - started)]
    if on_stage:
        on_stage(stages[-1])
    top = top_inputs(morris, top_k)
    started = time.perf_counter()
    sobol, sobol_rows, sobol_evaluated = sobol_indices(problem, top, evaluation, options,
                                                       base_samples=base_samples, seed=seed)
    stages.append(StageTiming("sobol", sobol_rows, sobol_evaluated, time.perf_counter() - started))
    if on_stage:
        on_stage(stages[-1])
    indices = pd.concat([morris, sobol], ignore_index=True)
    return SensitivityResult(indices, top, {"morris": morris_rows, "sobol": sobol_rows,
                                            "evaluated": morris_evaluated + sobol_evaluated}, stages)


def design_rows(n_inputs: int, *, trajectories: int, top_k: int, base_samples: int,
                seeds: str = "common") -> dict[str, int]:
    """Evaluations each stage needs for `n_inputs` inputs plus the dummy.

    Morris: r (D + 2) rows for D inputs and the dummy; Sobol: N (k + 3) rows. With common seeds
    a row that differs from another only in the dummy is the same evaluation, so each dummy
    step costs nothing: r (D + 1) and N (k + 2) evaluations (at most: the grid may repeat rows).
    """
    spare = 1 if seeds == "common" else 0
    return {"morris": trajectories * (n_inputs + 2 - spare),
            "sobol": base_samples * (min(top_k, n_inputs) + 3 - spare)}


@dataclass(frozen=True)
class DummyCheck:
    """Whether the dummy is ranked last, or below the interval of every input ranked above it."""

    output: str
    method: str
    index: str
    passed: bool
    ranked_last: bool
    not_above_dummy: list[str]  # inputs whose interval does not clear the dummy's value

    def sentence(self) -> str:
        where = f"{self.output}, {self.method} {self.index}"
        if self.ranked_last and not self.not_above_dummy:
            return f"{where}: passed, the dummy is ranked last and every input's interval lies above it."
        listed = ", ".join(self.not_above_dummy)
        if self.passed:
            return (f"{where}: passed ({'ranked last' if self.ranked_last else 'below every interval above it'}); "
                    f"not distinguishable from the dummy: {listed}.")
        return f"{where}: FAILED, the dummy's index lies inside the interval of an input ranked above it ({listed})."


def dummy_checks(indices: pd.DataFrame) -> list[DummyCheck]:
    """The dummy check for every (output, method, index) with intervals: Morris mu_star, Sobol S1 and ST."""
    checks = []
    with_interval = indices.dropna(subset=["lo", "hi"])
    for (output, method, index), group in with_interval.groupby(["output", "method", "index"], sort=False):
        if DUMMY not in set(group["input"]):
            continue
        dummy = float(group.loc[group["input"] == DUMMY, "value"].iloc[0])
        others = group[group["input"] != DUMMY]
        values = others["value"]
        if method == "sobol":  # a Sobol index is a share of variance, at least 0: a negative estimate is noise
            values, dummy = values.clip(lower=0.0), max(dummy, 0.0)
        ranked_last = bool((values >= dummy).all())
        above = others[values > dummy]
        clear = bool((above["lo"] > dummy).all())
        unclear = list(others.loc[others["lo"] <= dummy, "input"])
        checks.append(DummyCheck(output, method, index, ranked_last or clear, ranked_last, unclear))
    return checks
