"""The observed figures the calibration compares the model with, and how each is measured.

`calibration/data/targets.csv` holds one row per published figure (copied from
../shared/targets.md with its source and grade). `use` says what the calibration does with it:

* ``fit`` - a target: it enters the distance with its tolerance;
* ``initial`` - the run starts from it (31 March 2015 stock): reported, exact by construction;
* ``check`` - reported beside the model, never fitted (another definition, or fixed inputs);
* ``oos`` - an out-of-sample check (the report's 2025 projections): never fitted;
* ``unused`` - kept for the record, with the reason in `note`.

The model's year Y row holds stocks at 31 March Y and flows for the year ending then; the run
starts at 31 March 2015, so a figure is compared with the model's `model_year` row, which the
file states (flows from before the run are compared with the first full year, 2016, with a
wider tolerance). A `measure` is an output declared in `sim.measures` (a column of the yearly
table) or one of `DERIVED` below; a figure of kind stock is compared with a measure the model
takes at 31 March, a flow or money figure with one it sums over the year.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from sim.measures import BY_NAME
from sim.files import read_text

USES = ("fit", "initial", "check", "oos", "unused")
KINDS = ("stock", "flow", "share", "ratio", "money")
TOLERANCE_UNITS = ("relative", "absolute")
COLUMNS = ("year", "measure", "value", "unit", "kind", "use", "model_year", "tolerance", "tolerance_unit",
           "source", "grade", "note")
GRADES = ("A", "B", "C", "D")
# a target's kind -> how the measure it is compared with must make a year (sim.measures over_year)
OVER_YEAR = {"stock": "end", "flow": "sum", "money": "sum"}


def _ratio(num: str, den: str | tuple[str, ...]) -> Callable[[pd.DataFrame, int], float]:
    dens = (den,) if isinstance(den, str) else den
    return lambda t, y: t.at[y, num] / sum(t.at[y, d] for d in dens)


# measure -> function(yearly table, model year) -> value; the columns each needs are listed
DERIVED: dict[str, tuple[Callable[[pd.DataFrame, int], float], tuple[str, ...]]] = {
    "foster_share": (_ratio("n_foster", "n_in_care"), ("n_foster", "n_in_care")),
    "residential_share": (_ratio("n_residential", "n_in_care"), ("n_residential", "n_in_care")),
    "placed_with_parents_share": (_ratio("n_placed_with_parents", "n_in_care"), ("n_placed_with_parents", "n_in_care")),
    "placed_for_adoption_share": (_ratio("n_placed_for_adoption", "n_in_care"), ("n_placed_for_adoption", "n_in_care")),
    "independent_living_share": (_ratio("n_other_placement", "n_in_care"), ("n_other_placement", "n_in_care")),
    "kinship_share_of_foster": (_ratio("n_kinship", "n_foster"), ("n_kinship", "n_foster")),
    "in_house_share_of_unrelated_foster": (_ratio("n_foster_in_house", ("n_foster_in_house", "n_foster_agency")),
                                           ("n_foster_in_house", "n_foster_agency")),
    "adopted_share_of_exits": (_ratio("new_adoptions", "new_exits"), ("new_adoptions", "new_exits")),
    "returned_home_share_of_exits": (_ratio("new_returned_home", "new_exits"), ("new_returned_home", "new_exits")),
    "sgo_share_of_exits": (_ratio("new_special_guardianship", "new_exits"), ("new_special_guardianship", "new_exits")),
    "foster_places_filled_share": (lambda t, y: 1 - t.at[y, "n_foster_places_free"] / t.at[y, "n_foster_places"],
                                   ("n_foster_places_free", "n_foster_places")),
    "foster_households_vs_2020": (lambda t, y: t.at[y, "n_foster_households"] / t.at[2020, "n_foster_households"],
                                  ("n_foster_households",)),
    "spend_growth_from_2020_gbp": (lambda t, y: t.at[y, "spend_children_in_care_gbp"] - t.at[2020, "spend_children_in_care_gbp"],
                                   ("spend_children_in_care_gbp",)),
}


MAX_TARGET_FILE_BYTES = 16 * 2**20  # the shipped file is about 6 kB


class DataError(ValueError):
    """A malformed target file; the message is one line naming the file, row, field and value."""


@dataclass(frozen=True)
class Target:
    year: int
    measure: str
    value: float
    unit: str
    kind: str
    use: str
    model_year: int | None
    tolerance: float | None
    tolerance_unit: str | None
    source: str
    grade: str
    note: str

    @property
    def label(self) -> str:
        shift = f" (model {self.model_year})" if self.model_year not in (None, self.year) else ""
        return f"{self.measure} {self.year}{shift}"

    def columns(self) -> tuple[str, ...]:
        return DERIVED[self.measure][1] if self.measure in DERIVED else (self.measure,)

    def model_value(self, table: pd.DataFrame) -> float:
        """The model's value of this measure in a yearly table (NaN if the row is missing)."""
        if self.model_year is None or self.model_year not in table.index:
            return math.nan
        if self.measure in DERIVED:
            return float(DERIVED[self.measure][0](table, self.model_year))
        return float(table.at[self.model_year, self.measure])

    def scale(self) -> float:
        """The residual's unit: tolerance times the value (relative) or the tolerance itself."""
        return self.tolerance * abs(self.value) if self.tolerance_unit == "relative" else self.tolerance

    def residual(self, model_value: float) -> float:
        return (model_value - self.value) / self.scale()


