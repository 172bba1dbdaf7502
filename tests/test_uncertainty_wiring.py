"""The uncertain inputs of caresim, lever sampling in compare, variance by source and discovery, wired."""
from __future__ import annotations

import pandas as pd
import pytest

from experiments.cli import main
from experiments.compare import with_sampled_levers
from experiments.scenarios import load_scenario
from experiments.uncertain import (LEVER_STREAM, SHARE_INPUT, lever_inputs, uncertain_problem, uniform_values,
                                   with_lever_values)
from runner.montecarlo import plan
from sim.levers import LEVERS
from sim.parameters import Params
from sim.parameter_file import ParameterSet


@pytest.fixture(scope="module")
def parameters():
    return ParameterSet.load()


def test_the_problem_has_every_uncertain_parameter_and_the_scenarios_lever_strengths(parameters):
    scenario = load_scenario("optimised-low").to_dict()
    problem = uncertain_problem(scenario, parameters)
    assert len(problem.names) >= 25
    assert set(Params.uncertain_names()) - set(problem.names) <= set(Params.free_names())  # only pinned free ones drop
    lever_names = [n for n in problem.names if "__" in n]
    assert SHARE_INPUT in lever_names and "practitioner_time__direct_time_increase" in lever_names
    for item in problem.inputs:
        assert item.low <= item.nominal_value <= item.high
    assert problem.nominal()["scenario__share_realised"] == scenario["share_realised"]  # the scenario's own value


def test_lever_values_replace_only_the_named_strengths():
    scenario = load_scenario("optimised-low").to_dict()
    changed = with_lever_values(scenario, {"right_care__step_down_rate_per_year": 0.9, SHARE_INPUT: 0.3})
    assert changed["share_realised"] == 0.3
    tables = {t["type"]: t for t in changed["levers"]}
    assert tables["right_care"]["step_down_rate_per_year"] == 0.9
    assert tables["investment"] == {t["type"]: t for t in scenario["levers"]}["investment"]
    assert scenario["share_realised"] == load_scenario("optimised-low").share_realised != 0.3  # the original is untouched


def test_compare_samples_lever_strengths_by_seed_within_their_priors_and_leaves_the_baseline(parameters):
    scenarios = [load_scenario("baseline").to_dict(), load_scenario("optimised-low").to_dict()]
    first = with_sampled_levers(plan(scenarios, [1, 2], parameters))
    again = with_sampled_levers(list(reversed(plan(scenarios, [1, 2], parameters))))
    by_key = {r.key: r.scenario for r in again}
    for r in first:
        assert by_key[r.key] == r.scenario  # the same strengths for a scenario at a seed, whatever the order
        if r.scenario["name"] == "baseline":
            assert r.scenario["levers"] == []
            continue
        for table in r.scenario["levers"]:
            for arg, spec in LEVERS[table["type"]].PARAMETERS.items():
                lo, hi, _ = spec.prior
                assert lo <= table[arg] <= hi
    strengths = [r.scenario for r in first if r.scenario["name"] != "baseline"]
    assert strengths[0] != strengths[1]  # seeds 1 and 2 draw different strengths
    values = uniform_values(lever_inputs(scenarios[1]), 1, LEVER_STREAM)
    assert with_lever_values(scenarios[1], values) == strengths[0]


def test_a_posterior_draw_is_chosen_by_its_own_index_not_by_a_seed(parameters):
    assert parameters.draws
    assert parameters.draw(3) == parameters.draw(3 + len(parameters.draws))
    assert parameters.draw(3) != parameters.draw(4)


@pytest.mark.slow
def test_compare_lever_uncertainty_writes_shares_that_sum_to_one(tmp_path):
    out = tmp_path / "cmp"
    assert main(["compare", "optimised-low", "--scale", "0.005", "--end-year", "2021", "--replications", "2",
                 "--lever-uncertainty", "--variance-samples", "2", "--out", str(out), "--no-progress"]) == 0
    shares = pd.read_csv(out / "variance_sources.csv")
    assert set(shares["source"]) == {"calibration posterior", "lever strengths", "other assumptions",
                                     "stochastic noise"}
    assert {"baseline:children_in_care", "optimised-low:net_saving_gbp"} <= set(shares["output"])
    for output, group in shares.groupby("output"):
        assert group["share"].sum() == pytest.approx(1.0, abs=0.02), output  # the tolerance
    summary = pd.read_csv(out / "summary.csv")
    column = "savings_net_gbp_share_lever_strengths"
    row = summary[(summary["scenario"] == "optimised-low") & (summary["year"] == 2021)]
    assert row[column].notna().all()
    assert "Uncertainty by source" in (out / "report.md").read_text()


@pytest.mark.slow
def test_discover_quick_writes_prim_boxes_with_coverage_and_density(tmp_path):
    out = tmp_path / "disc"
    # at the quick settings (2021, one year of levers) the net cut is a few %: ask about 2% and 1%
    assert main(["discover", "--quick", "--target", "2", "--floor", "1", "--min-density", "0.6", "--out", str(out),
                 "--no-progress"]) == 0
    experiments = pd.read_csv(out / "experiments.csv")
    assert len(experiments) == 24 and "net_saving_pct" in experiments.columns
    text = (out / "discovery.md").read_text()
    assert "net cut >= 2%" in text and "net cut < 1%" in text
    assert "coverage" in text.lower() and "density" in text.lower()


def test_discover_refuses_an_indices_file_without_the_net_cut(tmp_path, capsys):
    indices = tmp_path / "indices.csv"
    indices.write_text("output,input,method,index,value,lo,hi\nspend_gbp,avoidable_share,morris,mu_star,1,0,2\n")
    assert main(["discover", "--indices", str(indices), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "net_saving_pct" in err
