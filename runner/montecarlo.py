"""The one Monte Carlo path: every (scenario, seed) replication of an experiment, through the executor.

`caresim run`, `caresim compare`, the calibration's candidate evaluations and fit report, and
the dashboard's futures all run their replications here, so that the same inputs give the same
tables everywhere:

* a scenario is given as its file says it (`name`, `share_realised`, `levers` tables: what
  `experiments.scenarios.Scenario.to_dict` returns), so that a task is plain data that any
  worker process can rebuild the levers from;
* replication i has seed `replication_seed(base, i)` and, with parameter uncertainty, the
  posterior draw `ParameterSet.for_replication(seed)`: the same draw for every scenario of a
  seed, so that scenario-minus-baseline differences are paired (common random numbers);
* each replication is one pure task of `runner.executor.run_tasks` (serially, on local worker
  processes or on a Dask scheduler), and its yearly table is handed to `on_table` in this
  process as it arrives; nothing else is kept.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runner.executor import Task, run_tasks

if TYPE_CHECKING:  # only for annotations: importing the model's modules here would slow `caresim --help`
    import pandas as pd

    from sim.local_start import LocalStart
    from sim.parameters import Params
    from sim.parameter_file import ParameterSet
    from sim.policy import Lever

BASELINE_SCENARIO: dict = {"name": "baseline", "description": "", "share_realised": 1.0, "levers": []}


@dataclass(frozen=True)
class ExecutorOptions:
    """Where replications run: serially (`workers=1`), on `workers` local processes, or on a
    running Dask `scheduler` ("tcp://HOST:PORT"); `progress` shows a bar on stderr."""

    workers: int = 1
    scheduler: str | None = None
    progress: bool = False


@dataclass(frozen=True)
class Replication:
    """One run: a scenario with one seed and one parameter set, named by a key unique in its experiment."""

    key: str
    scenario: Mapping
    seed: int
    params: "Params"


def scenario_levers(scenario: Mapping) -> list["Lever"]:
    """Fresh lever objects for a scenario given as its file says it (levers keep per-run state)."""
    from sim.levers import lever_from_dict

    share = scenario.get("share_realised", 1.0)
    return [lever_from_dict(dict(table), share) for table in scenario.get("levers", ())]


def replication_table(scenario: Mapping, params: "Params", seed: int, scale: float, end_year: int,
                      drivers=None, start: "LocalStart | None" = None, frame: bool = True):
    """The task: one replication's yearly table (`child_months` and `seed` in its `attrs`);
    `drivers` (runner.drivers.Drivers) replaces fitted trends where observed; `start` an
    authority's own stock (sim/local_start.py), None for England. A DataFrame, or with
    `frame=False` the same table as arrays (`sim.measures.Yearly`: no pandas in the worker)."""
    from sim.run import replication_yearly

    table = replication_yearly(params, seed=seed, scale=scale, end_year=end_year,
                               levers=scenario_levers(scenario), drivers=drivers, start=start)
    return table.to_frame() if frame else table


def seeds_of(base_seed: int, replications: int) -> list[int]:
    """The seeds of replications 0 .. replications-1."""
    from sim.run import replication_seed

    return [replication_seed(base_seed, i) for i in range(replications)]


def plan(scenarios: Sequence[Mapping], seeds: Sequence[int], parameters: "ParameterSet", *,
         uncertainty: bool = True, skip: Iterable[tuple[str, int]] = ()) -> list[Replication]:
    """Every (scenario, seed) replication, seed by seed, each seed with its parameter draw.

    Args:
        scenarios: scenarios as their files say them (`Scenario.to_dict()`).
        seeds: one per replication (`seeds_of`).
        parameters: the parameter file; with `uncertainty`, seed s uses its posterior draw
            `parameters.for_replication(s)`, otherwise every run uses the point estimate.
        skip: (scenario name, seed) pairs already done (a resumed experiment).
    """
    skip = set(skip)
    out = []
    for seed in seeds:
        params = parameters.for_replication(seed, uncertainty=uncertainty)
        for scenario in scenarios:
            if (scenario["name"], seed) not in skip:
                out.append(Replication(f"{scenario['name']}/seed={seed}", scenario, int(seed), params))
    return out


def run_replications(replications: Iterable[Replication], on_table: Callable[[Replication, "pd.DataFrame"], None],
                     *, scale: float, end_year: int, executor: ExecutorOptions = ExecutorOptions(),
                     key_prefix: str = "", drivers=None, start: "LocalStart | None" = None,
                     frame: bool = True) -> None:
    """Run every replication once; `on_table(replication, yearly table)` in this process as each ends.

    The tables are DataFrames, or with `frame=False` arrays (`sim.measures.Yearly`, which
    `runner.summary.grid_of` stacks): `caresim run` never imports pandas.

    `drivers` (runner.drivers.Drivers, or None) is passed to every replication.
    `key_prefix` names the experiment in the executor's task keys (e.g. its output folder), so
    that two experiments sharing a scheduler never share a key. `start`: every replication starts
    from this authority's stock (sim/local_start.py). An exception raised by
    `on_table` stops the experiment (the dashboard cancels a run this way).
    """
    by_key: dict[str, Replication] = {}

    def tasks():
        for r in replications:
            key = f"{key_prefix}{r.key}"
            by_key[key] = r
            kwargs = {"scenario": dict(r.scenario), "params": r.params, "seed": r.seed, "scale": scale,
                      "end_year": end_year, "drivers": drivers}
            if not frame:
                kwargs["frame"] = False
            if start is not None:
                kwargs["start"] = start
            yield Task(key, replication_table, kwargs)

    task_list = list(tasks())
    run_tasks(task_list, lambda task, table: on_table(by_key.pop(task.key), table), workers=executor.workers,
              scheduler=executor.scheduler, progress=executor.progress)


def as_rows(table: "pd.DataFrame", scenario: str, seed: int) -> "pd.DataFrame":
    """A yearly table as rows of the experiment store: `scenario`, `seed`, `year`, then every
    measure declared in `sim.measures`, in its order, as float64."""
    import numpy as np

    from sim.measures import MEASURES

    columns = [m.name for m in MEASURES]
    if set(table.columns) != set(columns):  # a bug in the recorder, not a user's mistake
        extra = sorted(set(table.columns) - set(columns))
        missing = [c for c in columns if c not in table.columns]
        raise RuntimeError(f"yearly table does not match sim.measures (undeclared {extra}, missing {missing})")
    out = table[columns].astype("float64").reset_index()
    out.insert(0, "seed", np.int64(seed))
    out.insert(0, "scenario", scenario)
    out["year"] = out["year"].astype("int64")
    return out
