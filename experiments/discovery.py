"""Scenario discovery: under which combinations of assumptions does a forecast hold, or fail?

Given sampled assumptions (one row per experiment) and a yes/no outcome per row ("the optimised
scenario cuts net spend by at least 19%", "by less than 10%"), PRIM (the Patient Rule Induction
Method; Friedman & Fisher 1999, as used for scenario discovery by Bryant & Lempert 2010) finds
boxes - a range per input, most inputs left free - where the outcome is concentrated. Each box
is reported with its

- **coverage**: the share of all cases of interest that fall in the box (how much of the story
  it tells),
- **density**: the share of cases in the box that are of interest (how sure the story is),
- **mass**: the share of all cases in the box,
- and, per restricted input, the quasi-p-value of the restriction (a one-sided binomial test of
  whether the box would be as dense without it; Bryant & Lempert 2010).

PRIM is EMA Workbench 2.5.3's (`ema_workbench.analysis.prim`). PRIM peels a trajectory of ever
smaller, denser boxes; the box kept is the one with the largest coverage whose density is at
least `min_density` (0.8 by default). Further boxes cover the cases the earlier ones left out.

EMA Workbench can also run the experiments: `ExecutorEvaluator` runs each of its experiments as
a `runner.executor` task (serially, on local Dask workers or on a scheduler), and
`sample_experiments` draws a seeded Latin hypercube (EMA's own samplers use numpy's global random
state, which caresim never touches).
"""
from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from runner.errors import UserError
from runner.executor import Task, run_tasks
from runner.sensitivity import Problem

MIN_DENSITY = 0.8


def _import_ema() -> None:
    """Import EMA Workbench once, without its warning that the optional ipyparallel is missing."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ipyparallel not installed")
        import ema_workbench  # noqa: F401


@dataclass(frozen=True)
class Limit:
    """One restricted input of a box: its range and the quasi-p-values of the two cuts (None if uncut)."""

    input: str
    low: float
    high: float
    qp_low: float | None
    qp_high: float | None


@dataclass(frozen=True)
class Box:
    limits: tuple[Limit, ...]
    coverage: float
    density: float
    mass: float
    cases: int  # experiments in the box
    of_interest: int  # of which the outcome holds

    def limit(self, name: str) -> Limit | None:
        return next((item for item in self.limits if item.input == name), None)


@dataclass(frozen=True)
class Discovery:
    question: str
    cases: int
    of_interest: int
    boxes: tuple[Box, ...]
    min_density: float


def discover(inputs: pd.DataFrame, outcome: Sequence[bool], question: str, *, min_density: float = MIN_DENSITY,
             max_boxes: int = 3, peel_alpha: float = 0.05, paste_alpha: float = 0.05,
             mass_min: float = 0.05) -> Discovery:
    """PRIM boxes where `outcome` holds, each the largest-coverage box of density >= `min_density`.

    Args:
        inputs: one row per experiment, one numeric column per sampled assumption.
        outcome: True where the outcome of interest happened.
        question: how the outcome reads ("net cut >= 19%"), for the report.
        max_boxes: at most this many boxes, each covering cases the previous ones left.
        peel_alpha, paste_alpha, mass_min: PRIM's settings (EMA's defaults).
    """
    _import_ema()
    from ema_workbench.analysis import prim

    y = np.asarray(outcome, dtype=bool)
    if y.ndim != 1 or len(y) != len(inputs):
        raise UserError(f"{question}: {len(y)} outcomes for {len(inputs)} experiments")
    x = inputs.reset_index(drop=True).astype(float)
    found: list[Box] = []
    if y.any() and not y.all():
        logging.getLogger("EMA").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            # EMA 2.5.3 calls DataFrame.drop(inplace=True), which pandas 3.1 deprecates (it still works)
            warnings.filterwarnings("ignore", message="The inplace keyword", module="ema_workbench")
            algorithm = prim.Prim(x, y.astype(int), threshold=min_density, peel_alpha=peel_alpha,
                                  paste_alpha=paste_alpha, mass_min=mass_min)
            initial = algorithm.box_init
            for _ in range(max_boxes):
                candidate = algorithm.find_box()
                if candidate is None or candidate.res_dim == 0:  # EMA's "dump box": none dense enough is left
                    break
                chosen = _choose(candidate.peeling_trajectory, min_density)
                candidate.select(chosen)
                found.append(_box(candidate, chosen, initial))
    return Discovery(question, len(y), int(y.sum()), tuple(found), min_density)


def _choose(trajectory: pd.DataFrame, min_density: float) -> int:
    """The trajectory point with the largest coverage among those dense enough (densest if none is)."""
    dense = trajectory[trajectory["density"] >= min_density]
    if dense.empty:
        return int(trajectory["density"].to_numpy().argmax())
    best = dense.sort_values(["coverage", "density"], ascending=False, kind="stable")
    return int(best.index[0])


def _box(candidate, i: int, initial: pd.DataFrame) -> Box:
    limits = candidate.box_lims[i]
    qp = candidate.qp[i]
    restricted = []
    for name in limits.columns:
        low, high = float(limits[name].iloc[0]), float(limits[name].iloc[1])
        if low > float(initial[name].iloc[0]) or high < float(initial[name].iloc[1]):
            qp_low, qp_high = (qp.get(name) or [-1, -1])[:2]
            restricted.append(Limit(name, low, high, None if qp_low < 0 else float(qp_low),
                                    None if qp_high < 0 else float(qp_high)))
    row = candidate.peeling_trajectory.iloc[i]
    return Box(tuple(restricted), float(row["coverage"]), float(row["density"]), float(row["mass"]),
               int(row["n"]), int(row["k"]))


def discovery_markdown(discoveries: Sequence[Discovery], digits: int = 3) -> str:
    """A markdown section per question: its boxes as a table of limits, coverage and density."""
    lines: list[str] = []
    for found in discoveries:
        share = found.of_interest / found.cases if found.cases else math.nan
        lines += [f"### {found.question}", "",
                  f"{found.of_interest} of {found.cases} experiments ({share:.0%}); PRIM boxes of density "
                  f">= {found.min_density:g} (EMA Workbench 2.5.3):", ""]
        if not found.boxes:
            lines += ["No box reaches that density: the outcome is not confined to a region of these inputs.", ""]
            continue
        lines += ["| box | input | low | high | quasi-p | coverage | density | mass |",
                  "|---|---|---|---|---|---|---|---|"]
        for number, box in enumerate(found.boxes, start=1):
            for k, limit in enumerate(box.limits):
                qp = max(value for value in (limit.qp_low, limit.qp_high, 0.0) if value is not None)
                stats = (f"{box.coverage:.0%} | {box.density:.0%} | {box.mass:.0%}" if k == 0 else " | | ")
                lines.append(f"| {number if k == 0 else ''} | {limit.input} | {limit.low:.{digits}g} | "
                             f"{limit.high:.{digits}g} | {qp:.2g} | {stats} |")
        lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------ running experiments through EMA


def sample_experiments(problem: Problem, n: int, seed: int) -> pd.DataFrame:
    """A seeded Latin hypercube of `n` experiments over the problem's inputs (log inputs in log space)."""
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=len(problem.inputs), rng=np.random.default_rng(seed)).random(n)
    return pd.DataFrame({item.name: item.from_unit(unit[:, j]) for j, item in enumerate(problem.inputs)})


