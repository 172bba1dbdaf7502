"""What `caresim run` does to avoid imports gives the same values as what it replaces.

np.unique and np.percentile import numpy.ma on first use (~25 ms of a run's start-up): matching
uses its own sorted-distinct, and the summary computes percentiles only when they are asked for.
"""
from __future__ import annotations

import numpy as np

from runner.summary import STATISTICS, describe
from sim.placements import _distinct


def test_distinct_is_np_unique():
    rng = np.random.default_rng(3)
    for size in (0, 1, 2, 17, 1000):
        values = rng.integers(-5, 40, size)
        got = _distinct(values)
        np.testing.assert_array_equal(got, np.unique(values))
        assert got.dtype == values.dtype


def test_describe_gives_the_same_statistic_whether_asked_alone_or_with_the_others():
    rng = np.random.default_rng(4)
    values = rng.normal(100, 20, (7, 6))
    values[2, 1] = np.nan  # a year with a missing replication
    values[:, 4] = np.nan  # a year with none
    full = describe(values)
    assert set(full) == set(STATISTICS)
    for name in STATISTICS:
        alone = describe(values, (name,))
        assert list(alone) == [name]
        np.testing.assert_array_equal(alone[name], full[name])
    assert np.isnan(full["mean"][4]) and np.isfinite(full["p95"][1])
    assert full["mean"][0] == values[:, 0].mean()
