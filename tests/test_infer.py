"""`caresim infer`: the root finder, the model's curve at a tiny scale, unreachable targets, bad input."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from experiments.infer import (GRID, TOLERANCE, Outcomes, ScenarioEvaluator, bootstrap_interval, crossing, infer,
                               replication_spread)


def caresim(*args):
    return subprocess.run([sys.executable, "-m", "experiments.cli", "infer", *args], capture_output=True, text=True)


def curve(function, seeds: int = 8, noise: float = 0.01):
    """An `evaluate` whose per-seed net cut is function(share) + a fixed per-seed offset (paired seeds)."""
    offsets = np.random.default_rng(5).normal(0, noise, seeds)
    calls = []

    def evaluate(shares):
        calls.append(list(shares))
        return {float(s): Outcomes(function(s) + offsets, np.full(seeds, -0.4 * s), np.full(seeds, -4000.0 * s))
                for s in shares}

    return evaluate, offsets, calls


def test_crossing_of_a_piecewise_linear_curve():
    assert crossing([0.0, 0.5, 1.0], np.array([0.1, 0.2, 0.4]), 0.3) == pytest.approx(0.75)
    assert crossing([0.0, 1.0], np.array([0.1, 0.2]), 0.1) == 0.0
    assert crossing([0.0, 1.0], np.array([0.1, 0.2]), 0.25) == math.inf  # above the curve everywhere
    assert crossing([0.0, 1.0], np.array([0.1, 0.2]), 0.05) == -math.inf  # below it everywhere
    assert crossing([0.0, 0.5, 1.0], np.array([0.3, 0.1, 0.3]), 0.2) == pytest.approx(0.25)  # the first crossing


def test_the_inferred_share_reproduces_the_target_on_a_curved_response():
    evaluate, offsets, calls = curve(lambda s: 0.05 + 0.25 * s ** 2)
    target = 0.05 + 0.25 * 0.6 ** 2 + offsets.mean()  # the mean curve reaches it at share 0.6
    result = infer("x", target, evaluate)
    assert result.reachable and calls[0] == sorted(GRID)
    assert abs(result.at.net_cut.mean() - target) <= TOLERANCE  # a run at the inferred share reproduces it
    assert result.share == result.checked_share
    assert abs(result.share - 0.6) <= TOLERANCE / (0.5 * 0.6)  # within the tolerance through the slope there
    lo, hi = result.interval
    assert lo < 0.6 < hi and hi - lo < 0.1
    assert result.spread[0] <= lo and hi <= result.spread[1]  # single replications spread wider than the mean
    assert "is reached at share" in result.finding()


def test_an_unreachable_target_is_the_answer_with_the_cut_at_the_end_of_the_range():
    evaluate, offsets, calls = curve(lambda s: 0.05 + 0.18 * s)
    result = infer("x", 0.27, evaluate)
    assert not result.reachable and math.isnan(result.share) and result.checked_share == 1.0
    assert len(calls) == 1  # the grid shows it: nothing more is run
    assert result.at.net_cut.mean() == pytest.approx(0.23 + offsets.mean())
    assert result.interval == (math.inf, math.inf) and result.spread == (math.inf, math.inf)
    assert result.finding().startswith("27.0% is not reached: at share 1 ")
    low = infer("x", 0.01, evaluate)
    assert not low.reachable and low.checked_share == 0.0 and low.interval == (-math.inf, -math.inf)


def test_bootstrap_and_spread_of_a_flat_noise_free_curve_are_the_crossing_itself():
    evaluated = {s: Outcomes(np.full(5, 0.2 * s), np.zeros(5), np.zeros(5)) for s in (0.0, 0.5, 1.0)}
    assert bootstrap_interval(evaluated, 0.15) == pytest.approx((0.75, 0.75))
    assert replication_spread(evaluated, 0.15) == pytest.approx((0.75, 0.75))


@pytest.mark.slow  # runs the model at several shares
def test_the_model_run_at_the_inferred_share_reproduces_the_target():
    """At scale 0.02 with 2 seeds: a target between the cuts at share 0 and 1, inferred, then the
    scenario run again at that share on its own (sim.run, not the evaluator) gives it within tolerance."""
    from experiments.scenarios import load_scenario
    from runner.summary import SPEND, SUPPORT_SPEND, net_saving
    from sim.parameter_file import ParameterSet
    from sim.run import run_replication

    pset = ParameterSet.load()
    scenario = load_scenario("optimised-low")
    seeds = [3, 4]
    evaluator = ScenarioEvaluator(scenario.to_dict(), seeds, pset, scale=0.02)
    ends = evaluator([0.0, 1.0])
    target = 0.5 * (ends[0.0].net_cut.mean() + ends[1.0].net_cut.mean())
    result = infer(scenario.name, target, evaluator)
    assert result.reachable and 0 < result.share < 1

    def table(levers, seed):
        t = run_replication(pset.for_replication(seed), seed=seed, scale=0.02, end_year=2025, levers=levers)
        return {c: np.array([t.loc[2025, c]]) for c in (SPEND, SUPPORT_SPEND)}

    cuts = []
    for seed in seeds:
        at_share = {**scenario.to_dict(), "share_realised": result.share}
        from runner.montecarlo import scenario_levers

        base, scen = table([], seed), table(scenario_levers(at_share), seed)
        cuts.append(float(net_saving(base, scen)[0] / base[SPEND][0]))
    assert abs(np.mean(cuts) - target) <= TOLERANCE
    assert np.mean(cuts) == pytest.approx(result.at.net_cut.mean(), rel=1e-12)


@pytest.mark.slow  # runs the model at several shares
def test_command_reports_an_unreachable_target_and_exits_0(tmp_path):
    out = caresim("optimised-low", "--target", "optimised-low=0.9", "--scale", "0.01", "--replications", "1",
                  "--no-progress", "--out", str(tmp_path / "inf"))
    assert out.returncode == 0, out.stderr
    assert "90.0% is not reached: at share 1 " in out.stdout and "not reached" in out.stdout
    assert (tmp_path / "inf" / "infer.md").read_text().count("is not reached") == 1
    row = (tmp_path / "inf" / "infer.csv").read_text().splitlines()
    assert row[0].startswith("scenario,target_net_cut,reachable,share,") and ",False,," in row[1]
    as_json = caresim("optimised-low", "--target", "optimised-low=0.9", "--scale", "0.01", "--replications", "1",
                      "--json")
    doc = json.loads(as_json.stdout)
    assert doc["results"][0]["reachable"] is False and doc["results"][0]["share"] is None
    assert doc["results"][0]["share_lo"] == "above 1" and doc["runs"] == 4  # baseline and the grid of 3 shares


@pytest.mark.parametrize("args, says", [
    (["--target", "optimised-low"], "expected SCENARIO=FRACTION"),
    (["--target", "optimised-low=19"], "19% is 0.19"),
    (["--target", "optimised-low=nan"], "19% is 0.19"),
    (["--target", "nosuch=0.2"], "'nosuch' is not one of the scenarios named"),
    (["baseline"], "no lever whose strength share_realised scales"),
    (["investment"], "no lever whose strength share_realised scales"),
    (["supporting-children-home"], "the report gives no net cut for it"),
    (["nosuch-scenario"], "no such scenario"),
    (["--replications", "0"], "at least 1"),
    (["--scale", "2"], "scale must be from"),
    (["optimised-low", "optimised-low"], "given twice"),
    (["--out", "/proc/x"], "--out"),
])
def test_bad_input_is_one_line_and_exit_2(args, says, capsys):
    from experiments.cli import main

    assert main(["infer", *args]) == 2  # in this process: refused before any run, as the console script does
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1 and says in out.err, out.err


def inferred_rows():
    """infer.csv's rows as compare --inferred reads them: one reached, one not."""
    import pandas as pd

    common = {"homes_change_mean": -0.49, "residential_change_mean": -4571.0, "report_homes_change": -0.37,
              "report_residential_change": -4400.0, "net_cut_p05": 0.15, "net_cut_p95": 0.27}
    return pd.DataFrame([
        {"scenario": "optimised-low", "target_net_cut": 0.19, "reachable": "True", "share": 0.720837, "share_lo": "0.66",
         "share_hi": "0.78", "spread_lo": "0.36", "spread_hi": "0.99", "checked_share": 0.720837, "net_cut_mean": 0.1904,
         **common},
        {"scenario": "optimised-high", "target_net_cut": 0.27, "reachable": "False", "share": float("nan"),
         "share_lo": "above 1", "share_hi": "above 1", "spread_lo": "0.74", "spread_hi": "above 1", "checked_share": 1.0,
         "net_cut_mean": 0.2306, **common}])