def ema_model(name: str, fn: Callable[..., Mapping[str, float]], problem: Problem, outcomes: Sequence[str],
              constants: Mapping[str, Any] | None = None):
    """An EMA Workbench `Model` calling `fn(**inputs, **constants)` -> {outcome: value}.

    `fn` must be a module-level function (experiments are pickled to workers).
    """
    _import_ema()
    from ema_workbench import Constant, Model, RealParameter, ScalarOutcome

    model = Model(name, function=fn)
    model.uncertainties = [RealParameter(item.name, item.low, item.high) for item in problem.inputs]
    model.outcomes = [ScalarOutcome(outcome) for outcome in outcomes]
    model.constants = [Constant(key, value) for key, value in (constants or {}).items()]
    return model


def _run_experiment(models: list, experiment) -> dict[str, Any]:
    """One EMA experiment in this process: EMA's own runner on a fresh copy of the models."""
    from ema_workbench.em_framework.experiment_runner import ExperimentRunner
    from ema_workbench.em_framework.model import AbstractModel
    from ema_workbench.em_framework.util import NamedObjectMap

    named = NamedObjectMap(AbstractModel)
    named.extend(models)
    runner = ExperimentRunner(named)
    try:
        return runner.run_experiment(experiment)
    finally:
        runner.cleanup()


def executor_evaluator(models, *, workers: int = 1, scheduler: str | None = None, progress: bool = False):
    """An EMA evaluator running each experiment as a `runner.executor` task; use as a context manager."""
    _import_ema()
    from ema_workbench.em_framework.evaluators import BaseEvaluator
    from ema_workbench.em_framework.points import experiment_generator

    class ExecutorEvaluator(BaseEvaluator):
        """EMA's evaluator protocol on caresim's executor (serial, local Dask workers or a scheduler)."""

        def initialize(self) -> None:
            pass

        def finalize(self) -> None:
            pass

        def evaluate_experiments(self, scenarios, policies, callback, combine="factorial", **kwargs) -> None:
            models = list(self._msis)
            tasks = [Task(f"ema/{experiment.experiment_id}", _run_experiment,
                          {"models": models, "experiment": experiment})
                     for experiment in experiment_generator(scenarios, self._msis, policies, combine=combine)]
            by_key = {task.key: task.kwargs["experiment"] for task in tasks}
            run_tasks(tasks, lambda task, outcomes: callback(by_key[task.key], outcomes),
                      workers=workers, scheduler=scheduler, progress=progress)

    return ExecutorEvaluator(models)


def run_experiments(model, experiments: pd.DataFrame, *, workers: int = 1, scheduler: str | None = None,
                    progress: bool = False) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """EMA's `perform_experiments` over the given rows, on caresim's executor; (experiments, outcomes)."""
    _import_ema()
    from ema_workbench import Scenario, perform_experiments

    scenarios = [Scenario(f"s{i}", **{name: float(value) for name, value in row.items()})
                 for i, row in enumerate(experiments.to_dict("records"))]
    with executor_evaluator(model, workers=workers, scheduler=scheduler, progress=progress) as evaluator:
        # log_progress: EMA reports progress to its (silent) logger, not a second progress bar
        table, outcomes = perform_experiments(model, scenarios=scenarios, evaluator=evaluator, log_progress=True)
    return table, outcomes
