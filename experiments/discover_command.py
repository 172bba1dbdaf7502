"""`caresim discover`: under which assumptions does a scenario's net cut reach 19%, or fall below 10%?

The report states the optimised model's 2025 saving as 19%-27% of spend on children in care, net
of the investment (targets.md R5). This command samples caresim's uncertain inputs
(experiments/uncertain.py: fixed assumptions over their priors, free parameters over their
posterior's range, lever strengths over their priors) in a seeded Latin hypercube, runs each
experiment (baseline and scenario, one seed: common random numbers) as an EMA Workbench 2.5.3
model on caresim's executor, and asks PRIM (experiments/discovery.py) for the boxes where the
net cut (% of the baseline's spend in the end year) is at least `--target` and where it is below
`--floor`. Writes `experiments.csv` (every input and outcome) and `discovery.md` (boxes with
coverage, density, mass and each restriction's quasi-p-value) into `--out`.

Each experiment runs one seed, so its net cut carries stochastic noise; PRIM can only find boxes
where the inputs move the cut by more than that. `--noise-seeds K` (default 8) runs the nominal
inputs under K seeds and discovery.md sets the noise's standard deviation beside the spread
across experiments, so a reader can see whether the scale chosen is fine enough.
"""
from __future__ import annotations

import argparse
import time

from runner.errors import UserError
from runner.options import (end_year_value, name_value, path_value, scale_value, seed_value, whole_number_up_to,
                            workers_value)

