"""`caresim compare`: the store survives a killed driver and resumes to the same result; outputs.

Experiments are tiny (scale 0.02, 2015 -> 2018, 4 replications of baseline and optimised-low),
run through the command line in a subprocess, as a user runs them.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.compare import read_runs

REPO = Path(__file__).resolve().parents[1]
# what the `caresim` console script runs
CARESIM = [sys.executable, "-c", "import sys; from experiments.cli import main; sys.exit(main())"]
ARGS = ["compare", "optimised-low", "--replications", "4", "--seed", "5", "--scale", "0.02", "--end-year", "2018",
        "--no-progress"]
N_RUNS = 8  # 2 scenarios (the baseline is added) x 4 seeds


def caresim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CARESIM, *args], cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> Path:
    """An uninterrupted experiment."""
    out = tmp_path_factory.mktemp("whole")
    done = caresim(*ARGS, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.slow
def test_killed_and_resumed_experiment_equals_an_uninterrupted_one(whole, tmp_path):
    out = tmp_path / "cut"
    store = out / "runs.parquet"
    proc = subprocess.Popen([*CARESIM, *ARGS, "--out", str(out)], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if store.is_dir() and any(store.glob("*.parquet")):
            break
        time.sleep(0.005)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert alive, "the driver finished before it could be killed"
    stored = len(list(store.glob("*.parquet")))
    assert 1 <= stored < N_RUNS
    assert len(read_runs(out)) == stored * 4  # what was stored is whole (4 years a run)
    again = caresim(*ARGS, "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert f"resuming, {stored} of {N_RUNS} runs" in again.stderr
    assert not list(store.glob(".tmp-*"))
    pd.testing.assert_frame_equal(read_runs(out), read_runs(whole), check_exact=True)
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), pd.read_csv(whole / "summary.csv"))


@pytest.mark.slow
def test_resume_into_a_folder_made_with_other_settings_is_refused(whole):
    before = sorted(p.name for p in (whole / "runs.parquet").iterdir())
    done = caresim(*[a if a != "0.02" else "0.03" for a in ARGS], "--out", str(whole))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "different scale" in lines[0] and "0.02" in lines[0] and "0.03" in lines[0]
    assert sorted(p.name for p in (whole / "runs.parquet").iterdir()) == before  # nothing lost


@pytest.mark.slow
def test_rerun_of_a_finished_experiment_runs_nothing(whole):
    stamp = {p.name: p.stat().st_mtime_ns for p in (whole / "runs.parquet").iterdir()}
    done = caresim(*ARGS, "--out", str(whole))
    assert done.returncode == 0 and f"resuming, {N_RUNS} of {N_RUNS} runs" in done.stderr
    assert {p.name: p.stat().st_mtime_ns for p in (whole / "runs.parquet").iterdir()} == stamp


@pytest.mark.slow
def test_store_has_every_output_per_scenario_seed_and_year(whole):
    runs = pd.read_parquet(whole / "runs.parquet")
    assert len(runs) == N_RUNS * 4
    assert set(runs["scenario"]) == {"baseline", "optimised-low"} and set(runs["seed"]) == {5, 6, 7, 8}
    assert {"n_in_care", "n_residential", "spend_children_in_care_gbp", "new_entries", "child_months"} <= set(runs)
    # common random numbers: the 2015 state does not depend on the scenario
    first = runs[runs["year"] == 2015].set_index(["seed", "scenario"])["n_in_care"].unstack()
    assert (first["baseline"] == first["optimised-low"]).all()


def csv_value(x: float) -> float:
    """`x` as summary.csv writes it (6 significant digits) and reads back."""
    return float(f"{x:.6g}")


@pytest.mark.slow
def test_summary_savings_are_paired_by_seed_and_net_of_edge_spend(whole):
    runs = read_runs(whole)
    summary = pd.read_csv(whole / "summary.csv").set_index(["scenario", "year"])
    b = runs[runs["scenario"] == "baseline"].set_index(["seed", "year"])
    s = runs[runs["scenario"] == "optimised-low"].set_index(["seed", "year"])
    saving = ((b["spend_children_in_care_gbp"] - s["spend_children_in_care_gbp"])
              - (s["spend_edge_of_care_gbp"] - b["spend_edge_of_care_gbp"])).xs(2018, level="year")
    row = summary.loc[("optimised-low", 2018)]
    assert row["savings_net_gbp_mean"] == csv_value(saving.mean())
    assert row["savings_net_gbp_median"] == csv_value(np.median(saving))
    assert row["savings_net_gbp_p05"] == csv_value(np.percentile(saving, 5))
    assert row["savings_net_gbp_p95"] == csv_value(np.percentile(saving, 95))
    assert summary.loc[("baseline", 2018), "savings_net_gbp_mean"] == 0


@pytest.mark.slow
def test_summary_is_the_mean_median_and_percentiles_of_the_stored_runs(whole):
    """Every statistic of every public measure, recomputed from the stored runs, year by year."""
    from sim.measures import CONTRACT

    runs = read_runs(whole)
    summary = pd.read_csv(whole / "summary.csv").set_index(["scenario", "year"])
    assert list(summary.index.get_level_values("scenario").unique()) == ["baseline", "optimised-low"]
    for (scenario, year), rows in runs.groupby(["scenario", "year"]):
        row = summary.loc[(scenario, year)]
        assert row["replications"] == len(rows) == 4
        for name, column in CONTRACT.items():
            v = rows[column].to_numpy(dtype=float)
            if np.isnan(v).all():  # the first year has no flows
                assert np.isnan(row[f"{name}_mean"]) and np.isnan(row[f"{name}_p95"]), (name, year)
                continue
            expected = {"mean": v.mean(), "median": np.median(v), "p05": np.percentile(v, 5),
                        "p95": np.percentile(v, 95)}
            for stat, value in expected.items():
                assert row[f"{name}_{stat}"] == csv_value(value), (scenario, year, name, stat)
    final = summary.loc[("optimised-low", 2018)]
    assert final["children_in_care_p05"] < final["children_in_care_p95"]  # the seeds differ


@pytest.mark.slow
def test_report_and_charts_are_written(whole):
    report = (whole / "report.md").read_text()
    for rid in ("R3", "R4", "R5", "R6", "R8", "R9", "R12"):
        assert f"| {rid} |" in report, rid
    assert "caresim compare optimised-low" in report
    for png in ("scenarios.png", "fan_baseline.png", "fan_optimised-low.png"):
        assert (whole / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({png})" in report


def test_bad_scenario_and_repeated_scenario_exit_2(tmp_path):
    for args in (["compare", "no-such-scenario"], ["compare", "right-care", "right-care"]):
        done = caresim(*args, "--out", str(tmp_path / "x"), "--scale", "0.02", "--end-year", "2016")
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.cluster
def test_two_local_workers_give_the_same_store_as_one(whole, tmp_path):
    done = caresim(*ARGS, "--workers", "2", "--out", str(tmp_path / "parallel"))
    assert done.returncode == 0, done.stderr
    pd.testing.assert_frame_equal(read_runs(tmp_path / "parallel"), read_runs(whole), check_exact=True)
