"""The front and back edges: re-entry after a return home, reunification support, edge-of-care support.

Degenerate cases are exact; the re-entry curve is a two-sided statistical test against the
analytic survival of sim/hazards.py (tolerance: 3 binomial standard errors at each point).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import hazards
from sim.ages import ADULT_MONTHS, AGE_11_MONTHS
from sim.costs import SUPPORT_SPEND, WEEKS_PER_MONTH
from sim.levers import lever_from_dict
from sim.measures import BY_NAME
from sim.model import CareModel
from sim.parameter_file import load_params
from sim.run import run_replication
from sim.states import State
from tests.conftest import small_model

SUPPORT_SPEND_COLUMNS = ("spend_reunification_gbp", "spend_support_gbp", "n_reunification_support",
                         "new_reunification_support")


def with_levers(seed: int, *levers, **overrides) -> CareModel:
    """A 2% model with levers (and parameter overrides)."""
    return CareModel(load_params().replace(**overrides), seed=seed, scale=0.02, levers=list(levers))


def lever(kind: str, **args):
    return lever_from_dict({"type": kind, "start": "2016-04", "ramp_months": 0, **args})


# ---------------------------------------------------------------------------- re-entry
def test_reentry_survival_matches_the_evidence_it_cites():
    p = load_params()
    assert 1 - hazards.reentry_survival(p, 12) == pytest.approx(0.20, abs=0.005)  # one in five within a year
    assert 0.30 <= 1 - hazards.reentry_survival(p, 60) <= 0.34  # 30% within five years (DfE)
    assert 1 - hazards.reentry_survival(p, 72) > 1 / 3  # over a third within six (Goldacre et al.)
    # no cliff at the old 24-month monitoring end: the hazard continues after it
    assert hazards.reentry_hazard(p, np.array([24, 25, 48]), np.zeros(3, bool), 0.0).min() > 0


def test_the_share_back_in_care_within_12_and_60_months_follows_the_hazard():
    """Children who went home in the first year (under 13 then, so 18th birthdays censor none
    within 60 months): the share whose first re-entry came within 12 and within 60 months, each
    against 1 - S(t) from the hazard, within 3 binomial standard errors (two-sided)."""
    p = load_params()
    m = CareModel(p, seed=11, scale=0.1)
    m.run_until(2021, 6)  # 75 months: 60 months of follow-up for returns up to month 15
    log = m.journeys.arrays()
    ret = (log["to_state"] == State.RETURNED_HOME) & (log["month"] >= 1) & (log["month"] <= 15)
    child, month = log["child"][ret], log["month"][ret]
    first = np.unique(child, return_index=True)[1]  # a child's first return in the window
    child, month = child[first], month[first]
    age_at_return = m.children.age_months[child] - (m.month - month)
    keep = age_at_return < (ADULT_MONTHS - 61)
    child, month = child[keep], month[keep]
    back = (log["from_state"] == State.RETURNED_HOME) & (log["to_state"] != State.CLOSED)
    reentry = pd.Series(log["month"][back]).groupby(log["child"][back]).min()
    waited = reentry.reindex(child).to_numpy() - month  # NaN: not back
    assert child.size > 500
    for months in (12, 60):
        share = float(np.mean(waited <= months))
        expected = 1 - float(hazards.reentry_survival(p, months))
        se = np.sqrt(expected * (1 - expected) / child.size)
        assert abs(share - expected) < 3 * se, (months, share, expected, se, child.size)
    m.release()


def test_with_no_reentry_hazard_nobody_comes_back():
    m = small_model(seed=2, reentry_rate_first_year_per_year=0.0, reentry_rate_later_per_year=0.0)
    m.run_until(2018)
    assert m.yearly_table()["new_reentries"].sum() == 0
    assert (m.yearly_table()["new_returned_home"].iloc[1:] > 0).all()


def test_children_at_home_leave_the_caseload_after_monitoring_and_the_model_at_the_horizon():
    p = load_params()
    m = small_model(seed=4)
    m.run_until(2017)
    c = m.children
    returned = m.active_rows[c.state[m.active_rows] == State.RETURNED_HOME]
    months = c.months_in_state[returned]
    assert months.max() < p.reentry_horizon_months and (months >= p.monitoring_months).any()
    assert (c.worker[returned[months >= p.monitoring_months]] == -1).all()
    assert (c.worker[returned[months < p.monitoring_months - 1]] >= 0).all()


# ---------------------------------------------------------------------------- reunification support
def test_with_no_return_appropriate_support_brings_nobody_home_and_only_costs():
    """Support episodes run (and are paid for) but no assessment finds a return appropriate:
    every other column is bit-identical to the baseline."""
    p = load_params().replace(return_appropriate_share=0.0)
    args = dict(seed=3, scale=0.02, end_year=2019, params=p)
    base = run_replication(**args)
    sup = run_replication(**args, levers=[lever("supporting_children_home", capacity_children=20000.0,
                                                return_rate_per_year=3.0, reentry_reduction=0.0)])
    assert sup["spend_reunification_gbp"].sum() > 0 and base["spend_reunification_gbp"].sum() == 0
    pd.testing.assert_frame_equal(sup.drop(columns=list(SUPPORT_SPEND_COLUMNS)),
                                  base.drop(columns=list(SUPPORT_SPEND_COLUMNS)), check_exact=True)


def test_reunification_spend_is_children_in_an_episode_times_the_weekly_cost():
    m = with_levers(5, lever("supporting_children_home", capacity_children=5000.0))
    for _ in range(16):
        m.step()
    rec = m.recorder.current
    _, fam = m.costs.indices(m.year)
    assert rec["n_reunification_support"] > 0
    expected = rec["n_reunification_support"] * m.params.reunification_weekly_cost_gbp * fam * WEEKS_PER_MONTH
    assert rec["spend_reunification_gbp"] == pytest.approx(expected, rel=1e-12)
    assert rec["n_reunification_support"] <= int(5000.0 * m.scale)  # capacity holds
    c = m.children
    in_episode = np.flatnonzero(c.reunification_until[: c.n] >= m.month)
    assert c.reunifiable[in_episode].all()  # only children whose return was not properly explored


def test_support_spend_measures_are_declared_money():
    assert all(BY_NAME[name].kind == "money" for name in SUPPORT_SPEND)


# ---------------------------------------------------------------------------- edge-of-care support
def test_support_with_relative_risk_one_leaves_entries_identical_to_no_support():
    p = load_params().replace(edge_support_relative_risk=1.0)
    with_places = run_replication(seed=6, scale=0.02, end_year=2019, params=p)
    without = run_replication(seed=6, scale=0.02, end_year=2019, params=p.replace(edge_capacity_families=0.0))
    assert with_places["n_edge_families"].iloc[-1] > 0
    for col in ("new_entries", "n_in_care", "new_reentries", "new_returned_home"):
        pd.testing.assert_series_equal(with_places[col], without[col], check_exact=True)


def test_support_goes_only_to_families_at_the_edge_and_coverage_is_recorded():
    p = load_params()
    m = with_levers(7, lever("investment", gbp_per_year=205e6))
    threshold = p.edge_hazard_threshold_multiple * p.care_entry_rate_cp_per_year
    for _ in range(24):
        m.step()
        c, f = m.children, m.families
        c.age_months[: c.n] -= 1  # the ages at the support phase (the step ends with birthdays)
        home = m.front.at_home(m.active_rows[np.isin(m.children.state[m.active_rows],
                                                     (State.CHILD_IN_NEED, State.CHILD_PROTECTION, State.EDGE_OF_CARE))])
        c.age_months[: c.n] += 1
        started = f.support_until[home.families] == m.month + int(p.edge_support_months) - 1
        fam_hazard = hazards.family_max(home.hazard, home.group, home.starts.size)
        on_plan = np.logical_or.reduceat(c.on_plan[home.rows], home.starts)
        # a family whose child turned 18 this month lost that child's hazard: left out
        turned_18 = np.flatnonzero((c.state[: c.n] == State.CLOSED) & (c.age_months[: c.n] == ADULT_MONTHS)
                                   & (c.months_in_state[: c.n] == 0))
        whole = ~np.isin(home.families, c.family[turned_18])
        assert (on_plan[started & whole] & (fam_hazard[started & whole] >= threshold)).all()
        rec = m.recorder.current
        assert 0 < rec["n_edge_families"] <= rec["n_families_at_edge"]


def test_support_has_no_effect_at_11_plus_by_default_and_fades_after_its_months():
    p = load_params()
    m = small_model(seed=8)
    for _ in range(3):
        m.step()
    c = m.children
    active = m.active_rows
    home = m.front.at_home(active[np.isin(c.state[active], (State.CHILD_IN_NEED, State.CHILD_PROTECTION,
                                                              State.EDGE_OF_CARE))])

    class NoTimeEffect:
        @staticmethod
        def of(children, rows):
            return np.ones(rows.size)

    factor = m.front.support_effect(home, m.policy, NoTimeEffect)
    reached = factor < 1
    assert reached.any()
    assert np.allclose(factor[reached], p.edge_support_relative_risk)
    older = c.age_months[home.rows] >= AGE_11_MONTHS
    supported = home.per_child(m.families.support_until[home.families] >= 0)
    assert (factor[supported & older] == 1).all()  # MST: no effect at 11+
    m.month += int(p.edge_effect_months) + int(p.edge_support_months)  # every episode's effect is over
    assert (m.front.support_effect(home, m.policy, NoTimeEffect) == 1).all()


def test_locally_tailored_delivery_focuses_support_on_the_age_band():
    def supported_without_a_young_child(max_age_years: int) -> int:
        m = with_levers(9, lever("locally_tailored_delivery", min_age_years=0, max_age_years=max_age_years))
        count = 0
        m.run_until(2016, 3)  # the lever starts in April 2016
        for _ in range(18):
            m.step()
            c = m.children
            edge = m.active_rows[c.state[m.active_rows] == State.EDGE_OF_CARE]
            fams = np.unique(c.family[edge])
            young = np.unique(c.family[edge[c.age_months[edge] - 1 < AGE_11_MONTHS]])  # ages at the support phase
            started = m.families.support_until[fams] == m.month + int(m.params.edge_support_months) - 1
            count += int(np.setdiff1d(fams[started], young).size)
        return count

    assert supported_without_a_young_child(11) == 0  # focused: every family started has a child under 11
    assert supported_without_a_young_child(18) > 0  # not focused: some have only older children


def test_new_levers_round_trip_through_a_scenario_file(tmp_path):
    from experiments.scenarios import load_scenario
    text = ('name = "pillars"\ndescription = "two pillars"\nshare_realised = 0.5\n\n'
            '[[levers]]\ntype = "aligned_partnership_working"\nstart = "2020-04"\nescalation_cut = 0.15\n\n'
            '[[levers]]\ntype = "locally_tailored_delivery"\nmin_age_years = 0\nmax_age_years = 11\nhigh_need_only = 1\n')
    path = tmp_path / "pillars.toml"
    path.write_text(text)
    scenario = load_scenario(path)
    assert [lv.to_dict() for lv in scenario.levers] == [
        {"type": "aligned_partnership_working", "start": "2020-04", "escalation_cut": 0.15},
        {"type": "locally_tailored_delivery", "min_age_years": 0, "max_age_years": 11, "high_need_only": 1}]
    again = tmp_path / "again.toml"
    again.write_text(scenario.to_toml())
    assert load_scenario(again).levers == scenario.levers
