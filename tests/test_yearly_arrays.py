"""The yearly table as arrays (`sim.measures.Yearly`) and the summaries of replications held that way.

`caresim run` summarises its replications from arrays, without pandas; `compare`, the
dashboard and the local model summarise a DataFrame of runs. Both must give the same figures.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from runner.montecarlo import as_rows, replication_table
from runner.summary import contract, contract_of, grid_of, mean_table, means_of
from sim.measures import CONTRACT, MEASURES, yearly_arrays
from sim.parameter_file import ParameterSet
from experiments.scenarios import load_scenario

SCENARIO = load_scenario("optimised-low").to_dict()  # its levers start in April 2020


@pytest.fixture(scope="module")
def replications():
    """Three replications at scale 0.005 to 2021, each with its posterior draw: arrays and frames."""
    pset = ParameterSet.load()
    seeds = [4, 5, 6]
    arrays = [replication_table(SCENARIO, pset.for_replication(s), s, 0.005, 2021, frame=False) for s in seeds]
    frames = [replication_table(SCENARIO, pset.for_replication(s), s, 0.005, 2021) for s in seeds]
    return seeds, arrays, frames


def test_the_arrays_are_the_dataframe_of_the_same_run(replications):
    _, arrays, frames = replications
    for table, frame in zip(arrays, frames):
        pd.testing.assert_frame_equal(table.to_frame(), frame, check_exact=True)
        assert table.attrs == frame.attrs and table.attrs["child_months"] > 0


def test_the_contract_from_arrays_equals_the_contract_from_a_table_of_runs(replications):
    seeds, arrays, frames = replications
    runs = pd.concat([as_rows(f, "optimised-low", s) for s, f in zip(seeds, frames)], ignore_index=True)
    years, values = grid_of(arrays, list(CONTRACT.values()))
    from_arrays = contract_of(years, values, scenario="optimised-low", seed=4, child_months=123)
    assert from_arrays == contract(runs, scenario="optimised-low", seed=4, child_months=123)
    assert from_arrays["replications"] == 3 and "children_in_care_p95" in from_arrays
    # the mean is the mean of the three runs, year by year (the first year has no flows: null)
    in_care = np.array([f["n_in_care"].to_numpy() for f in frames])
    assert from_arrays["children_in_care"] == [round(float(v), 2) for v in in_care.mean(axis=0)]
    assert from_arrays["entries"][0] is None


def test_the_mean_table_from_arrays_equals_the_one_from_runs(replications):
    seeds, arrays, frames = replications
    runs = pd.concat([as_rows(f, "optimised-low", s) for s, f in zip(seeds, frames)], ignore_index=True)
    columns = [m.name for m in MEASURES]
    years, values = grid_of(arrays, columns)
    table = mean_table(runs, "optimised-low")
    means = means_of(values)
    assert list(table.columns) == columns and list(table.index) == list(years)
    for c in columns:
        np.testing.assert_array_equal(table[c].to_numpy(), means[c])


def test_replications_over_different_years_are_refused(replications):
    _, arrays, _ = replications
    short = replication_table(SCENARIO, ParameterSet.load().point, 4, 0.005, 2019, frame=False)
    with pytest.raises(RuntimeError, match="different years"):
        grid_of([arrays[0], short], ["n_in_care"])


def test_a_year_sums_its_twelve_months_and_a_stock_takes_31_march():
    months = np.arange(25)
    month_of_year = (np.arange(25) + 2) % 12 + 1  # month 0 is March
    years = 2015 + (months + 9) // 12  # the calendar year of each month
    flows = np.arange(25.0)
    flows[5] = np.nan  # a missing month is left out of its year's sum
    table = yearly_arrays(months, month_of_year, years, {"new_entries": flows, "n_in_care": months * 10,
                                                         "caseload_per_fte": np.full(25, 2.0)})
    assert list(table.years) == [2015, 2016, 2017]
    assert list(table.columns["n_in_care"]) == [0, 120, 240]
    assert np.isnan(table.columns["new_entries"][0])
    assert table.columns["new_entries"][1] == sum(range(1, 13)) - 5
    assert table.columns["new_entries"][2] == sum(range(13, 25))
    assert table.columns["caseload_per_fte"][1] == 2.0  # a mean over the year


def test_a_column_of_several_series_gives_each_series_exactly_as_alone():
    """A region's authorities go through `yearly_arrays` together (months x authorities): each
    authority's years must be bit for bit what its own column gives (sums in another order
    would differ in the last bit)."""
    rng = np.random.default_rng(5)
    months = np.arange(37)
    month_of_year = (months + 2) % 12 + 1
    years = 2015 + (months + 9) // 12
    columns = {"new_entries": rng.random((37, 4)) * 1e3, "caseload_per_fte": rng.random((37, 4)) * 20,
               "n_in_care": rng.integers(0, 500, (37, 4))}
    columns["new_entries"][7, 2] = np.nan
    together = yearly_arrays(months, month_of_year, years, columns)
    for k in range(4):
        alone = yearly_arrays(months, month_of_year, years, {c: v[:, k] for c, v in columns.items()})
        for c in columns:
            assert together.columns[c].dtype == alone.columns[c].dtype, c
            np.testing.assert_array_equal(together.columns[c][:, k], alone.columns[c], err_msg=c)


def test_months_that_do_not_start_at_31_march_are_refused():
    with pytest.raises(ValueError, match="31 March"):
        yearly_arrays(np.arange(1, 13), np.arange(4, 16) % 12 + 1, np.full(12, 2015), {})
    with pytest.raises(ValueError, match="consecutive"):
        yearly_arrays(np.array([0, 2]), np.array([3, 5]), np.array([2015, 2015]), {})
