"""The studies shipped in docs/ say what issue 13 asks of them, read from the committed files.

docs/sensitivity/optimised-low-2025 (caresim sensitivity, scale 0.1, end year 2025): at least 25
inputs screened, Sobol indices of the top 8 with intervals, and the dummy check passed for every
output and index. docs/discovery/optimised-low-2025 (caresim discover): enough experiments and
boxes reported with coverage and density.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from runner.sensitivity import DUMMY, INDEX_COLUMNS, dummy_checks

ROOT = Path(__file__).resolve().parents[1]
SENSITIVITY = ROOT / "docs" / "sensitivity" / "optimised-low-2025"
DISCOVERY = ROOT / "docs" / "discovery" / "optimised-low-2025"


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
