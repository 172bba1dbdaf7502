"""A local authority's start: its children in care at one 31 March, instead of England's 2015 stock.

`CareModel(params, start=LocalStart(...))` builds the model for one authority (sim/initial.py
calls `children_in_care` here in place of the national stock):

* the children in care are the authority's own, one per row of `children` (age in months,
  model placement state, legal status group, months in care, UASC), as
  `calibration.ssda903.estimates.population_at` reads them from its SSDA903 return;
* everything 903 does not hold - the at-home stocks (children on plans, at risk, returned
  home), the workforce, fostering households and homes - is England's scaled by `size`, the
  authority's children in care over England's (model.scale is `size`);
* the model's calendar is unchanged: `model.month` still counts months since 31 March 2015, so
  that every national trend, lever start date and unit-cost year is read at the right date;
  the run starts at month (year - 2015) x 12. Outputs are the authority's own counts (not
  scaled to England).

A region (`pool`) is several authorities' starts in one: their children tagged with their
authority's index, which every family and child then carries. Its at-home stocks, referrals,
fostering households, homes and support are sized by the authorities' summed size and shared; its
workforce is split by size among them (sim/workforce.py); `AUTHORITY_RATES` may differ by authority.

Nothing here holds an identifier: the rows are anonymous children.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agents.children import LegalStatus, Need
from sim.ages import ADULT_MONTHS
from sim.dates import START_YEAR
from sim.states import State

if TYPE_CHECKING:
    import pandas as pd

# the rates that may differ between the authorities of a region (each fitted to its own return:
# calibration/local.py); every other parameter is the region's (the national draw)
AUTHORITY_RATES = ("care_entry_rate_cp_per_year", "care_entry_rate_at_risk_per_year", "return_home_rate_per_year")
LEGAL = {"section 20": LegalStatus.SECTION_20, "care order": LegalStatus.CARE_ORDER,
         "placement order": LegalStatus.PLACEMENT_ORDER, "other": LegalStatus.CARE_ORDER}
COLUMNS = ("age_months", "state", "legal_status", "months_in_care", "uasc")


@dataclass(frozen=True)
class LocalStart:
    """An authority's stock at 31 March `year`: `children` (one row per child in care, `COLUMNS`;
    `state` a `sim.states.State` name, `legal_status` one of `LEGAL`), `size` its share of
    England's children in care, and `name` the authority (never a child's identifier)."""

    year: int
    children: pd.DataFrame
    size: float
    name: str = "authority"
    authorities: tuple[str, ...] = ()  # a region's authorities in index order (`pool`); () for one
    sizes: tuple[float, ...] = ()  # each authority's share of England's children in care, as `size`

    def __post_init__(self):
        if self.year < START_YEAR:
            raise ValueError(f"a local start at 31 March {self.year} is before the model's calendar ({START_YEAR})")
        if not 0 < self.size <= 1:
            raise ValueError(f"size must be in (0, 1], got {self.size!r}")
        if len(self.sizes) != len(self.authorities):
            raise ValueError(f"{len(self.authorities)} authorities but {len(self.sizes)} sizes")
        missing = [c for c in COLUMNS if c not in self.children.columns]
        if missing:
            raise ValueError(f"local start children lack column {missing[0]!r}")

    @property
    def n_authorities(self) -> int:
        return max(len(self.authorities), 1)

    @property
    def shares(self) -> np.ndarray:
        """Each authority's share of the region's size (summing to 1)."""
        sizes = np.asarray(self.sizes, dtype=float)
        return sizes / sizes.sum()

    @property
    def cumulative_shares(self) -> np.ndarray:
        """Cumulative shares of the authorities' sizes (the last exactly 1): a new family belongs to
        the authority whose interval holds its uniform draw (sim/people.py `add_families`)."""
        cum = np.cumsum(np.asarray(self.sizes, dtype=float))
        cum /= cum[-1]
        cum[-1] = 1.0
        return cum

    @property
    def start_month(self) -> int:
        """The model month of this 31 March (months since 31 March 2015)."""
        return (int(self.year) - START_YEAR) * 12

    def counts(self) -> dict[State, int]:
        """Children in care by placement state (every in-care state, zeros included)."""
        by = self.children["state"].value_counts()
        in_care = (State.KINSHIP, State.FOSTER_IN_HOUSE, State.FOSTER_AGENCY, State.HOME_LA, State.HOME_PRIVATE,
                   State.SEMI_INDEPENDENT, State.PLACED_WITH_PARENTS, State.PLACED_FOR_ADOPTION,
                   State.OTHER_PLACEMENT)
        return {s: int(by.get(s.name, 0)) for s in in_care}


def pool(starts: list[LocalStart], name: str = "region") -> LocalStart:
    """One start holding several authorities' children (a region run as one model): the children
    concatenated in the authorities' order, each tagged with its authority's index (`authority`);
    `size` their sizes' sum (at most England). Every authority must start at the same 31 March."""
    import pandas as pd

    years = {s.year for s in starts}
    if len(years) != 1:
        raise ValueError(f"the authorities' latest 31 March differ ({', '.join(map(str, sorted(years)))}): "
                         "a region runs from one 31 March")
    children = pd.concat([s.children for s in starts], ignore_index=True)
    children["authority"] = np.repeat(np.arange(len(starts)), [len(s.children) for s in starts])
    sizes = tuple(float(s.size) for s in starts)
    return LocalStart(years.pop(), children, min(sum(sizes), 1.0), name, tuple(s.name for s in starts), sizes)


