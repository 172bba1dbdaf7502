"""CareModel: children's journeys through children's social care in England, month by month.

A Mesa 3 model. Children, families, social workers and care providers are Mesa agents, each a
view over its row made when first asked for (`child(row)`, `provider(row)`, ...); the monthly
update of their numbers runs on arrays (agents/table.py) because one Python call per child per
month is ~60x slower (../shared/PERFORMANCE.md). The run starts at 31 March 2015 with
the 2015 stock (or at an authority's 31 March with its own children: sim/local_start.py) and
each `step()` is one calendar month. This module is the plan of a month;
each mechanism is a component in its own module (listed in `CareModel`'s docstring). Rules,
rates and their sources are in sim/parameters.py; the README describes each rule.
"""
from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from agents.mesa_core import Agent, Model
from agents.children import Child, ChildTable, Family, FamilyTable
from agents.providers import CareProvider, ProviderTable
from agents.workers import SocialWorker, WorkerTable
from sim import allocator, initial
from sim.costs import Costs
from sim.dates import START_DATE_YEARS, START_YEAR
from sim.front_edge import FrontEdge
from sim.in_care import InCare
from sim.local_start import AUTHORITY_RATES, LocalStart
from sim.market import ProviderMarket
from sim.measures import Yearly, to_england
from sim.parameters import Params
from sim.parameter_file import load_params
from sim.people import People
from sim.placements import PlacementLedger, Route
from sim.policy import Lever, PolicyState
from sim.recorder import Recorder
from sim.records import JourneyLog
from sim.states import State, is_active, is_at_home, is_in_care
from sim.streams import Streams
from sim.transitions import Transitions
from sim.workforce import Workforce

if TYPE_CHECKING:  # pandas is imported where a table is asked for: `caresim run` does without it
    import pandas as pd

__all__ = ["CareModel", "START_YEAR"]


