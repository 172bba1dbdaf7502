"""Degenerate parameters make the model deterministic, so the answers are exact."""
from __future__ import annotations

import numpy as np

from sim.costs import WEEKS_PER_MONTH, weekly_prices
from sim.parameters import monthly_probability
from sim.states import IS_IN_CARE, N_STATES, State
from tests.conftest import small_model

NO_FLOWS = dict(cp_starts_per_year=0.0, at_risk_referrals_per_year=0.0, uasc_entries_per_year=0.0,
                care_entry_rate_cp_per_year=0.0, care_entry_rate_at_risk_per_year=0.0,
                reentry_rate_first_year_per_year=0.0, reentry_rate_later_per_year=0.0)
NO_EXITS = dict(return_home_rate_per_year=0.0, placed_with_parents_discharge_rate_per_year=0.0,
                special_guardianship_rate_per_year=0.0, adoption_order_rate_per_year=0.0,
                left_16_17_rate_per_year=0.0)
NO_MOVES = dict(foster_breakdown_rate_per_year=0.0, placed_for_adoption_rate_per_year=0.0,
                placement_order_rate_per_year=0.0, independent_living_rate_per_year=0.0,
                placed_with_parents_rate_per_year=0.0, step_down_rate_per_year=0.0,
                to_semi_independent_rate_per_year=0.0)


def test_with_no_entries_exits_or_moves_only_18th_birthdays_change_the_stock():
    m = small_model(seed=3, **NO_FLOWS, **{**NO_EXITS, "adoption_order_rate_per_year": 0.1}, **NO_MOVES)
    c = m.children
    rows = np.flatnonzero(IS_IN_CARE[c.state[: c.n]])
    ages = c.age_months[rows].astype(int)
    adoption = c.state[rows] == State.PLACED_FOR_ADOPTION
    # adoption orders are the only other exit here: count children outside that state exactly
    for month in range(1, 25):
        m.step()
        expected = int(((ages + month < 216) & ~adoption).sum())
        in_care = m.children.state[rows]
        assert int((IS_IN_CARE[in_care] & ~adoption).sum()) == expected
        assert m.current["new_entries"] == 0
        assert m.current["new_aged_out"] * m.scale == int(((ages + month == 216)).sum())


def test_spend_is_exactly_count_times_price_when_prices_do_not_vary():
    m = small_model(seed=4, cost_dispersion=0.0, **NO_FLOWS, **NO_EXITS, **NO_MOVES)
    m.step()
    c = m.children
    counts = np.bincount(c.state[m.active_rows], minlength=N_STATES)
    res_idx, fam_idx = m.costs.indices(m.year)
    price = weekly_prices(m.params)
    residential = [State.HOME_LA, State.HOME_PRIVATE, State.SEMI_INDEPENDENT]
    index = np.full(N_STATES, fam_idx)
    index[residential] = res_idx
    placements = (counts * price * index).sum() * WEEKS_PER_MONTH / m.scale
    weekly_overhead = (m.costs.overhead_fixed_weekly_gbp(m.scale)
                       + counts[IS_IN_CARE].sum() * m.costs.overhead_variable_weekly_gbp())
    overhead = weekly_overhead * fam_idx * WEEKS_PER_MONTH / m.scale
    assert np.isclose(m.current["spend_children_in_care_gbp"], placements + overhead, rtol=1e-12)


def test_without_free_foster_places_foster_route_entrants_go_to_residential():
    m = small_model(seed=5, foster_vacancy_2015=0.0, foster_recruitment_rate_per_year=0.0,
                    agency_response_households_per_child=0.0, foster_attrition_rate_per_year=0.0, kinship_share_at_entry=0.0, residential_need_rate=0.0,
                    semi_independent_share_16plus=0.0, **NO_EXITS, **NO_MOVES)
    foster_before = m.current["n_foster_in_house"] + m.current["n_foster_agency"]
    # households' places are whole numbers and approved for some ages only: a few places are free
    free_before = m.current["n_foster_places_free"]
    places_before = m.current["n_foster_places"]
    no_foster = 0
    for _ in range(12):
        m.step()
        no_foster += m.current["new_residential_no_foster"]
    foster_after = m.current["n_foster_in_house"] + m.current["n_foster_agency"]
    assert m.current["n_foster_places"] == places_before  # no place is added
    assert foster_after <= foster_before + free_before  # only places free at the start or freed since
    assert no_foster > 0
    places = m.current["n_foster_places"]
    assert places == m.current["n_foster_places_free"] + foster_after


def test_exits_match_the_hazard_statistically():
    """Only one exit hazard r: exits in a month ~ Binomial(N, 1 - exp(-r/12)); two-sided, 4 SE."""
    r = 1.2
    m = small_model(seed=6, scale=0.05, **NO_FLOWS, **NO_MOVES, return_home_rate_per_year=r,
                    return_home_early_multiplier=1.0, exit_trend_per_year=0.0,
                    placed_with_parents_discharge_rate_per_year=r, adoption_order_rate_per_year=r,
                    special_guardianship_rate_per_year=0.0, left_16_17_rate_per_year=0.0)
    n = int(IS_IN_CARE[m.children.state[m.active_rows]].sum())
    m.step()
    exits = (m.current["new_exits"] - m.current["new_aged_out"]) * m.scale
    p = float(monthly_probability(r))
    se = np.sqrt(n * p * (1 - p))
    assert abs(exits - n * p) < 4 * se, (exits, n * p, se)


def test_scale_must_be_a_share():
    import pytest

    from sim.model import CareModel

    for bad in (0, -0.5, 1.5):
        with pytest.raises(ValueError):
            CareModel(scale=bad)


