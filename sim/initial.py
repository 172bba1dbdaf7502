"""The 31 March 2015 population: providers sized to the stock, children in care, at home, returned home.

Time in care of the initial stock is drawn from the survival curve of the model's exit hazards
(sim/hazards.py), and the at-home stock is the referrals of the past five years that survived
their exit and care-entry hazards, so the first years neither dip nor jump (no warm-up
artefact). Every draw comes from the `initial` stream, which no lever touches. An authority's
start (sim/local_start.py) replaces only the children in care and the providers sized to them;
the at-home stocks and the workforce are England's at the model's scale, as here.
"""
from __future__ import annotations

import math

import numpy as np

from agents.children import LegalStatus, Need
from agents.providers import FOSTERING_HOUSEHOLDS, ProviderKind
from sim import hazards, local_start
from sim.ages import (ADOPTION_PLACEMENT_YOUNGEST_MONTHS, ADULT_MONTHS, AGE_5_MONTHS, AGE_11_MONTHS, AGE_14_MONTHS,
                      AGE_16_MONTHS)
from sim.front_edge import UASC_AGE_BETA, UASC_AGE_SPAN_MONTHS, UASC_FIRST_AGE_MONTHS
from sim.market import APPROVALS, CARER_BAND_SHARES_2015, SEMI_PROVIDERS
from sim.parameters import CARE_AGE_BANDS
from sim.states import IS_AT_HOME, NON_KIN_FOSTER, Reason, State

ALL_AGES = APPROVALS.index((0, 18 * 12))  # a household approved for ages 0-17
HISTORY_MONTHS = 60  # the at-home stock is the survivors of five years of referrals (assumption: long enough)
# children who went home in the re-entry horizon: returns at 1.5x the long-run return rate
# (the early-episode multiplier lifts recent returns; assumption)
RETURNS_STOCK_MULTIPLIER = 1.5


def build(model) -> tuple[int, int]:
    """Fill `model` with the 2015 stock, or with an authority's own children in care when
    `model.start` is a `sim.local_start.LocalStart`; returns the families in edge-of-care support
    and at the edge."""
    p, s, m = model.params, model.scale, model
    gen = m.streams["initial"].generator
    m.workforce.staff()
    if m.start is None:
        n_care = int(round(p.children_in_care_2015 * s))
        counts = _placement_counts(p, n_care)
        _open_providers(m, counts, gen)
        rows, states = _children_in_care(m, counts, gen)
    else:  # providers sized to the authority's placements, as England's are to England's
        counts = m.start.counts()
        n_care = sum(counts.values())
        _open_providers(m, counts, gen)
        rows, states = local_start.children_in_care(m, m.start, gen)
    for kind in ProviderKind:
        placed = m.ledger.take_places(rows[states == kind], kind)
        if kind in FOSTERING_HOUSEHOLDS and not placed.all():
            # children with no household approved for their age: a household approved 0-17 each
            unplaced = rows[states == kind][~placed]
            m.market.new_households(kind, unplaced.size, CARER_BAND_SHARES_2015, approval=ALL_AGES)
            m.ledger.take_places(unplaced, kind)
    m.journeys.add(rows, m.month, np.full(rows.size, int(State.CLOSED)), states, Reason.INITIAL)
    _children_at_home(m, n_care, gen)
    m.workforce.allocate(m.in_care.caseload(m.active_rows))
    active = m.active_rows
    home = active[IS_AT_HOME[m.children.state[active]]]
    home = home[~m.children.uasc[home]]  # UASC wait for placement; none are at home at the start
    return m.front.support_families(m.front.at_home(home), m.policy.extra_edge_capacity_families, m.policy)


def _placement_counts(p, n_care: int) -> dict[State, int]:
    """Children in care in 2015 by placement type, from the 2015 shares."""
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
    return counts


