"""Every hazard of the model, defined once: care entry, exits from care, placement moves.

A hazard is a yearly rate; a month's probability is `monthly_probability(rate)`. The same
definitions serve the monthly step and the 2015 stock (the at-home stock survives the entry
hazard; the in-care stock's time in care follows the exit hazards), so the two cannot drift
apart. Rates and their sources are in sim/parameters.py.
"""
from __future__ import annotations

import numpy as np

from sim.ages import AGE_1_MONTHS, AGE_5_MONTHS, AGE_16_MONTHS, EARLY_EPISODE_MONTHS
from sim.parameters import monthly_probability
from sim.states import CHILDRENS_HOMES, FOSTER, IN_CARE, N_STATES, NON_KIN_FOSTER, RESIDENTIAL, State

RETURN_HOME_STATES = FOSTER + RESIDENTIAL + (State.OTHER_PLACEMENT,)  # the placed-with-parents return is a discharge
LEAVING_16_17_STATES = tuple(s for s in IN_CARE if s != State.PLACED_FOR_ADOPTION)
EXITS = ("returned_home", "special_guardianship", "adoption", "left_16_17")  # order of `exit_hazards`
REENTRY_FIRST_PERIOD_MONTHS = 12  # the re-entry hazard is higher in the first year at home (Goldacre et al. 2022)
MOVES = ("placement_order", "placed_for_adoption", "placed_with_parents", "breakdown", "step_down",
         "to_semi_independent", "to_independent_living")  # order of `move_hazards`
INDEPENDENT_LIVING_FROM = FOSTER + (State.SEMI_INDEPENDENT,)  # a 16-17-year-old moves on from a family or semi-independence


def by_state(values: dict) -> np.ndarray:
    """A table indexed by state (0 for states not named)."""
    lut = np.zeros(N_STATES)
    for state, value in values.items():
        lut[state] = value
    return lut


def trend(rate_per_year: float, years: float) -> float:
    """Growth factor of a yearly trend after `years`."""
    return (1 + rate_per_year) ** years


def entry_hazard(params, on_plan, n_risks, need, age_months) -> np.ndarray:
    """Care-entry hazard per year: base rate (plan or not) x risk factors x need x infancy.

    Each factor takes two or four values, so the hazard is read from a table of their
    32 combinations, indexed by (plan, risks, need, infant).
    """
    p = params
    base = np.array([p.care_entry_rate_at_risk_per_year, p.care_entry_rate_cp_per_year])[:, None, None, None]
    risks = (p.risk_factor_multiplier ** np.arange(4))[None, :, None, None]
    need_factor = np.array([1.0, p.high_need_multiplier])[None, None, :, None]
    infancy = np.array([1.0, p.infant_entry_multiplier])[None, None, None, :]
    table = (base * risks * (need_factor * infancy)).ravel()
    code = on_plan.astype(np.int8) * 16
    code += n_risks.astype(np.int8) * 4
    code += need.astype(np.int8) * 2
    code += age_months < AGE_1_MONTHS
    return table[code]


def family_max(values: np.ndarray, group: np.ndarray, n_families: int) -> np.ndarray:
    """Maximum of `values` over each family's children (`group`: each child's family index,
    0 to `n_families` - 1; every family has a child).

    `np.maximum.at` is exact and, for the step's ~90,000 children, 4x faster than
    `np.maximum.reduceat` over the families' first rows (0.13 ms against 0.5 ms).
    """
    out = np.full(n_families, -np.inf)
    np.maximum.at(out, group, values)
    return out


def family_any(flags: np.ndarray, group: np.ndarray, n_families: int) -> np.ndarray:
    """Whether any of each family's children has `flags` set (`group` as in `family_max`): a
    count of the flagged children per family, 7x faster than `np.logical_or.reduceat`."""
    return np.bincount(group.compress(flags), minlength=n_families) > 0