QUICK = {"scale": 0.005, "end_year": 2021, "experiments": 24}


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 8 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 8 to 100000, got {value}")
    return value



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", type=name_value, default="optimised-low", metavar="NAME|FILE",
                        help="scenario whose net cut is asked about (default optimised-low)")
    parser.add_argument("--experiments", type=_count, default=200, help="sampled experiments (default 200)")
    parser.add_argument("--target", type=float, default=19.0, help="net cut (%% of spend) of the first question (default 19)")
    parser.add_argument("--floor", type=float, default=10.0, help="net cut (%%) below which it fails (default 10)")
    parser.add_argument("--min-density", type=float, default=0.8, help="PRIM's density threshold (default 0.8)")
    parser.add_argument("--scale", type=scale_value, default=0.1, help="share of England simulated (default 0.1)")
    parser.add_argument("--end-year", type=end_year_value, default=2025, help="the year of the net cut (default 2025)")
    parser.add_argument("--params", type=path_value, default=None, help="parameter file (default: the shipped calibration)")
    parser.add_argument("--out", type=path_value, required=True, help="folder for experiments.csv and discovery.md")
    parser.add_argument("--workers", type=workers_value, default=1, help="local worker processes (default 1)")
    parser.add_argument("--scheduler", type=name_value, default=None, metavar="tcp://HOST:PORT",
                        help="a running Dask scheduler")
    parser.add_argument("--seed", type=seed_value, default=1, help="seed of the sample and of every run (default 1)")
    parser.add_argument("--indices", type=path_value, default=None, metavar="FILE",
                        help="indices.csv of `caresim sensitivity`: sample only its --top inputs by Morris mu* of "
                             "the net cut, the rest at their nominal values (PRIM over fewer inputs needs fewer "
                             "experiments to be trusted)")
    parser.add_argument("--top", type=whole_number_up_to(1_000, "inputs"), default=10,
                        help="inputs kept with --indices (default 10)")
    parser.add_argument("--noise-seeds", type=whole_number_up_to(1_000, "seeds"), default=8,
                        help="seeds run at the nominal inputs to measure the net cut's stochastic noise (default 8; 0: none)")
    parser.add_argument("--quick", action="store_true", help="a tiny end-to-end check (scale 0.005, 2021, 24 experiments)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args) -> int:
    import numpy as np
    from experiments.discovery import discover, discovery_markdown, ema_model, run_experiments, sample_experiments
    from experiments.scenarios import load_scenario
    from experiments.uncertain import evaluate_experiment, uncertain_problem
    from runner.checks import check_output_dir
    from sim.parameter_file import ParameterSet

    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if not 0 < args.min_density <= 1:
        raise UserError(f"--min-density {args.min_density}: expected a share in (0, 1]")
    scenario = load_scenario(args.scenario)
    if scenario.name == "baseline":
        raise UserError("--scenario baseline: choose a scenario with levers (its net cut is the outcome)")
    parameters = ParameterSet.load(args.params)
    scenario.check_params(parameters.point)
    check_output_dir(args.out)
    problem = uncertain_problem(scenario.to_dict(), parameters)
    if args.indices is not None:
        problem = _restricted(problem, args.indices, args.top)
    constants = {"scenario": scenario.to_dict(), "params_file": str(args.params) if args.params else None,
                 "scale": args.scale, "end_year": args.end_year, "seed": args.seed}
    model = ema_model("caresim", evaluate_experiment, problem, ["net_saving_pct", "net_saving_gbp"], constants)
    sample = sample_experiments(problem, args.experiments, args.seed)
    started = time.perf_counter()
    table, outcomes = run_experiments(model, sample, workers=args.workers, scheduler=args.scheduler,
                                      progress=not args.no_progress)
    seconds = time.perf_counter() - started
    noise = nominal_noise(problem.nominal(), constants, args.noise_seeds, workers=args.workers,
                          scheduler=args.scheduler)
    inputs = table[problem.names].astype(float).reset_index(drop=True).copy()  # one block: assign stays cheap
    cut = np.asarray(outcomes["net_saving_pct"], dtype=float)
    args.out.mkdir(parents=True, exist_ok=True)
    inputs.assign(net_saving_pct=cut, net_saving_gbp=np.asarray(outcomes["net_saving_gbp"], dtype=float)).to_csv(
        args.out / "experiments.csv", index=False, float_format="%.6g")
    questions = [(cut >= args.target, f"net cut >= {args.target:g}%"), (cut < args.floor, f"net cut < {args.floor:g}%")]
    found = [discover(inputs, outcome, question, min_density=args.min_density) for outcome, question in questions]
    head = [f"# Scenario discovery: when does {scenario.name} cut {args.end_year} spend by {args.target:g}%?", "",
            f"{args.experiments} experiments (seeded Latin hypercube, seed {args.seed}) over {len(problem.names)} "
            f"uncertain inputs, each the baseline and {scenario.name} with one seed at scale {args.scale:g}; "
            f"net cut = net saving as a % of the baseline's spend on children in care in {args.end_year}. "
            f"Across the experiments the net cut ranges {np.nanmin(cut):.1f}% to {np.nanmax(cut):.1f}% "
            f"(median {np.nanmedian(cut):.1f}%); {int((cut >= args.target).sum())} reach {args.target:g}%, "
            f"{int((cut < args.floor).sum())} fall below {args.floor:g}%. {seconds:.0f} s.", "",
            noise_sentence(noise, cut), "",
            "Coverage: the share of the cases of interest inside the box. Density: the share of the box's cases "
            "that are of interest. A box restricts only the inputs listed; every other input is free.", ""]
    (args.out / "discovery.md").write_text("\n".join(head) + "\n" + discovery_markdown(found))
    print(f"caresim discover: {args.experiments} experiments in {seconds:.0f} s; experiments.csv and discovery.md "
          f"in {args.out}")
    return 0


def nominal_noise(nominal: dict, constants: dict, seeds: int, *, workers: int = 1,
                  scheduler: str | None = None) -> list[float]:
    """The net cut (%) at the nominal inputs under `seeds` seeds (the study's seed + 1, + 2, ...)."""
    from experiments.uncertain import evaluate_outputs
    from runner.executor import Task, run_tasks

    settings = {k: v for k, v in constants.items() if k != "seed"}
    tasks = [Task(f"noise/seed={constants['seed'] + k}", evaluate_outputs,
                  {"inputs": nominal, "seed": constants["seed"] + k, **settings}) for k in range(1, seeds + 1)]
    cuts: dict[str, float] = {}
    run_tasks(tasks, lambda task, out: cuts.__setitem__(task.key, out["net_saving_pct"]), workers=workers,
              scheduler=scheduler, progress=False)
    return [cuts[task.key] for task in tasks]


def noise_sentence(noise: list[float], cut) -> str:
    """A line setting the noise at the nominal inputs beside the spread across experiments."""
    import numpy as np

    if len(noise) < 2:
        return "Stochastic noise: not measured (--noise-seeds below 2)."
    noise_sd, spread_sd = float(np.std(noise, ddof=1)), float(np.nanstd(cut, ddof=1))
    return (f"Stochastic noise: at the nominal inputs, the net cut over {len(noise)} seeds has a standard deviation "
            f"of {noise_sd:.2f} points (range {min(noise):.1f}% to {max(noise):.1f}%); across the experiments it is "
            f"{spread_sd:.2f} points, so noise is {noise_sd ** 2 / spread_sd ** 2:.0%} of the spread's variance.")


def _restricted(problem, path, top: int):
    """The problem over the `top` inputs of a sensitivity's indices.csv (Morris mu* of the net cut)."""
    import pandas as pd

    from runner.checks import read_user_text
    from runner.sensitivity import Problem, top_inputs

    try:
        import io

        indices = pd.read_csv(io.StringIO(read_user_text(path, "indices file", 64 * 2**20)))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UserError(f"{path}: not an indices.csv of caresim sensitivity ({exc})") from None
    needed = {"output", "input", "method", "index", "value"}
    if not needed <= set(indices.columns):
        raise UserError(f"{path}: missing column {sorted(needed - set(indices.columns))[0]!r} (an indices.csv of "
                        "caresim sensitivity)")
    cut = indices[indices["output"] == "net_saving_pct"]
    if cut.empty:
        raise UserError(f"{path}: no net_saving_pct rows (an indices.csv of caresim sensitivity)")
    chosen = [name for name in top_inputs(cut, top) if name in problem.names]
    if not chosen:
        raise UserError(f"{path}: none of its inputs is an input of this problem")
    return Problem(tuple(item for item in problem.inputs if item.name in chosen))