def _open_providers(m, counts: dict[State, int], gen) -> None:
    """Providers sized to the 2015 stock (at the 2015 vacancy rates)."""
    p, s, market = m.params, m.scale, m.market
    market.open_fostering(ProviderKind.FOSTER_IN_HOUSE, counts[State.FOSTER_IN_HOUSE])
    market.open_fostering(ProviderKind.FOSTER_AGENCY, counts[State.FOSTER_AGENCY])
    market.open_providers(ProviderKind.SEMI_INDEPENDENT, max(1, round(SEMI_PROVIDERS * s)),
                          counts[State.SEMI_INDEPENDENT], gen)
    for kind, state in ((ProviderKind.HOME_LA, State.HOME_LA), (ProviderKind.HOME_PRIVATE, State.HOME_PRIVATE)):
        places = counts[state] / max(1 - p.home_vacancy_2015, 1e-9)
        n_homes = max(1, math.ceil(places / p.places_per_home))
        market.open_providers(kind, n_homes, n_homes * int(p.places_per_home), gen)


def _children_in_care(m, counts: dict[State, int], gen) -> tuple[np.ndarray, np.ndarray]:
    """The children in care: ages by placement type, time in care, legal status, UASC."""
    p, c = m.params, m.children
    states = np.repeat(np.array([int(k) for k in counts], dtype=np.int8), list(counts.values()))
    gen.shuffle(states)
    n = states.size
    young = states == State.PLACED_FOR_ADOPTION
    homes_mask = np.isin(states, [State.HOME_LA, State.HOME_PRIVATE])
    # semi-independent and independent living (other placements) are for 16-17-year-olds
    semi_mask = np.isin(states, [State.SEMI_INDEPENDENT, State.OTHER_PLACEMENT])
    ages = np.zeros(n, dtype=np.int16)
    ages[young] = _uniform_ages(ADOPTION_PLACEMENT_YOUNGEST_MONTHS, AGE_5_MONTHS, young.sum(), gen)
    ages[homes_mask] = _uniform_ages(AGE_11_MONTHS, ADULT_MONTHS, homes_mask.sum(), gen)
    ages[semi_mask] = _uniform_ages(AGE_16_MONTHS, ADULT_MONTHS, semi_mask.sum(), gen)
    rest = ~(young | homes_mask | semi_mask)
    # the others take the age bands that the placements above left, so the whole stock has the mix
    edges = [b[0] * 12 for b in CARE_AGE_BANDS] + [ADULT_MONTHS]
    used = np.histogram(ages[~rest], bins=edges)[0]
    left = np.maximum(np.array([b[2] for b in CARE_AGE_BANDS]) * n - used, 0)
    ages[rest] = m.people.draw_ages(tuple((b[0], b[1], w) for b, w in zip(CARE_AGE_BANDS, left)), int(rest.sum()), gen)
    fams = m.people.add_families(n, gen)
    need = np.where(homes_mask, Need.HIGH, (gen.random(n) < p.high_need_share)).astype(np.int8)
    rows = m.people.add_children(n, State.CHILD_IN_NEED, ages, fams, need)
    c.state[rows] = states
    c.months_in_care[rows] = _initial_durations(p, ages, states, gen)
    c.months_in_state[rows] = (gen.random(n) * (c.months_in_care[rows] + 1)).astype(np.int16)
    c.n_entries[rows] = 1
    c.n_placements[rows] = 1
    c.legal_status[rows] = np.where(gen.random(n) < p.section_20_share_2015, LegalStatus.SECTION_20,
                                    LegalStatus.CARE_ORDER)
    c.legal_status[rows[young]] = LegalStatus.PLACEMENT_ORDER
    # the adoption pipeline: non-kin fostered children waiting with a placement order, at the
    # steady-state share of the pipeline's own hazards (sim/hazards.py) times the 2015 backlog
    non_kin = np.flatnonzero(np.isin(states, NON_KIN_FOSTER))
    share = hazards.placement_order_share(p, ages[non_kin], c.months_in_care[rows[non_kin]],
                                          p.placement_order_backlog_2015)
    waiting = gen.random(non_kin.size) < share
    c.legal_status[rows[non_kin[waiting]]] = LegalStatus.PLACEMENT_ORDER
    v = gen.random(n)
    c.reunifiable[rows] = v < p.reunifiable_share
    c.return_appropriate[rows] = v < p.reunifiable_share * p.return_appropriate_share
    older = np.flatnonzero((ages >= AGE_14_MONTHS) & np.isin(states, [State.FOSTER_AGENCY, State.SEMI_INDEPENDENT]))
    n_uasc = min(int(round(_uasc_steady_stock(p) * m.scale)), older.size)
    uasc = rows[gen.choice(older, size=n_uasc, replace=False)]
    c.uasc[uasc] = True
    c.age_months[uasc], c.months_in_care[uasc] = _uasc_steady_ages(p, n_uasc, gen)
    c.months_in_state[uasc] = np.minimum(c.months_in_state[uasc], c.months_in_care[uasc])
    return rows, states