def exit_hazards(params, years: float, state, age, months_in_care, uasc, time_effect, supported,
                 reunification_rate: float, home_factor: np.ndarray | None = None) -> list[np.ndarray]:
    """Yearly exit hazards of children in care, in the order of `EXITS`.

    Return home (higher in the first months of an episode, scaled by the worker's direct
    time, plus the reunification support's added rate; placed-with-parents orders are
    discharged), special guardianship (fostered children under 16, mostly kinship), adoption
    (from a placement for adoption), leaving at 16-17. `supported` indexes the children
    receiving reunification support; `home_factor`, each child's authority's return-home rate over
    the national one (a region: sim/local_start.py).
    """
    p = params
    state = state.astype(np.intp)  # `take` with a native index is ~2x cheaper than indexing with int8
    exit_trend = trend(p.exit_trend_per_year, years)
    early = np.where(months_in_care < EARLY_EPISODE_MONTHS, p.return_home_early_multiplier, 1.0)
    home = by_state(dict.fromkeys(RETURN_HOME_STATES, p.return_home_rate_per_year * exit_trend)).take(state) * early
    home[uasc] = 0.0
    home *= time_effect  # a worker with more direct time per child explores and supports a return home more
    if home_factor is not None:
        home *= home_factor
    home += by_state({State.PLACED_WITH_PARENTS: p.placed_with_parents_discharge_rate_per_year}).take(state)
    if supported.size:
        home[supported] += reunification_rate * time_effect[supported]
    sgo_rate = p.special_guardianship_rate_per_year * exit_trend
    sgo = (by_state({State.KINSHIP: sgo_rate * p.kinship_guardianship_multiplier,
                     State.FOSTER_IN_HOUSE: sgo_rate, State.FOSTER_AGENCY: sgo_rate}).take(state)
           * ((age < AGE_16_MONTHS) & (months_in_care >= EARLY_EPISODE_MONTHS) & ~uasc))
    adopt = by_state({State.PLACED_FOR_ADOPTION: p.adoption_order_rate_per_year}).take(state)
    older = by_state(dict.fromkeys(LEAVING_16_17_STATES, p.left_16_17_rate_per_year * exit_trend)).take(state)
    older *= age >= AGE_16_MONTHS
    return [home, sgo, adopt, older]


def exit_bound(params, years: float, max_time_effect: float, reunification_rate: float,
               max_home_factor: float = 1.0) -> np.ndarray:
    """An upper bound, by state, of the total of `exit_hazards` for any child in that state: each
    term at its largest (the early-episode multiplier, the largest worker-time effect, support,
    every condition met). `competing` computes the exact hazards only for children whose draw
    falls under it (a test checks the bound against the hazards)."""
    p = params
    exit_trend = trend(p.exit_trend_per_year, years)
    home = by_state(dict.fromkeys(RETURN_HOME_STATES, p.return_home_rate_per_year * exit_trend))
    home *= max(p.return_home_early_multiplier, 1.0) * max_time_effect
    if max_home_factor != 1.0:
        home *= max_home_factor
    home += by_state({State.PLACED_WITH_PARENTS: p.placed_with_parents_discharge_rate_per_year})
    home += max(reunification_rate, 0.0) * max_time_effect
    sgo_rate = p.special_guardianship_rate_per_year * exit_trend
    sgo = by_state({State.KINSHIP: sgo_rate * p.kinship_guardianship_multiplier,
                    State.FOSTER_IN_HOUSE: sgo_rate, State.FOSTER_AGENCY: sgo_rate})
    adopt = by_state({State.PLACED_FOR_ADOPTION: p.adoption_order_rate_per_year})
    older = by_state(dict.fromkeys(LEAVING_16_17_STATES, p.left_16_17_rate_per_year * exit_trend))
    return home + sgo + adopt + older


