"""Scenario discovery: PRIM (EMA Workbench) finds planted boxes; EMA runs a model on caresim's executor.

Tolerance: a recovered limit is within 0.05 of the planted one on inputs uniform on [0, 1]
(with 2,000 Latin-hypercube samples PRIM's peel steps are 5% of the remaining cases).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.discovery import (discover, discovery_markdown, ema_model, run_experiments,
                                   sample_experiments)
from runner.errors import UserError
from runner.sensitivity import Input, Problem

LIMIT_TOLERANCE = 0.05
FOUR_INPUTS = Problem(tuple(Input(f"x{i}", 0.0, 1.0) for i in range(1, 5)))


def in_planted_box(x1: float, x2: float, x3: float, x4: float) -> bool:
    return x1 > 0.6 and x2 < 0.3


def toy_model(x1: float, x2: float, x3: float, x4: float, saving_at_best: float = 0.3) -> dict[str, float]:
    """A 'net saving' that reaches the target only where x1 > 0.6 and x2 < 0.3 (module level: picklable)."""
    return {"net_saving": saving_at_best if in_planted_box(x1, x2, x3, x4) else 0.1 * x1}


def test_prim_recovers_a_planted_box_and_leaves_the_other_inputs_free():
    experiments = sample_experiments(FOUR_INPUTS, 2000, seed=1)
    outcome = (experiments["x1"] > 0.6) & (experiments["x2"] < 0.3)
    (box,) = discover(experiments, outcome, "planted").boxes
    assert {limit.input for limit in box.limits} == {"x1", "x2"}
    assert abs(box.limit("x1").low - 0.6) < LIMIT_TOLERANCE and box.limit("x1").qp_high is None
    assert abs(box.limit("x2").high - 0.3) < LIMIT_TOLERANCE and box.limit("x2").qp_low is None
    assert box.coverage > 0.9 and box.density > 0.9
    assert box.limit("x1").qp_low < 1e-6  # the restriction is far from chance
    assert box.of_interest == round(box.coverage * outcome.sum())


def test_prim_with_label_noise_still_finds_the_box():
    experiments = sample_experiments(FOUR_INPUTS, 2000, seed=2)
    outcome = ((experiments["x1"] > 0.6) & (experiments["x2"] < 0.3)).to_numpy()
    flips = np.random.default_rng(3).random(len(outcome)) < 0.05
    # about 95% of the box and 5% outside it are cases: a box of density 0.9 is the planted one
    (box, *_) = discover(experiments, outcome ^ flips, "noisy", min_density=0.9).boxes
    assert abs(box.limit("x1").low - 0.6) < LIMIT_TOLERANCE
    assert abs(box.limit("x2").high - 0.3) < LIMIT_TOLERANCE
    assert box.density >= 0.9 and box.coverage > 0.6


def test_two_separate_regions_give_two_boxes():
    experiments = sample_experiments(FOUR_INPUTS, 3000, seed=4)
    first = (experiments["x1"] > 0.7) & (experiments["x2"] < 0.4)
    second = (experiments["x3"] < 0.25) & (experiments["x4"] > 0.75)
    found = discover(experiments, first | second, "either", max_boxes=3)
    assert len(found.boxes) >= 2
    restricted = [frozenset(limit.input for limit in box.limits) for box in found.boxes[:2]]
    assert set(restricted) == {frozenset({"x1", "x2"}), frozenset({"x3", "x4"})}
    assert sum(box.coverage for box in found.boxes) > 0.85


def test_an_outcome_that_never_happens_has_no_box_and_the_report_says_so():
    experiments = sample_experiments(FOUR_INPUTS, 200, seed=5)
    found = discover(experiments, np.zeros(200, dtype=bool), "net cut >= 19%")
    assert found.boxes == () and found.of_interest == 0
    assert "No box reaches that density" in discovery_markdown([found])


def test_the_markdown_table_gives_limits_coverage_and_density():
    experiments = sample_experiments(FOUR_INPUTS, 2000, seed=1)
    outcome = (experiments["x1"] > 0.6) & (experiments["x2"] < 0.3)
    text = discovery_markdown([discover(experiments, outcome, "net cut >= 19%")])
    assert text.startswith("### net cut >= 19%")
    assert "| box | input | low | high | quasi-p | coverage | density | mass |" in text
    assert "| 1 | x1 | 0.6" in text


def test_mismatched_outcomes_are_refused():
    with pytest.raises(UserError, match="3 outcomes for 2 experiments"):
        discover(pd.DataFrame({"a": [0.1, 0.2]}), [True, False, True], "q")


def test_the_latin_hypercube_is_seeded_and_stratified():
    first, again = sample_experiments(FOUR_INPUTS, 50, seed=9), sample_experiments(FOUR_INPUTS, 50, seed=9)
    pd.testing.assert_frame_equal(first, again)
    for column in first:  # one sample in each of the 50 equal strata of every input
        assert sorted(np.floor(first[column] * 50).astype(int)) == list(range(50))


def test_ema_runs_the_model_on_the_executor_and_prim_reads_its_results():
    experiments = sample_experiments(FOUR_INPUTS, 1500, seed=6)
    model = ema_model("toy", toy_model, FOUR_INPUTS, ["net_saving"], constants={"saving_at_best": 0.25})
    table, outcomes = run_experiments(model, experiments)
    assert len(table) == 1500
    expected = [toy_model(**row, saving_at_best=0.25)["net_saving"] for row in experiments.to_dict("records")]
    assert np.allclose(outcomes["net_saving"], expected)
    found = discover(table[FOUR_INPUTS.names], outcomes["net_saving"] >= 0.19, "net saving >= 19%")
    box = found.boxes[0]
    assert abs(box.limit("x1").low - 0.6) < LIMIT_TOLERANCE and abs(box.limit("x2").high - 0.3) < LIMIT_TOLERANCE


def test_the_noise_line_sets_the_seed_spread_beside_the_spread_across_experiments():
    from experiments.discover_command import noise_sentence

    line = noise_sentence([10.0, 12.0, 14.0], [0.0, 10.0, 20.0, 30.0])  # SD 2 against SD 12.91
    assert line.startswith("Stochastic noise: at the nominal inputs, the net cut over 3 seeds has a standard "
                           "deviation of 2.00 points (range 10.0% to 14.0%); across the experiments it is 12.91 points")
    assert line.endswith("so noise is 2% of the spread's variance.")  # 4 / 166.7
    assert "not measured" in noise_sentence([5.0], [1.0, 2.0])
