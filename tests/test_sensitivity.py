"""The sensitivity engine against a function with known indices, the dummy check, and resuming a store.

The Ishigami function (a = 7, b = 0.1, inputs uniform on [-pi, pi]) has analytic Sobol indices
(Saltelli et al. 2008, sect. 4.8; Ishigami & Homma 1990): S1 = (0.3139, 0.4424, 0), ST =
(0.5576, 0.4424, 0.2437). It runs through the same code path as the model: `Problem`,
`Evaluation`, `runner.executor.run_tasks`, the `DesignStore`, SALib's sampling and analysis.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runner.design_store import POINTS_FILE, DesignStore, StoreMismatch, row_key
from runner.errors import UserError
from runner.executor import TaskError
from runner.sensitivity import (DUMMY, INDEX_COLUMNS, Evaluation, Input, Problem, RunOptions, design_rows,
                                dummy_checks, morris_screening, run_sensitivity, sobol_indices, top_inputs)

ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
# The bootstrap intervals are 95% intervals from 1,000 resamples; the Sobol' sequence's own
# error is not in them, so each is widened by this much (absolute) before checking. Over seeds
# 1-10 at N = 1024 every index fell inside its unwidened interval by at least 0.02.
INTERVAL_TOLERANCE = 0.01


def ishigami(inputs: dict[str, float], seed: int, a: float = 7.0, b: float = 0.1) -> dict[str, float]:
    x1, x2, x3 = inputs["x1"], inputs["x2"], inputs["x3"]
    return {"y": math.sin(x1) + a * math.sin(x2) ** 2 + b * x3 ** 4 * math.sin(x1)}


def ishigami_problem() -> Problem:
    return Problem(tuple(Input(name, -math.pi, math.pi) for name in ("x1", "x2", "x3")))


def counted_ishigami(inputs: dict[str, float], seed: int, calls_file: str) -> dict[str, float]:
    """Ishigami, appending one line per call to `calls_file`; fails once `calls_file`.limit calls are made."""
    calls = Path(calls_file)
    limit_file = calls.with_suffix(".limit")
    made = len(calls.read_text().splitlines()) if calls.exists() else 0
    if limit_file.exists() and made >= int(limit_file.read_text()):
        raise RuntimeError("simulated crash")
    with open(calls, "a") as handle:
        handle.write("call\n")
    return ishigami(inputs, seed)


def additive_with_noise(inputs: dict[str, float], seed: int) -> dict[str, float]:
    """5 x1 + x2 + Normal(0, 1) noise from the row's own seed: the dummy picks up the noise."""
    noise = np.random.default_rng(seed).normal()
    return {"y": 5 * inputs["x1"] + inputs["x2"] + noise}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sobol_recovers_the_ishigami_indices_within_their_intervals(seed):
    indices, rows, evaluated = sobol_indices(ishigami_problem(), ["x1", "x2", "x3"], Evaluation(ishigami, ("y",)),
                                             RunOptions(), base_samples=1024, seed=seed)
    assert rows == 1024 * (4 + 2) and evaluated == 1024 * (3 + 2)  # the dummy's rows repeat A's
    table = indices.set_index(["input", "index"])
    for name in ("x1", "x2", "x3"):
        for index, truth in (("S1", ISHIGAMI_S1[name]), ("ST", ISHIGAMI_ST[name])):
            value, lo, hi = table.loc[(name, index), ["value", "lo", "hi"]]
            assert lo - INTERVAL_TOLERANCE <= truth <= hi + INTERVAL_TOLERANCE, (name, index, value, lo, hi)
            assert hi - lo < 0.25  # intervals narrow enough to mean something
    assert table.loc[(DUMMY, "ST"), "value"] == 0.0  # common seeds: the dummy changes nothing at all


