"""The month's record: every measure of sim/measures.py, counted for the children simulated.

The recorder keeps the flows of the month (`Tally`, which the phases add to as events happen)
and, at the month end, counts the stocks, the spend and the direct hours. It records
UNSCALED figures (children simulated, not England); `monthly_table` and `yearly_table` turn
them into England figures with `sim.measures.to_england`, the one place where scale applies.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.providers import ProviderKind

from sim.dates import START_YEAR
from sim.measures import AUTHORITY_FLOWS, MEASURES, SCALED, Yearly, to_england, yearly_arrays
from sim.states import (CHILDRENS_HOMES, FOSTER, IS_ACTIVE, IS_IN_CARE, is_in_care,
                        IS_RESIDENTIAL, N_STATES, OTHER_CARE, State)

if TYPE_CHECKING:
    import pandas as pd

FLOWS: tuple[str, ...] = tuple(m.name for m in MEASURES if m.kind == "flow")


def placement_stocks(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Children by active state and by placement group, from counts by state (`counts[..., state]`:
    one row of counts for the model, or one per authority of a region)."""
    # terminal states are flows (new_*), not stocks; `[()]` makes the model's 0-d count a scalar
    stocks = {f"n_{st.name.lower()}": counts[..., int(st)][()] for st in State if IS_ACTIVE[st]}
    stocks["n_in_care"] = counts[..., IS_IN_CARE].sum(axis=-1)
    stocks["n_foster"] = counts[..., list(FOSTER)].sum(axis=-1)
    stocks["n_residential"] = counts[..., IS_RESIDENTIAL].sum(axis=-1)
    stocks["n_childrens_homes"] = counts[..., list(CHILDRENS_HOMES)].sum(axis=-1)
    stocks["n_other_care"] = counts[..., list(OTHER_CARE)].sum(axis=-1)
    return stocks


class Tally(dict):
    """The flows of the month so far, by measure name (all declared flows, zero at the start)."""

    def __init__(self):
        super().__init__(dict.fromkeys(FLOWS, 0))

    def reset(self) -> None:
        for name in self:
            self[name] = 0

    def __setitem__(self, name: str, value) -> None:
        if name not in FLOWS:
            raise KeyError(f"{name!r} is not a declared flow of sim/measures.py")
        super().__setitem__(name, value)