def test_report_says_what_share_the_reports_totals_imply_labelled_as_inferred():
    from experiments.report import _inferred_shares, inferred_markdown

    manifest = {"scenarios": [{"name": "optimised-low", "share_realised": 0.721},
                              {"name": "optimised-high", "share_realised": 1.0}]}
    text = "\n".join(inferred_markdown(inferred_rows(), manifest))
    assert "inferred from the report's totals, not evidence" in text
    assert "19% net cut implies **72.1%** of each unknown-strength opportunity" in text
    assert "(90% interval 66.0% to 78.0%" in text and "the shipped scenario uses 0.721" in text
    assert "27% net cut is **not reached**" in text and "at share 1 the net cut is 23.1%" in text
    assert _inferred_shares(inferred_rows(), manifest) == {"optimised-low": 0.721}  # only a share that was shipped
    manifest["scenarios"][0]["share_realised"] = 0.5
    assert _inferred_shares(inferred_rows(), manifest) == {}


@pytest.mark.parametrize("content, says", [
    ("scenario,share\noptimised-low,0.7\n", "missing column target_net_cut"),
    (None, "net_cut_mean = 'x' is not a number"),
])
def test_compare_refuses_a_bad_inferred_file_in_one_line(tmp_path, content, says, capsys):
    from experiments.cli import main

    path = tmp_path / "infer.csv"
    if content is None:
        rows = inferred_rows().astype(object)
        rows.loc[1, "net_cut_mean"] = "x"
        rows.to_csv(path, index=False)
    else:
        path.write_text(content)
    assert main(["compare", "optimised-low", "--scale", "0.01", "--inferred", str(path), "--out",
                 str(tmp_path / "out")]) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1 and says in out.err, out.err
    assert not (tmp_path / "out").exists()
