"""Seeded regression (not validation): the output of fixed runs has not changed by accident.

Every column of the yearly table of the baseline and of a scenario with every lever, every
year, must match the committed baseline to a relative 1e-12 (float round-off of a reordered
sum is allowed; any change of behaviour is not). If a change is meant to alter results, run
`python tests/regression/update.py` and commit the new baseline with the reason.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.regression.update import BASELINE, SCENARIOS, regression_output


@pytest.fixture(scope="module")
def pinned_and_now():
    return json.loads(BASELINE.read_text()), regression_output()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_column_of_the_yearly_table_matches_the_regression_baseline(pinned_and_now, scenario):
    pinned, now = (x["runs"][scenario] for x in pinned_and_now)
    assert now["years"] == pinned["years"]
    assert now["child_months"] == pinned["child_months"]
    assert list(now["columns"]) == list(pinned["columns"])
    for col, expected in pinned["columns"].items():
        got = np.array(now["columns"][col], dtype=float)
        want = np.array(expected, dtype=float)
        assert np.array_equal(np.isnan(got), np.isnan(want)), col
        assert np.allclose(got, want, rtol=1e-12, atol=0, equal_nan=True), (col, got, want)
