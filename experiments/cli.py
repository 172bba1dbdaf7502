"""The `caresim` command line: a thin layer over the Python API.

Each subcommand lives in its own module, which provides `add_arguments(parser)` and
`main(args) -> int`; only the chosen one is imported. A user's mistake (bad option, bad file,
value out of range) ends with one line on stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

SUBCOMMANDS = {
    "run": ("experiments.run_command", "run a scenario (default: the baseline) and print the yearly table"),
    "calibrate": ("calibration.cli", "fit the free parameters to the 2015/2020 figures"),
    "fit-report": ("calibration.report_command", "write the fit report of the shipped parameters"),
    "compare": ("experiments.compare", "run several scenarios with common random numbers"),
    "dashboard": ("experiments.dashboard_command", "start the browser dashboard"),
}


class UserError(Exception):
    """A mistake in what the user asked for; printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage too)
        raise UserError(f"{self.prog}: {message}")


def _available() -> dict:
    out = {}
    for name, (module, help_text) in SUBCOMMANDS.items():
        if importlib.util.find_spec(module) is not None:
            out[name] = (module, help_text)
    return out


def build_parser(only: str | None = None) -> Parser:
    parser = Parser(prog="caresim", description="Agent-based simulation of children's social care in England.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, (module, help_text) in _available().items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or only == name:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from sim.parameters import ParameterError

    try:
        command = next((a for a in argv if not a.startswith("-")), None)
        parser = build_parser(only=command)
        args = parser.parse_args(argv)
        module = importlib.import_module(_available()[args.command][0])
        return int(module.main(args) or 0)
    except (UserError, ParameterError) as exc:
        print(f"caresim: error: {exc}" if not str(exc).startswith("caresim") else f"{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("caresim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    # `python -m experiments.cli`: run the module's importable copy, so that the error classes
    # the subcommands raise (experiments.cli.UserError) are the ones caught here
    from experiments.cli import main as importable_main

    sys.exit(importable_main())
