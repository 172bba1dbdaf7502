"""`caresim sensitivity`: which assumptions a forecast rests on (Morris screening, then Sobol indices).

The inputs are every uncertain input of caresim (experiments/uncertain.py): the fixed assumptions
over their prior ranges, the free parameters over their posterior's 5-95% range, and the chosen
scenario's lever strengths and share realised over their priors, with a dummy input that the model
never reads. Each design row runs the baseline and the scenario with one seed (common random
numbers, so the model is a deterministic function of its inputs and the dummy's indices are 0)
and returns, for the end year, the baseline's children in care, spend on children in care and
residential, and the scenario's net saving (GBP and % of the baseline spend). Morris screening
ranks every input; Sobol S1 and ST with 95% bootstrap intervals follow for the `--top` inputs
(runner/sensitivity.py, SALib). Rows run on the executor (`--workers`, `--scheduler`) and every
result goes at once to `DIR/points.jsonl`, so a rerun of the same command resumes.

Writes `indices.csv`, `tornado.png`, `sobol.png` and `report.md` into `--out`. `--quick` is a
seconds-to-a-minute check of the whole path (tiny scale, end year 2021, one Morris trajectory).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings

from runner.errors import UserError
from runner.options import (end_year_value, name_value, path_value, scale_value, seed_value, whole_number_up_to,
                            workers_value)

QUICK = {"scale": 0.005, "end_year": 2021, "trajectories": 1, "top": 2, "sobol_samples": 4}



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", type=name_value, default="optimised-low", metavar="NAME|FILE",
                        help="scenario whose lever strengths are inputs and whose net saving is an output "
                             "(default optimised-low)")
    parser.add_argument("--scale", type=scale_value, default=0.1, help="share of England simulated (default 0.1)")
    parser.add_argument("--end-year", type=end_year_value, default=2025,
                        help="the year whose outputs are analysed (default 2025)")
    parser.add_argument("--params", type=path_value, default=None, help="parameter file (default: the shipped calibration)")
    parser.add_argument("--out", type=path_value, required=True, help="folder for the results and the resumable store")
    parser.add_argument("--workers", type=workers_value, default=1, help="local worker processes (default 1)")
    parser.add_argument("--scheduler", type=name_value, default=None, metavar="tcp://HOST:PORT",
                        help="a running Dask scheduler")
    parser.add_argument("--trajectories", type=whole_number_up_to(100_000, "trajectories"), default=8,
                        help="Morris trajectories (default 8)")
    parser.add_argument("--top", type=whole_number_up_to(100_000, "inputs"), default=8, help="inputs given Sobol indices (default 8)")
    parser.add_argument("--sobol-samples", type=whole_number_up_to(100_000, "base samples"), default=64,
                        help="Sobol base samples N, a power of 2: N (top + 2) rows (default 64)")
    parser.add_argument("--seed", type=seed_value, default=1, help="seed of every row and of the designs (default 1)")
    parser.add_argument("--morris-only", action="store_true", help="screening only (for timing); no Sobol stage")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny end-to-end check: scale 0.005, end year 2021, 1 trajectory, Sobol top 2, N 4")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args) -> int:
    import pandas as pd

    from experiments.scenarios import load_scenario
    from experiments.sensitivity_report import write_sensitivity_outputs
    from experiments.uncertain import (OUTPUT_LABELS, OUTPUTS, evaluate_baseline, evaluate_outputs, lever_inputs,
                                      uncertain_problem)
    from runner.checks import check_output_dir
    from runner.design_store import DesignStore
    from runner.sensitivity import (Evaluation, RunOptions, SensitivityResult, StageTiming, morris_screening,
                                    run_sensitivity)
    from sim.parameter_file import ParameterSet

    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if args.sobol_samples & (args.sobol_samples - 1):
        raise UserError(f"--sobol-samples {args.sobol_samples}: expected a power of 2 (the Sobol' sequence's balance)")
    scenario = load_scenario(args.scenario)
    if scenario.name == "baseline":
        raise UserError("--scenario baseline: choose a scenario with levers (its net saving is an output)")
    parameters = ParameterSet.load(args.params)
    scenario.check_params(parameters.point)
    check_output_dir(args.out)
    problem = uncertain_problem(scenario.to_dict(), parameters)
    settings = {"scenario": scenario.to_dict(), "params_file": str(args.params) if args.params else None,
                "scale": args.scale, "end_year": args.end_year}
    lever_names = {item.name for item in lever_inputs(scenario.to_dict())}
    evaluation = Evaluation(evaluate_outputs, OUTPUTS, settings=settings, seed=args.seed, seeds="common",
                            shared_fn=evaluate_baseline,
                            shared_inputs=tuple(name for name in problem.names if name not in lever_names))
    store = DesignStore(args.out / "store", evaluation.describe())
    if len(store):
        print(f"caresim sensitivity: resuming, {len(store)} rows already in {args.out / 'store'}", file=sys.stderr)
    options = RunOptions(workers=args.workers, scheduler=args.scheduler, progress=not args.no_progress, store=store)
    if args.trajectories == 1:  # one trajectory has no spread: sigma is undefined (NaN), say nothing more
        warnings.filterwarnings("ignore", message="Degrees of freedom", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message="invalid value encountered", category=RuntimeWarning)
    def say_stage(stage: StageTiming) -> None:
        print(f"caresim sensitivity: {stage.sentence()} ({time.strftime('%H:%M:%S')})", file=sys.stderr, flush=True)

    started = time.perf_counter()
    if args.morris_only:
        indices, rows, evaluated = morris_screening(problem, evaluation, options, trajectories=args.trajectories,
                                                    seed=args.seed)
        morris = StageTiming("morris", rows, evaluated, time.perf_counter() - started)
        say_stage(morris)
        result = SensitivityResult(indices, [], {"morris": rows, "sobol": 0, "evaluated": evaluated}, [morris])
    else:
        result = run_sensitivity(problem, evaluation, options, trajectories=args.trajectories, top_k=args.top,
                                 base_samples=args.sobol_samples, seed=args.seed, on_stage=say_stage)
    seconds = time.perf_counter() - started
    labels = dict(OUTPUT_LABELS)
    shown = {"scenario": scenario.name, "scale": args.scale, "end year": args.end_year,
             "Morris trajectories": args.trajectories, "Sobol top": args.top, "Sobol N": args.sobol_samples,
             "seed": args.seed, "inputs": len(problem.names), "rows evaluated now": result.rows["evaluated"],
             "seconds": f"{seconds:.0f}",
             "seconds per row evaluated": f"{seconds / max(result.rows['evaluated'], 1):.2f}",
             **{f"{stage.stage} stage": stage.sentence().split(": ", 1)[1] for stage in result.stages}}
    title = f"Sensitivity of caresim's {args.end_year} forecast ({scenario.name})"
    if args.morris_only:
        pd.DataFrame(result.indices).to_csv(args.out / "indices.csv", index=False, float_format="%.6g")
        print(f"caresim sensitivity: Morris over {len(problem.names)} inputs, {result.rows['morris']} rows "
              f"({result.rows['evaluated']} evaluated now) in {seconds:.0f} s; indices.csv in {args.out}")
        return 0
    write_sensitivity_outputs(result, args.out, title=title, settings=shown, labels=labels)
    print(f"caresim sensitivity: {len(problem.names)} inputs, Morris {result.rows['morris']} rows, Sobol "
          f"{result.rows['sobol']} rows over {', '.join(result.top)} ({result.rows['evaluated']} evaluated now, "
          f"{seconds:.0f} s); indices.csv, tornado.png, sobol.png and report.md in {args.out}")
    return 0
