"""The routes of issue 11 item 7: independent living at 16-17, the placement-order pipeline of
adoptions, and the entry routes' own draws (16-17-year-olds can enter kinship care)."""
from __future__ import annotations

import numpy as np

from agents.children import LegalStatus, Need
from sim import hazards
from sim.ages import AGE_16_MONTHS, ADULT_MONTHS
from sim.parameters import monthly_probability
from sim.placements import Route
from sim.states import IS_IN_CARE, State
from tests.conftest import small_model
from tests.test_degenerate import NO_EXITS, NO_FLOWS, NO_MOVES

INDEPENDENT_FROM = np.isin(np.arange(len(State)), hazards.INDEPENDENT_LIVING_FROM)


def _moves_into(m, state: State, reason_from: np.ndarray) -> int:
    j = m.journeys.arrays()
    return int((reason_from[j["from_state"]] & (j["to_state"] == state)).sum())


def test_with_no_independent_living_hazard_nobody_moves_into_independent_living():
    m = small_model(seed=11, independent_living_rate_per_year=0.0)
    for _ in range(24):
        m.step()
        assert m.recorder.current["new_independent_living"] == 0
    assert _moves_into(m, State.OTHER_PLACEMENT, INDEPENDENT_FROM) == 0
    # and the hazard does act when it is not zero (same seed)
    m = small_model(seed=11, independent_living_rate_per_year=0.5)
    for _ in range(24):
        m.step()
    assert _moves_into(m, State.OTHER_PLACEMENT, INDEPENDENT_FROM) > 0


def test_independent_living_moves_match_the_hazard_given():
    """Only the independent-living hazard acts (no entries, exits or other moves): the moves
    each month are Binomial(eligible, 1 - exp(-r/12)); the total over 24 months must lie within
    4 standard deviations of its expectation, two-sided (a false alarm about 6 in 100,000)."""
    r = 0.5
    m = small_model(seed=12, scale=0.05, **NO_FLOWS, **NO_EXITS, **{**NO_MOVES, "independent_living_rate_per_year": r})
    c = m.children
    p = float(monthly_probability(np.array(r)))
    expected = variance = 0.0
    observed = 0
    for _ in range(24):
        rows = m.active_rows
        eligible = int((INDEPENDENT_FROM[c.state[rows]] & (c.age_months[rows] >= AGE_16_MONTHS)
                        & (c.age_months[rows] < ADULT_MONTHS)).sum())
        m.step()
        observed += int(m.recorder.current["new_independent_living"])
        expected += eligible * p
        variance += eligible * p * (1 - p)
    assert expected > 200  # enough moves for the test to have power
    assert abs(observed - expected) < 4 * np.sqrt(variance), (observed, expected)


def _initial_pipeline(m) -> np.ndarray:
    """Children in the 2015 adoption pipeline: placed for adoption, or fostered with a placement order."""
    c = m.children
    rows = np.arange(c.n)
    return rows[IS_IN_CARE[c.state[rows]] & ((c.state[rows] == State.PLACED_FOR_ADOPTION)
                                            | (c.legal_status[rows] == LegalStatus.PLACEMENT_ORDER))]


def test_with_no_placement_orders_only_the_initial_pipeline_is_adopted():
    m = small_model(seed=13, placement_order_rate_per_year=0.0)
    pipeline = _initial_pipeline(m)
    assert pipeline.size > 0
    for _ in range(60):
        m.step()
        assert m.recorder.current["new_placement_orders"] == 0
    j = m.journeys.arrays()
    adopted = j["child"][j["to_state"] == State.ADOPTED]
    assert adopted.size > 0
    assert np.isin(adopted, pipeline).all()
    # with placement orders, children outside the initial pipeline are adopted too (same seed)
    m = small_model(seed=13)
    pipeline = _initial_pipeline(m)
    m.run_until(2020)
    j = m.journeys.arrays()
    assert not np.isin(j["child"][j["to_state"] == State.ADOPTED], pipeline).all()


def test_a_falling_placement_order_trend_lowers_adoptions_later():
    """Paired seeds: the same model with a steeper Re B-S decline has fewer adoptions in 2019-20
    and the same in the first months (the 2015 pipeline is set by the start-year hazards)."""
    tables = []
    for trend in (0.0, -0.3):
        m = small_model(seed=14, scale=0.05, placement_order_trend_per_year=trend)
        m.run_until(2020)
        tables.append(m.yearly_table())
    flat, falling = tables
    assert falling.loc[2020, "new_adoptions"] < 0.8 * flat.loc[2020, "new_adoptions"]


def test_the_initial_order_share_is_zero_without_orders_and_grows_with_waiting():
    base = small_model(seed=1).params
    age = np.full(5, 30)
    months = np.array([0, 6, 12, 18, 24])
    assert (hazards.placement_order_share(base.replace(placement_order_rate_per_year=0.0), age, months) == 0).all()
    share = hazards.placement_order_share(base, age, months)
    assert share[0] == share[1] == 0  # no order in the first 6 months of an episode
    assert (np.diff(share[1:]) > 0).all()


def test_sixteen_and_seventeen_year_olds_can_enter_kinship_care():
    """Each route decision has its own draw: a 16-17-year-old goes to kinship with probability
    kinship share x (1 - semi-independent share) (average need, not UASC). With one shared uniform
    (the old code) no 16-17-year-old entered kinship, since the kinship share is below the
    semi-independent share. Tolerance: 4 binomial standard deviations, two-sided."""
    m = small_model(seed=15, scale=0.05)
    c, p = m.children, m.params
    rows = np.flatnonzero(~c.uasc[: c.n])
    c.age_months[rows] = AGE_16_MONTHS + (rows % 24)
    c.need[rows] = Need.AVERAGE
    route = m.front._entry_routes(rows)
    q = p.kinship_share_at_entry * (1 - p.semi_independent_share_16plus)
    kin = int((route == Route.FAMILY).sum())
    assert abs(kin - rows.size * q) < 4 * np.sqrt(rows.size * q * (1 - q)), (kin, rows.size * q)
    semi = int((route == Route.SEMI).sum())
    s = p.semi_independent_share_16plus
    assert abs(semi - rows.size * s) < 4 * np.sqrt(rows.size * s * (1 - s))
