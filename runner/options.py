"""Command-line option types shared by every subcommand (argparse `type=` callables), and their limits.

Each raises `argparse.ArgumentTypeError` with a message naming the value, which the parser turns
into one line and exit code 2, before any work is done. The limits say what the program can do,
not what is typical:

* `--seed`: 0 to 2**32 - 1 (numpy seed sequences take non-negative integers; replication i uses
  seed + i, so `check_seeds` also keeps the last replication's seed in range);
* `--replications`: at most 10,000 (every replication's table is held or stored; a larger
  experiment is several runs with different `--seed`);
* `--scale`: from 0.001 (about 70 children in care and 32 social workers in 2015) to 1. Below
  the floor the population rounds to a handful of children (at 1e-5: one child in care, read
  back as 100,000, none in foster care) and the model's shares and capacities mean nothing;
* `--workers`: at most 256 local processes;
* paths and names: never empty.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from runner.errors import UserError
from sim.dates import START_YEAR

MAX_END_YEAR = 2050
MAX_SEED = 2**32 - 1
MAX_REPLICATIONS = 10_000
MIN_SCALE = 0.001
MAX_WORKERS = 256
MAX_EVALUATIONS = 1_000


def _whole_number(text: str, what: str = "a whole number") -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def whole_number_up_to(hi: int, what: str):
    """An option type: a whole number from 1 to `hi` (of `what`, for the message)."""
    def check(text: str) -> int:
        return _bounded_int(text, hi, what)

    return check


def _bounded_int(text: str, hi: int, what: str) -> int:
    value = positive_int(text)
    if value > hi:
        raise argparse.ArgumentTypeError(f"at most {hi:,} {what}, got {value:,}")
    return value


def replications_value(text: str) -> int:
    return _bounded_int(text, MAX_REPLICATIONS, "replications (run a larger experiment in parts with --seed)")


def workers_value(text: str) -> int:
    return _bounded_int(text, MAX_WORKERS, "local worker processes")


def evaluations_value(text: str) -> int:
    return _bounded_int(text, MAX_EVALUATIONS, "optimiser steps")


def seed_value(text: str) -> int:
    value = _whole_number(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"seed must be from 0 to {MAX_SEED}, got {value}")
    return value


def check_seeds(seed: int, replications: int) -> None:
    """Refuse a base seed whose last replication's seed (seed + replications - 1) is out of range."""
    last = seed + replications - 1
    if last > MAX_SEED:
        raise UserError(f"--seed {seed} with --replications {replications}: the last replication's "
                        f"seed {last} is above {MAX_SEED}")


def scale_value(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not MIN_SCALE <= value <= 1:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"scale must be from {MIN_SCALE:g} (about 70 children in care) to 1, got {value}")
    return value


def end_year_value(text: str) -> int:
    value = _whole_number(text, "a year")
    if not START_YEAR < value <= MAX_END_YEAR:
        raise argparse.ArgumentTypeError(f"end year must be after {START_YEAR} and at most {MAX_END_YEAR}, got {value}")
    return value


def path_value(text: str) -> Path:
    """A path a user gives: never empty (an empty --out would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty path")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"{text!r}: a path cannot contain a NUL character")
    return Path(text)


def name_value(text: str) -> str:
    """A name or address a user gives (a scenario, a scheduler): never empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty value")
    return text
