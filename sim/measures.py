"""Every output of the model, declared once (Starsim's `Result`): name, kind, unit, aggregation.

The recorder writes these columns month by month; the yearly table, the JSON contract of
`caresim run --json`, the experiment store, the summaries, the calibration targets and the
dashboard all read this table rather than keeping lists of their own.

Kinds and how they aggregate:

* ``stock`` - children, places, providers or workers at a month end; a year takes its value at
  31 March (``over_year = "end"``).
* ``flow`` - events in a month (``new_*``); a year sums its twelve months.
* ``money`` - spend in a month (``spend_*_gbp``); a year sums its months (a financial year).
* ``hours`` - hours a week at a month end; a year takes 31 March.
* ``ratio`` - a per-unit figure (caseload, hours per child): it does not grow with the
  population, so it is never scaled; a year takes 31 March unless ``over_year`` says "mean".
* ``work`` - child-months simulated: the unit of work of benchmarks (summed, never scaled).

`scaled` says whether a measure grows with the population simulated: a run at `scale` s records
unscaled counts and `to_england` multiplies exactly these columns by 1/s, in one place.
Replications aggregate every measure by mean and percentiles (experiments' summaries); authorities
of a region add up the `scaled` measures.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sim.states import State, IS_ACTIVE

if TYPE_CHECKING:  # pandas is imported where a table is asked for: `caresim run` does without it
    import pandas as pd


@dataclass(frozen=True)
class Measure:
    """One output column.

    Attributes:
        name: column of the monthly and yearly tables.
        kind: stock, flow, money, hours, ratio or work (module docstring).
        unit: unit of a value, for people.
        label: short description, for tables and charts.
        contract: its key in the JSON contract of `caresim run --json`, if it is there.
        over_year: how twelve months make a year: "end" (31 March), "sum" or "mean".
    """

    name: str
    kind: str
    unit: str
    label: str
    contract: str | None = None
    over_year: str = ""

    def __post_init__(self):
        if not self.over_year:
            object.__setattr__(self, "over_year", "sum" if self.kind in ("flow", "money", "work") else "end")

    @property
    def scaled(self) -> bool:
        """Grows with the population simulated (scaled back up to England)."""
        return self.kind in ("stock", "flow", "money", "hours")


def _stock(name, label, contract=None, unit="children"):
    return Measure(name, "stock", unit, label, contract)


def _flow(name, label, contract=None, unit="children a year"):
    return Measure(name, "flow", unit, label, contract)


def _money(name, label, contract=None):
    return Measure(name, "money", "GBP a year", label, contract)


_STATE_STOCKS = [_stock(f"n_{s.name.lower()}", f"children: {s.name.lower().replace('_', ' ')}")
                 for s in State if IS_ACTIVE[s]]

MEASURES: tuple[Measure, ...] = (
    *_STATE_STOCKS,
    _stock("n_in_care", "children in care", "children_in_care"),
    _stock("n_foster", "in foster care (incl. kinship)", "foster"),
    _stock("n_residential", "in children's homes and semi-independent living", "residential"),
    _stock("n_childrens_homes", "in children's homes", "childrens_homes"),
    _stock("n_other_care", "placed with parents, for adoption, other", "other"),
    _stock("n_cp_plans", "children on a child protection plan"),
    _stock("n_uasc_in_care", "unaccompanied asylum-seeking children in care"),
    _stock("n_unrelated_foster_households", "approved unrelated (non-kinship) fostering households", unit="households"),
    _stock("n_kinship_carers", "kinship (family-and-friends) foster carers with a child placed", unit="households"),
    _stock("n_foster_households", "approved fostering households as Ofsted counts them: unrelated households and "
           "family-and-friends (kinship) carers with a child placed", "foster_households", "households"),
    _stock("n_foster_places", "foster places (non-kinship)", unit="places"),
    _stock("n_foster_places_free", "foster places free", unit="places"),
    _stock("n_childrens_homes_open", "children's homes open", unit="homes"),
    _stock("n_home_places", "children's home places", unit="places"),
    _stock("n_edge_families", "families in edge-of-care support", unit="families"),
    _stock("n_families_at_edge", "families at the edge of care (on a plan, high hazard), supported or not", unit="families"),
    _stock("n_reunification_support", "children in a reunification support episode (in care or at home)"),
    _stock("n_social_workers", "employed children-and-family social workers (FTE)", unit="FTE"),
    _stock("n_agency_social_workers", "agency social workers covering vacant posts (FTE)", unit="FTE"),
    Measure("direct_hours_per_week", "hours", "hours a week", "social workers' direct hours with children and families",
            "direct_hours_per_week"),
    Measure("mean_caseload", "ratio", "cases per FTE", "cases per case-holding FTE at the month's end"),
    Measure("caseload_per_fte", "ratio", "cases per FTE", "cases per case-holding FTE social worker (agents and the "
            "unsimulated child-in-need caseload), average over the year", "caseload_per_fte", over_year="mean"),
    Measure("direct_hours_per_child_in_care_or_on_plan", "ratio", "hours a week",
            "direct hours per child in care or on a plan"),
    _money("spend_foster_gbp", "spend on foster placements"),
    _money("spend_childrens_homes_gbp", "spend on children's home placements"),
    _money("spend_semi_independent_gbp", "spend on semi-independent placements"),
    _money("spend_other_placements_gbp", "spend on other placements"),
    _money("spend_overhead_fixed_gbp", "fixed overhead of care (teams, legal, management; not per child)"),
    _money("spend_overhead_variable_gbp", "variable overhead of care (per child in care)"),
    _money("spend_care_overhead_gbp", "overhead of care, fixed and variable"),
    _money("spend_children_in_care_gbp", "spend on children in care", "spend_gbp"),
    _money("spend_edge_of_care_gbp", "spend on edge-of-care support", "edge_spend_gbp"),
    _money("spend_reunification_gbp", "spend on reunification support"),
    _money("spend_carer_recruitment_gbp", "spend on recruiting fostering households a lever adds"),
    _money("spend_carer_support_gbp", "spend on retention support for fostering households (a lever)"),
    _money("spend_support_gbp", "all support bought: edge-of-care, reunification, carers, extra social work (sim/costs.py SUPPORT_SPEND)",
           "spend_support_gbp"),
    _money("spend_social_work_gbp", "spend on social workers"),
    _flow("new_entries", "children entering care", "entries"),
    _flow("new_exits", "children leaving care", "exits"),
    _flow("new_reentries", "children re-entering care after a return home"),
    _flow("new_returned_home", "children returning home"),
    _flow("new_special_guardianship", "special guardianship orders"),
    _flow("new_adoptions", "adoptions"),
    _flow("new_aged_out", "children leaving care at 18"),
    _flow("new_left_16_17", "children leaving care at 16-17"),
    _flow("new_cp_plans", "child protection plans started"),
    _flow("new_referrals", "children referred at risk of care"),
    _flow("referrals_all", "referrals in the year (DfE's 2020 count on the referral trend, or the observed driver)",
          "referrals", unit="referrals a year"),
    _flow("new_edge_support_families", "families starting edge-of-care support", unit="families a year"),
    _flow("new_residential_no_foster", "children placed in a home for want of a foster place"),
    _flow("new_placement_moves", "placement moves"),
    _flow("new_placement_orders", "placement orders granted (the child waits in foster care for a match)"),
    _flow("new_independent_living", "moves at 16-17 from a family or a home into independent living"),
    _flow("new_step_downs", "step-downs from children's homes to foster care"),
    _flow("new_uasc_entries", "unaccompanied asylum-seeking children entering care"),
    _flow("new_reunification_support", "children starting reunification support"),
    _flow("new_homes_opened", "children's homes opened", unit="homes a year"),
    _flow("new_homes_closed", "children's homes closed", unit="homes a year"),
    _flow("new_foster_households_recruited", "fostering households recruited", unit="households a year"),
    _flow("new_foster_households_left", "fostering households leaving", unit="households a year"),
    _flow("new_foster_households_recruited_by_lever", "fostering households recruited beyond the baseline rate (a lever)",
          unit="households a year"),
    _flow("new_carer_left_moves", "planned moves of children whose foster carer stopped fostering"),
    Measure("child_months", "work", "child-months", "child-months simulated"),
)

BY_NAME: dict[str, Measure] = {m.name: m for m in MEASURES}
CONTRACT: dict[str, str] = {m.contract: m.name for m in MEASURES if m.contract}  # JSON key -> column
SCALED: tuple[str, ...] = tuple(m.name for m in MEASURES if m.scaled)

CALENDAR: tuple[str, ...] = ("month", "year", "month_of_year")  # when a record is: not measures

# a region's flows counted per authority (its children's care entries and exits); the other flows
# are of providers, workers or referrals the region shares, and stay the region's
AUTHORITY_FLOWS: tuple[str, ...] = ("new_entries", "new_exits", "new_reentries")
# every measure a region's authority table holds (sim/recorder.py `_record_authorities`)
AUTHORITY_MEASURES: frozenset[str] = frozenset(
    [f"n_{st.name.lower()}" for st in State if IS_ACTIVE[st]]
    + ["n_in_care", "n_foster", "n_residential", "n_childrens_homes", "n_other_care", "n_cp_plans", "n_uasc_in_care",
       "spend_foster_gbp", "spend_childrens_homes_gbp", "spend_semi_independent_gbp", "spend_other_placements_gbp",
       "spend_overhead_fixed_gbp", "spend_overhead_variable_gbp", "spend_care_overhead_gbp",
       "spend_children_in_care_gbp", "child_months", "n_social_workers", "n_agency_social_workers",
       "direct_hours_per_week", "mean_caseload", "caseload_per_fte", "direct_hours_per_child_in_care_or_on_plan",
       *AUTHORITY_FLOWS])


def to_england(values, scale: float):
    """Scale the `scaled` measures of a record (a mapping) or a table (a DataFrame) by 1/`scale`.

    The recorder records the children, places and money simulated; this is the one place
    where they become England figures. Other columns are returned unchanged.
    """
    if isinstance(values, Mapping):
        return {k: (v / scale if k in BY_NAME and BY_NAME[k].scaled else v) for k, v in values.items()}
    import pandas as pd

    if isinstance(values, pd.DataFrame):
        out = values.copy()
        for col in out.columns:
            if col in BY_NAME and BY_NAME[col].scaled:
                out[col] = out[col] / scale
        return out
    raise TypeError(f"to_england takes a mapping or a DataFrame, not {type(values).__name__}")


@dataclass
class Yearly:
    """A yearly table as plain arrays: `years` and one array per measure (in the recorder's order),
    with `attrs` (a replication's `child_months` and `seed`). `to_frame()` gives the DataFrame;
    `caresim run` reads the arrays and never imports pandas (~0.3 s of its start-up)."""

    years: np.ndarray
    columns: dict[str, np.ndarray]
    attrs: dict = field(default_factory=dict)

    def to_frame(self) -> "pd.DataFrame":
        import pandas as pd

        frame = pd.DataFrame(self.columns, index=pd.Index(self.years, name="year"))
        frame.attrs.update(self.attrs)
        return frame


def yearly_arrays(months: np.ndarray, month_of_year: np.ndarray, years: np.ndarray,
                  columns: Mapping[str, np.ndarray]) -> Yearly:
    """Twelve months to a year ending 31 March, each column by its measure's `over_year`.

    `months` are consecutive month numbers (0 = 31 March 2015) starting at a 31 March (the
    model's start), with each month's `month_of_year` and calendar `years`. "end" takes 31
    March; "sum" and "mean" take the 12 months ending then, skipping missing (NaN) values, so
    the first year (which has no months before the start: 31 March 2015, or an authority's
    local start) is missing (NaN) for them. Months after the last 31 March are left out. A
    column may be months x series (a region's authorities): each series as it would be alone.
    """
    months = np.asarray(months)
    if months.size == 0 or month_of_year[0] != 3 or np.any(np.diff(months) != 1):
        raise ValueError("yearly_arrays needs consecutive months from a 31 March")
    march = np.flatnonzero(np.asarray(month_of_year) == 3)
    n_later = march.size - 1  # years with twelve months before their 31 March
    out = {}
    for col, values in columns.items():
        if col in CALENDAR:
            continue
        values = np.asarray(values)
        over_year = BY_NAME[col].over_year
        if over_year == "end":
            out[col] = values[march]
            continue
        # (series, year, month): each year's twelve months summed as one contiguous row, so that
        # a column of several series (a region's authorities) sums exactly as each would alone
        twelve = np.ascontiguousarray(np.moveaxis(values[1: 1 + 12 * n_later].astype(np.float64).reshape(
            n_later, 12, -1), 2, 0)) if values.ndim > 1 else values[1: 1 + 12 * n_later].astype(
            np.float64).reshape(1, n_later, 12)
        seen = ~np.isnan(twelve)
        per_year = np.where(seen, twelve, 0.0).sum(axis=2)  # pandas' grouped sums differ in the last bit
        if over_year == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                per_year = per_year / seen.sum(axis=2)
        per_year[~seen.any(axis=2)] = np.nan
        per_year = np.concatenate([np.full((per_year.shape[0], 1), np.nan), per_year], axis=1).T
        out[col] = per_year if values.ndim > 1 else per_year[:, 0]
    return Yearly(np.asarray(years)[march].astype(np.int64), out)


def yearly(monthly: "pd.DataFrame") -> "pd.DataFrame":
    """`yearly_arrays` of a monthly table (indexed by month, with `year` and `month_of_year`
    columns) as a DataFrame indexed by year."""
    return yearly_arrays(monthly.index.to_numpy(), monthly["month_of_year"].to_numpy(), monthly["year"].to_numpy(),
                         {col: monthly[col].to_numpy() for col in monthly.columns}).to_frame()