def _uniform_ages(lo_months: int, hi_months: int, n, gen) -> np.ndarray:
    return (lo_months + gen.random(n) * (hi_months - lo_months)).astype(np.int16)


def _children_at_home(m, n_care: int, gen) -> None:
    """Children on plans and assessed at risk (the past five years' referrals still at home), and
    children who went home within the re-entry horizon and are still at home."""
    p, s, c = m.params, m.scale, m.children
    at_risk = m.people.referred_sibling_groups(p.at_risk_referrals_per_year * s * HISTORY_MONTHS / 12,
                                               State.CHILD_IN_NEED, gen, history_months=HISTORY_MONTHS)
    # plans come from referrals and from at-risk cases escalating (at today's at-risk stock)
    cp_rate = p.cp_starts_per_year * s + at_risk.size * p.at_risk_escalation_rate_per_year
    m.people.referred_sibling_groups(cp_rate * HISTORY_MONTHS / 12, State.CHILD_PROTECTION, gen,
                                     history_months=HISTORY_MONTHS)
    # children who went home in the re-entry horizon and have not come back: months at home d
    # drawn in proportion to the chance of not having re-entered after d months (sim/hazards.py)
    returns_per_year = n_care * p.return_home_rate_per_year * RETURNS_STOCK_MULTIPLIER
    d = np.arange(int(p.reentry_horizon_months))
    still_home = hazards.reentry_survival(p, d)
    n_returned = int(round(returns_per_year / 12 * still_home.sum()))
    if n_returned <= 0:
        return
    months_home = np.searchsorted(np.cumsum(still_home) / still_home.sum(), gen.random(n_returned)).astype(np.int16)
    ages_at_return = m.people.draw_ages(CARE_AGE_BANDS, n_returned, gen)
    ages = ages_at_return + months_home
    under_18 = ages < ADULT_MONTHS  # a child who has turned 18 since going home has left
    ages, months_home = ages[under_18], months_home[under_18]
    n_returned = int(under_18.sum())
    fams = m.people.add_families(n_returned, gen)
    need = (gen.random(n_returned) < p.high_need_share).astype(np.int8)
    back = m.people.add_children(n_returned, State.RETURNED_HOME, ages, fams, need)
    c.months_in_state[back] = months_home
    m.journeys.add(back, m.month, np.full(n_returned, int(State.CLOSED)), np.int8(State.RETURNED_HOME), Reason.INITIAL)
    c.n_entries[back] = 1
    c.n_placements[back] = 1


def _uasc_steady_stock(p) -> float:
    """UASC in care in steady state at the 2015 arrival rate (England scale).

    Arrivals per month x expected months in care: each stays until 18, or until leaving at
    16-17 at its hazard; ages at arrival from their distribution's quantiles (no draws).
    """
    ages = UASC_FIRST_AGE_MONTHS + beta_quantiles(*UASC_AGE_BETA, (np.arange(200) + 0.5) / 200) * UASC_AGE_SPAN_MONTHS
    before_16 = np.clip(AGE_16_MONTHS - ages, 0, None)
    after_16 = ADULT_MONTHS - np.maximum(ages, AGE_16_MONTHS)
    r = p.left_16_17_rate_per_year / 12
    stay = before_16 + (after_16 if r == 0 else -np.expm1(-r * after_16) / r)
    return p.uasc_entries_per_year / 12 * float(stay.mean())