def move_bound(params, years: float, extra_step_down_rate: float) -> np.ndarray:
    """An upper bound, by state, of the total of `move_hazards` (as `exit_bound`)."""
    p = params
    order_rate, match_rate = adoption_pipeline_rates(p, years)
    return (by_state(dict.fromkeys(NON_KIN_FOSTER, order_rate + match_rate))
            + by_state(dict.fromkeys(FOSTER, p.placed_with_parents_rate_per_year + p.foster_breakdown_rate_per_year))
            + by_state(dict.fromkeys(CHILDRENS_HOMES, p.step_down_rate_per_year + extra_step_down_rate
                                     + p.to_semi_independent_rate_per_year))
            + by_state(dict.fromkeys(INDEPENDENT_LIVING_FROM, p.independent_living_rate_per_year)))


def adoption_pipeline_rates(params, years: float) -> tuple[float, float]:
    """Yearly hazards of the adoption pipeline `years` after the start: a placement order, then a match.

    A fostered (non-kin) child under 5, 6+ months in care, is granted a placement order at
    `placement_order_rate_per_year`, falling by `placement_order_trend_per_year` a year (fewer
    placement-order decisions after the Re B-S judgments of 2013); a child with an order waits
    for a match and is placed for adoption at `placed_for_adoption_rate_per_year`.
    """
    p = params
    return (p.placement_order_rate_per_year * trend(p.placement_order_trend_per_year, years),
            p.placed_for_adoption_rate_per_year)


def move_hazards(params, years: float, state, age, months_in_care, uasc, care_order, placement_order,
                 extra_step_down_rate: float) -> list[np.ndarray]:
    """Yearly hazards of placement changes, in the order of `MOVES`.

    A placement order (young non-kin fostered children without one; the child stays where it
    is), placement for adoption (a fostered child with an order), placed with parents (care
    order), foster breakdown, step-down from a children's home to a family (baseline plus a
    lever's extra rate), a move from a home to semi-independent living at 16+, and a move from
    a family or semi-independent living into independent living at 16-17 (`State.OTHER_PLACEMENT`;
    a child in a children's home steps to semi-independence first).
    """
    p = params
    state = state.astype(np.intp)  # as in `exit_hazards`
    order_rate, match_rate = adoption_pipeline_rates(p, years)
    non_kin = by_state(dict.fromkeys(NON_KIN_FOSTER, 1.0)).take(state)
    young = (age < AGE_5_MONTHS) & (months_in_care >= EARLY_EPISODE_MONTHS) & ~uasc
    to_order = non_kin * (order_rate * (young & ~placement_order))
    to_adoption = non_kin * (match_rate * placement_order)
    with_parents = by_state(dict.fromkeys(FOSTER, p.placed_with_parents_rate_per_year)).take(state) * care_order
    breakdown = by_state(dict.fromkeys(FOSTER, p.foster_breakdown_rate_per_year)).take(state)
    home_rate = p.step_down_rate_per_year + extra_step_down_rate
    step_down = by_state(dict.fromkeys(CHILDRENS_HOMES, home_rate)).take(state)
    older = age >= AGE_16_MONTHS
    to_semi = by_state(dict.fromkeys(CHILDRENS_HOMES, p.to_semi_independent_rate_per_year)).take(state) * older
    independent = by_state(dict.fromkeys(INDEPENDENT_LIVING_FROM, p.independent_living_rate_per_year)).take(state) * older
    return [to_order, to_adoption, with_parents, breakdown, step_down, to_semi, independent]


