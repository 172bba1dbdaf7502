"""CareModel: children's journeys through children's social care in England, month by month.

A Mesa 3 model. Children, families, social workers and care providers are Mesa agents; the
monthly update of their numbers runs on arrays (agents/table.py) because one Python call per
child per month is ~60x slower (../shared/PERFORMANCE.md). The run starts at 31 March 2015 with
the 2015 stock and each `step()` is one calendar month. Rules, rates and their sources are in
sim/parameters.py; the README describes each rule.
"""
from __future__ import annotations

import gc
import math
from collections.abc import Sequence
from typing import NamedTuple

import mesa
import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: importing it costs `caresim run` 0.35-0.6 s

from agents.children import Child, ChildTable, Family, FamilyTable, LegalStatus, Need
from agents.providers import EXPANDS_ON_DEMAND, CareProvider, ProviderKind, ProviderTable
from agents.workers import SocialWorker, WorkerTable
from sim import allocator
from sim.costs import Costs
from sim.dates import START_DATE_YEARS, START_YEAR
from sim.parameters import CARE_AGE_BANDS, REFERRAL_AGE_BANDS, Params, load_params, monthly_probability
from sim.policy import Lever, PolicyState
from sim.records import JourneyLog, yearly_table
from sim.states import (ALLOWED, CHILDRENS_HOMES, FOSTER, IS_ACTIVE, IS_AT_HOME, IS_CHILDRENS_HOME, IS_IN_CARE,
                        IS_NON_KIN_FOSTER, IS_RESIDENTIAL, N_STATES, OTHER_CARE, RESIDENTIAL, Reason, State)
from sim.streams import Streams

ADULT_MONTHS = 18 * 12
IN_HOUSE_SERVICES = 152  # local authorities in England, each with an in-house fostering service
AGENCIES = 300  # independent fostering agencies (assumption)
SEMI_PROVIDERS = 150  # supported-accommodation providers at the start (assumption)
SEMI_PLACES_PER_PROVIDER_ADDED = 6  # places a supported-accommodation provider adds at once
# UASC arrive aged 14 to 17: 14 years plus 47 months x Beta(3, 1.2), mostly 16-17 (assumption)
UASC_FIRST_AGE_MONTHS, UASC_AGE_SPAN_MONTHS, UASC_AGE_BETA = 168, 47, (3.0, 1.2)


class Route:
    """What kind of placement a child needs (placement matching)."""

    FAMILY = 0  # kinship if the family has carers, else foster
    FOSTER = 1  # in-house or agency foster care
    RESIDENTIAL = 2  # a children's home
    SEMI = 3  # semi-independent or supported accommodation


class AtHome(NamedTuple):
    """The children at home this month, grouped by family (rows in `active_rows` order)."""

    rows: np.ndarray
    family: np.ndarray  # family id of each child
    hazard: np.ndarray  # yearly care-entry hazard of each child, before edge-of-care support
    starts: np.ndarray  # index in `rows` of each family's first child
    families: np.ndarray  # id of each family
    sizes: np.ndarray  # children of each family here

    def per_child(self, family_values: np.ndarray) -> np.ndarray:
        """A value per family spread to its children."""
        return np.repeat(family_values, self.sizes)


def _counter_names() -> list[str]:
    return ["new_entries", "new_exits", "new_reentries", "new_returned_home", "new_special_guardianship",
            "new_adoptions", "new_aged_out", "new_left_16_17", "new_cp_plans", "new_referrals",
            "new_edge_support_families", "new_residential_no_foster", "new_placement_moves",
            "new_step_downs", "new_uasc_entries", "new_reunification_support", "new_homes_opened",
            "new_homes_closed", "new_foster_households_recruited", "new_foster_households_left"]


