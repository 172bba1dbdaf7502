"""In care and the back edge: reunification support, exits, placement moves, birthdays.

Children in care leave by competing hazards (sim/hazards.py: return home, special
guardianship, adoption, leaving at 16-17); reunification support assesses a child whose return was not properly explored (R11) and
raises the chance of going home when the return is appropriate; placements break down or change (a placement order, then a
placement for adoption; with parents; step-down; semi-independence; independent living at 16-17 from a family or semi-independence); everyone ages a month, care ends at 18; a child who went home
leaves its worker's caseload after the monitoring months and stays an agent, exposed to the
re-entry hazard (sim/hazards.py), until the re-entry horizon or 18.
"""
from __future__ import annotations

import numpy as np

from agents.children import LegalStatus
from sim import hazards
from sim.ages import ADULT_MONTHS, AGE_11_MONTHS
from sim.placements import Route
from sim.states import IS_AT_HOME, IS_IN_CARE, Reason, State

EXIT_TARGETS = (  # in the order of hazards.EXITS: the state, the reason, the flow counted
    (State.RETURNED_HOME, Reason.RETURNED_HOME, "new_returned_home"),
    (State.SPECIAL_GUARDIANSHIP, Reason.SPECIAL_GUARDIANSHIP, "new_special_guardianship"),
    (State.ADOPTED, Reason.ADOPTION, "new_adoptions"),
    (State.LEFT_OTHER, Reason.LEFT_AGED_16_17, "new_left_16_17"),
)