class CareModel(Model):
    """The children's social care system of England (or a `scale` sample of it).

    Args:
        params: parameters; the shipped calibrated file when None.
        seed: run seed; every random process has its own stream derived from it.
        scale: share of England simulated (1 = every child); outputs are scaled back up.
        levers: policy levers (sim/levers.py), applied at a fixed point of each month.
        journeys: keep the journey log of every transition.
        drivers: observed drivers (`runner.drivers.Drivers`) that replace the referral, UASC and
            workforce trends for the years they give (sim/driven.py); None keeps the trends.
        start: an authority's own children in care at one 31 March (sim/local_start.py) in place
            of England's 2015 stock; the run starts then and reports the authority's counts. A
            region's pooled start (`sim.local_start.pool`) runs its authorities as one model.
        authority_rates: in a region, each of `sim.local_start.AUTHORITY_RATES` as one value per
            authority (its own fit); None: the region's `params` everywhere.

    Components (one module each): `people` (sim/people.py: children, families, the active set),
    `transitions` (sim/transitions.py: the one place a child's state changes), `ledger`
    (sim/placements.py: places held, matching), `market` (sim/market.py: providers and places),
    `workforce` (sim/workforce.py), `front` (sim/front_edge.py), `in_care` (sim/in_care.py),
    `costs` (sim/costs.py), `recorder` (sim/recorder.py); the 2015 stock is sim/initial.py and
    every hazard is in sim/hazards.py.

    The monthly step runs, in order (values pass between phases as arguments and results):

    1. ``update_context`` - the policy settings are reset and every lever's ``apply`` runs;
       the workforce (hires and leavers to the FTE trend, direct share of hours).
    2. ``front.refer`` - families referred onto a child protection plan or assessed at risk of
       care (sibling groups together); returns the unaccompanied asylum-seeking arrivals.
    3. ``workforce.allocate`` - new cases get the least-loaded worker (children who went home
       leave the caseload after the monitoring months, ``in_care.caseload``); returns each
       worker's direct time per case and its effect.
    4. ``front.protect`` - plans end, at-risk cases close or escalate onto a plan (a lever may
       slow escalation).
    5. ``front.support_families`` - edge-of-care support ends after its episode; free capacity
       goes to the families at the edge of care (on a plan, high hazard; a lever may target an
       age band or need) at highest risk; returns the families supported and at the edge.
    6. ``front.enter_care`` - a family's children come into care together (hazard by plan,
       risks, need, age; times the relative risk of support for a year from its start, weaker
       or none at 11+, scaled by worker time); children who went home may come back (a hazard
       falling with time at home); UASC arrivals enter; returns entrants and routes.
    7. ``in_care.support_reunification`` - back-edge support episodes (capacity, length) go to
       children whose return was not properly explored; returns the children in an episode.
    8. ``in_care.leave_care`` - return home (scaled by the worker's direct time; raised by
       support when an assessment finds a return appropriate), special guardianship,
       adoption, leaving at 16-17.
    9. ``in_care.move_placements`` - placement orders (the child waits for a match),
       placement for adoption, with parents, breakdowns, step-down, semi-independent and
       independent living at 16-17; returns movers, their routes and step-down requests.
    10. ``market.supply_places`` - fostering households' carers age, households leave (any
        household, older carers more) and are recruited (agencies also for last month's
        children who found no foster place); LA homes follow demand; empty homes close;
        returns the households that left, and ``ledger.carers_left`` releases their children,
        who join this month's movers (a planned move).
    11. ``ledger.match`` - entrants and movers go to the best available type with a free
        place; when no foster place is free a child goes to residential and that is recorded.
    12. ``in_care.age`` - a month older; 18th birthdays; children who went home leave the
        caseload after the monitoring months and the model at the re-entry horizon;
        ``market.vary_approvals`` approves to 18 the carers of a child who turned 11.
    13. ``recorder.record`` - counts, flows, costs and direct hours for the month.
    """

    def __init__(self, params: Params | None = None, *, seed: int = 1, scale: float = 1.0,
                 levers: Sequence[Lever] = (), journeys: bool = True, drivers=None,
                 start: LocalStart | None = None, authority_rates: dict | None = None):
        if start is not None:  # an authority: its own children at its 31 March, sized by its share of England
            if scale != 1.0:
                raise ValueError("a local start simulates the whole authority: scale must be 1")
            scale = start.size
        if not (isinstance(scale, (int, float)) and 0 < scale <= 1):
            raise ValueError(f"scale must be in (0, 1], got {scale!r}")
        allocator.tune()  # short-lived arrays each month: keep freed memory for reuse
        super().__init__(seed=seed)
        self.params = params if params is not None else load_params()
        self.seed = int(seed)
        self.scale = float(scale)
        self.streams = Streams(self.seed)
        self.costs = Costs(self.params)
        self.levers = list(levers)
        self.drivers = drivers
        self.policy = PolicyState()
        self.journeys = JourneyLog(enabled=journeys)
        self.start = start
        self.n_authorities = 1 if start is None else start.n_authorities  # > 1: a region (sim/local_start.py `pool`)
        self.authority_factors = None  # a region's rates by authority over the region's (`authority_rates`)
        if authority_rates is not None and self.n_authorities > 1:
            self.authority_factors = {name: np.asarray(authority_rates[name], dtype=float) / getattr(self.params, name)
                                      for name in AUTHORITY_RATES}
            if any(f.shape != (self.n_authorities,) or not np.all(np.isfinite(f)) or f.min() < 0
                   for f in self.authority_factors.values()):
                raise ValueError(f"authority_rates: one finite, non-negative value per authority ({self.n_authorities}) "
                                 f"for each of {', '.join(AUTHORITY_RATES)}")
        # months since 31 March 2015 (the calendar of every trend), also for a local start; the
        # state is that at the end of this month
        self.start_month = 0 if start is None else start.start_month
        self.month = self.start_month
        # outputs: England figures (1/scale) nationally, the authority's own counts locally
        self.output_scale = self.scale if start is None else 1.0
        self.child_months = 0
        # room for a 2015-2025 run at England's scale (tables grow by half when full: each growth
        # copies every column, 3-5 times a run from smaller starts)
        self.children = ChildTable(capacity=int(1_150_000 * self.scale) + 64)
        self.families = FamilyTable(capacity=int(750_000 * self.scale) + 64)
        self.workers = WorkerTable(capacity=int(40_000 * self.scale) + 64)
        self.providers = ProviderTable(capacity=int(150_000 * self.scale) + 64)
        self._views: dict[tuple[str, int], Agent] = {}
        self.recorder = Recorder(self)
        self.flows = self.recorder.flows  # this month's events, counted by the phases as they happen
        self.people = People(self)
        self.transitions = Transitions(self)
        self.ledger = PlacementLedger(self)
        self.market = ProviderMarket(self)
        self.workforce = Workforce(self)
        self.front = FrontEdge(self)
        self.in_care = InCare(self)
        for lever in self.levers:
            lever.init(self)
        n_supported, n_at_edge = initial.build(self)
        self.recorder.record(self.children.state[self.active_rows], n_supported, n_at_edge=n_at_edge)
        gc.freeze()  # the cyclic collector otherwise rescans every agent each month

    # ------------------------------------------------------------------ time
    @property
    def year(self) -> float:
        """The model date as a fractional year (2015.25 = 31 March 2015)."""
        return START_DATE_YEARS + self.month / 12

    @property
    def date(self) -> "pd.Timestamp":
        import pandas as pd

        y, m = divmod(2 + self.month, 12)  # month 0 is March (index 2 from January)
        return pd.Timestamp(year=START_YEAR + y, month=m + 1, day=1) + pd.offsets.MonthEnd(0)

    @property
    def years_since_start(self) -> float:
        return (self.month - self.start_month) / 12

    # ------------------------------------------------------------------ views (Mesa agents)
    def _view(self, kind: str, cls, table, row: int):
        """The Mesa agent over `row` of `table`, made and registered on first request: registering
        every worker and provider up front cost ~0.4 s of a 3.5 s full-scale run."""
        if not 0 <= row < table.n:
            raise IndexError(f"no {kind} {row}")
        key = (kind, int(row))
        agent = self._views.get(key)
        if agent is None:
            agent = self._views[key] = cls(self, int(row))
        return agent

    def child(self, row: int) -> Child:
        """The Mesa agent of the child in `row` (each agent is made on first request)."""
        return self._view("child", Child, self.children, row)

    def family(self, row: int) -> Family:
        return self._view("family", Family, self.families, row)

    def social_worker(self, row: int) -> SocialWorker:
        return self._view("worker", SocialWorker, self.workers, row)

    def provider(self, row: int) -> CareProvider:
        return self._view("provider", CareProvider, self.providers, row)

    def release(self) -> None:
        """Drop Mesa 3.3.1's class-level reference to this model, so that it can be freed."""
        Agent._ids.pop(self, None)
        self._views.clear()
        gc.unfreeze()
        allocator.note_release()  # its cycles are collected after the task (`allocator.collect_if_due`)

    # ------------------------------------------------------------------ running
    @property
    def active_rows(self) -> np.ndarray:
        """Rows of the children still in the simulation, ascending (sim/people.py)."""
        return self.people.active_rows

    @active_rows.setter
    def active_rows(self, rows: np.ndarray) -> None:
        self.people.active_rows = rows

    def update_context(self) -> PolicyState:
        """Phase 1: the policy settings (reset, then every lever), and the workforce."""
        self.policy = PolicyState()
        for lever in self.levers:
            lever.apply(self)
        self.workforce.update(self.policy.admin_time_released)
        return self.policy

    def step(self) -> None:
        """Advance one month (the numbered plan is in the class docstring)."""
        c = self.children
        self.month += 1
        self.flows.reset()
        policy = self.update_context()  # 1
        uasc_arrivals = self.front.refer()  # 2
        # who is where after referrals: each phase below narrows its own group
        active = self.active_rows
        state = c.state[active]
        is_returned = state == State.RETURNED_HOME
        returned = active.compress(is_returned)
        time = self.workforce.allocate(self.in_care.caseload(active, is_returned))  # 3
        # x.compress(mask), not x[mask]: numpy's boolean indexing is ~6x slower on the half-true,
        # unsorted masks of the step (0.9 ms against 0.13 ms for 170,000 rows; README "Reproducing results")
        home = active.compress(is_at_home(state))
        home = home.compress(~c.uasc[home])  # UASC arrivals wait for placement, not at home
        care = active.compress(is_in_care(state))
        self.front.protect(home, policy.at_risk_escalation_multiplier)  # 4
        home = self.front.at_home(home.compress(is_at_home(c.state[home])))  # support keeps them at home
        n_supported, n_at_edge = self.front.support_families(home, policy.extra_edge_capacity_families, policy)  # 5
        entrants, routes = self.front.enter_care(home, returned, uasc_arrivals, policy, time)  # 6
        n_reunification = self.in_care.support_reunification(care, returned, policy.reunification_capacity_children)  # 7
        self.in_care.leave_care(care, policy, time)  # 8
        care = care.compress(is_in_care(c.state[care]))
        movers, mover_routes, step_downs = self.in_care.move_placements(care, policy)  # 9
        left = self.market.supply_places(policy, self.recorder.current["new_residential_no_foster"])  # 10
        rehomed = self.ledger.carers_left(left, care)
        self.ledger.match(np.concatenate([entrants, movers, rehomed]),
                          np.concatenate([routes, mover_routes, np.full(rehomed.size, Route.FOSTER, np.int8)]),
                          step_downs)  # 11
        self.in_care.age(self.active_rows)  # 12
        self.market.vary_approvals()  # a child who turned 11 keeps its carers
        state = c.state[self.active_rows]
        still = is_active(state)
        self.active_rows = self.active_rows.compress(still)
        self.child_months += int(self.active_rows.size)
        self.recorder.record(state.compress(still), n_supported, n_at_edge=n_at_edge, n_reunification=n_reunification)  # 13

    def run_until(self, year: int, month: int = 3) -> None:
        """Step until the end of `month` of `year` (default 31 March)."""
        target = (year - START_YEAR) * 12 + (month - 3)
        if target < self.month:
            raise ValueError(f"the model is already past {year}-{month:02d}")
        while self.month < target:
            self.step()

    # ------------------------------------------------------------------ results
    @property
    def current(self) -> dict[str, float]:
        """The record of the month just ended (England scale)."""
        return to_england(self.recorder.current, self.output_scale)

    def monthly_table(self) -> "pd.DataFrame":
        """One row per month-end: stocks n_*, flows new_*, spend spend_*_gbp (England scale)."""
        return self.recorder.monthly_table()

    def yearly_table(self) -> "pd.DataFrame":
        """Stocks at 31 March, flows and spend for the year ending then (England scale)."""
        return self.recorder.yearly_table()

    def yearly(self) -> Yearly:
        """The yearly table as arrays (`sim.measures.Yearly`), without pandas."""
        return self.recorder.yearly()