class CareModel(mesa.Model):
    """The children's social care system of England (or a `scale` sample of it).

    Args:
        params: parameters; the shipped calibrated file when None.
        seed: run seed; every random process has its own stream derived from it.
        scale: share of England simulated (1 = every child); outputs are scaled back up.
        levers: policy levers (sim/levers.py), applied at a fixed point of each month.
        journeys: keep the journey log of every transition.

    The monthly step runs, in order (each a method of this class):

    1. ``update_context`` - the date, the workforce (hires and leavers to the FTE trend),
       prices; the policy settings are reset and every lever's ``apply`` runs.
    2. ``refer`` - families referred onto a child protection plan or assessed at risk of care
       (sibling groups together), and unaccompanied asylum-seeking children arriving.
    3. ``allocate_workers`` - new cases get the least-loaded worker; caseloads and each
       worker's direct hours per case are computed.
    4. ``protect`` - plans end, at-risk cases close or escalate onto a plan.
    5. ``support_families`` - edge-of-care support ends after its episode; free capacity goes
       to the families at highest risk of care.
    6. ``enter_care`` - a family's children come into care together (hazard by plan, risks,
       need, age; reduced by support for avoidable families, scaled by worker time);
       children who went home may come back.
    7. ``support_reunification`` - back-edge support places go to reunifiable children.
    8. ``leave_care`` - return home (scaled by the worker's direct time), special
       guardianship, adoption, leaving at 16-17.
    9. ``move_placements`` - breakdowns, placement for adoption, with parents, step-down.
    10. ``match_placements`` - entrants and movers go to the best available type with a free
        place; when no foster place is free a child goes to residential and that is recorded.
    11. ``age`` - a month older; 18th birthdays; monitoring of returned-home children ends.
    12. ``supply_places`` - foster households recruited and leaving; empty homes close.
    13. ``record`` - counts, flows, costs and direct hours for the month.
    """

    def __init__(self, params: Params | None = None, *, seed: int = 1, scale: float = 1.0,
                 levers: Sequence[Lever] = (), journeys: bool = True):
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
        self.policy = PolicyState()
        self.journeys = JourneyLog(enabled=journeys)
        self.month = 0  # months since 31 March 2015; the state is that at the end of this month
        self.child_months = 0
        self.children = ChildTable(capacity=int(400_000 * self.scale) + 64)
        self.families = FamilyTable(capacity=int(300_000 * self.scale) + 64)
        self.workers = WorkerTable(capacity=int(40_000 * self.scale) + 64)
        self.providers = ProviderTable(capacity=int(20_000 * self.scale) + 64)
        self._active_rows = np.zeros(0, dtype=np.int64)
        self._pending_rows: list[np.ndarray] = []
        self._views: dict[tuple[str, int], mesa.Agent] = {}
        self._flows = dict.fromkeys(_counter_names(), 0)
        self._direct_per_case = np.zeros(0)
        self._n_supported = 0  # families in edge-of-care support
        self.reference_direct_hours_per_case = 1.0
        self.current: dict[str, float] = {}  # this month's record
        for lever in self.levers:
            lever.init(self)
        self._build_initial_population()
        self.record()
        self.datacollector = mesa.DataCollector(
            model_reporters={k: (lambda m, k=k: m.current[k]) for k in self.current})
        self.datacollector.collect(self)
        gc.freeze()  # the cyclic collector otherwise rescans every agent each month

    # ------------------------------------------------------------------ time
    @property
    def year(self) -> float:
        """The model date as a fractional year (2015.25 = 31 March 2015)."""
        return START_DATE_YEARS + self.month / 12

    @property
    def date(self) -> pd.Timestamp:
        y, m = divmod(2 + self.month, 12)  # month 0 is March (index 2 from January)
        return pd.Timestamp(year=START_YEAR + y, month=m + 1, day=1) + pd.offsets.MonthEnd(0)

    @property
    def years_since_start(self) -> float:
        return self.month / 12

    # ------------------------------------------------------------------ views (Mesa agents)
    def _view(self, kind: str, cls, row: int):
        key = (kind, int(row))
        agent = self._views.get(key)
        if agent is None:
            agent = self._views[key] = cls(self, int(row))
        return agent

    def child(self, row: int) -> Child:
        """The Mesa agent of the child in `row` (made on first request)."""
        if not 0 <= row < self.children.n:
            raise IndexError(f"no child {row}")
        return self._view("child", Child, row)

    def family(self, row: int) -> Family:
        return self._view("family", Family, row)

    def social_worker(self, row: int) -> SocialWorker:
        return self._view("worker", SocialWorker, row)

    def provider(self, row: int) -> CareProvider:
        return self._view("provider", CareProvider, row)

    def release(self) -> None:
        """Drop Mesa 3.3.1's class-level reference to this model, so that it can be freed."""
        mesa.Agent._ids.pop(self, None)
        self._views.clear()
        gc.unfreeze()

    # ------------------------------------------------------------------ running
    def step(self) -> None:
        """Advance one month (the run order is in the class docstring)."""
        c = self.children
        self.month += 1
        self._flows = dict.fromkeys(self._flows, 0)
        self.update_context()
        self.refer()
        self.allocate_workers()
        # who is where after referrals: each phase below narrows its own group
        state = c.state[self.active_rows]
        home = self.active_rows[IS_AT_HOME[state]]
        home = home[~c.uasc[home]]  # UASC arrivals wait for placement, not at home
        returned = self.active_rows[state == State.RETURNED_HOME]
        care = self.active_rows[IS_IN_CARE[state]]
        self.protect(home)
        home = self._home_with_hazards(home[IS_AT_HOME[c.state[home]]])  # support keeps them at home
        self.support_families(home)
        entrants, routes = self.enter_care(home, returned)
        self.support_reunification(care)
        self.leave_care(care)
        care = care[IS_IN_CARE[c.state[care]]]
        movers, mover_routes, step_downs = self.move_placements(care)
        self.match_placements(np.concatenate([entrants, movers]), np.concatenate([routes, mover_routes]),
                              step_downs)
        self.age()
        self.supply_places()
        state = c.state[self.active_rows]
        still = IS_ACTIVE[state]
        self.active_rows = self.active_rows[still]
        self.child_months += int(self.active_rows.size)
        self.record(state[still])

    def run_until(self, year: int, month: int = 3) -> None:
        """Step until the end of `month` of `year` (default 31 March)."""
        target = (year - START_YEAR) * 12 + (month - 3)
        if target < self.month:
            raise ValueError(f"the model is already past {year}-{month:02d}")
        while self.month < target:
            self.step()

    # ------------------------------------------------------------------ results
    def monthly_table(self) -> pd.DataFrame:
        """One row per month-end: stocks n_*, flows new_*, spend spend_*_gbp (England scale)."""
        return self.datacollector.get_model_vars_dataframe().set_index("month")

    def yearly_table(self) -> pd.DataFrame:
        """Stocks at 31 March, flows and spend for the year ending then (England scale)."""
        return yearly_table(self.monthly_table())

    # ------------------------------------------------------------------ building
    def _add_children(self, count: int, state: State, ages: np.ndarray, families: np.ndarray,
                      need: np.ndarray) -> np.ndarray:
        c = self.children
        rows = c.append(count)
        c.state[rows] = state
        c.age_months[rows] = ages
        c.family[rows] = families
        c.need[rows] = need
        c.on_plan[rows] = state in (State.CHILD_PROTECTION, State.EDGE_OF_CARE)
        self._pending_rows.append(rows)
        return rows

    @property
    def active_rows(self) -> np.ndarray:
        """Rows of the children still in the simulation, ascending (new rows join on first read)."""
        if self._pending_rows:
            self._active_rows = np.concatenate([self._active_rows, *self._pending_rows])
            self._pending_rows = []
        return self._active_rows

    @active_rows.setter
    def active_rows(self, rows: np.ndarray) -> None:
        if self._pending_rows:
            raise RuntimeError("set active_rows only from a value read after the last addition")
        self._active_rows = rows

    def _draw_family_risks(self, count: int, gen: np.random.Generator) -> dict[str, np.ndarray]:
        p = self.params
        return {"domestic_abuse": gen.random(count) < p.domestic_abuse_share,
                "substance_misuse": gen.random(count) < p.substance_misuse_share,
                "mental_health": gen.random(count) < p.mental_health_share,
                "avoidable": gen.random(count) < p.avoidable_share}

    def _add_families(self, count: int, gen: np.random.Generator, sizes: np.ndarray | None = None,
                      risks: dict[str, np.ndarray] | None = None) -> np.ndarray:
        f = self.families
        rows = f.append(count)
        f.n_children[rows] = 1 if sizes is None else sizes
        for name, values in (risks or self._draw_family_risks(count, gen)).items():
            getattr(f, name)[rows] = values
        return rows

    def _family_sizes(self, n_families: int, gen: np.random.Generator) -> np.ndarray:
        p = self.params
        shares = np.array([1 - p.sibling_share_2 - p.sibling_share_3 - p.sibling_share_4,
                           p.sibling_share_2, p.sibling_share_3, p.sibling_share_4])
        return 1 + gen.choice(4, size=n_families, p=shares / shares.sum())

    def _mean_family_size(self) -> float:
        p = self.params
        return 1 + p.sibling_share_2 + 2 * p.sibling_share_3 + 3 * p.sibling_share_4

    @staticmethod
    def _ages(bands, n: int, gen: np.random.Generator) -> np.ndarray:
        weights = np.array([b[2] for b in bands])
        band = gen.choice(len(bands), size=n, p=weights / weights.sum())
        lo = np.array([b[0] for b in bands])[band] * 12
        hi = np.array([b[1] for b in bands])[band] * 12
        return (lo + gen.random(n) * (hi - lo)).astype(np.int16)

    def _referred_sibling_groups(self, n_children_expected: float, state: State, gen,
                                 history_months: int = 0) -> np.ndarray:
        """Referral of sibling groups adding up to about `n_children_expected` children.

        With `history_months`, the groups were referred uniformly over that many past months and
        only those still at home now are kept: each family survives its own exit and care-entry
        hazards for the months since referral. This gives the initial stock the risk mix of a
        stock in steady state (high-risk families have already left), not that of new referrals.
        """
        p = self.params
        n_fam = int(gen.poisson(max(n_children_expected, 0) / self._mean_family_size()))
        if n_fam == 0:
            return np.zeros(0, dtype=np.int64)
        sizes = self._family_sizes(n_fam, gen)
        risks = self._draw_family_risks(n_fam, gen)
        child_fam = np.repeat(np.arange(n_fam), sizes)
        n = child_fam.size
        ages = self._ages(REFERRAL_AGE_BANDS, n, gen)
        need = (gen.random(n) < p.high_need_share).astype(np.int8)
        months_ago = np.zeros(n, dtype=np.int16)
        if history_months:
            fam_ago = gen.integers(0, history_months, n_fam)
            on_plan = np.full(n, state == State.CHILD_PROTECTION)
            n_risks = (risks["domestic_abuse"].astype(np.int8) + risks["substance_misuse"] + risks["mental_health"])[child_fam]
            # months of exposure: a referral faces the hazards in its own month too; the infant
            # multiplier applies only to the months a child was under one
            exposed = (fam_ago[child_fam] + 1).astype(float)
            infant_months = np.clip(12 - ages, 0, None).clip(max=exposed)
            older = self._hazard_values(on_plan, n_risks, need, np.full(n, 12))
            infant = self._hazard_values(on_plan, n_risks, need, np.zeros(n))
            cumulative = older * exposed + (infant - older) * infant_months
            starts = np.flatnonzero(np.concatenate([[True], child_fam[1:] != child_fam[:-1]]))
            exit_rate = (p.cp_plan_end_rate_per_year if state == State.CHILD_PROTECTION
                         else p.at_risk_closure_rate_per_year + p.at_risk_escalation_rate_per_year)
            survival = np.exp(-(exit_rate * (fam_ago + 1) + np.maximum.reduceat(cumulative, starts)) / 12)
            keep_fam = gen.random(n_fam) < survival
            months_ago = fam_ago[child_fam].astype(np.int16)
            keep = keep_fam[child_fam] & (ages + months_ago < ADULT_MONTHS)
            ages = ages + months_ago
            kept_fams, child_fam = np.unique(child_fam[keep], return_inverse=True)
            sizes = np.bincount(child_fam, minlength=kept_fams.size)
            risks = {k: v[kept_fams] for k, v in risks.items()}
            ages, need, months_ago = ages[keep], need[keep], months_ago[keep]
            n, n_fam = int(keep.sum()), kept_fams.size
            if n == 0:
                return np.zeros(0, dtype=np.int64)
        fams = self._add_families(n_fam, gen, sizes, risks)
        rows = self._add_children(n, state, ages, fams[child_fam], need)
        self.children.months_in_state[rows] = months_ago
        self.journeys.add(rows, self.month, np.full(n, int(State.CLOSED)), np.int8(state), Reason.REFERRAL)
        return rows

    def _build_initial_population(self) -> None:
        """The 31 March 2015 stock: children in care by placement type and age, plans, at-risk cases.

        Time in care of the initial stock is drawn from the survival curve of the model's own
        exit hazards, so the first years neither dip nor jump (no warm-up artefact).
        """
        p, s = self.params, self.scale
        gen = self.streams["initial"].generator
        self._hire_workers(self._fte_target())
        # --- providers sized to the 2015 stock
        n_care = int(round(p.children_in_care_2015 * s))
        foster = p.foster_share_2015 * n_care
        kinship = foster * p.kinship_share_at_entry
        in_house = (foster - kinship) * p.in_house_preference
        agency = foster - kinship - in_house
        residential = p.residential_share_2015 * n_care
        semi = residential * p.semi_independent_share_of_residential
        homes = residential - semi
        la_homes = homes * p.la_share_of_homes
        counts = {
            State.KINSHIP: kinship, State.FOSTER_IN_HOUSE: in_house, State.FOSTER_AGENCY: agency,
            State.HOME_LA: la_homes, State.HOME_PRIVATE: homes - la_homes, State.SEMI_INDEPENDENT: semi,
            State.PLACED_WITH_PARENTS: p.placed_with_parents_share_2015 * n_care,
            State.PLACED_FOR_ADOPTION: p.placed_for_adoption_share_2015 * n_care,
        }
        counts = {k: int(round(v)) for k, v in counts.items()}
        counts[State.OTHER_PLACEMENT] = max(n_care - sum(counts.values()), 0)
        self._open_fostering(ProviderKind.FOSTER_IN_HOUSE, IN_HOUSE_SERVICES, counts[State.FOSTER_IN_HOUSE], gen)
        self._open_fostering(ProviderKind.FOSTER_AGENCY, AGENCIES, counts[State.FOSTER_AGENCY], gen)
        self._open_providers(ProviderKind.KINSHIP, max(1, round(IN_HOUSE_SERVICES * s)), counts[State.KINSHIP], gen)
        self._open_providers(ProviderKind.SEMI_INDEPENDENT, max(1, round(SEMI_PROVIDERS * s)),
                             counts[State.SEMI_INDEPENDENT], gen)
        for kind, state in ((ProviderKind.HOME_LA, State.HOME_LA), (ProviderKind.HOME_PRIVATE, State.HOME_PRIVATE)):
            places = counts[state] / max(1 - p.home_vacancy_2015, 1e-9)
            n_homes = max(1, math.ceil(places / p.places_per_home))
            self._open_providers(kind, n_homes, n_homes * int(p.places_per_home), gen)

        # --- children in care
        states = np.repeat(np.array([int(k) for k in counts], dtype=np.int8), list(counts.values()))
        gen.shuffle(states)
        n = states.size
        young = states == State.PLACED_FOR_ADOPTION
        homes_mask = np.isin(states, [State.HOME_LA, State.HOME_PRIVATE])
        semi_mask = states == State.SEMI_INDEPENDENT
        ages = np.zeros(n, dtype=np.int16)
        ages[young] = (6 + gen.random(young.sum()) * 54).astype(np.int16)
        ages[homes_mask] = (132 + gen.random(homes_mask.sum()) * 84).astype(np.int16)
        ages[semi_mask] = (192 + gen.random(semi_mask.sum()) * 24).astype(np.int16)
        rest = ~(young | homes_mask | semi_mask)
        # the others take the age bands that the placements above left, so the whole stock has the mix
        edges = [b[0] * 12 for b in CARE_AGE_BANDS] + [ADULT_MONTHS]
        used = np.histogram(ages[~rest], bins=edges)[0]
        left = np.maximum(np.array([b[2] for b in CARE_AGE_BANDS]) * n - used, 0)
        ages[rest] = self._ages(tuple((b[0], b[1], w) for b, w in zip(CARE_AGE_BANDS, left)), int(rest.sum()), gen)
        fams = self._add_families(n, gen)
        need = np.where(homes_mask, Need.HIGH, (gen.random(n) < p.high_need_share)).astype(np.int8)
        rows = self._add_children(n, State.CHILD_IN_NEED, ages, fams, need)
        c = self.children
        c.state[rows] = states
        c.months_in_care[rows] = self._initial_durations(ages, gen)
        c.months_in_state[rows] = (gen.random(n) * (c.months_in_care[rows] + 1)).astype(np.int16)
        c.n_entries[rows] = 1
        c.n_placements[rows] = 1
        c.legal_status[rows] = np.where(gen.random(n) < p.section_20_share_2015, LegalStatus.SECTION_20,
                                        LegalStatus.CARE_ORDER)
        c.legal_status[rows[young]] = LegalStatus.PLACEMENT_ORDER
        c.reunifiable[rows] = gen.random(n) < p.reunifiable_share
        older = np.flatnonzero((ages >= 168) & np.isin(states, [State.FOSTER_AGENCY, State.SEMI_INDEPENDENT]))
        n_uasc = min(int(round(self._uasc_steady_stock() * s)), older.size)
        uasc = rows[gen.choice(older, size=n_uasc, replace=False)]
        c.uasc[uasc] = True
        c.age_months[uasc], c.months_in_care[uasc] = self._uasc_steady_ages(n_uasc, gen)
        c.months_in_state[uasc] = np.minimum(c.months_in_state[uasc], c.months_in_care[uasc])
        for kind in (ProviderKind.KINSHIP, ProviderKind.FOSTER_IN_HOUSE, ProviderKind.FOSTER_AGENCY,
                     ProviderKind.HOME_LA, ProviderKind.HOME_PRIVATE, ProviderKind.SEMI_INDEPENDENT):
            placed = rows[states == kind]
            self._take_places(placed, kind, self.streams["initial"].generator)
        self.journeys.add(rows, 0, np.full(n, int(State.CLOSED)), states, Reason.INITIAL)

        # --- at home: children on plans and assessed at risk, from the referrals of the past five
        # years that are still at home (steady-state stocks and risk mix)
        history = 60
        at_risk = self._referred_sibling_groups(p.at_risk_referrals_per_year * s * history / 12, State.CHILD_IN_NEED,
                                                gen, history_months=history)
        # plans come from referrals and from at-risk cases escalating (at today's at-risk stock)
        cp_rate = p.cp_starts_per_year * s + at_risk.size * p.at_risk_escalation_rate_per_year
        self._referred_sibling_groups(cp_rate * history / 12, State.CHILD_PROTECTION, gen, history_months=history)
        returns_per_year = n_care * p.return_home_rate_per_year * 1.5
        n_returned = int(round(returns_per_year * p.monitoring_months / 12 * (1 - 0.5 * p.reentry_rate_per_year)))
        if n_returned > 0:
            fams = self._add_families(n_returned, gen)
            ages = self._ages(CARE_AGE_BANDS, n_returned, gen)
            ages = np.minimum(ages, ADULT_MONTHS - 1 - int(p.monitoring_months))
            need = (gen.random(n_returned) < p.high_need_share).astype(np.int8)
            back = self._add_children(n_returned, State.RETURNED_HOME, ages.clip(0), fams, need)
            c.months_in_state[back] = (gen.random(n_returned) * p.monitoring_months).astype(np.int16)
            self.journeys.add(back, 0, np.full(n_returned, int(State.CLOSED)), np.int8(State.RETURNED_HOME),
                              Reason.INITIAL)
            c.n_entries[back] = 1
            c.n_placements[back] = 1
        self.allocate_workers()
        self.reference_direct_hours_per_case = float(np.mean(self._direct_per_case[self.children.worker[self.active_rows]]))
        self.allocate_workers()  # again, to compute the time effects against that reference
        self.support_families()

    def _uasc_steady_stock(self) -> float:
        """UASC in care in steady state at the 2015 arrival rate (England scale).

        Arrivals per month x expected months in care: each stays until 18, or until leaving at
        16-17 at its hazard; ages at arrival from their distribution's quantiles (no draws).
        """
        p = self.params
        ages = UASC_FIRST_AGE_MONTHS + special.betaincinv(*UASC_AGE_BETA, (np.arange(200) + 0.5) / 200) * UASC_AGE_SPAN_MONTHS
        before_16 = np.clip(192 - ages, 0, None)
        after_16 = ADULT_MONTHS - np.maximum(ages, 192)
        r = p.left_16_17_rate_per_year / 12
        stay = before_16 + (after_16 if r == 0 else -np.expm1(-r * after_16) / r)
        return p.uasc_entries_per_year / 12 * float(stay.mean())

    def _uasc_steady_ages(self, n: int, gen) -> tuple[np.ndarray, np.ndarray]:
        """Ages and months in care of `n` UASC drawn from the steady-state stock.

        A stock holds arrivals (age a0) still in care d months later, with density proportional
        to the arrival density times the chance of still being in care: drawn by rejection.
        """
        r = self.params.left_16_17_rate_per_year / 12
        ages, months = [np.zeros(0)], [np.zeros(0)]
        while sum(a.size for a in ages) < n:
            a0 = UASC_FIRST_AGE_MONTHS + gen.beta(*UASC_AGE_BETA, 4 * n + 64) * UASC_AGE_SPAN_MONTHS
            d = gen.random(a0.size) * (ADULT_MONTHS - a0)
            still_in_care = np.exp(-r * np.maximum(a0 + d - np.maximum(a0, 192), 0))
            weight = (ADULT_MONTHS - a0) * still_in_care / (ADULT_MONTHS - UASC_FIRST_AGE_MONTHS)
            keep = gen.random(a0.size) < weight
            ages.append((a0 + d)[keep])
            months.append(d[keep])
        return (np.concatenate(ages)[:n].astype(np.int16), np.concatenate(months)[:n].astype(np.int16))

    def _initial_durations(self, ages: np.ndarray, gen) -> np.ndarray:
        """Months in care of the 2015 stock, drawn from the survival curve of the exit hazards."""
        p = self.params
        d = np.arange(ADULT_MONTHS)
        rate = (p.return_home_rate_per_year * np.where(d < 6, p.return_home_early_multiplier, 1.0)
                + np.where(d >= 6, p.special_guardianship_rate_per_year * 2 + p.placed_for_adoption_rate_per_year * 0.1, 0))
        survival = np.exp(-np.concatenate([[0.0], np.cumsum(rate / 12)[:-1]]))
        cdf = np.cumsum(survival) / survival.sum()
        u = gen.random(ages.size) * cdf[np.minimum(ages, ADULT_MONTHS - 1)]
        return np.minimum(np.searchsorted(cdf, u), ages).astype(np.int16)

    # ------------------------------------------------------------------ providers
    def _new_providers(self, kind: ProviderKind, count: int, places: np.ndarray, gen) -> np.ndarray:
        prov = self.providers
        rows = prov.append(count)
        prov.kind[rows] = int(kind)
        prov.places[rows] = places
        prov.price_factor[rows] = np.exp(gen.normal(-0.5 * self.params.cost_dispersion ** 2,
                                                    self.params.cost_dispersion, count))
        for r in rows:
            self._view("provider", CareProvider, r)
        return rows

    def _split(self, total: int, parts: int, gen) -> np.ndarray:
        return gen.multinomial(int(total), np.full(parts, 1 / parts)) if total > 0 else np.zeros(parts, dtype=int)

    def _open_providers(self, kind, n, places, gen) -> None:
        n = max(1, int(n))
        self._new_providers(kind, n, self._split(places, n, gen), gen)

    def _open_fostering(self, kind, n_services: int, occupied: int, gen) -> None:
        p = self.params
        n = max(1, round(n_services * self.scale))
        places = int(round(occupied / max(1 - p.foster_vacancy_2015, 1e-9)))
        rows = self._new_providers(kind, n, self._split(places, n, gen), gen)
        self.providers.households[rows] = self.providers.places[rows] / p.places_per_foster_household

    def _take_places(self, rows: np.ndarray, kind: ProviderKind, gen) -> np.ndarray:
        """Place `rows` with providers of `kind` that have a free place; returns those placed."""
        if rows.size == 0:
            return rows
        prov = self.providers
        of_kind = np.flatnonzero((prov.kind[: prov.n] == kind) & prov.open[: prov.n])
        free = prov.free_places()[of_kind]
        if kind in EXPANDS_ON_DEMAND and free.sum() < rows.size:
            self._expand(kind, rows.size - int(free.sum()), gen)
            of_kind = np.flatnonzero((prov.kind[: prov.n] == kind) & prov.open[: prov.n])
            free = prov.free_places()[of_kind]
        slots = np.repeat(of_kind, free)
        take = min(rows.size, slots.size)
        if take == 0:
            return rows[:0]
        chosen = slots[gen.permutation(slots.size)[:take]] if take < slots.size else gen.permutation(slots)
        placed = rows[:take]
        np.add.at(prov.occupied, chosen, 1)
        self.children.provider[placed] = chosen
        return placed

    def _expand(self, kind: ProviderKind, shortfall: int, gen) -> None:
        """The market adds places where children need them (kinds in EXPANDS_ON_DEMAND)."""
        prov = self.providers
        if kind == ProviderKind.HOME_PRIVATE:
            per_home = int(self.params.places_per_home)
            n_new = math.ceil(shortfall / per_home)
            self._new_providers(kind, n_new, np.full(n_new, per_home), gen)
            self._flows["new_homes_opened"] += n_new
            return
        if kind == ProviderKind.SEMI_INDEPENDENT:
            n_new = math.ceil(shortfall / SEMI_PLACES_PER_PROVIDER_ADDED)
            self._new_providers(kind, n_new, np.full(n_new, SEMI_PLACES_PER_PROVIDER_ADDED), gen)
            return
        of_kind = np.flatnonzero((prov.kind[: prov.n] == kind) & prov.open[: prov.n])
        np.add.at(prov.places, of_kind[gen.integers(0, of_kind.size, shortfall)], 1)

    # ------------------------------------------------------------------ workforce
    def _fte_target(self) -> int:
        p = self.params
        fte = p.social_workers_fte_2020 * (1 + p.social_workers_growth_per_year) ** (self.year - 2020.75)
        return max(1, int(round(fte * self.scale)))

    def _hire_workers(self, target: int) -> None:
        w = self.workers
        active = int(w.active[: w.n].sum())
        if target > active:
            rows = w.append(target - active)
            w.weekly_hours[rows] = self.params.weekly_hours
            for r in rows:
                self._view("worker", SocialWorker, r)
        elif target < active:
            leaving = np.flatnonzero(w.active[: w.n])[target:]
            w.active[leaving] = False
            c = self.children
            mine = self.active_rows[np.isin(c.worker[self.active_rows], leaving)]
            c.worker[mine] = -1  # reallocated this month

    # ------------------------------------------------------------------ the monthly step
    def update_context(self) -> None:
        """Date-dependent context: the workforce, policy settings (reset, then every lever)."""
        self._hire_workers(self._fte_target())
        self.policy = PolicyState()
        for lever in self.levers:
            lever.apply(self)
        p, w = self.params, self.workers
        released = min(max(self.policy.admin_time_released, 0.0), 1.0)
        w.direct_share[: w.n] = p.direct_share + released * (1 - p.direct_share)

    def _trend(self, rate: float) -> float:
        return (1 + rate) ** self.years_since_start

    def refer(self) -> None:
        """New children at risk: referrals onto plans and at-risk assessments; UASC arrivals."""
        p, s = self.params, self.scale
        gen = self.streams["referrals"].generator
        demand = self._trend(p.referral_trend_per_year) * s / 12
        cp = self._referred_sibling_groups(p.cp_starts_per_year * demand, State.CHILD_PROTECTION, gen)
        risk = self._referred_sibling_groups(p.at_risk_referrals_per_year * demand, State.CHILD_IN_NEED, gen)
        self._flows["new_cp_plans"] += cp.size
        self._flows["new_referrals"] += cp.size + risk.size
        n_uasc = int(gen.poisson(p.uasc_entries_per_year * self._trend(p.uasc_trend_per_year) * s / 12))
        self._uasc_arrivals = np.zeros(0, dtype=np.int64)
        if n_uasc:
            fams = self._add_families(n_uasc, gen)
            self.families.avoidable[fams] = False
            self.families.domestic_abuse[fams] = False
            self.families.substance_misuse[fams] = False
            self.families.mental_health[fams] = False
            ages = (UASC_FIRST_AGE_MONTHS + gen.beta(*UASC_AGE_BETA, n_uasc) * UASC_AGE_SPAN_MONTHS).astype(np.int16)
            rows = self._add_children(n_uasc, State.CHILD_IN_NEED, ages, fams, np.zeros(n_uasc, np.int8))
            self.children.uasc[rows] = True
            self.journeys.add(rows, self.month, np.full(n_uasc, int(State.CLOSED)), np.int8(State.CHILD_IN_NEED),
                              Reason.REFERRAL)
            self._uasc_arrivals = rows

    def allocate_workers(self) -> None:
        """Cases without a worker go to the least-loaded; caseloads and direct hours per case."""
        c, w = self.children, self.workers
        rows = self.active_rows
        workers = c.worker[rows]
        active_workers = np.flatnonzero(w.active[: w.n])
        counts = np.bincount(workers[workers >= 0], minlength=w.n)
        unallocated = rows[workers < 0]
        if unallocated.size:
            # caseloads are small integers: numpy's stable sort of 16-bit keys is a radix sort
            keys = counts[active_workers]
            keys = keys.astype(np.int16) if keys.max(initial=0) < 2**15 else keys
            order = active_workers[np.argsort(keys, kind="stable")]
            chosen = order[np.arange(unallocated.size) % order.size]
            c.worker[unallocated] = chosen
            counts += np.bincount(chosen, minlength=w.n)
        # the wider child-in-need caseload is not simulated child by child: it fills each
        # worker's caseload up to the observed average, spread evenly
        pool = max(self.params.average_caseload * active_workers.size - rows.size, 0.0)
        w.caseload[: w.n] = np.where(w.active[: w.n], counts + pool / max(active_workers.size, 1), 0)
        self._direct_per_case = w.direct_hours() / np.maximum(w.caseload[: w.n], 1.0)
        h, h_half = self._direct_per_case, self.params.half_effect_direct_hours
        ref = self.reference_direct_hours_per_case
        self._worker_effect = (h / (h + h_half)) / (ref / (ref + h_half))

    def time_effect(self, rows: np.ndarray) -> np.ndarray:
        """How the direct time of each child's worker scales time-dependent effects (1 at baseline).

        A saturating curve h / (h + h_half), normalised by its value at the 2015 mean direct
        hours per case: more time helps, with diminishing returns.
        """
        return self._worker_effect[self.children.worker[rows]]

    def _at_home_rows(self) -> np.ndarray:
        """Children at home and known (UASC arrivals wait for placement; they are not at home)."""
        rows = self.active_rows[IS_AT_HOME[self.children.state[self.active_rows]]]
        return rows[~self.children.uasc[rows]]

    def _move(self, rows: np.ndarray, to, reason: Reason | np.ndarray) -> None:
        """Move `rows` to state(s) `to` for reason(s) `reason`: the one place where a child's state changes."""
        if rows.size == 0:
            return
        c = self.children
        frm = c.state[rows]
        if np.ndim(to) == 0:  # one target state (most calls): scalar lookups
            to = np.int8(to)
            allowed, now_in = ALLOWED[:, to][frm], IS_IN_CARE[to]  # a numpy bool: ~ negates it
        else:
            to = np.asarray(to, dtype=np.int8)
            allowed, now_in = ALLOWED[frm, to], IS_IN_CARE[to]
        if not allowed.all():
            bad = np.flatnonzero(~allowed)[0]
            target = to if np.ndim(to) == 0 else to[bad]
            why = Reason(int(reason if np.ndim(reason) == 0 else reason[bad])).name
            raise RuntimeError(f"disallowed move {State(frm[bad]).name} -> {State(target).name} ({why})")
        self.journeys.add(rows, self.month, frm, to, reason)
        held = c.provider[rows]
        has = held >= 0
        if has.any():
            np.subtract.at(self.providers.occupied, held[has], 1)
            c.provider[rows[has]] = -1
        was_in = IS_IN_CARE[frm]
        entering = ~was_in & now_in
        if entering.any():
            new = rows[entering]
            c.n_entries[new] += 1
            c.months_in_care[new] = 0
            c.on_plan[new] = False
            self._flows["new_entries"] += new.size
            self._flows["new_reentries"] += int((frm[entering] == State.RETURNED_HOME).sum())
        leaving = was_in & ~now_in
        if leaving.any():
            self._flows["new_exits"] += int(leaving.sum())
            c.legal_status[rows[leaving]] = LegalStatus.NONE
        if np.ndim(now_in) == 0:
            if now_in:
                c.n_placements[rows] += 1
        else:
            c.n_placements[rows[now_in]] += 1
        c.state[rows] = to
        c.months_in_state[rows] = 0

    def protect(self, rows: np.ndarray) -> None:
        """Plans end and at-risk cases close or escalate, a family's children together."""
        p, c = self.params, self.children
        state = c.state[rows]
        u = self.streams["protection"].uniform(c.family[rows], self.month)
        # support does not hold a case open: a supported family's plan ends or its case closes as
        # it would unsupported (else support, by keeping families at risk longer, raises entries)
        edge = state == State.EDGE_OF_CARE
        plan = (state == State.CHILD_PROTECTION) | (edge & c.on_plan[rows])
        cp = rows[plan & (u < monthly_probability(p.cp_plan_end_rate_per_year))]
        c.on_plan[cp] = False
        self._move(cp, State.CLOSED, Reason.PLAN_ENDED)
        in_need = state == State.CHILD_IN_NEED
        p_esc = monthly_probability(p.at_risk_escalation_rate_per_year)
        p_close = monthly_probability(p.at_risk_closure_rate_per_year)
        escalate = rows[in_need & (u < p_esc)]
        c.on_plan[escalate] = True
        self._move(escalate, State.CHILD_PROTECTION, Reason.ESCALATION)
        self._flows["new_cp_plans"] += escalate.size
        closing = (in_need | (edge & ~plan)) & (u >= p_esc) & (u < p_esc + p_close)
        self._move(rows[closing], State.CLOSED, Reason.CASE_CLOSED)

    def _entry_hazard(self, rows: np.ndarray, fam: np.ndarray) -> np.ndarray:
        """Yearly care-entry hazard of each at-home child (`fam`: their families), before support."""
        c, f = self.children, self.families
        n_risks = (f.domestic_abuse[fam].astype(np.int8) + f.substance_misuse[fam] + f.mental_health[fam])
        return self._hazard_values(c.on_plan[rows], n_risks, c.need[rows], c.age_months[rows])

    def _hazard_values(self, on_plan, n_risks, need, age_months) -> np.ndarray:
        """Care-entry hazard per year: base rate (plan or not) x risk factors x need x infancy.

        Each factor takes two or four values, so the hazard is read from a table of their
        32 combinations, indexed by (plan, risks, need, infant).
        """
        p = self.params
        base = np.array([p.care_entry_rate_at_risk_per_year, p.care_entry_rate_cp_per_year])[:, None, None, None]
        risks = (p.risk_factor_multiplier ** np.arange(4))[None, :, None, None]
        need_factor = np.array([1.0, p.high_need_multiplier])[None, None, :, None]
        infancy = np.array([1.0, p.infant_entry_multiplier])[None, None, None, :]
        table = (base * risks * (need_factor * infancy)).ravel()
        code = on_plan.astype(np.int8) * 16
        code += n_risks.astype(np.int8) * 4
        code += need.astype(np.int8) * 2
        code += age_months < 12
        return table[code]

    @staticmethod
    def family_max(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Maximum of `values` over each family's children.

        Siblings are created together and families in creation order, so family ids never
        decrease along rows; rows in `active_rows` order are therefore grouped by family, and
        a `reduceat` replaces a sort.
        """
        return np.maximum.reduceat(values, starts) if starts.size else values[:0]

    def _home_with_hazards(self, rows: np.ndarray | None = None) -> AtHome:
        """The at-home children (`rows`, else all), grouped by family, with their entry hazards."""
        rows = self._at_home_rows() if rows is None else rows
        fam = self.children.family[rows]
        # rows ascend and family ids never decrease along rows: a family's children are adjacent
        starts = np.flatnonzero(np.concatenate([[True], fam[1:] != fam[:-1]])) if fam.size else np.zeros(0, np.int64)
        return AtHome(rows, fam, self._entry_hazard(rows, fam), starts, fam[starts], np.diff(starts, append=rows.size))

    def support_families(self, home=None) -> None:
        """Edge-of-care support: episodes end; free places go to the families at highest risk."""
        p, c, f = self.params, self.children, self.families
        home = home if home is not None else self._home_with_hazards()
        rows, hazard, starts, fam_ids = home.rows, home.hazard, home.starts, home.families
        in_edge = c.state[rows] == State.EDGE_OF_CARE
        support_until = f.support_until[fam_ids]
        fam_in_edge = np.logical_or.reduceat(in_edge, starts) if starts.size else in_edge[:0]
        fam_ended = fam_in_edge & (support_until < self.month)
        ended_rows = rows[in_edge & home.per_child(fam_ended)]
        self._move(ended_rows, np.where(c.on_plan[ended_rows], State.CHILD_PROTECTION, State.CHILD_IN_NEED),
                   Reason.SUPPORT_ENDED)
        capacity = (p.edge_capacity_families + self.policy.extra_edge_capacity_families) * self.scale
        self._n_supported = int((fam_in_edge & ~fam_ended).sum())
        free = int(capacity) - self._n_supported
        if free <= 0:
            return
        eligible = support_until < 0  # one episode per family
        if not eligible.any():
            return
        chosen = np.flatnonzero(eligible)
        if chosen.size > free:
            # highest family hazard first; among families at the last hazard admitted, a random
            # draw decides (hazards take few distinct values, so such ties are common)
            fam_hazard = self.family_max(hazard, starts)[chosen]
            cut = np.partition(fam_hazard, fam_hazard.size - free)[fam_hazard.size - free]
            at_cut = chosen[fam_hazard == cut]
            chosen = chosen[fam_hazard > cut]
            k = free - chosen.size  # 1 <= k <= at_cut.size, by the partition
            tie = self.streams["edge"].uniform(fam_ids[at_cut], self.month)
            chosen = np.concatenate([chosen, at_cut[np.argpartition(-tie, k - 1)[:k]]])
        f.support_until[fam_ids[chosen]] = self.month + int(p.edge_support_months) - 1
        chosen_mask = np.zeros(fam_ids.size, dtype=bool)
        chosen_mask[chosen] = True
        start = rows[home.per_child(chosen_mask)]
        self._move(start, State.EDGE_OF_CARE, Reason.SUPPORT_STARTED)
        self._n_supported += chosen.size
        self._flows["new_edge_support_families"] += chosen.size

    def _edge_effectiveness(self, rows: np.ndarray) -> np.ndarray:
        p = self.params
        eff = (p.edge_effectiveness + self.policy.edge_effectiveness_uplift) * self.time_effect(rows)
        return np.clip(eff, 0.0, 1.0)

    def enter_care(self, home=None, returned=None) -> tuple[np.ndarray, np.ndarray]:
        """Care entries this month: families at home (together), returned-home children, UASC.

        Returns the entrants and the placement route each needs; they are placed in
        `match_placements` later in the same month.
        """
        p, c, f = self.params, self.children, self.families
        home = home if home is not None else self._home_with_hazards()
        rows, hazard = home.rows, home.hazard
        supported = np.flatnonzero(c.state[rows] == State.EDGE_OF_CARE)
        supported = supported[f.avoidable[home.family[supported]]]
        if supported.size:
            hazard = hazard.copy()
            hazard[supported] *= 1 - self._edge_effectiveness(rows[supported])
        # the family enters if any child's hazard fires: the largest hazard decides
        fam_prob = monthly_probability(self.family_max(hazard, home.starts))
        fam_enters = self.streams["entries"].uniform(home.families, self.month) < fam_prob
        from_home = rows[home.per_child(fam_enters)]
        back = self.active_rows[c.state[self.active_rows] == State.RETURNED_HOME] if returned is None else returned
        reentry = p.reentry_rate_per_year * np.where(c.reunification_support[back], 1 - self.policy.reentry_reduction, 1.0)
        back = back[self.streams["reentry"].uniform(back, self.month) < monthly_probability(reentry)]
        entrants = np.concatenate([from_home, back, self._uasc_arrivals])
        routes = self._entry_routes(entrants)
        self._flows["new_uasc_entries"] += self._uasc_arrivals.size
        self._uasc_arrivals = np.zeros(0, dtype=np.int64)
        # legal status and reunification prospects are set at entry
        u = self.streams["legal"].uniform(entrants, self.month)
        s20 = p.section_20_share_2015 + (p.section_20_share_2020 - p.section_20_share_2015) * min(self.years_since_start / 5, 1)
        c.legal_status[entrants] = np.where(u < s20, LegalStatus.SECTION_20, LegalStatus.CARE_ORDER)
        c.reunifiable[entrants] = (self.streams["legal"].uniform(entrants, self.month, salt=1) < p.reunifiable_share) & ~c.uasc[entrants]
        c.reunification_support[entrants] = False
        return entrants, routes

    def _residential_need(self) -> float:
        p = self.params
        return min(p.residential_need_rate * self._trend(p.residential_need_trend_per_year), 1.0)

    def _entry_routes(self, rows: np.ndarray) -> np.ndarray:
        p, c = self.params, self.children
        u = self.streams["placement"].uniform(rows, self.month)
        age, high, uasc = c.age_months[rows], c.need[rows] == Need.HIGH, c.uasc[rows]
        route = np.where(u < p.kinship_share_at_entry, Route.FAMILY, Route.FOSTER)
        semi = (age >= 192) & (u < p.semi_independent_share_16plus)
        route = np.where(semi, Route.SEMI, route)
        res = (age >= 132) & high & (u < self._residential_need())
        route = np.where(res & ~semi, Route.RESIDENTIAL, route)
        route = np.where(uasc & ~semi, Route.FOSTER, route)
        return route.astype(np.int8)

    def support_reunification(self, in_care: np.ndarray) -> None:
        """Back-edge support: free places go to reunifiable children in care (random order)."""
        capacity = int(self.policy.reunification_capacity_children * self.scale)
        if capacity <= 0:
            return
        c = self.children
        used = int(c.reunification_support[in_care].sum())
        free = capacity - used
        if free <= 0:
            return
        cand = in_care[c.reunifiable[in_care] & ~c.reunification_support[in_care]
                       & (c.state[in_care] != State.PLACED_FOR_ADOPTION)]
        order = np.argsort(self.streams["reunification"].uniform(cand, self.month), kind="stable")
        chosen = cand[order[:free]]
        c.reunification_support[chosen] = True
        self._flows["new_reunification_support"] += chosen.size

    def _competing(self, rows: np.ndarray, hazards: list[np.ndarray], stream: str) -> tuple[np.ndarray, np.ndarray]:
        """Which of several competing yearly hazards fires for each row this month.

        One uniform per child decides whether any event happens (probability 1 - exp(-total/12))
        and, by where it falls, which one (in proportion to the hazards). Returns the rows with
        an event and the index of their event.
        """
        total = hazards[0].copy()
        for h in hazards[1:]:
            total += h
        u = self.streams[stream].uniform(rows, self.month)
        p_any = monthly_probability(total)
        fires = np.flatnonzero(u < p_any)
        pos = u[fires] / p_any[fires] * total[fires]
        which = np.zeros(fires.size, dtype=np.int8)
        cum = np.zeros(fires.size)
        for h in hazards[:-1]:
            cum += h[fires]
            which += pos >= cum
        return rows[fires], which

    def _lookup(self, values: dict[State, float]) -> np.ndarray:
        """A table indexed by state (0 for states not named)."""
        lut = np.zeros(N_STATES)
        for state, value in values.items():
            lut[state] = value
        return lut

    def leave_care(self, rows: np.ndarray) -> None:
        """Exits from care by competing hazards (by age, time in care and placement type).

        Return home (higher in the first six months of an episode; placed-with-parents orders
        are discharged), special guardianship (fostered children under 16, mostly kinship),
        adoption (from a placement for adoption), leaving at 16-17.
        """
        p, c = self.params, self.children
        state, age, t_care, uasc = c.state[rows], c.age_months[rows], c.months_in_care[rows], c.uasc[rows]
        trend = self._trend(p.exit_trend_per_year)
        in_placement = {s: p.return_home_rate_per_year * trend for s in FOSTER + RESIDENTIAL + (State.OTHER_PLACEMENT,)}
        early = np.where(t_care < 6, p.return_home_early_multiplier, 1.0)
        # a worker with more direct time per child explores and supports a return home more
        home = self._lookup(in_placement)[state] * early
        home[uasc] = 0.0
        home *= self.time_effect(rows)
        home += self._lookup({State.PLACED_WITH_PARENTS: p.placed_with_parents_discharge_rate_per_year})[state]
        backed = np.flatnonzero(c.reunification_support[rows])
        if backed.size:
            home[backed] += self.policy.reunification_rate_per_year * self.time_effect(rows[backed])
        sgo_rate = p.special_guardianship_rate_per_year * trend
        sgo = (self._lookup({State.KINSHIP: sgo_rate * p.kinship_guardianship_multiplier,
                             State.FOSTER_IN_HOUSE: sgo_rate, State.FOSTER_AGENCY: sgo_rate})[state]
               * ((age < 192) & (t_care >= 6) & ~uasc))
        adopt = self._lookup({State.PLACED_FOR_ADOPTION: p.adoption_order_rate_per_year})[state]
        older_rate = p.left_16_17_rate_per_year * trend
        older = self._lookup({st: older_rate for st in State if IS_IN_CARE[st] and st != State.PLACED_FOR_ADOPTION})[state]
        older *= age >= 192
        out, which = self._competing(rows, [home, sgo, adopt, older], "exits")
        targets = [(State.RETURNED_HOME, Reason.RETURNED_HOME, "new_returned_home"),
                   (State.SPECIAL_GUARDIANSHIP, Reason.SPECIAL_GUARDIANSHIP, "new_special_guardianship"),
                   (State.ADOPTED, Reason.ADOPTION, "new_adoptions"),
                   (State.LEFT_OTHER, Reason.LEFT_AGED_16_17, "new_left_16_17")]
        for k, (state_to, reason, flow) in enumerate(targets):
            sel = out[which == k]
            self._move(sel, state_to, reason)
            self._flows[flow] += sel.size

    def move_placements(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Placement changes: breakdowns, adoption and with-parents moves, step-down requests.

        Returns children who need a new placement (their place is released) with their route,
        and children in children's homes asking to step down to a family (kept until a foster
        place is found).
        """
        p, c = self.params, self.children
        state, age = c.state[rows], c.age_months[rows]
        adoption_rate = p.placed_for_adoption_rate_per_year * self._trend(p.adoption_trend_per_year)
        to_adoption = (self._lookup(dict.fromkeys((State.FOSTER_IN_HOUSE, State.FOSTER_AGENCY), adoption_rate))[state]
                       * ((age < 60) & (c.months_in_care[rows] >= 6) & ~c.uasc[rows]))
        with_parents = (self._lookup(dict.fromkeys(FOSTER, p.placed_with_parents_rate_per_year))[state]
                        * (c.legal_status[rows] == LegalStatus.CARE_ORDER))
        breakdown = self._lookup(dict.fromkeys(FOSTER, p.foster_breakdown_rate_per_year))[state]
        home_rate = p.step_down_rate_per_year + self.policy.extra_step_down_rate_per_year
        step_down = self._lookup(dict.fromkeys(CHILDRENS_HOMES, home_rate))[state]
        to_semi = self._lookup(dict.fromkeys(CHILDRENS_HOMES, p.to_semi_independent_rate_per_year))[state] * (age >= 192)
        mv, which = self._competing(rows, [to_adoption, with_parents, breakdown, step_down, to_semi], "moves")
        adopt = mv[which == 0]
        c.legal_status[adopt] = LegalStatus.PLACEMENT_ORDER
        self._move(adopt, State.PLACED_FOR_ADOPTION, Reason.PLACEMENT_MOVE)
        self._move(mv[which == 1], State.PLACED_WITH_PARENTS, Reason.PLACEMENT_MOVE)
        broken = mv[which == 2]
        older = c.age_months[broken] >= 132
        v = self.streams["moves"].uniform(broken, self.month, salt=1)
        routes_broken = np.where(older & (v < p.breakdown_to_residential_share), Route.RESIDENTIAL, Route.FOSTER)
        semi = mv[which == 4]
        movers = np.concatenate([broken, semi])
        routes = np.concatenate([routes_broken, np.full(semi.size, Route.SEMI)]).astype(np.int8)
        self._release(movers)
        self._flows["new_placement_moves"] += movers.size
        return movers, routes, mv[which == 3]

    def _release(self, rows: np.ndarray) -> None:
        """Free the places of children leaving a provider for another placement."""
        c = self.children
        held = c.provider[rows]
        has = held >= 0
        np.subtract.at(self.providers.occupied, held[has], 1)
        c.provider[rows[has]] = -1

    def match_placements(self, rows: np.ndarray, routes: np.ndarray, step_downs: np.ndarray) -> None:
        """Every child needing a placement gets the best available type with a free place.

        Children are served in a random order. Family route: kinship; foster route: in-house
        or agency (by preference, then whichever has a place); when neither has a free place
        the child goes to a children's home, counted in `new_residential_no_foster`. Children's
        homes: an LA home if one has a place, else a private home (the market adds homes).
        Step-down requests are served last, and only if a foster place is still free.
        """
        p, c = self.params, self.children
        gen = self.streams["placement"].generator
        order = np.argsort(self.streams["placement"].uniform(rows, self.month, salt=2), kind="stable")
        rows, routes = rows[order], routes[order]
        reason = np.where(IS_IN_CARE[c.state[rows]], Reason.PLACEMENT_MOVE, Reason.ENTERED_CARE)
        self._place(rows[routes == Route.FAMILY], ProviderKind.KINSHIP, reason[routes == Route.FAMILY], gen)
        self._place(rows[routes == Route.SEMI], ProviderKind.SEMI_INDEPENDENT, reason[routes == Route.SEMI], gen)
        fos = routes == Route.FOSTER
        left, left_reason = self._place_foster(rows[fos], reason[fos], gen)
        self._flows["new_residential_no_foster"] += left.size
        res = routes == Route.RESIDENTIAL
        self._place_home(np.concatenate([rows[res], left]), np.concatenate([reason[res], left_reason]), gen)
        if step_downs.size:
            free_before = c.provider[step_downs].copy()
            kept, _ = self._place_foster(step_downs, np.full(step_downs.size, Reason.STEP_DOWN), gen, release=free_before)
            self._flows["new_step_downs"] += step_downs.size - kept.size

    def _place(self, rows: np.ndarray, kind: ProviderKind, reasons: np.ndarray, gen) -> np.ndarray:
        """Place rows with providers of `kind`; returns those without a free place (not moved)."""
        if rows.size == 0:
            return rows
        c = self.children
        placed = self._take_places(rows, kind, gen)
        if placed.size:
            provider = c.provider[placed].copy()
            c.provider[placed] = -1  # _move releases held places; re-attach after
            self._move(placed, int(kind), reasons[: placed.size])
            c.provider[placed] = provider
        return rows[placed.size:]

    def _place_foster(self, rows, reasons, gen, release=None):
        """In-house or agency foster care by preference, else the other; returns the children
        with no foster place (those preferring in-house first) and their reasons."""
        if rows.size == 0:
            return rows, reasons
        u = self.streams["placement"].uniform(rows, self.month, salt=3)
        prefer_in_house = u < self.params.in_house_preference
        if release is not None:  # step-downs keep their home place until a foster place is found
            self.children.provider[rows] = -1
        unplaced = np.ones(rows.size, dtype=bool)
        choices = ((prefer_in_house, ProviderKind.FOSTER_IN_HOUSE, ProviderKind.FOSTER_AGENCY),
                   (~prefer_in_house, ProviderKind.FOSTER_AGENCY, ProviderKind.FOSTER_IN_HOUSE))
        for k in (1, 2):  # first choices, then second choices
            for group, *kinds in choices:
                idx = np.flatnonzero(group & unplaced)
                rest = self._place(rows[idx], kinds[k - 1], reasons[idx], gen)
                unplaced[idx[: idx.size - rest.size]] = False  # _place fills from the front
        left = np.concatenate([np.flatnonzero(group & unplaced) for group, *_ in choices])
        if release is not None:
            self.children.provider[rows[unplaced]] = release[unplaced]
            np.subtract.at(self.providers.occupied, release[~unplaced][release[~unplaced] >= 0], 1)
        return rows[left], reasons[left]

    def _place_home(self, rows, reasons, gen) -> None:
        u = self.streams["placement"].uniform(rows, self.month, salt=4)
        la_first = u < self.params.la_home_preference
        rest = self._place(rows[la_first], ProviderKind.HOME_LA, reasons[la_first], gen)
        rest_reasons = reasons[la_first][rows[la_first].size - rest.size:]
        self._place(np.concatenate([rows[~la_first], rest]), ProviderKind.HOME_PRIVATE,
                    np.concatenate([reasons[~la_first], rest_reasons]), gen)

    def age(self) -> None:
        """Everyone is a month older; 18th birthdays; returned-home monitoring ends."""
        c = self.children
        # contiguous slices are cheaper than gathering the active rows; a child who has left
        # keeps ageing and counting months (since leaving, since the last care episode began)
        for counter in (c.age_months, c.months_in_state, c.months_in_care):
            counter[: c.n] += 1
        rows = self.active_rows
        adult = rows[c.age_months[rows] >= ADULT_MONTHS]
        adult_state = c.state[adult]
        aged_out = adult[IS_IN_CARE[adult_state]]
        self._move(aged_out, State.AGED_OUT, Reason.EIGHTEENTH_BIRTHDAY)
        self._flows["new_aged_out"] += aged_out.size
        self._move(adult[IS_AT_HOME[adult_state]], State.CLOSED, Reason.CASE_CLOSED)
        returned = rows[c.state[rows] == State.RETURNED_HOME]
        done = returned[(c.age_months[returned] >= ADULT_MONTHS)
                        | (c.months_in_state[returned] >= self.params.monitoring_months)]
        self._move(done, State.CLOSED, Reason.MONITORING_ENDED)

    def supply_places(self) -> None:
        """Foster households are recruited and leave (only from free places); empty homes close."""
        p, prov = self.params, self.providers
        gen = self.streams["supply"].generator
        n = prov.n
        fostering = np.flatnonzero(IS_NON_KIN_FOSTER[prov.kind[:n]])
        h = prov.households[fostering]
        recruited = gen.poisson(h * p.foster_recruitment_rate_per_year * self.policy.foster_recruitment_multiplier / 12)
        p_leave = monthly_probability(p.foster_attrition_rate_per_year * self.policy.foster_attrition_multiplier)
        leaving = gen.binomial(np.round(h).astype(np.int64), min(p_leave, 1.0))
        free_households = np.floor((prov.places[fostering] - prov.occupied[fostering]) / p.places_per_foster_household)
        leaving = np.minimum(leaving, np.maximum(free_households, 0))
        prov.households[fostering] = h + recruited - leaving
        places = np.floor(prov.households[fostering] * p.places_per_foster_household).astype(np.int32)
        prov.places[fostering] = np.maximum(places, prov.occupied[fostering])
        self._flows["new_foster_households_recruited"] += int(recruited.sum())
        self._flows["new_foster_households_left"] += int(leaving.sum())
        homes = np.flatnonzero((prov.kind[:n] == ProviderKind.HOME_PRIVATE) & prov.open[:n])
        empty = prov.occupied[homes] == 0
        prov.months_empty[homes] = np.where(empty, prov.months_empty[homes] + 1, 0)
        stale = homes[(prov.months_empty[homes] >= 6)]
        close = stale[gen.random(stale.size) < monthly_probability(p.home_closure_rate_per_year)]
        prov.open[close] = False
        self._flows["new_homes_closed"] += close.size

    # ------------------------------------------------------------------ recording
    def record(self, states: np.ndarray | None = None) -> None:
        """Counts, flows, spend and direct hours of the month just ended, at England scale."""
        c, prov, s = self.children, self.providers, self.scale
        rows = self.active_rows
        states = c.state[rows] if states is None else states
        counts = np.bincount(states, minlength=N_STATES)
        year, month0 = divmod(2 + self.month, 12)  # month 0 is March
        rec: dict[str, float] = {"month": self.month, "year": START_YEAR + year, "month_of_year": month0 + 1}
        for st in State:
            if IS_ACTIVE[st]:  # terminal states are flows (new_*), not stocks
                rec[f"n_{st.name.lower()}"] = counts[st] / s
        rec["n_in_care"] = counts[IS_IN_CARE].sum() / s
        rec["n_foster"] = counts[list(FOSTER)].sum() / s
        rec["n_residential"] = counts[IS_RESIDENTIAL].sum() / s
        rec["n_childrens_homes"] = counts[list(CHILDRENS_HOMES)].sum() / s
        rec["n_other_care"] = counts[list(OTHER_CARE)].sum() / s
        # on a plan: every child on a child protection plan, and supported children whose family
        # came to support from a plan (children in need are never on one: an invariant test)
        edge = rows[states == State.EDGE_OF_CARE]
        rec["n_cp_plans"] = int(counts[State.CHILD_PROTECTION] + c.on_plan[edge].sum()) / s
        in_care = IS_IN_CARE[states]
        care_rows = rows[in_care]
        rec["n_uasc_in_care"] = int(c.uasc[care_rows].sum()) / s
        n = prov.n
        fostering = IS_NON_KIN_FOSTER[prov.kind[:n]]
        rec["n_foster_households"] = float(prov.households[:n][fostering].sum()) / s
        rec["n_foster_places"] = float(prov.places[:n][fostering].sum()) / s
        rec["n_foster_places_free"] = float((prov.places[:n] - prov.occupied[:n])[fostering].sum()) / s
        homes = IS_CHILDRENS_HOME[prov.kind[:n]] & prov.open[:n]
        rec["n_childrens_homes_open"] = int(homes.sum()) / s
        rec["n_home_places"] = float(prov.places[:n][homes].sum()) / s
        rec["n_edge_families"] = self._n_supported / s
        w = self.workers
        rec["n_social_workers"] = int(w.active[: w.n].sum()) / s
        direct = w.direct_hours()
        rec["direct_hours_per_week"] = float(direct.sum()) / s
        rec["mean_caseload"] = float(w.caseload[: w.n][w.active[: w.n]].mean())
        n_cp = rec["n_cp_plans"] + rec["n_in_care"]
        rec["direct_hours_per_child_in_care_or_on_plan"] = rec["direct_hours_per_week"] / max(n_cp, 1e-9)
        # a child with no provider (-1) reads the appended 1.0: the kind's price as it is
        factors = np.append(prov.price_factor[:n], 1.0)[c.provider[care_rows]]
        spend = self.costs.month_spend(self.year, states[in_care], factors, self._n_supported,
                                       rec["n_social_workers"] * s, s)
        if self.month == 0:
            spend = {k: 0.0 for k in spend}  # the state at 31 March 2015 carries no spend
        rec.update(spend)
        for k, v in self._flows.items():
            rec[k] = v / s
        rec["child_months"] = int(rows.size) if self.month > 0 else 0
        self.current = rec
        if self.month > 0:
            self.datacollector.collect(self)
