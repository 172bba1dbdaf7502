"""Observed drivers: published series (referrals, workforce, ...) that replace the model's fitted trends.

The baseline projects 2021 onwards from trends fitted to 2015-2020. Where the years after 2020
have been published, `--drivers FILE` lets a run use them instead: for the years a driver is
observed, the model follows the observed series; after its last year, it continues from the last
observation on the fitted trend. Drivers are inputs the model is pushed by (demand, workforce),
never care outcomes: nothing after 2020 is fitted.

A drivers file is a CSV with the columns `year,measure,value` and optionally `unit`, `as_at`,
`grade` and `source` (the shipped example, `calibration/data/drivers.csv`, is a copy of
`../shared/drivers.csv`: DfE referrals, children in need, plans and workforce, 2021-2024). Every measure is declared
once in `MEASURES` with what its year means (`as_at`):

- "year to 31 March": a flow over the financial year ending 31 March `year`: the model's row for
  `year` (its flows are for the year ending 31 March). A month in that year sees that year's rate.
- "31 March": a stock on 31 March `year`: the model's row for `year`.
- "30 September": a stock on 30 September `year` (the workforce census), half a year after the
  model's `year` row: values between two censuses are interpolated linearly in time.

Times are fractional years as in `sim.dates` (31 March 2021 = 2021.25). A file with a mistake
is refused with one line naming the file, the row (its line number), the column and the value.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from runner.errors import UserError
from runner.options import MAX_END_YEAR
from sim.dates import START_YEAR

FLOW_YEAR_TO_MARCH = "year to 31 March"
STOCK_MARCH = "31 March"
STOCK_SEPTEMBER = "30 September"
AS_AT_OFFSET_YEARS = {FLOW_YEAR_TO_MARCH: 0.25, STOCK_MARCH: 0.25, STOCK_SEPTEMBER: 0.75}  # year + offset = time
REQUIRED_COLUMNS = ("year", "measure", "value")
OPTIONAL_COLUMNS = ("unit", "as_at", "grade", "source")


@dataclass(frozen=True)
class Measure:
    """A driver the model can be pushed by: when its year is measured, and its valid range."""

    name: str
    as_at: str
    meaning: str
    upper: float = math.inf  # values must lie in [0, upper]

    @property
    def is_flow(self) -> bool:
        return self.as_at == FLOW_YEAR_TO_MARCH


MEASURES = {m.name: m for m in (
    Measure("referrals", FLOW_YEAR_TO_MARCH, "referrals to children's social care in the year (DfE CIN)"),
    Measure("children_in_need", STOCK_MARCH, "children in need on 31 March (DfE CIN)"),
    Measure("child_protection_plans", STOCK_MARCH, "children on a child protection plan on 31 March (DfE CIN)"),
    Measure("child_protection_plans_started", FLOW_YEAR_TO_MARCH, "child protection plans started in the year"),
    Measure("social_worker_fte", STOCK_SEPTEMBER, "children's social workers, FTE, on 30 September (DfE workforce)"),
    Measure("agency_fte", STOCK_SEPTEMBER, "agency children's social workers, FTE, on 30 September"),
    Measure("vacancy_rate_pct", STOCK_SEPTEMBER, "vacant FTE posts as a % of all FTE posts, 30 September", 100.0),
    Measure("caseload_per_fte", STOCK_SEPTEMBER, "cases per case-holding FTE social worker, 30 September"),
    Measure("uasc_started_care", FLOW_YEAR_TO_MARCH, "unaccompanied asylum-seeking children starting care in the year"),
)}


# Care outcomes the model projects: a drivers file may not set them (nothing after 2020 is fitted to them).
CARE_OUTCOMES = ("children_in_care", "n_in_care", "entries", "exits", "residential", "foster", "spend",
                 "adoptions", "care_leavers")


class DriversError(UserError):
    """A drivers file that cannot be used: one line naming the file, row, column and value."""


@dataclass(frozen=True)
class Observation:
    year: int
    value: float
    row: int  # line number in the file, for messages


class Drivers:
    """The observed series of a drivers file, by measure; read with `load_drivers`."""

    def __init__(self, source: str, series: dict[str, list[Observation]]):
        self.source = source
        self._series = {name: sorted(observations, key=lambda o: o.year) for name, observations in series.items()}

    @property
    def measures(self) -> list[str]:
        return sorted(self._series)

    def years(self, measure: str) -> list[int]:
        return [o.year for o in self._series.get(_known(measure), [])]

    def value(self, measure: str, year: int) -> float | None:
        """The value published for `year` (in the measure's own `as_at` sense), or None."""
        for observation in self._series.get(_known(measure), []):
            if observation.year == year:
                return observation.value
        return None

    def at(self, measure: str, time: float) -> float | None:
        """The observed value at fractional year `time`, or None outside the observed span.

        A flow gives the annual rate of the financial year containing `time` (None in a year
        not published). A stock is interpolated linearly between its two nearest observations
        (exact on an observation; None before the first or after the last).
        """
        spec = MEASURES[_known(measure)]
        observations = self._series.get(measure, [])
        offset = AS_AT_OFFSET_YEARS[spec.as_at]
        if spec.is_flow:
            year_ending = math.ceil(time - offset - 1e-9)  # the year to 31 March containing `time`
            return self.value(measure, year_ending)
        times = [o.year + offset for o in observations]
        for (t0, o0), (t1, o1) in zip(zip(times, observations), zip(times[1:], observations[1:])):
            if t0 <= time <= t1:
                return o0.value + (o1.value - o0.value) * (time - t0) / (t1 - t0)
        if times and abs(time - times[-1]) < 1e-9:
            return observations[-1].value
        return None

    def at_model_year(self, measure: str, year: int) -> float | None:
        """The value for the model's `year` row: a flow for the year to 31 March, a stock on 31 March."""
        return self.at(measure, year + 0.25) if not MEASURES[_known(measure)].is_flow else self.value(measure, year)

    def relative_change(self, measure: str, year: int, reference_year: int,
                        reference_value: float | None = None) -> float | None:
        """value(year) / value(reference_year) - 1, on the model's 31 March years; None if unobserved.

        `reference_value` stands in for the reference year's value when the file lacks it (the
        last fitted year, 2020, comes from the calibration data).
        """
        value = self.at_model_year(measure, year)
        reference = reference_value if reference_value is not None else self.at_model_year(measure, reference_year)
        if value is None or reference is None:
            return None
        if reference <= 0:
            raise DriversError(f"{self.source}: {measure} has reference value {reference} in {reference_year}: "
                               f"a relative change needs a positive reference")
        return value / reference - 1

    def multiplier(self, measure: str, time: float, *, reference_value: float, trend_per_year: float) -> float | None:
        """The factor, relative to `reference_value`, that replaces a fitted trend at `time`.

        Inside the observed span: observed(time) / reference_value. After the last observation:
        the last observed value / reference_value, grown at `trend_per_year` since then. Before
        the first observation: None (the model keeps its own trend).
        """
        spec = MEASURES[_known(measure)]
        observations = self._series.get(measure, [])
        if not observations:
            return None
        if reference_value <= 0:
            raise DriversError(f"{self.source}: {measure}: a multiplier needs a positive reference value, "
                               f"got {reference_value}")
        observed = self.at(measure, time)
        if observed is not None:
            return observed / reference_value
        last = observations[-1]
        last_time = last.year + AS_AT_OFFSET_YEARS[spec.as_at]  # for a flow: the end of its year
        if time < last_time:
            return None  # before the first observation, or in a gap of a flow's years
        # a year's flow is its rate at mid-year, so the trend runs from there: the first year
        # after the last observed one totals last x (1 + trend), as the fitted trend would
        anchor = last_time - 0.5 if spec.is_flow else last_time
        return last.value / reference_value * (1 + trend_per_year) ** (time - anchor)


def _known(measure: str) -> str:
    if measure not in MEASURES:
        raise UserError(f"unknown driver measure {measure!r} (known: {', '.join(MEASURES)})")
    return measure


def load_drivers(path: str | Path) -> Drivers:
    """Read and check a drivers CSV; one line naming file, row, column and value on any mistake."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DriversError(f"{path}: no such drivers file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DriversError(f"{path}: cannot read the drivers file ({type(exc).__name__}: {exc})") from None
    reader = csv.DictReader(text.splitlines())
    columns = [name.strip() for name in (reader.fieldnames or [])]
    if not columns:
        raise DriversError(f"{path}: the drivers file is empty (expected a header: year,measure,value,...)")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise DriversError(f"{path}, row 1: missing column {missing[0]!r} (header: {','.join(columns)})")
    unknown = [name for name in columns if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise DriversError(f"{path}, row 1: unknown column {unknown[0]!r} "
                           f"(allowed: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)})")
    reader.fieldnames = columns
    series: dict[str, list[Observation]] = {}
    seen: dict[tuple[str, int], int] = {}
    for line, record in enumerate(reader, start=2):
        if None in record:
            raise DriversError(f"{path}, row {line}: more fields than the header's {len(columns)}")
        observation, measure = _parse_row(path, line, record)
        earlier = seen.get((measure, observation.year))
        if earlier is not None:
            raise DriversError(f"{path}, row {line}, column 'year': {measure} {observation.year} "
                               f"is already given on row {earlier}")
        seen[(measure, observation.year)] = line
        series.setdefault(measure, []).append(observation)
    if not series:
        raise DriversError(f"{path}: the drivers file has a header but no rows")
    return Drivers(str(path), series)


def _parse_row(path: Path, line: int, record: dict[str, str | None]) -> tuple[Observation, str]:
    def fail(column: str, value: object, why: str) -> DriversError:
        return DriversError(f"{path}, row {line}, column {column!r}: {why}, got {value!r}")

    measure = (record.get("measure") or "").strip()
    if measure in CARE_OUTCOMES:
        raise fail("measure", measure, "a care outcome is what the model projects, not a driver it is pushed by")
    if measure not in MEASURES:
        raise fail("measure", measure, f"expected one of {', '.join(MEASURES)}")
    spec = MEASURES[measure]
    year_text = (record.get("year") or "").strip()
    try:
        year = int(year_text)
    except ValueError:
        raise fail("year", year_text, "expected a whole year") from None
    if not START_YEAR <= year <= MAX_END_YEAR:
        raise fail("year", year_text, f"expected a year from {START_YEAR} to {MAX_END_YEAR}")
    value_text = (record.get("value") or "").strip()
    try:
        value = float(value_text.replace(",", "")) if value_text else math.nan
    except ValueError:
        raise fail("value", value_text, "expected a number") from None
    if not math.isfinite(value):
        raise fail("value", value_text, "expected a finite number")
    if not 0 <= value <= spec.upper:
        bound = f"from 0 to {spec.upper:g}" if math.isfinite(spec.upper) else "of at least 0"
        raise fail("value", value_text, f"expected a {measure} value {bound}")
    as_at = (record.get("as_at") or "").strip()
    if as_at and as_at != spec.as_at:
        raise fail("as_at", as_at, f"{measure} is measured {spec.as_at!r}")
    return Observation(year, value, line), measure
