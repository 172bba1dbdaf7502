"""The recorder writes exactly the declared measures, unscaled; scale applies in one place."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.measures import BY_NAME, CALENDAR, MEASURES, to_england, yearly
from sim.states import IS_IN_CARE
from tests.conftest import small_model


@pytest.fixture(scope="module")
def model():
    m = small_model(seed=8, scale=0.02)
    m.run_until(2017)
    yield m
    m.release()


def test_every_recorded_column_is_a_declared_measure_and_every_measure_is_recorded(model):
    recorded = [k for k in model.recorder.current if k not in CALENDAR]
    assert recorded == [m.name for m in MEASURES]  # same names, in the declared order
    assert list(model.monthly_table().columns) == ["year", "month_of_year", *recorded]
    assert list(model.yearly_table().columns) == recorded


def test_records_are_unscaled_and_the_tables_are_england_scale(model):
    raw, s = model.recorder.current, model.scale
    n = model.children.n
    in_care = int(IS_IN_CARE[model.children.state[:n]].sum())
    assert raw["n_in_care"] == in_care  # children simulated, not England
    last = model.monthly_table().iloc[-1]
    for m in MEASURES:
        expected = raw[m.name] / s if m.scaled else raw[m.name]
        assert last[m.name] == pytest.approx(expected, rel=1e-15, abs=0), m.name
    assert model.current["n_in_care"] == in_care / s


def test_to_england_scales_exactly_the_scaled_measures():
    record = {"month": 5, "year": 2015, "n_in_care": 10, "caseload_per_fte": 16.0, "new_entries": 3,
              "child_months": 7, "spend_social_work_gbp": 2.0}
    out = to_england(record, 0.5)
    assert out == {"month": 5, "year": 2015, "n_in_care": 20.0, "caseload_per_fte": 16.0, "new_entries": 6.0,
                   "child_months": 7, "spend_social_work_gbp": 4.0}
    frame = to_england(pd.DataFrame([record]), 0.25)
    assert frame.loc[0, "n_in_care"] == 40.0 and frame.loc[0, "caseload_per_fte"] == 16.0
    with pytest.raises(TypeError):
        to_england([1, 2], 0.5)


def test_yearly_aggregates_each_column_by_its_measure(model):
    monthly, yearly_table = model.monthly_table(), model.yearly_table()
    for year in (2016, 2017):
        end = (year - 2015) * 12
        months = monthly.loc[end - 11:end]
        for name in ("n_in_care", "direct_hours_per_week"):
            assert BY_NAME[name].over_year == "end"
            assert yearly_table.loc[year, name] == monthly.loc[end, name]
        assert BY_NAME["caseload_per_fte"].over_year == "mean"
        assert yearly_table.loc[year, "caseload_per_fte"] == pytest.approx(months["caseload_per_fte"].mean(), rel=1e-12)
        for name in ("new_entries", "spend_children_in_care_gbp", "child_months"):
            assert BY_NAME[name].over_year == "sum"
            assert yearly_table.loc[year, name] == pytest.approx(months[name].sum(), rel=1e-12)
    assert np.isnan(yearly_table.loc[2015, "new_entries"])  # no months before 31 March 2015
    assert yearly_table.loc[2015, "n_in_care"] == monthly.loc[0, "n_in_care"]


def test_a_mean_over_the_year_is_the_mean_of_its_twelve_months(monkeypatch):
    from sim import measures

    monthly = pd.DataFrame({"year": [2015] + [2015] * 9 + [2016] * 3, "month_of_year": [3, *range(4, 13), 1, 2, 3],
                            "caseload_per_fte": np.arange(13.0)}, index=pd.RangeIndex(13, name="month"))
    monkeypatch.setitem(measures.BY_NAME, "caseload_per_fte",
                        measures.Measure("caseload_per_fte", "ratio", "cases", "test", over_year="mean"))
    table = yearly(monthly)
    assert np.isnan(table.loc[2015, "caseload_per_fte"])
    assert table.loc[2016, "caseload_per_fte"] == np.mean(np.arange(1.0, 13.0))


def test_a_flow_must_be_declared_to_be_counted(model):
    with pytest.raises(KeyError, match="not a declared flow"):
        model.flows["new_unicorns"] = 1


def test_caseload_per_fte_is_the_mean_over_the_year_of_the_monthly_caseload(model):
    """The JSON's `caseload_per_fte`: the twelve month-end caseloads per active worker (FTE) of the
    year ending 31 March, averaged; the first year has no months before it (None in the JSON)."""
    from sim.measures import CONTRACT

    assert CONTRACT["caseload_per_fte"] == "caseload_per_fte" and BY_NAME["caseload_per_fte"].over_year == "mean"
    assert not BY_NAME["caseload_per_fte"].scaled
    monthly, table = model.monthly_table(), model.yearly_table()
    assert (monthly["caseload_per_fte"] == monthly["mean_caseload"]).all()
    assert np.isnan(table.loc[2015, "caseload_per_fte"])
    w = model.workers
    assert model.recorder.current["caseload_per_fte"] == pytest.approx(float(w.caseload[: w.n][w.active[: w.n]].mean()))
    for year in (2016, 2017):
        end = (year - 2015) * 12
        twelve = monthly.loc[end - 11:end, "mean_caseload"].to_numpy()
        assert table.loc[year, "caseload_per_fte"] == pytest.approx(twelve.mean(), rel=1e-12)
        assert 10 < table.loc[year, "caseload_per_fte"] < 25
