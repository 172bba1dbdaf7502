"""`caresim compare --by-lever`: the parts sum to the scenario's net saving exactly; report, chart, resume.

A two-lever scenario (exact Shapley values: every subset run) at scale 0.02, 2015 -> 2019, 3
replications, of which the decomposition uses the first 2 seeds.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.compare import read_runs
from runner.summary import SAVING, with_saving

REPO = Path(__file__).resolve().parents[1]
CARESIM = [sys.executable, "-c", "import sys; from experiments.cli import main; sys.exit(main())"]
SCENARIO = """name = "two-levers"
share_realised = 1.0

[[levers]]
type = "right_care"
start = "2016-04"
ramp_months = 0
step_down_rate_per_year = 0.5

[[levers]]
type = "great_place_to_call_home"
start = "2016-04"
ramp_months = 0
recruitment_multiplier = 1.5
attrition_multiplier = 0.75
"""


def caresim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CARESIM, *args], cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("by_lever")
    (folder / "two-levers.toml").write_text(SCENARIO)
    args = ["compare", str(folder / "two-levers.toml"), "--replications", "3", "--seed", "7", "--scale", "0.02",
            "--end-year", "2019", "--no-progress", "--by-lever", "--by-lever-seeds", "2", "--out", str(folder / "out")]
    done = caresim(*args)
    assert done.returncode == 0, done.stderr
    return folder / "out", args, done


@pytest.mark.slow  # the module's experiment runs every subset of levers
def test_the_parts_sum_exactly_to_the_scenarios_net_saving_over_the_same_seeds(experiment):
    out, _, _ = experiment
    table = pd.read_csv(out / "by_lever.csv")
    assert list(table["type"]) == ["right_care", "great_place_to_call_home"]
    assert table["exact"].all() and (table["seeds"] == 2).all() and (table["subsets"] == 4).all()
    runs = with_saving(read_runs(out))  # the experiment's own runs, recomputed here
    at = runs[(runs["scenario"] == "two-levers") & (runs["year"] == 2019) & runs["seed"].isin([7, 8])]
    assert table["saving_gbp"].sum() == pytest.approx(at[SAVING].mean(), rel=1e-12, abs=1e-3)
    assert table["total_gbp"].iloc[0] == pytest.approx(at[SAVING].mean(), rel=1e-12, abs=1e-3)
    # each lever alone was run (exact): its saving over the same seeds, from the subset store
    alone = pd.concat(pd.read_parquet(f) for f in (out / "by_lever" / "two-levers").glob("*.parquet"))
    assert set(alone["scenario"]) == {"0", "1"}  # the full scenario and the baseline are the experiment's own
    solo = with_saving(pd.concat([alone, runs[runs["scenario"] == "baseline"]]))
    for i, row in table.iterrows():
        value = solo[(solo["scenario"] == str(i)) & (solo["year"] == 2019)][SAVING].mean()
        assert row["solo_gbp"] == pytest.approx(value, rel=1e-12, abs=1e-3)
    # with two levers the Shapley value is the mean of the solo effect and the marginal over the other
    total = table["total_gbp"].iloc[0]
    expected = 0.5 * (table["solo_gbp"] + (total - table["solo_gbp"][::-1].to_numpy()))
    assert np.allclose(table["saving_gbp"], expected, rtol=1e-12)


@pytest.mark.slow  # the module's experiment runs every subset of levers
def test_report_has_the_section_and_a_waterfall_chart(experiment):
    out, _, done = experiment
    report = (out / "report.md").read_text()
    assert "## Saving by lever (2019)" in report and "exact (every subset of levers)" in report
    assert "seeds 7-8 (2 of the 3 replications" in report and "over all 3 replications it is" in report
    assert "![by_lever_two-levers.png](by_lever_two-levers.png)" in report
    assert (out / "by_lever_two-levers.png").stat().st_size > 5000
    assert "by lever, two-levers: 4 runs" in done.stderr  # 2 subsets x 2 seeds; the rest from the experiment


@pytest.mark.slow  # the module's experiment runs every subset of levers
def test_rerun_runs_nothing_and_gives_the_same_table(experiment):
    out, args, _ = experiment
    before = (out / "by_lever.csv").read_text()
    again = caresim(*args)
    assert again.returncode == 0, again.stderr
    assert "by lever, two-levers: 0 runs" in again.stderr
    assert pd.read_csv(out / "by_lever.csv").drop(columns=["runs_made", "seconds"]).equals(
        pd.read_csv(pd.io.common.StringIO(before)).drop(columns=["runs_made", "seconds"]))


@pytest.mark.parametrize("extra, says", [
    (["--by-lever-seeds", "2"], "--by-lever-seeds needs --by-lever"),
    (["--by-lever", "nosuch"], "'nosuch' is not a scenario of this comparison"),
    (["--by-lever", "--by-lever-seeds", "9"], "more than --replications 2"),
    (["--by-lever", "--lever-uncertainty"], "--by-lever with --lever-uncertainty"),
])
def test_bad_by_lever_options_are_one_line_and_exit_2(tmp_path, extra, says, capsys):
    from experiments.cli import main

    assert main(["compare", "optimised-low", "--replications", "2", "--scale", "0.01", "--out", str(tmp_path / "x"),
                 *extra]) == 2  # in this process: refused before any run
    done = capsys.readouterr()
    assert done.out == "" and len(done.err.strip().splitlines()) == 1 and says in done.err, done.err
    assert not (tmp_path / "x").exists()