class Recorder:
    """Month records of a model; the monthly and yearly tables at England scale."""

    def __init__(self, model):
        self.model = model
        self.flows = Tally()
        self.records: list[dict[str, float]] = []  # one per month end, unscaled
        # a region (model.n_authorities > 1): each month's record per authority, one array of
        # authorities per measure, for the measures of its own children (`_record_authorities`)
        n = model.n_authorities
        self.by_authority: list[dict[str, np.ndarray]] = []
        self.flows_by_authority = {name: np.zeros(n, dtype=np.int64) for name in AUTHORITY_FLOWS} if n > 1 else None

    def count_by_authority(self, flow: str, rows: np.ndarray) -> None:
        """Add the children `rows` to a region's `flow` by their authority (sim/transitions.py)."""
        self.flows_by_authority[flow] += np.bincount(self.model.children.authority[rows],
                                                     minlength=self.model.n_authorities)

    @property
    def current(self) -> dict[str, float]:
        """The last month's record (unscaled)."""
        return self.records[-1]

    def record(self, states: np.ndarray, n_supported_families: int, *, n_at_edge: int = 0,
               n_reunification: int = 0) -> None:
        """Record the month just ended (`states`: those of the active children, in `active_rows` order;
        families in edge-of-care support and at the edge; children in reunification support)."""
        m = self.model
        c, prov, w = m.children, m.providers, m.workers
        rows = m.active_rows
        counts = np.bincount(states, minlength=N_STATES)
        year, month0 = divmod(2 + m.month, 12)  # month 0 is March
        rec: dict[str, float] = {"month": m.month, "year": START_YEAR + year, "month_of_year": month0 + 1}
        rec.update(placement_stocks(counts))
        # on a plan: every child on a child protection plan, and supported children whose family
        # came to support from a plan (children in need are never on one: an invariant test)
        edge = rows.compress(states == State.EDGE_OF_CARE)
        rec["n_cp_plans"] = int(counts[State.CHILD_PROTECTION] + c.on_plan[edge].sum())
        in_care = is_in_care(states)
        care_rows = rows.compress(in_care)
        rec["n_uasc_in_care"] = int(c.uasc[care_rows].sum())
        fostering = m.market.fostering_rows()  # approved households (those that left hold no place)
        n = prov.n
        kin = (prov.kind[:n] == ProviderKind.KINSHIP) & (prov.occupied[:n] > 0)  # carers with a child placed
        rec["n_unrelated_foster_households"] = float(prov.households[fostering].sum())
        rec["n_kinship_carers"] = float(np.count_nonzero(kin))
        # Ofsted counts family-and-friends households among fostering households
        rec["n_foster_households"] = rec["n_unrelated_foster_households"] + rec["n_kinship_carers"]
        rec["n_foster_places"] = float(prov.places[fostering].sum())
        rec["n_foster_places_free"] = float((prov.places[fostering] - prov.occupied[fostering]).sum())
        homes = np.concatenate([m.market.rows_of_kind(kind) for kind in (ProviderKind.HOME_LA, ProviderKind.HOME_PRIVATE)])
        homes = homes.compress(prov.open[homes])
        rec["n_childrens_homes_open"] = int(homes.size)
        rec["n_home_places"] = float(prov.places[homes].sum())
        rec["n_edge_families"] = n_supported_families
        rec["n_families_at_edge"] = n_at_edge
        rec["n_reunification_support"] = n_reunification
        rec["n_social_workers"] = m.workforce.employed_fte() * m.scale  # employed FTE (DfE's count)
        rec["n_agency_social_workers"] = m.workforce.agency_fte() * m.scale
        rec["direct_hours_per_week"] = float(w.direct_hours().sum())
        rec["mean_caseload"] = m.workforce.caseload_per_fte
        rec["caseload_per_fte"] = rec["mean_caseload"]  # the same month-end figure; its year is the mean of 12
        n_cp = rec["n_cp_plans"] + rec["n_in_care"]
        rec["direct_hours_per_child_in_care_or_on_plan"] = rec["direct_hours_per_week"] / max(n_cp, 1e-9)
        # a child with no provider (-1) pays the kind's price as it is (factor 1)
        held = c.provider[care_rows]
        factors = prov.price_factor.take(held)
        no_place = held < 0
        if no_place.any():  # -1 read the last row: replaced
            factors[no_place] = 1.0
        spend = m.costs.month_spend(m.year, states.compress(in_care), factors, n_supported_families,
                                    rec["n_social_workers"] + rec["n_agency_social_workers"], scale=m.scale,
                                    n_reunification_children=n_reunification,
                                    extra_households_recruited=self.flows["new_foster_households_recruited_by_lever"],
                                    households_supported=m.policy.carer_support_share * rec["n_foster_households"])
        if m.month == m.start_month:
            spend = {k: 0.0 for k in spend}  # the state at the start (31 March) carries no spend
        rec.update(spend)
        rec.update(self.flows)
        rec["child_months"] = int(rows.size) if m.month > m.start_month else 0
        self.records.append(rec)
        if self.flows_by_authority is not None:
            self._record_authorities(rows, states, in_care, care_rows, edge, factors)

    def _record_authorities(self, rows: np.ndarray, states: np.ndarray, in_care: np.ndarray, care_rows: np.ndarray,
                            edge: np.ndarray, factors: np.ndarray) -> None:
        """A region's month record per authority (`AUTHORITY_MEASURES`): its children's stocks by
        state, care entries and exits, spend on children in care (the fixed overhead split by the
        authorities' sizes) and its workforce (sim/workforce.py `by_authority`). What the region
        shares - the providers and support - is recorded once, above."""
        m = self.model
        c, n = m.children, m.n_authorities
        auth = c.authority[rows].astype(np.intp)
        counts = np.bincount(auth * N_STATES + states, minlength=n * N_STATES).reshape(n, N_STATES)
        rec = placement_stocks(counts)
        # (`edge`, `care_rows`: record's; counting the flagged children's authorities is exact)
        rec["n_cp_plans"] = counts[:, State.CHILD_PROTECTION] + np.bincount(
            c.authority[edge.compress(c.on_plan[edge])], minlength=n)
        care_auth = auth.compress(in_care)
        rec["n_uasc_in_care"] = np.bincount(care_auth.compress(c.uasc[care_rows]), minlength=n)
        spend = m.costs.care_spend(m.year, states.compress(in_care), factors, scale=m.scale,
                                   group=care_auth, shares=m.start.shares)
        if m.month == m.start_month:
            spend = {k: np.zeros(n) for k in spend}
        rec.update(spend)
        for name, values in self.flows_by_authority.items():
            rec[name] = values.copy()
            values[:] = 0
        rec["child_months"] = counts.sum(axis=1) if m.month > m.start_month else np.zeros(n, np.int64)
        rec.update(m.workforce.by_authority())
        rec["direct_hours_per_child_in_care_or_on_plan"] = rec["direct_hours_per_week"] / np.maximum(
            rec["n_cp_plans"] + rec["n_in_care"], 1e-9)
        self.by_authority.append(rec)

    def yearly_by_authority(self) -> dict[str, "pd.DataFrame"]:
        """A region's yearly table per authority, by name: the measures of `_record_authorities`
        (the authority's own counts); every other measure is NaN (the region's, not split).
        Built as one frame (authorities one after another) and cut into each authority's rows:
        a frame each from its own arrays cost ~1.5 ms, 0.25 s for 150 authorities."""
        import pandas as pd

        columns = {name: np.array([r[name] for r in self.records]) for name in ("month", "month_of_year", "year")}
        stacked = {name: np.stack([r[name] for r in self.by_authority]) for name in self.by_authority[0]}
        yearly = yearly_arrays(columns["month"], columns["month_of_year"], columns["year"], stacked)
        every = [name for name in self.records[0] if name not in columns]
        names = self.model.start.authorities
        n_years = len(yearly.years)
        # each measure authority by authority, its years in order (the arrays are years x authorities)
        long = pd.DataFrame({k: v.T.reshape(-1) for k, v in yearly.columns.items()},
                            index=pd.Index(np.tile(yearly.years, len(names)), name="year")).reindex(columns=every)
        out = {}
        for i, name in enumerate(names):
            table = long.iloc[i * n_years:(i + 1) * n_years]
            table.attrs = {}
            out[name] = table
        return out

    def monthly_table(self) -> "pd.DataFrame":
        """One row per month-end (England scale), indexed by month."""
        import pandas as pd

        return to_england(pd.DataFrame(self.records).set_index("month"), self.model.output_scale)

    def yearly(self) -> Yearly:
        """Stocks at 31 March, flows and spend for the year ending then (England scale), as arrays:
        the month records' columns, the `scaled` ones divided by the output scale (as
        `monthly_table`), then `sim.measures.yearly_arrays`."""
        scale = self.model.output_scale
        columns = {}
        for name in self.records[0]:
            values = np.array([r[name] for r in self.records])
            columns[name] = values / scale if name in SCALED else values
        return yearly_arrays(columns["month"], columns["month_of_year"], columns["year"], columns)

    def yearly_table(self) -> "pd.DataFrame":
        """Stocks at 31 March, flows and spend for the year ending then (England scale)."""
        return self.yearly().to_frame()