def children_in_care(m, start: LocalStart, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Add the authority's children in care to model `m`: (rows, states).

    Age, placement, legal status, months in care and UASC come from the return; what it does
    not say is drawn from the `initial` stream as for the national stock: high need (the
    national share; every child in a children's home), reunifiable and return appropriate (the national shares), and
    months in the current placement (uniform within the time in care).
    """
    p, c = m.params, m.children
    rows_in = start.children
    n = len(rows_in)
    states = _codes(rows_in["state"], lambda name: int(State[name]), np.int8)
    ages = np.clip(rows_in["age_months"].to_numpy(dtype=np.int64), 0, ADULT_MONTHS - 1).astype(np.int16)
    homes = np.isin(states, [State.HOME_LA, State.HOME_PRIVATE])
    fams = m.people.add_families(n, gen, authority=rows_in["authority"].to_numpy() if "authority" in rows_in else None)
    need = np.where(homes, Need.HIGH, gen.random(n) < p.high_need_share).astype(np.int8)
    rows = m.people.add_children(n, State.CHILD_IN_NEED, ages, fams, need)
    c.state[rows] = states
    months = np.clip(rows_in["months_in_care"].to_numpy(dtype=np.int64), 0, ages).astype(np.int16)
    c.months_in_care[rows] = months
    c.months_in_state[rows] = (gen.random(n) * (months + 1)).astype(np.int16)
    c.n_entries[rows] = 1
    c.n_placements[rows] = 1
    c.legal_status[rows] = _codes(rows_in["legal_status"], lambda v: int(LEGAL.get(v, LegalStatus.CARE_ORDER)),
                                  c.legal_status.dtype)
    v = gen.random(n)  # one draw, as for England's stock (sim/initial.py): explored, then appropriate
    c.reunifiable[rows] = v < p.reunifiable_share
    c.return_appropriate[rows] = v < p.reunifiable_share * p.return_appropriate_share
    c.uasc[rows] = rows_in["uasc"].to_numpy(dtype=bool)
    return rows, states


def _codes(names: pd.Series, code, dtype) -> np.ndarray:
    """`code(name)` of each row, looked up once per distinct name (a region starts ~80,000 children)."""
    import pandas as pd

    index, uniques = pd.factorize(names, use_na_sentinel=False)
    return np.array([code(u) for u in uniques], dtype=dtype)[index]
