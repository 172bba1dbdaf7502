"""Command-line option types shared by every subcommand (argparse `type=` callables).

Each raises `argparse.ArgumentTypeError` with a message naming the value, which the parser turns
into one line and exit code 2.
"""
from __future__ import annotations

import argparse

from sim.dates import START_YEAR

MAX_END_YEAR = 2050


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def scale_value(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"scale must be above 0 and at most 1, got {value}")
    return value


def end_year_value(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a year, got {text!r}") from None
    if not START_YEAR < value <= MAX_END_YEAR:
        raise argparse.ArgumentTypeError(f"end year must be after {START_YEAR} and at most {MAX_END_YEAR}, got {value}")
    return value