def test_morris_ranks_the_dummy_last_and_the_checks_pass():
    indices, rows, _ = morris_screening(ishigami_problem(), Evaluation(ishigami, ("y",)), RunOptions(),
                                        trajectories=20, seed=1)
    assert rows == 20 * 5
    mu_star = indices[indices["index"] == "mu_star"].set_index("input")["value"]
    assert mu_star.idxmin() == DUMMY and mu_star[DUMMY] == 0.0
    assert (mu_star.drop(DUMMY) > 1.0).all()  # every Ishigami input matters (x3 through its interaction)
    assert list(indices.columns) == INDEX_COLUMNS
    checks = dummy_checks(indices)
    assert [(c.method, c.index, c.passed, c.ranked_last) for c in checks] == [("morris", "mu_star", True, True)]


def test_the_dummy_carries_the_noise_with_per_row_seeds_and_the_check_separates_real_inputs():
    problem = Problem((Input("x1", 0, 1), Input("x2", 0, 1), Input("x3", 0, 1)))  # x3 does nothing
    evaluation = Evaluation(additive_with_noise, ("y",), seeds="per_row", seed=5)
    indices, _, _ = sobol_indices(problem, ["x1", "x2", "x3"], evaluation, RunOptions(), base_samples=512, seed=1)
    st = indices[indices["index"] == "ST"].set_index("input")
    assert st.loc[DUMMY, "value"] > 0.05  # noise variance 1 of a total ~3.2: ST(dummy) ~ 0.3
    check = next(c for c in dummy_checks(indices) if c.index == "ST")
    assert "x1" not in check.not_above_dummy and "x3" in check.not_above_dummy


def test_dummy_check_fails_when_the_dummy_sits_inside_an_interval_above_it():
    indices = pd.DataFrame([("y", "a", "sobol", "ST", 0.5, 0.4, 0.6), ("y", "b", "sobol", "ST", 0.2, 0.05, 0.35),
                            ("y", "c", "sobol", "ST", 0.01, -0.02, 0.04), ("y", DUMMY, "sobol", "ST", 0.1, 0.0, 0.2)],
                           columns=INDEX_COLUMNS)
    (check,) = dummy_checks(indices)
    assert not check.passed and not check.ranked_last and check.not_above_dummy == ["b", "c"]
    assert "FAILED" in check.sentence()


def test_top_inputs_scale_each_output_and_never_pick_the_dummy():
    rows = [("big", "a", 100.0), ("big", "b", 50.0), ("big", DUMMY, 0.0), ("big", "c", 1.0),
            ("small", "a", 0.0), ("small", "b", 0.0), ("small", DUMMY, 0.0), ("small", "c", 0.02)]
    morris = pd.DataFrame([(o, i, "morris", "mu_star", v, v, v) for o, i, v in rows], columns=INDEX_COLUMNS)
    assert top_inputs(morris, 2) == ["a", "c"]  # c leads the small output, so it outranks b's 0.5 of big
    assert top_inputs(morris, 5) == ["a", "c", "b"]


def test_design_rows_for_the_model_study():
    assert design_rows(25, trajectories=20, top_k=8, base_samples=512) == {"morris": 520, "sobol": 5120}
    assert design_rows(25, trajectories=20, top_k=8, base_samples=512, seeds="per_row") == {"morris": 540, "sobol": 5632}


def test_bad_problems_are_refused_in_one_line():
    with pytest.raises(UserError, match="'a' appears twice"):
        Problem((Input("a", 0, 1), Input("a", 0, 2)))
    with pytest.raises(UserError, match="finite low < high"):
        Input("a", 1, 1)
    with pytest.raises(UserError, match="nominal 3 is outside"):
        Input("a", 0, 1, nominal=3)
    with pytest.raises(UserError, match="log-scale range must be positive"):
        Input("a", 0, 1, log=True)


def test_a_problem_reads_prior_ranges():
    problem = Problem.from_ranges({"rate": (0.01, 1.0), "share": (0.2, 0.6)}, nominal={"share": 0.3}, log=["rate"])
    assert problem.nominal() == pytest.approx({"rate": 0.1, "share": 0.3})
    rows = problem.to_rows(np.array([[1.0]]), ["share"])
    assert rows == [{"rate": pytest.approx(0.1), "share": 0.6}]  # the other input stays nominal


def test_log_inputs_spread_evenly_in_log_space():
    rate = Input("rate", 0.01, 1.0, log=True)
    assert np.allclose(rate.from_unit(np.array([0.0, 0.5, 1.0])), [0.01, 0.1, 1.0])
    assert rate.nominal_value == pytest.approx(0.1)