def beta_quantiles(a: float, b: float, q: np.ndarray) -> np.ndarray:
    """Quantiles `q` of Beta(a, b) for a whole number `a`, to about 1e-15 (as scipy's betaincinv).

    For whole `a` the distribution function has a closed form, 1 - (1-x)^b sum_{j<a} (b)_j x^j / j!,
    so 60 bisections give the quantile without importing scipy.special (0.1-0.15 s of every
    `caresim run`'s start-up, for 200 numbers).
    """
    if a != int(a) or a < 1:
        raise ValueError(f"beta_quantiles needs a whole a >= 1, got {a}")
    q = np.asarray(q, dtype=float)
    lo, hi = np.zeros_like(q), np.ones_like(q)
    for _ in range(60):
        x = 0.5 * (lo + hi)
        term, total = np.ones_like(x), np.ones_like(x)
        for j in range(1, int(a)):
            term = term * (b + j - 1) / j * x
            total += term
        below = 1 - (1 - x) ** b * total < q
        lo, hi = np.where(below, x, lo), np.where(below, hi, x)
    return 0.5 * (lo + hi)


def _uasc_steady_ages(p, n: int, gen) -> tuple[np.ndarray, np.ndarray]:
    """Ages and months in care of `n` UASC drawn from the steady-state stock.

    A stock holds arrivals (age a0) still in care d months later, with density proportional
    to the arrival density times the chance of still being in care: drawn by rejection.
    """
    r = p.left_16_17_rate_per_year / 12
    ages, months = [np.zeros(0)], [np.zeros(0)]
    while sum(a.size for a in ages) < n:
        a0 = UASC_FIRST_AGE_MONTHS + gen.beta(*UASC_AGE_BETA, 4 * n + 64) * UASC_AGE_SPAN_MONTHS
        d = gen.random(a0.size) * (ADULT_MONTHS - a0)
        still_in_care = np.exp(-r * np.maximum(a0 + d - np.maximum(a0, AGE_16_MONTHS), 0))
        weight = (ADULT_MONTHS - a0) * still_in_care / (ADULT_MONTHS - UASC_FIRST_AGE_MONTHS)
        keep = gen.random(a0.size) < weight
        ages.append((a0 + d)[keep])
        months.append(d[keep])
    return (np.concatenate(ages)[:n].astype(np.int16), np.concatenate(months)[:n].astype(np.int16))


def _initial_durations(p, ages: np.ndarray, states: np.ndarray, gen) -> np.ndarray:
    """Months in care of the 2015 stock, from the survival curve of the model's own exit hazards.

    A stock in steady state holds a spell of d months in proportion to the chance of surviving
    d months in care, so d is drawn from the normalised survival curve of the monthly exit
    hazards (sim/hazards.py) of the child's placement type, under or over 16 (no lever and no
    trend at the start; the worker-time effect is 1 then by construction), and capped at age.
    """
    d = np.arange(ADULT_MONTHS)
    u = gen.random(ages.size)
    months = np.zeros(ages.size, dtype=np.int16)
    over_16 = ages >= AGE_16_MONTHS
    for state in np.flatnonzero(np.bincount(states)).astype(states.dtype):  # np.unique would import numpy.ma (~25 ms)
        for older in (False, True):
            sel = np.flatnonzero((states == state) & (over_16 == older))
            if sel.size == 0:
                continue
            exits = hazards.exit_hazards(p, 0.0, np.full(d.size, state), np.full(d.size, AGE_16_MONTHS - 1 + older),
                                         d, np.zeros(d.size, dtype=bool), np.ones(d.size), np.zeros(0, dtype=np.int64),
                                         0.0)
            survival = np.exp(-np.concatenate([[0.0], np.cumsum(sum(exits) / 12)[:-1]]))
            cdf = np.cumsum(survival) / survival.sum()
            drawn = np.searchsorted(cdf, u[sel] * cdf[np.minimum(ages[sel], ADULT_MONTHS - 1)])
            months[sel] = np.minimum(drawn, ages[sel])
    return months
