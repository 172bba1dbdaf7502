"""`caresim data`: an authority's SSDA903 returns.

    caresim data check DIR [--estimates] [--out DIR]   read, clean and count a return; estimates
    caresim data synth --out DIR --children N --years 2017-2021 --seed S   a synthetic return

A bad file answers with one line naming the file, line, column and value (never a child's
identifier) and exit code 2 (calibration/ssda903/reader.py).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runner.errors import UserError
from runner.options import positive_int
from sim.dates import START_YEAR

LAST_SYNTH_YEAR = 2050


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {value:g}")
    return value


def non_negative_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {value:g}")
    return value


def year_range(text: str) -> tuple[int, int]:
    """'2017-2021' or '2019': collection years, each ending 31 March."""
    parts = text.split("-")
    try:
        first, last = (int(parts[0]), int(parts[-1])) if len(parts) <= 2 else (None, None)
    except ValueError:
        first = last = None
    if first is None:
        raise argparse.ArgumentTypeError(f"expected YYYY-YYYY, got {text!r}")
    if not START_YEAR < first <= last <= LAST_SYNTH_YEAR:
        raise argparse.ArgumentTypeError(f"years must run from {START_YEAR + 1} (the model starts at 31 March "
                                         f"{START_YEAR}) to {LAST_SYNTH_YEAR}, first <= last; got {text!r}")
    return first, last


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", required=True, metavar="{check,synth}")
    check = sub.add_parser("check", help="read, clean and count a folder of 903 files",
                           description="Read, clean and count an authority's SSDA903 files (a folder per "
                                       "collection year, or pooled files with LA and YEAR columns).")
    check.add_argument("folder", type=Path, metavar="DIR", help="folder of 903 files")
    check.add_argument("--estimates", action="store_true", help="also print the local model's estimates")
    check.add_argument("--out", type=Path, default=None, metavar="DIR", help="write every table as CSV here")
    check.add_argument("--social-workers", type=positive_number, default=None, metavar="FTE",
                       help="the authority's children's social workers (default: England's, scaled)")
    check.add_argument("--foster-households", type=positive_number, default=None, metavar="N",
                       help="fostering households (default: England's, scaled)")
    check.add_argument("--cost-factor", type=positive_number, default=1.0, metavar="F",
                       help="local unit costs relative to England's (default 1)")
    synth = sub.add_parser("synth", help="write a synthetic return from the model's journey log",
                           description="Write a synthetic SSDA903 return (Header, Episodes, UASC) from a model "
                                       "run at an authority's size.")
    synth.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write (new or empty)")
    synth.add_argument("--children", type=positive_int, default=400, help="children in care at 31 March 2015")
    synth.add_argument("--years", type=year_range, default=(2017, 2021), metavar="YYYY-YYYY",
                       help="collection years, each ending 31 March (default 2017-2021)")
    synth.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    synth.add_argument("--layout", choices=("years", "pooled"), default="years",
                       help="a folder per year with dd/mm/YYYY dates (default), or pooled files with LA, YEAR")
    synth.add_argument("--redundant", type=non_negative_number, default=0.0, metavar="R",
                       help="mean redundant rows (RNE T, same carer) splitting each episode, as real returns "
                            "hold them (default 0)")
    synth.add_argument("--params", type=Path, default=None, help="parameter file (default: the shipped one)")


def check(args) -> int:
    from calibration.ssda903.cleaning import clean
    from calibration.ssda903.estimates import estimate
    from calibration.ssda903.reader import read_return
    from calibration.ssda903.summary import estimates_text, summary_text, write_tables

    ret = clean(read_return(args.folder))
    print(summary_text(ret))
    if args.estimates or args.out:
        est = estimate(ret, social_workers=args.social_workers, foster_households=args.foster_households,
                       cost_factor=args.cost_factor)
        if args.estimates:
            print()
            print(estimates_text(est))
        if args.out:
            try:
                paths = write_tables(args.out, ret, est)
            except OSError as exc:
                raise UserError(f"--out {args.out}: cannot write ({exc.strerror})") from None
            print(f"\nwrote {len(paths)} tables to {args.out}")
    return 0


def synth(args) -> int:
    from calibration.ssda903.synth import synthesise
    from sim.parameter_file import load_params

    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise UserError(f"--out {args.out}: exists and is not an empty folder; choose a new one")
    params = load_params(args.params) if args.params else load_params()
    if args.children > params.children_in_care_2015:
        raise UserError(f"--children {args.children}: more than England's {params.children_in_care_2015:,.0f}")
    first, last = args.years
    print(f"data synth: {args.children} children, {first}-{last}, seed {args.seed} ...", file=sys.stderr, flush=True)
    try:
        result = synthesise(args.out, children=args.children, years=(first, last), seed=args.seed, params=params,
                            layout=args.layout, redundant_per_episode=args.redundant)
    except OSError as exc:
        raise UserError(f"--out {args.out}: cannot write ({exc.strerror})") from None
    print(f"synthetic return: {len(result.header):,} children, {len(result.episodes):,} episodes, "
          f"collection years {first}-{last}, scale {result.scale:.5f}; {len(result.paths)} files in {args.out}")
    return 0


def main(args) -> int:
    return check(args) if args.data_command == "check" else synth(args)
