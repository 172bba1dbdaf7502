"""The studies shipped in docs/ say what issue 13 asks of them, read from the committed files.

docs/sensitivity/optimised-low-2025 (caresim sensitivity, scale 0.1, end year 2025): at least 25
inputs screened, Sobol indices of the top 8 with intervals, and the dummy check passed for every
output and index. docs/discovery/optimised-low-2025 (caresim discover): enough experiments and
boxes reported with coverage and density. docs/variance/optimised-low-2025 (caresim compare
--lever-uncertainty): each headline's variance split among the four sources, and the study says how
it was run.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from runner.sensitivity import DUMMY, INDEX_COLUMNS, dummy_checks
from runner.variance_sources import SHARE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SENSITIVITY = ROOT / "docs" / "sensitivity" / "optimised-low-2025"
DISCOVERY = ROOT / "docs" / "discovery" / "optimised-low-2025"
VARIANCE = ROOT / "docs" / "variance" / "optimised-low-2025"


def test_the_shipped_sensitivity_study_screens_25_inputs_and_passes_the_dummy_check():
    indices = pd.read_csv(SENSITIVITY / "indices.csv")
    assert list(indices.columns) == INDEX_COLUMNS
    screened = set(indices.loc[indices["method"] == "morris", "input"]) - {DUMMY}
    assert len(screened) >= 25
    sobol = indices[indices["method"] == "sobol"]
    assert set(sobol["index"]) == {"S1", "ST"} and sobol[["lo", "hi"]].notna().all().all()
    assert len(set(sobol["input"]) - {DUMMY}) == 8
    checks = dummy_checks(indices)
    assert {(c.method, c.index) for c in checks} == {("morris", "mu_star"), ("sobol", "S1"), ("sobol", "ST")}
    assert all(check.passed for check in checks), [c.sentence() for c in checks if not c.passed]
    study = json.loads((SENSITIVITY / "study.json").read_text())
    assert study["settings"]["scale"] == "0.1" and study["settings"]["end year"] == "2025"
    for name in ("tornado.png", "sobol.png", "report.md"):
        assert (SENSITIVITY / name).stat().st_size > 1000


def test_the_shipped_discovery_has_enough_experiments_and_reports_boxes_with_coverage_and_density():
    experiments = pd.read_csv(DISCOVERY / "experiments.csv")
    assert len(experiments) >= 400 and experiments["net_saving_pct"].notna().all()
    report = (DISCOVERY / "discovery.md").read_text()
    assert "Stochastic noise: at the nominal inputs" in report
    assert "coverage" in report.lower() and "density" in report.lower()


def test_the_shipped_variance_study_splits_every_headline_and_says_how_it_was_run():
    shares = pd.read_csv(VARIANCE / "variance_sources.csv")
    assert list(shares.columns) == SHARE_COLUMNS
    assert set(shares["output"]) == {"baseline:children_in_care", "baseline:spend_gbp", "baseline:residential",
                                     "optimised-low:net_saving_gbp", "optimised-low:net_saving_pct"}
    assert (shares.groupby("output")["share"].sum() - 1).abs().max() <= 0.02
    baseline_levers = shares[shares["output"].str.startswith("baseline:") & (shares["source"] == "lever strengths")]
    assert (baseline_levers["total"] == 0).all()  # lever strengths cannot move the baseline: its total index is exactly 0
    settings = json.loads((VARIANCE / "study.json").read_text())["settings"]
    assert {"scenario", "scale", "end year", "variance samples", "wall time", "command"} <= set(settings)
    assert f"--variance-samples {settings['variance samples']}" in settings["command"]
    assert "## Uncertainty by source" in (VARIANCE / "report.md").read_text()