def placement_order_share(params, age, months_in_care, backlog: float = 1.0) -> np.ndarray:
    """Chance that a non-kin fostered child of this age and time in care holds a placement order,
    in the steady state of the 2015 pipeline hazards (`adoption_pipeline_rates` at the start).

    Without an order a child gains one at rate a while eligible (under 5, 6+ months in care);
    with one it leaves for adoption at rate m; every other exit and move is the same for both,
    so it cancels. After t eligible months the odds of holding an order are
    a t (1 - exp(-(m - a) t)) / ((m - a) t), then shrink by exp(-m s) over the s months since
    the fifth birthday. Used for the 2015 stock, so it and the monthly step share the hazards;
    `backlog` multiplies those odds (orders made before 2015 at higher rates, still waiting).
    """
    a, m = (r / 12 for r in adoption_pipeline_rates(params, 0.0))
    age = np.asarray(age, dtype=float)
    waited = np.maximum(np.asarray(months_in_care, dtype=float) - EARLY_EPISODE_MONTHS, 0.0)
    since_5 = np.minimum(np.maximum(age - AGE_5_MONTHS, 0.0), waited)
    t = waited - since_5
    x = (m - a) * t
    grow = np.where(np.abs(x) < 1e-9, 1.0, -np.expm1(-x) / np.where(x == 0, 1.0, x))
    odds = backlog * a * t * grow * np.exp(-m * since_5)
    return odds / (1 + odds)


def reentry_hazard(params, months_home, supported, reduction: float) -> np.ndarray:
    """Yearly re-entry hazard of children who went home, by months since the return.

    Piecewise constant, falling with time at home: `reentry_rate_first_year_per_year` in the
    first 12 months, `reentry_rate_later_per_year` after, none from `reentry_horizon_months`
    (where the evidence ends). Survival: S(t) = exp(-h1 t) for t <= 12 months, then
    S(12) exp(-h2 (t - 12)) (`reentry_survival`). A return made with reunification support
    (`supported`) has its hazard cut by `reduction` (a lever's assumption).
    """
    p = params
    elapsed = months_home - 1  # months_in_state is 1 in the first month at home (the month of the return counts 0)
    rate = np.where(elapsed < REENTRY_FIRST_PERIOD_MONTHS, p.reentry_rate_first_year_per_year,
                    p.reentry_rate_later_per_year)
    rate = np.where(elapsed < p.reentry_horizon_months, rate, 0.0)
    if reduction:
        rate = np.where(supported, rate * (1 - reduction), rate)
    return rate


def reentry_survival(params, months) -> np.ndarray:
    """Chance of not having re-entered care `months` after going home (the hazard of `reentry_hazard`,
    unsupported, in continuous time)."""
    p = params
    t = np.minimum(np.asarray(months, dtype=float), p.reentry_horizon_months)
    first = np.minimum(t, REENTRY_FIRST_PERIOD_MONTHS)
    later = np.maximum(t - REENTRY_FIRST_PERIOD_MONTHS, 0.0)
    return np.exp(-(p.reentry_rate_first_year_per_year * first + p.reentry_rate_later_per_year * later) / 12)


def competing(stream, rows: np.ndarray, month: int, hazards_of, bound: np.ndarray,
              states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of several competing yearly hazards fires for each row this month.

    One uniform per child decides whether any event happens (probability 1 - exp(-total/12))
    and, by where it falls, which one (in proportion to the hazards). Returns the rows with
    an event and the index of their event.

    `hazards_of(idx)` returns the list of hazards of `rows[idx]`; `bound` is an upper bound, by
    state, of a child's total hazard (`states`: each row's). A child whose uniform is above the
    bound's probability cannot have an event, so only the few under it (about one in ten) get
    their hazards computed: the same result as computing every child's, at a fraction of the
    cost (thinning).
    """
    u = stream.uniform(rows, month)
    p_bound = monthly_probability(bound) * (1 + 1e-9)  # rounding can never leave out a child that fires
    maybe = np.flatnonzero(u < p_bound.take(states.astype(np.intp)))  # take with int8 indices is slow
    hazards = hazards_of(maybe)
    total = hazards[0].copy()
    for h in hazards[1:]:
        total += h
    u = u[maybe]
    p_any = monthly_probability(total)
    fires = np.flatnonzero(u < p_any)
    pos = u[fires] / p_any[fires] * total[fires]
    which = np.zeros(fires.size, dtype=np.int8)
    cum = np.zeros(fires.size)
    for h in hazards[:-1]:
        cum += h[fires]
        which += pos >= cum
    return rows[maybe[fires]], which
