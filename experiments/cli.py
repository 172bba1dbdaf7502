"""The `caresim` command line: a thin layer over the Python API, at the top of the import order.

Each subcommand lives in its own module, which provides `add_arguments(parser)` and
`main(args) -> int`, and imports what is heavy (the model, pandas, Dask) only inside `main`, so
that `caresim --help` starts fast. A user's mistake (bad option, bad file, value out of range)
ends with one line on stderr and exit code 2, never a traceback.

The `caresim` console script (`console`) ends the process without the interpreter's teardown:
freeing every object and module one by one took ~0.2 s after a full-scale run, for nothing. By
then the command has returned, so its files, clusters and servers are closed; standard output
and error are flushed first. `main` (for tests and library use) returns normally.
"""
from __future__ import annotations

import argparse
import os
import sys

from calibration import cli as calibrate_command
from calibration import data_command
from calibration import report_command
from calibration import backtest_command, region_command
from experiments import compare, dashboard_command, discover_command, infer_command, run_command, sensitivity_command
from runner.errors import UserError

SUBCOMMANDS = {
    "run": (run_command, "run a scenario (default: the baseline) and print the yearly table"),
    "calibrate": (calibrate_command, "fit the free parameters to the 2015/2020 figures"),
    "fit-report": (report_command, "write the fit report of the shipped parameters"),
    "compare": (compare, "run several scenarios with common random numbers"),
    "infer": (infer_command, "inverse analysis: the share of each opportunity realised that reproduces the report's net cut"),
    "dashboard": (dashboard_command, "start the browser dashboard"),
    "data": (data_command, "read, clean and count an authority's SSDA903 return; synthetic returns"),
    "sensitivity": (sensitivity_command, "which assumptions a forecast rests on: Morris, then Sobol indices"),
    "discover": (discover_command, "under which assumptions optimised-low's net cut reaches 19%, or falls below 10%"),
    "backtest": (backtest_command, "project years not fitted and set them beside what happened"),
    "region": (region_command, "fit and run every authority of a folder and add them up"),
}


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage too)
        raise UserError(f"{self.prog}: {message}")


def build_parser() -> Parser:
    parser = Parser(prog="caresim", description="Agent-based simulation of children's social care in England.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, (module, help_text) in SUBCOMMANDS.items():
        module.add_arguments(sub.add_parser(name, help=help_text.replace("%", "%%"), description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from sim.parameters import ParameterError

    try:
        args = build_parser().parse_args(argv)
        if args.command in ("run", "compare") and getattr(args, "data", None) is not None:
            return _local(args)  # an authority's model (calibration/local.py)
        if args.command == "dashboard":
            _give_the_page_the_local_model()
        return int(SUBCOMMANDS[args.command][0].main(args) or 0)
    except (UserError, ParameterError) as exc:
        print(f"caresim: error: {exc}" if not str(exc).startswith("caresim") else f"{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("caresim: interrupted", file=sys.stderr)
        return 130


def _give_the_page_the_local_model() -> None:
    """The page's authority view runs `calibration.local` (where it is installed); the command line
    joins them, as `experiments` does not import `calibration`."""
    try:
        from calibration.local import local_run, suppress_counts
    except ImportError:  # the local model is not there yet: the view says so
        return
    from experiments.page.authority import register_local_model

    register_local_model(local_run, suppress_counts)


def _local(args) -> int:
    """`run --data` and `compare --data`: calibration's local commands, given experiments' scenario
    loader and table format (calibration and experiments do not import each other)."""
    from calibration import local_command
    from experiments.run_command import format_table
    from experiments.scenarios import load_scenario

    if args.command == "run":
        return local_command.run_local(args, load_scenario, format_table)
    return local_command.compare_local(args, load_scenario)


def console() -> None:
    """The `caresim` console script: `main`, then exit without the interpreter's teardown."""
    try:
        code = main()
        sys.stdout.flush()
    except SystemExit as exc:  # argparse's --help exits through SystemExit
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BrokenPipeError:  # the reader went away (`caresim run | head`): stop quietly, as on SIGPIPE
        code = 141
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = 141
    os._exit(code)


if __name__ == "__main__":
    console()