def test_a_killed_study_resumes_evaluating_only_the_missing_rows(tmp_path):
    calls = tmp_path / "calls.txt"
    evaluation = Evaluation(counted_ishigami, ("y",), settings={"calls_file": str(calls)})
    store_folder = tmp_path / "store"
    arguments = dict(trajectories=10, top_k=2, base_samples=64, seed=3)

    calls.with_suffix(".limit").write_text("100")
    with pytest.raises(TaskError, match="simulated crash"):
        run_sensitivity(ishigami_problem(), evaluation, RunOptions(store=DesignStore(store_folder, evaluation.describe())),
                        **arguments)
    assert len(calls.read_text().splitlines()) == 100
    with open(store_folder / POINTS_FILE, "a") as handle:
        handle.write('{"key": "torn')  # killed in the middle of writing a line
    calls.with_suffix(".limit").unlink()

    resumed = run_sensitivity(ishigami_problem(), evaluation,
                              RunOptions(store=DesignStore(store_folder, evaluation.describe())), **arguments)
    unique_rows = len(DesignStore(store_folder, evaluation.describe()))
    assert resumed.rows["evaluated"] == unique_rows - 100
    assert len(calls.read_text().splitlines()) == unique_rows  # every unique row evaluated exactly once
    assert all(json.loads(line) for line in (store_folder / POINTS_FILE).read_text().splitlines())

    again = run_sensitivity(ishigami_problem(), evaluation,
                            RunOptions(store=DesignStore(store_folder, evaluation.describe())), **arguments)
    assert again.rows["evaluated"] == 0
    fresh = run_sensitivity(ishigami_problem(), Evaluation(ishigami, ("y",)), RunOptions(), **arguments)
    pd.testing.assert_frame_equal(resumed.indices, fresh.indices)
    pd.testing.assert_frame_equal(again.indices, fresh.indices)


def test_a_store_of_another_study_is_refused(tmp_path):
    DesignStore(tmp_path, {"settings": {"scale": 0.1}})
    with pytest.raises(StoreMismatch, match=r"settings.scale: stored 0.1, now 0.2"):
        DesignStore(tmp_path, {"settings": {"scale": 0.2}})


def test_row_keys_are_exact_and_order_free():
    assert row_key({"a": 0.1, "b": 2}) == row_key({"b": 2, "a": 0.1})
    assert row_key({"a": 0.1}) != row_key({"a": 0.1 + 1e-17 + 1e-16})
    assert row_key({"a": np.float64(0.25)}) == row_key({"a": 0.25})


def test_a_missing_or_non_finite_output_is_one_line_naming_the_task():
    with pytest.raises(UserError, match="no output 'z'"):
        sobol_indices(ishigami_problem(), ["x1"], Evaluation(ishigami, ("y", "z")), RunOptions(), base_samples=8)


# Sobol' G-function over 25 inputs (Saltelli et al. 2008, sect. 3.6): f = prod (|4 x_i - 2| + a_i) / (1 + a_i),
# x_i uniform on [0, 1]; input i's partial variance is V_i = 1 / (3 (1 + a_i)^2), so a small a_i matters most.
G_WEIGHTS = [0.0, 0.3, 0.6, 1.0, 1.5, 2.0, 3.0, 4.0] + [9.0, 15.0, 20.0, 30.0, 50.0, 99.0] * 2 + [99.0] * 5


def g_function(inputs: dict[str, float], seed: int) -> dict[str, float]:
    value = 1.0
    for i, weight in enumerate(G_WEIGHTS):
        value *= (abs(4 * inputs[f"g{i}"] - 2) + weight) / (1 + weight)
    return {"g": value}


