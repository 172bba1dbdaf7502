"""Synthesise a return from a model run, read it back, and compare with the model's own counts.

The stocks at 31 March, starts, ceased, exits by reason, the population's placement states and
ages are the model's exactly (the synthetic return is written from its journey log). The
adoption-order hazard, constant in the model (no trend or worker effect), is estimated from the
return as a statistical check: within 3 standard errors (two-sided; SE = rate / sqrt(events)).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calibration.ssda903.cleaning import clean
from calibration.ssda903.counts import flow_table, stock_table
from calibration.ssda903.estimates import estimate
from calibration.ssda903.reader import read_return
from calibration.ssda903.synth import synthesise
from sim.states import IS_IN_CARE, State

YEARS = (2016, 2025)


@pytest.fixture(scope="module")
def trip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    result = synthesise(folder, children=1500, years=YEARS, seed=11)
    ret = clean(read_return(folder))
    return result, ret, estimate(ret)


def _model_years(result):
    table = result.model.yearly_table().loc[YEARS[0]:YEARS[1]]
    return (table * result.scale).round().astype(int)


def test_stock_at_each_31_march_equals_the_model_count(trip):
    result, ret, _ = trip
    assert ret.years == list(range(YEARS[0], YEARS[1] + 1))
    stock = stock_table(ret)
    model = _model_years(result)
    assert stock["total"].tolist() == model["n_in_care"].tolist()
    assert stock["foster"].tolist() == model["n_foster"].tolist()
    assert stock["residential"].tolist() == model["n_residential"].tolist()


def test_starts_and_ceased_equal_the_model_flows(trip):
    result, ret, est = trip
    flows, model = flow_table(ret), _model_years(result)
    assert flows["started"].tolist() == model["new_entries"].tolist()
    assert flows["ceased"].tolist() == model["new_exits"].tolist()
    assert est.entries.sum(axis=1).tolist() == model["new_entries"].tolist()


def test_exits_by_reason_equal_the_model_flows(trip):
    result, _, est = trip
    model = _model_years(result)
    for group, column in (("returned home", "new_returned_home"), ("special guardianship", "new_special_guardianship"),
                          ("adopted", "new_adoptions"), ("aged 18", "new_aged_out"), ("left 16-17", "new_left_16_17")):
        assert est.exits[group].tolist() == model[column].tolist(), group
    assert (est.exits["other"] == 0).all()


def test_population_is_the_model_population(trip):
    result, _, est = trip
    c = result.model.children
    rows = np.flatnonzero(IS_IN_CARE[c.state[: c.n]])
    model_states = pd.Series([State(s).name for s in c.state[rows]]).value_counts().sort_index()
    assert est.population["state"].value_counts().sort_index().to_dict() == model_states.to_dict()
    assert sorted(est.population["age_months"]) == sorted(c.age_months[rows].tolist())
    assert int(est.population["uasc"].sum()) == int(c.uasc[rows].sum())
    # time in care: completed months since the period began; the model counts the entry month as
    # one for entrants (and not for the initial stock): equal to within a month
    diff = np.sort(est.population["months_in_care"].to_numpy()) - np.sort(c.months_in_care[rows])
    assert np.abs(diff).max() <= 1


def test_child_years_at_risk_equal_the_model_month_end_stocks(trip):
    result, _, est = trip
    monthly = result.model.monthly_table()
    window = monthly[(monthly["year"] * 12 + monthly["month_of_year"] >= (YEARS[0] - 1) * 12 + 4)
                     & (monthly["year"] * 12 + monthly["month_of_year"] <= YEARS[1] * 12 + 3)]
    assert len(window) == 12 * (YEARS[1] - YEARS[0] + 1)
    expected = (window["n_in_care"] * result.scale).round().sum() / 12
    assert est.exit_rates_by_state["child_years"].sum() == pytest.approx(expected, abs=1e-9)


def test_adoption_order_hazard_within_three_standard_errors(trip):
    result, _, est = trip
    row = est.exit_rates_by_state.loc["PLACED_FOR_ADOPTION"]
    events = row["adopted"]
    assert events > 200  # enough for a 3-SE band of about +-20%
    rate, truth = row["adopted per year"], result.model.params.adoption_order_rate_per_year
    assert abs(rate - truth) < 3 * rate / np.sqrt(events), (rate, truth, events)


def test_redundant_rows_are_merged_back_and_change_no_count(tmp_path):
    plain = clean(read_return(synthesise(tmp_path / "plain", children=300, years=(2017, 2020), seed=3).paths[0]
                              .parent.parent))
    split = clean(read_return(synthesise(tmp_path / "split", children=300, years=(2017, 2020), seed=3,
                                         redundant_per_episode=1.0).paths[0].parent.parent))
    assert split.steps["redundant episodes (RNE L, T, U with no gap) merged"] > 500
    pd.testing.assert_frame_equal(stock_table(plain), stock_table(split))
    pd.testing.assert_frame_equal(flow_table(plain), flow_table(split))
    a, b = estimate(plain), estimate(split)
    pd.testing.assert_frame_equal(a.exits, b.exits)
    pd.testing.assert_frame_equal(a.moves, b.moves)