def test_without_attrition_no_child_moves_because_a_carer_left():
    m = small_model(seed=7, foster_attrition_rate_per_year=0.0)
    for _ in range(24):
        m.step()
        assert m.current["new_carer_left_moves"] == 0
        assert m.current["new_foster_households_left"] == 0


def test_without_recruitment_or_attrition_households_are_constant():
    m = small_model(seed=8, foster_attrition_rate_per_year=0.0, foster_recruitment_rate_per_year=0.0,
                    agency_response_households_per_child=0.0)
    households = m.current["n_unrelated_foster_households"]
    places = m.current["n_foster_places"]
    for _ in range(24):
        m.step()
        assert m.current["n_unrelated_foster_households"] == households
        assert m.current["n_foster_places"] == places


def test_without_recruitment_households_only_fall():
    m = small_model(seed=8, foster_recruitment_rate_per_year=0.0, agency_response_households_per_child=0.0)
    households = start = m.current["n_unrelated_foster_households"]
    for _ in range(24):
        m.step()
        assert m.current["new_foster_households_recruited"] == 0
        assert m.current["n_unrelated_foster_households"] <= households
        households = m.current["n_unrelated_foster_households"]
    assert households < start  # attrition does act


def test_agencies_respond_only_to_unmet_foster_demand():
    """With places to spare and no carer leaving, no child goes to a home for want of a foster
    place, so the agencies' response changes nothing: the runs are identical."""
    spare = dict(foster_vacancy_2015=0.45, foster_attrition_rate_per_year=0.0)
    runs = [small_model(seed=11, agency_response_households_per_child=r, **spare) for r in (0.0, 2.0)]
    for _ in range(24):
        for m in runs:
            m.step()
        assert runs[0].current["new_residential_no_foster"] == 0
    np.testing.assert_array_equal(runs[0].monthly_table().to_numpy(), runs[1].monthly_table().to_numpy())


def test_agencies_recruit_for_a_foster_shortage_and_fewer_children_go_to_homes():
    """Paired seeds, a shortage (few spare places, no base recruitment): with the response,
    agencies recruit and fewer children go to a home for want of a foster place."""
    short = dict(foster_vacancy_2015=0.02, foster_recruitment_rate_per_year=0.0)
    totals = []
    for r in (0.0, 2.0):
        m = small_model(seed=12, agency_response_households_per_child=r, **short)
        m.run_until(2018)
        t = m.monthly_table()
        totals.append((t["new_foster_households_recruited"].sum(), t["new_residential_no_foster"].sum()))
    (recruited_0, refused_0), (recruited_2, refused_2) = totals
    assert recruited_0 == 0 and refused_0 > 0
    assert recruited_2 > 0 and refused_2 < refused_0


def test_with_attrition_children_of_leaving_carers_move_and_are_counted():
    m = small_model(seed=9, foster_attrition_rate_per_year=0.5)
    moved = 0
    for _ in range(12):
        m.step()
        moved += m.current["new_carer_left_moves"]
        assert m.current["new_carer_left_moves"] <= m.current["new_placement_moves"]
    assert moved > 0


def test_the_fixed_overhead_does_not_move_with_the_number_of_children_in_care():
    """Two runs with very different stocks: the fixed overhead is the same each month; the variable
    part is exactly children in care x its weekly rate."""
    few = small_model(seed=10, care_entry_rate_cp_per_year=0.0, care_entry_rate_at_risk_per_year=0.0)
    many = small_model(seed=10, care_entry_rate_cp_per_year=1.5, care_entry_rate_at_risk_per_year=1.5)
    for _ in range(12):
        few.step()
        many.step()
    assert many.current["n_in_care"] > 1.2 * few.current["n_in_care"]
    assert few.current["spend_overhead_fixed_gbp"] == many.current["spend_overhead_fixed_gbp"]
    _, fam = few.costs.indices(few.year)
    for m in (few, many):
        expected = m.current["n_in_care"] * m.costs.overhead_variable_weekly_gbp() * fam * WEEKS_PER_MONTH
        assert np.isclose(m.current["spend_overhead_variable_gbp"], expected, rtol=1e-9)


def test_at_the_2020_stock_fixed_and_variable_overhead_add_up_to_the_calibrated_overhead():
    m = small_model(seed=11)
    p = m.params
    stock = p.overhead_reference_children
    total = m.costs.overhead_fixed_weekly_gbp(1.0) + stock * m.costs.overhead_variable_weekly_gbp()
    assert np.isclose(total, stock * p.care_overhead_weekly_cost_gbp, rtol=1e-12)


def test_caseload_is_agents_and_the_unsimulated_stock_over_case_holders():
    m = small_model(seed=12)
    m.step()
    m.workforce.allocate(m.active_rows)  # the caseload of the cases on the books now
    w = m.workers
    holders = int(w.active[: w.n].sum())
    expected = (m.active_rows.size + m.workforce.other_cases()) / holders
    assert np.isclose(m.workforce.caseload_per_fte, expected, rtol=1e-5)


def test_caseload_moves_with_demand_on_paired_seeds():
    """More referrals -> more cases on the same workforce -> a higher caseload, in every paired seed;
    fails if the caseload were a constant."""
    for seed in (13, 14, 15):
        base = small_model(seed=seed)
        more = small_model(seed=seed, cp_starts_per_year=1.5 * base.params.cp_starts_per_year,
                           at_risk_referrals_per_year=1.5 * base.params.at_risk_referrals_per_year)
        for _ in range(12):
            base.step()
            more.step()
        assert more.current["caseload_per_fte"] > base.current["caseload_per_fte"] + 0.5
        assert more.current["n_social_workers"] == base.current["n_social_workers"]