class InCare:
    """Reunification support, exits, placement moves and ageing of a model's children."""

    def __init__(self, model):
        self.model = model
        self.params = model.params
        self.children = model.children
        self.streams = model.streams

    def support_reunification(self, in_care: np.ndarray, returned: np.ndarray, capacity_children: float) -> int:
        """Back-edge support: free places go to children in care whose return was not properly explored.

        An episode lasts `reunification_support_months` (the assessment, the return if the
        assessment finds it appropriate, and support at home after it) and holds its place until
        it ends, in care or at home; one episode per care episode, candidates in random order.
        Returns the children in an episode at the end of the phase (the spend counts them).
        """
        c, m = self.children, self.model
        capacity = int(capacity_children * m.scale)
        in_episode = np.concatenate([in_care, returned])
        used = int((c.reunification_until[in_episode] >= m.month).sum())
        free = capacity - used
        if free <= 0:
            return used
        cand = in_care.compress(c.reunifiable[in_care] & ~c.reunification_support[in_care]
                                & (c.state[in_care] != State.PLACED_FOR_ADOPTION))
        order = np.argsort(self.streams["reunification"].uniform(cand, m.month), kind="stable")
        chosen = cand[order[:free]]
        c.reunification_support[chosen] = True
        c.reunification_until[chosen] = m.month + int(self.params.reunification_support_months) - 1
        m.flows["new_reunification_support"] += chosen.size
        return used + chosen.size

    def leave_care(self, rows: np.ndarray, policy, time) -> None:
        """Exits from care by competing hazards (by age, time in care and placement type).

        Reunification support adds its return-home hazard only to a child in an episode for whom
        the assessment finds a return appropriate; for the others it ends without a return.
        """
        c, m = self.children, self.model
        years, rate = m.month / 12, policy.reunification_rate_per_year

        def exits_of(idx):
            sub = rows[idx]
            supported = np.flatnonzero(c.return_appropriate[sub] & (c.reunification_until[sub] >= m.month))
            home = None if m.authority_factors is None else m.authority_factors["return_home_rate_per_year"].take(
                c.authority[sub])
            return hazards.exit_hazards(self.params, years, c.state[sub], c.age_months[sub], c.months_in_care[sub],
                                        c.uasc[sub], time.of(c, sub), supported, rate, home)

        bound = hazards.exit_bound(self.params, years, float(time.effect.max(initial=1.0)), rate,
                                   1.0 if m.authority_factors is None else
                                   max(float(m.authority_factors["return_home_rate_per_year"].max()), 1.0))
        out, which = hazards.competing(self.streams["exits"], rows, m.month, exits_of, bound, c.state[rows])
        for k, (state_to, reason, flow) in enumerate(EXIT_TARGETS):
            sel = out[which == k]
            m.transitions.move(sel, state_to, reason)
            m.flows[flow] += sel.size

    def move_placements(self, rows: np.ndarray, policy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Placement changes: placement orders, adoption and with-parents moves, breakdowns,
        step-down requests, moves into semi-independent and independent living.

        Returns children who need a new placement (their place is released) with their route,
        and children in children's homes asking to step down to a family (kept until a foster
        place is found).
        """
        p, c, m = self.params, self.children, self.model
        years, extra = m.month / 12, policy.extra_step_down_rate_per_year

        def moves_of(idx):
            sub = rows[idx]
            legal = c.legal_status[sub]
            return hazards.move_hazards(p, years, c.state[sub], c.age_months[sub], c.months_in_care[sub], c.uasc[sub],
                                        legal == LegalStatus.CARE_ORDER, legal == LegalStatus.PLACEMENT_ORDER, extra)

        bound = hazards.move_bound(p, years, extra)
        mv, which = hazards.competing(self.streams["moves"], rows, m.month, moves_of, bound, c.state[rows])
        ordered = mv[which == 0]  # the child stays where it is and waits for a match
        c.legal_status[ordered] = LegalStatus.PLACEMENT_ORDER
        m.flows["new_placement_orders"] += ordered.size
        m.transitions.move(mv[which == 1], State.PLACED_FOR_ADOPTION, Reason.PLACEMENT_MOVE)
        m.transitions.move(mv[which == 2], State.PLACED_WITH_PARENTS, Reason.PLACEMENT_MOVE)
        independent = mv[which == 6]
        m.transitions.move(independent, State.OTHER_PLACEMENT, Reason.PLACEMENT_MOVE)
        m.flows["new_independent_living"] += independent.size
        broken = mv[which == 3]
        older = c.age_months[broken] >= AGE_11_MONTHS
        v = self.streams["moves"].uniform(broken, m.month, salt=1)
        routes_broken = np.where(older & (v < p.breakdown_to_residential_share), Route.RESIDENTIAL, Route.FOSTER)
        semi = mv[which == 5]
        movers = np.concatenate([broken, semi])
        routes = np.concatenate([routes_broken, np.full(semi.size, Route.SEMI)]).astype(np.int8)
        m.ledger.release(movers)
        m.flows["new_placement_moves"] += movers.size
        return movers, routes, mv[which == 4]

    def age(self, rows: np.ndarray) -> None:
        """Everyone is a month older; 18th birthdays; returned-home monitoring ends (`rows`: active)."""
        c, m = self.children, self.model
        # contiguous slices are cheaper than gathering the active rows; a child who has left
        # keeps ageing and counting months (since leaving, since the last care episode began)
        for counter in (c.age_months, c.months_in_state, c.months_in_care):
            counter[: c.n] += 1
        adult = rows.compress(c.age_months[rows] >= ADULT_MONTHS)
        adult_state = c.state[adult]
        aged_out = adult[IS_IN_CARE[adult_state]]
        m.transitions.move(aged_out, State.AGED_OUT, Reason.EIGHTEENTH_BIRTHDAY)
        m.flows["new_aged_out"] += aged_out.size
        m.transitions.move(adult[IS_AT_HOME[adult_state]], State.CLOSED, Reason.CASE_CLOSED)
        # a child who went home stays an agent while it may come back (the re-entry horizon); its
        # social worker's monitoring ends earlier, after `monitoring_months` (it leaves the caseload)
        returned = rows.compress(c.state[rows] == State.RETURNED_HOME)
        home_months = c.months_in_state[returned]
        c.worker[returned.compress(home_months >= self.params.monitoring_months)] = -1
        done = returned.compress((c.age_months[returned] >= ADULT_MONTHS) | (home_months >= self.params.reentry_horizon_months))
        m.transitions.move(done, State.CLOSED, Reason.MONITORING_ENDED)

    def caseload(self, rows: np.ndarray, is_returned: np.ndarray | None = None) -> np.ndarray:
        """The active children `rows` who are on a social worker's caseload: all but the children
        at home past their monitoring months (still agents because they may come back).
        `is_returned` marks the rows that went home, if the caller has it."""
        c = self.children
        if is_returned is None:
            is_returned = c.state[rows] == State.RETURNED_HOME
        past = c.months_in_state[rows.compress(is_returned)] >= self.params.monitoring_months
        if not past.any():
            return rows
        on_caseload = ~is_returned
        on_caseload[np.flatnonzero(is_returned)[~past]] = True
        return rows.compress(on_caseload)