def test_twenty_five_inputs_screened_then_the_top_eight_recovered_analytically():
    problem = Problem(tuple(Input(f"g{i}", 0.0, 1.0) for i in range(len(G_WEIGHTS))))
    assert len(problem.inputs) == 25
    result = run_sensitivity(problem, Evaluation(g_function, ("g",)), RunOptions(), trajectories=20, top_k=8,
                             base_samples=1024, seed=2)
    assert result.rows["morris"] == 20 * 27 and result.rows["sobol"] == 1024 * 11
    assert sorted(result.top) == [f"g{i}" for i in range(8)]  # the eight smallest weights
    mu_star = result.indices[(result.indices["method"] == "morris") & (result.indices["index"] == "mu_star")]
    assert mu_star.sort_values("value").iloc[0]["input"] == DUMMY
    # with the other 17 at nominal (x = 0.5, where |4x - 2| = 0) they are constant factors, so the top
    # eight's indices are those of an 8-input G-function: S1_i = V_i / (prod(1 + V_j) - 1)
    partial = [1 / (3 * (1 + weight) ** 2) for weight in G_WEIGHTS[:8]]
    total_variance = np.prod([1 + v for v in partial]) - 1
    sobol = result.indices[result.indices["method"] == "sobol"].set_index(["input", "index"])
    for i, v in enumerate(partial):
        first = v / total_variance
        total = v * np.prod([1 + w for j, w in enumerate(partial) if j != i]) / total_variance
        for index, truth in (("S1", first), ("ST", total)):
            value, lo, hi = sobol.loc[(f"g{i}", index), ["value", "lo", "hi"]]
            assert lo - INTERVAL_TOLERANCE <= truth <= hi + INTERVAL_TOLERANCE, (i, index, value, lo, hi, truth)
    assert all(check.passed for check in dummy_checks(result.indices))


@pytest.mark.slow
def test_rows_run_on_local_dask_workers_give_the_serial_indices(tmp_path):
    evaluation = Evaluation(ishigami, ("y",))
    arguments = dict(trajectories=10, top_k=3, base_samples=128, seed=4)
    on_workers = run_sensitivity(ishigami_problem(), evaluation,
                                 RunOptions(workers=2, store=DesignStore(tmp_path, evaluation.describe())), **arguments)
    serial = run_sensitivity(ishigami_problem(), evaluation, RunOptions(), **arguments)
    pd.testing.assert_frame_equal(on_workers.indices, serial.indices)
    assert len(DesignStore(tmp_path, evaluation.describe())) == on_workers.rows["evaluated"]


def ishigami_shared_part(inputs: dict[str, float], seed: int, calls_file: str) -> float:
    """The part of Ishigami that reads only x2 (7 sin^2 x2), one line per call in `calls_file`."""
    with open(calls_file, "a") as handle:
        handle.write("shared\n")
    return 7.0 * math.sin(inputs["x2"]) ** 2


def ishigami_from_shared(inputs: dict[str, float], seed: int, calls_file: str,
                         shared: float | None = None) -> dict[str, float]:
    """Ishigami with its x2 part taken from `shared` when given (as the model takes its baseline)."""
    x1, x3 = inputs["x1"], inputs["x3"]
    part = shared if shared is not None else 7.0 * math.sin(inputs["x2"]) ** 2
    return {"y": math.sin(x1) + part + 0.1 * x3 ** 4 * math.sin(x1)}


def test_rows_sharing_a_part_run_it_once_and_give_the_same_indices(tmp_path):
    calls = tmp_path / "calls.txt"
    arguments = dict(trajectories=10, top_k=3, base_samples=64, seed=5)
    plain = run_sensitivity(ishigami_problem(), Evaluation(ishigami, ("y",)), RunOptions(), **arguments)
    evaluation = Evaluation(ishigami_from_shared, ("y",), settings={"calls_file": str(calls)},
                            shared_fn=ishigami_shared_part, shared_inputs=("x2",))
    shared = run_sensitivity(ishigami_problem(), evaluation, RunOptions(), **arguments)
    pd.testing.assert_frame_equal(shared.indices, plain.indices)
    assert shared.rows == plain.rows
    # Morris: each trajectory moves x2 once (4 distinct x2 values at most); Sobol: A, B and the x2 column
    # have their own x2, the x1, x3 and dummy columns reuse A's: 3 shared runs per base sample.
    made = len(calls.read_text().splitlines())
    assert made <= 10 * 2 + 64 * 3
    assert made < shared.rows["evaluated"] / 2