def default_data_path() -> Path:
    return Path(str(resources.files("calibration") / "data" / "targets.csv"))


def data_digest(path: str | Path | None = None) -> str:
    """sha256 of the target file: the parameter file records which data it was fitted to."""
    return hashlib.sha256(Path(path or default_data_path()).read_bytes()).hexdigest()


def load_targets(path: str | Path | None = None) -> list[Target]:
    """Read and check the target file; any problem raises DataError with one line.

    A measure must be declared in `sim.measures` or be one of `DERIVED`, and a stock, flow or
    money figure must be compared with a measure that makes a year the same way.
    """
    path = Path(path or default_data_path())
    text = read_text(path, "target file", MAX_TARGET_FILE_BYTES, DataError)
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        header = rows[0].keys() if rows else []
    except csv.Error as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    missing = [c for c in COLUMNS if c not in header]
    if not rows or missing:
        raise DataError(f"{path}: missing column {missing[0]!r}" if missing else f"{path}: no rows")
    targets = []
    for i, row in enumerate(rows, start=2):  # line 1 is the header
        def bad(field: str, why: str = "") -> DataError:
            return DataError(f"{path}: line {i}, field {field!r}: bad value {row.get(field)!r}{why}")

        if None in row or any(v is None for v in row.values()):
            raise DataError(f"{path}: line {i}: wrong number of fields")
        use = row["use"].strip()
        if use not in USES:
            raise bad("use", f" (expected one of {', '.join(USES)})")
        if row["kind"].strip() not in KINDS:
            raise bad("kind", f" (expected one of {', '.join(KINDS)})")
        if row["grade"].strip() not in GRADES:
            raise bad("grade", " (expected A, B, C or D)")
        try:
            year = int(row["year"])
        except ValueError:
            raise bad("year") from None
        try:
            value = float(row["value"])
        except ValueError:
            raise bad("value") from None
        if not math.isfinite(value):
            raise bad("value")
        model_year = tolerance = unit = None
        if use != "unused":
            try:
                model_year = int(row["model_year"])
            except ValueError:
                raise bad("model_year") from None
            if not 2015 <= model_year <= 2050:
                raise bad("model_year", " (the model's rows run from 2015)")
            measure = row["measure"].strip()
            if measure not in DERIVED and measure not in BY_NAME:
                raise bad("measure", " (not an output declared in sim/measures.py nor a derived measure)")
            kind = row["kind"].strip()
            if measure in BY_NAME and kind in OVER_YEAR and BY_NAME[measure].over_year != OVER_YEAR[kind]:
                raise bad("kind", f" (the model's {measure} is a {BY_NAME[measure].kind} taken "
                                  f"{'at 31 March' if BY_NAME[measure].over_year == 'end' else 'over the year'})")
        if use in ("fit", "initial", "check") or row["tolerance"].strip():
            unit = row["tolerance_unit"].strip()
            if unit not in TOLERANCE_UNITS:
                raise bad("tolerance_unit", " (expected relative or absolute)")
            try:
                tolerance = float(row["tolerance"])
            except ValueError:
                raise bad("tolerance") from None
            if not (math.isfinite(tolerance) and tolerance > 0):
                raise bad("tolerance", " (must be above 0)")
            if unit == "relative" and value == 0:
                raise bad("value", " (a relative tolerance needs a non-zero value)")
        if use == "fit" and year >= 2025:
            raise bad("use", " (figures for 2025 are out-of-sample checks and are never fitted)")
        targets.append(Target(year, row["measure"].strip(), value, row["unit"], row["kind"].strip(), use,
                              model_year, tolerance, unit, row["source"], row["grade"].strip(), row["note"]))
    return targets


def needed_columns(targets: list[Target]) -> list[str]:
    cols: set[str] = set()
    for t in targets:
        if t.use != "unused":
            cols.update(t.columns())
    return sorted(cols)


def model_values(targets: list[Target], table: pd.DataFrame) -> np.ndarray:
    return np.array([t.model_value(table) for t in targets])
