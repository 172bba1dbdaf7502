"""The front edge, at home: referrals, child protection, edge-of-care support, entry to care.

Families are referred onto a child protection plan or assessed at risk of care (sibling
groups together) and unaccompanied asylum-seeking children (UASC) arrive; plans end and
at-risk cases close or escalate; edge-of-care support goes to the families at highest risk;
a family's children come into care together, and children who went home may come back.
Each phase takes what it needs as arguments and returns what a later phase uses.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from agents.children import LegalStatus, Need
from sim import driven, hazards
from sim.ages import ADULT_MONTHS, AGE_11_MONTHS, AGE_14_MONTHS, AGE_16_MONTHS
from sim.parameters import monthly_probability
from sim.placements import Route
from sim.states import Reason, State

# UASC arrive aged 14 to 17: 14 years plus 47 months x Beta(3, 1.2), mostly 16-17 (assumption)
UASC_FIRST_AGE_MONTHS, UASC_AGE_SPAN_MONTHS, UASC_AGE_BETA = AGE_14_MONTHS, 47, (3.0, 1.2)
SECTION_20_TREND_YEARS = 5  # section 20's share moves from its 2015 to its 2020 value over five years


class AtHome(NamedTuple):
    """The children at home this month, grouped by family (rows in `active_rows` order)."""

    rows: np.ndarray
    family: np.ndarray  # family id of each child
    hazard: np.ndarray  # yearly care-entry hazard of each child, before edge-of-care support
    family_hazard: np.ndarray  # the largest `hazard` of each family's children
    starts: np.ndarray  # index in `rows` of each family's first child
    families: np.ndarray  # id of each family
    group: np.ndarray  # index in `families` of each child's family

    def per_child(self, family_values: np.ndarray) -> np.ndarray:
        """A value per family spread to its children."""
        return family_values.take(self.group)  # `take`: 2x cheaper than indexing with int32

    def any(self, flags: np.ndarray) -> np.ndarray:
        """Whether any child of each family has `flags` (a mask over `rows`) set."""
        return hazards.family_any(flags, self.group, self.starts.size)

    def of_families(self, idx: np.ndarray) -> "AtHome":
        """The same, for the families `idx` (ascending indices into `families`) only."""
        chosen = np.zeros(self.starts.size, dtype=bool)
        chosen[idx] = True
        children = np.flatnonzero(chosen.take(self.group))
        renumber = np.cumsum(chosen, dtype=np.int32) - 1  # a chosen family's index among the chosen
        group = renumber.take(self.group.take(children))
        starts = np.flatnonzero(np.diff(group, prepend=-1))
        return AtHome(self.rows.take(children), self.family.take(children), self.hazard.take(children),
                      self.family_hazard.take(idx), starts, self.families.take(idx), group)


class FrontEdge:
    """Referral, protection, edge-of-care support and entry to care of a model."""

    def __init__(self, model):
        self.model = model
        self.params = model.params
        self.children = model.children
        self.families = model.families
        self.streams = model.streams

    def _trend(self, rate: float) -> float:
        return hazards.trend(rate, self.model.month / 12)

    def refer(self) -> np.ndarray:
        """New children at risk: referrals onto plans and at-risk assessments; returns UASC arrivals."""
        p, m = self.params, self.model
        gen = self.streams["referrals"].generator
        years = m.month / 12
        referral_factor = driven.trend_factor(m.drivers, "referrals", p.referral_trend_per_year, years,
                                              reference_value=driven.REFERRALS_2020)
        demand = referral_factor * m.scale / 12
        m.flows["referrals_all"] += (driven.REFERRALS_2020 * referral_factor * m.scale / 12
                                     / hazards.trend(p.referral_trend_per_year, driven.REFERENCE_YEARS_2020))
        cp = m.people.referred_sibling_groups(p.cp_starts_per_year * demand, State.CHILD_PROTECTION, gen)
        risk = m.people.referred_sibling_groups(p.at_risk_referrals_per_year * demand, State.CHILD_IN_NEED, gen)
        m.flows["new_cp_plans"] += cp.size
        m.flows["new_referrals"] += cp.size + risk.size
        uasc_2020 = p.uasc_entries_per_year * hazards.trend(p.uasc_trend_per_year, driven.REFERENCE_YEARS_2020)
        uasc_factor = driven.trend_factor(m.drivers, "uasc_started_care", p.uasc_trend_per_year, years,
                                          reference_value=uasc_2020)
        n_uasc = int(gen.poisson(p.uasc_entries_per_year * uasc_factor * m.scale / 12))
        if not n_uasc:
            return np.zeros(0, dtype=np.int64)
        fams = m.people.add_families(n_uasc, gen)
        for risk_name in ("domestic_abuse", "substance_misuse", "mental_health"):
            getattr(self.families, risk_name)[fams] = False
        ages = (UASC_FIRST_AGE_MONTHS + gen.beta(*UASC_AGE_BETA, n_uasc) * UASC_AGE_SPAN_MONTHS).astype(np.int16)
        rows = m.people.add_children(n_uasc, State.CHILD_IN_NEED, ages, fams, np.zeros(n_uasc, np.int8))
        self.children.uasc[rows] = True
        m.journeys.add(rows, m.month, np.full(n_uasc, int(State.CLOSED)), np.int8(State.CHILD_IN_NEED), Reason.REFERRAL)
        return rows

    def protect(self, rows: np.ndarray, escalation_multiplier: float = 1.0) -> None:
        """Plans end and at-risk cases close or escalate, a family's children together.

        `escalation_multiplier` scales the at-risk-to-plan escalation (aligned partnership working).
        """
        p, c, m = self.params, self.children, self.model
        u = self.streams["protection"].uniform(c.family[rows], m.month)
        p_end = monthly_probability(p.cp_plan_end_rate_per_year)
        p_esc = monthly_probability(p.at_risk_escalation_rate_per_year * escalation_multiplier)
        p_close = monthly_probability(p.at_risk_closure_rate_per_year)
        # every event below needs u under one of these: the other children are left as they are
        maybe = np.flatnonzero(u < max(p_end, p_esc + p_close))
        rows, u = rows.take(maybe), u.take(maybe)
        state = c.state[rows]
        # support does not hold a case open: a supported family's plan ends or its case closes as
        # it would unsupported (else support, by keeping families at risk longer, raises entries)
        edge = state == State.EDGE_OF_CARE
        plan = (state == State.CHILD_PROTECTION) | (edge & c.on_plan[rows])
        cp = rows[plan & (u < p_end)]
        c.on_plan[cp] = False
        m.transitions.move(cp, State.CLOSED, Reason.PLAN_ENDED)
        in_need = state == State.CHILD_IN_NEED
        escalate = rows[in_need & (u < p_esc)]
        c.on_plan[escalate] = True
        m.transitions.move(escalate, State.CHILD_PROTECTION, Reason.ESCALATION)
        m.flows["new_cp_plans"] += escalate.size
        closing = (in_need | (edge & ~plan)) & (u >= p_esc) & (u < p_esc + p_close)
        m.transitions.move(rows[closing], State.CLOSED, Reason.CASE_CLOSED)

    def at_home(self, rows: np.ndarray) -> AtHome:
        """The at-home children `rows` (ascending), grouped by family, with their entry hazards."""
        c, f = self.children, self.families
        fam = c.family[rows]
        # rows ascend and family ids never decrease along rows: a family's children are adjacent
        first = np.empty(rows.size, dtype=bool)  # a family's first child
        first[:1] = True
        np.not_equal(fam[1:], fam[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        n_risks = (f.domestic_abuse.take(fam).astype(np.int8) + f.substance_misuse.take(fam) + f.mental_health.take(fam))
        on_plan = c.on_plan[rows]
        hazard = hazards.entry_hazard(self.params, on_plan, n_risks, c.need[rows], c.age_months[rows])
        factors = self.model.authority_factors
        if factors is not None:  # a region: each authority's entry rates over the national ones
            auth = c.authority[rows]
            hazard *= np.where(on_plan, factors["care_entry_rate_cp_per_year"].take(auth),
                               factors["care_entry_rate_at_risk_per_year"].take(auth))
        group = np.cumsum(first, dtype=np.int32) - 1  # 20x cheaper than np.repeat over the families
        return AtHome(rows, fam, hazard, hazards.family_max(hazard, group, starts.size), starts, fam[starts], group)

    def at_edge(self, home: AtHome, policy) -> np.ndarray:
        """Families at the edge of care (pre-proceedings), as a mask over `home.families`.

        A family is at the edge when it is on a plan and its care-entry hazard is at least
        `edge_hazard_threshold_multiple` times the plan base rate (high need, an infant, all
        three parental risks); a lever may narrow it to an age band or to high need.
        """
        p, c = self.params, self.children
        rows, starts = home.rows, home.starts
        if not starts.size:
            return np.zeros(0, dtype=bool)
        on_plan = home.any(c.on_plan[rows])
        threshold = p.edge_hazard_threshold_multiple * p.care_entry_rate_cp_per_year
        edge = on_plan & (home.family_hazard >= threshold)
        lo, hi = policy.edge_target_min_age_months, policy.edge_target_max_age_months
        if lo > 0 or hi < ADULT_MONTHS or policy.edge_target_high_need_only:
            age = c.age_months[rows]
            target = (age >= lo) & (age < hi)
            if policy.edge_target_high_need_only:
                target &= c.need[rows] == Need.HIGH
            edge &= home.any(target)
        return edge

    def support_families(self, home: AtHome, extra_capacity_families: float, policy) -> tuple[int, int]:
        """Edge-of-care support: episodes end; free places go to the families at the edge at highest risk.

        Returns the families in support at the end of the phase and the families at the edge
        (supported or not).
        """
        p, c, f, m = self.params, self.children, self.families, self.model
        rows, fam_ids = home.rows, home.families
        in_edge = c.state[rows] == State.EDGE_OF_CARE
        support_until = f.support_until.take(fam_ids)
        fam_in_edge = home.any(in_edge)
        fam_ended = fam_in_edge & (support_until < m.month)
        ended_rows = rows[in_edge & home.per_child(fam_ended)]
        m.transitions.move(ended_rows, np.where(c.on_plan[ended_rows], State.CHILD_PROTECTION, State.CHILD_IN_NEED),
                           Reason.SUPPORT_ENDED)
        capacity = (p.edge_capacity_families + extra_capacity_families) * m.scale
        n_supported = int((fam_in_edge & ~fam_ended).sum())
        at_edge = self.at_edge(home, policy)
        n_at_edge = int((at_edge | (fam_in_edge & ~fam_ended)).sum())
        free = int(capacity) - n_supported
        eligible = (support_until < 0) & at_edge  # one episode per family, at the edge
        if free <= 0 or not eligible.any():
            return n_supported, n_at_edge
        chosen = np.flatnonzero(eligible)
        if chosen.size > free:
            # highest family hazard first; among families at the last hazard admitted, a random
            # draw decides (hazards take few distinct values, so such ties are common)
            fam_hazard = home.family_hazard[chosen]
            cut = np.partition(fam_hazard, fam_hazard.size - free)[fam_hazard.size - free]
            at_cut = chosen[fam_hazard == cut]
            chosen = chosen[fam_hazard > cut]
            k = free - chosen.size  # 1 <= k <= at_cut.size, by the partition
            tie = self.streams["edge"].uniform(fam_ids[at_cut], m.month)
            chosen = np.concatenate([chosen, at_cut[np.argpartition(-tie, k - 1)[:k]]])
        f.support_until[fam_ids[chosen]] = m.month + int(p.edge_support_months) - 1
        chosen_mask = np.zeros(fam_ids.size, dtype=bool)
        chosen_mask[chosen] = True
        m.transitions.move(rows[home.per_child(chosen_mask)], State.EDGE_OF_CARE, Reason.SUPPORT_STARTED)
        m.flows["new_edge_support_families"] += chosen.size
        return n_supported + chosen.size, n_at_edge

    def support_effect(self, home: AtHome, policy, time) -> np.ndarray:
        """Each at-home child's multiplier on the entry hazard from edge-of-care support (1 if none).

        For `edge_effect_months` from the start of its family's support (through and after the
        episode), a child's hazard is multiplied by 1 - cut x (worker-time effect), where cut =
        1 - `edge_support_relative_risk` plus a lever's uplift; a child aged 11+ gets
        `edge_adolescent_effect_multiplier` of the cut (MST trial: none).
        """
        p, c, f, m = self.params, self.children, self.families, self.model
        until = f.support_until.take(home.families)
        started = until - (int(p.edge_support_months) - 1)
        fam_on = (until >= 0) & (m.month < started + int(p.edge_effect_months))
        factor = np.ones(home.rows.size)
        if not fam_on.any():
            return factor
        reached = np.flatnonzero(home.per_child(fam_on))
        rows = home.rows[reached]
        cut = (1 - p.edge_support_relative_risk) + policy.edge_effectiveness_uplift
        cut = cut * np.where(c.age_months[rows] >= AGE_11_MONTHS, p.edge_adolescent_effect_multiplier, 1.0)
        factor[reached] = 1 - np.clip(cut * time.of(c, rows), 0.0, 1.0)
        return factor

    def enter_care(self, home: AtHome, returned: np.ndarray, uasc_arrivals: np.ndarray, policy,
                   time) -> tuple[np.ndarray, np.ndarray]:
        """Care entries this month: families at home (together), returned-home children, UASC.

        Returns the entrants and the placement route each needs; they are placed later in the
        same month. `time` is this month's `WorkerTime` (direct time scales support's effect).
        """
        p, c, m = self.params, self.children, self.model
        # the family enters if any child's hazard fires: the largest hazard decides. Support and a
        # lever's multiplier only scale it, so the family's largest hazard before support (times the
        # multiplier if above 1) bounds it: only families whose draw falls under that bound can
        # enter, and only they get the rest computed (exact; as `hazards.competing`)
        u = self.streams["entries"].uniform(home.families, m.month)
        bound = home.family_hazard * max(policy.at_risk_entry_multiplier, 1.0)
        maybe = np.flatnonzero(u < monthly_probability(bound) * (1 + 1e-9))
        some = home.of_families(maybe)
        hazard = some.hazard * self.support_effect(some, policy, time)
        if policy.at_risk_entry_multiplier != 1.0:
            hazard = np.where(c.on_plan[some.rows], hazard, hazard * policy.at_risk_entry_multiplier)
        fam_prob = monthly_probability(hazards.family_max(hazard, some.group, maybe.size))
        from_home = some.rows.compress(some.per_child(u.take(maybe) < fam_prob))
        reentry = hazards.reentry_hazard(p, c.months_in_state[returned], c.reunification_support[returned],
                                         policy.reentry_reduction)
        back = returned[self.streams["reentry"].uniform(returned, m.month) < monthly_probability(reentry)]
        entrants = np.concatenate([from_home, back, uasc_arrivals])
        routes = self._entry_routes(entrants)
        m.flows["new_uasc_entries"] += uasc_arrivals.size
        # legal status and reunification prospects are set at entry
        u = self.streams["legal"].uniform(entrants, m.month)
        s20 = p.section_20_share_2015 + (p.section_20_share_2020 - p.section_20_share_2015) * min(
            m.month / 12 / SECTION_20_TREND_YEARS, 1)
        c.legal_status[entrants] = np.where(u < s20, LegalStatus.SECTION_20, LegalStatus.CARE_ORDER)
        v = self.streams["legal"].uniform(entrants, m.month, salt=1)
        # a return not properly explored (R11) and, for a share of those, a return an assessment finds appropriate
        c.reunifiable[entrants] = (v < p.reunifiable_share) & ~c.uasc[entrants]
        c.return_appropriate[entrants] = c.reunifiable[entrants] & (v < p.reunifiable_share * p.return_appropriate_share)
        c.reunification_support[entrants] = False
        c.reunification_until[entrants] = -1
        return entrants, routes

    def _entry_routes(self, rows: np.ndarray) -> np.ndarray:
        """The placement route of each entrant: family, foster, a children's home or semi-independence.

        Each decision has its own counter-based draw (salts 0-2 of the `entry_routes` stream), so
        that one does not constrain another: with a shared draw every 16-17-year-old under the
        kinship share was also under the semi-independent share, and none entered kinship care.
        """
        p, c = self.params, self.children
        stream, month = self.streams["entry_routes"], self.model.month
        u_kin, u_semi, u_res = (stream.uniform(rows, month, salt=k) for k in range(3))
        age, high, uasc = c.age_months[rows], c.need[rows] == Need.HIGH, c.uasc[rows]
        residential_need = min(p.residential_need_rate * self._trend(p.residential_need_trend_per_year), 1.0)
        route = np.where(u_kin < p.kinship_share_at_entry, Route.FAMILY, Route.FOSTER)
        semi = (age >= AGE_16_MONTHS) & (u_semi < p.semi_independent_share_16plus)
        route = np.where(semi, Route.SEMI, route)
        res = (age >= AGE_11_MONTHS) & high & (u_res < residential_need)
        route = np.where(res & ~semi, Route.RESIDENTIAL, route)
        route = np.where(uasc & ~semi, Route.FOSTER, route)
        return route.astype(np.int8)
