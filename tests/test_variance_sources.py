"""Variance by source on synthetic models with known component variances.

Each source's draw k is a standard normal fixed by (source, k), so the design's pick-freeze rows
see exactly the draws they name. Tolerances: each true share must lie in its 95% bootstrap
interval widened by 0.02 (absolute); shares must sum to 1 within 1e-9 (they telescope exactly).
"""
from __future__ import annotations

import numpy as np
import pytest

from runner.design_store import DesignStore
from runner.errors import UserError
from runner.sensitivity import RunOptions
from runner.variance_sources import CARESIM_SOURCES, SourceDesign, run_variance_study, variance_shares

SOURCE_SD = {"calibration posterior": 2.0, "lever strengths": 1.0, "other assumptions": 0.5, "stochastic noise": 1.0}
TOLERANCE = 0.02


def standard_normal(source: str, draw: int) -> float:
    index = list(SOURCE_SD).index(source)
    return float(np.random.default_rng([index, int(draw)]).normal())


def additive(inputs: dict[str, float], seed: int) -> dict[str, float]:
    """Sum of each source's draw times its SD: shares are SD^2 / 6.25 = 0.64, 0.16, 0.04, 0.16."""
    value = sum(SOURCE_SD[source] * standard_normal(source, draw) for source, draw in inputs.items())
    return {"y": value, "twice": 2 * value + 7}


def with_interaction(inputs: dict[str, float], seed: int) -> dict[str, float]:
    """X1 X2 + X3 (X4 unused): Var = 1 + 1; X1 and X2 share their interaction, so 0.25, 0.25, 0.5, 0."""
    x = [standard_normal(source, inputs[source]) for source in SOURCE_SD]
    return {"y": x[0] * x[1] + x[2]}


def evaluate_directly(design: SourceDesign, fn) -> np.ndarray:
    return np.array([[fn(row, 0)["y"]] for row in design.rows()])


def test_additive_shares_match_the_component_variances_and_sum_to_one(tmp_path):
    design = SourceDesign(CARESIM_SOURCES, 400)
    options = RunOptions(store=DesignStore(tmp_path, {"study": "additive"}))
    shares, evaluated = run_variance_study(design, additive, ["y", "twice"], options, seed=3)
    assert evaluated == 400 * 15 == len(design)
    total_variance = sum(sd ** 2 for sd in SOURCE_SD.values())
    for output in ("y", "twice"):
        table = shares[shares["output"] == output].set_index("source")
        assert abs(table["share"].sum() - 1) < 1e-9
        for source, sd in SOURCE_SD.items():
            truth = sd ** 2 / total_variance
            row = table.loc[source]
            assert row["lo"] - TOLERANCE <= truth <= row["hi"] + TOLERANCE, (output, source, row.to_dict())
            assert row["hi"] - row["lo"] < 0.25
    # a linear map of an output has the same shares
    y = shares[shares["output"] == "y"]["share"].to_numpy()
    assert np.allclose(y, shares[shares["output"] == "twice"]["share"].to_numpy())
    # rerun on the store: nothing left to evaluate
    _, again = run_variance_study(design, additive, ["y", "twice"], options, seed=3)
    assert again == 0


def test_an_interaction_is_shared_equally_between_the_sources_that_make_it():
    design = SourceDesign(tuple(SOURCE_SD), 1000)
    shares = variance_shares(design, evaluate_directly(design, with_interaction), ["y"], resamples=300).set_index("source")
    assert abs(shares["share"].sum() - 1) < 1e-9
    for source, truth in zip(SOURCE_SD, (0.25, 0.25, 0.5, 0.0)):
        row = shares.loc[source]
        assert row["lo"] - TOLERANCE <= truth <= row["hi"] + TOLERANCE, (source, row.to_dict())
    # first-order misses the interaction (0 for X1), total counts it for each (0.5)
    first = shares.loc["calibration posterior"]
    assert abs(first["first_order"]) < 0.1 and abs(first["total"] - 0.5) < 0.1


def test_the_design_names_each_draw_once_per_base_sample():
    design = SourceDesign(("a", "b"), 3)
    rows = design.rows()
    assert len(rows) == 3 * 3
    assert rows[:3] == [{"a": 0, "b": 3}, {"a": 1, "b": 4}, {"a": 2, "b": 5}]   # S = {a}: a from A, b from B
    assert rows[3:6] == [{"a": 3, "b": 0}, {"a": 4, "b": 1}, {"a": 5, "b": 2}]  # S = {b}
    assert rows[6:] == [{"a": 0, "b": 0}, {"a": 1, "b": 1}, {"a": 2, "b": 2}]   # S = both: the base rows A


def test_a_constant_output_has_zero_shares():
    design = SourceDesign(("a", "b"), 4)
    shares = variance_shares(design, np.ones(len(design)), ["flat"])
    assert (shares["share"] == 0).all() and (shares["variance"] == 0).all()


def test_bad_designs_are_refused():
    with pytest.raises(UserError, match="distinct"):
        SourceDesign(("a", "a"), 10)
    with pytest.raises(UserError, match="at least 2 base samples"):
        SourceDesign(("a",), 1)
