"""The files a sensitivity study writes, from the Ishigami function run through the engine."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from experiments.sensitivity_report import variance_shares_markdown, write_sensitivity_outputs
from runner.sensitivity import DUMMY, INDEX_COLUMNS, Evaluation, RunOptions, run_sensitivity
from runner.variance_sources import SourceDesign, variance_shares
from tests.test_sensitivity import ishigami, ishigami_problem

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def two_outputs(inputs: dict[str, float], seed: int) -> dict[str, float]:
    """Ishigami, and sin(x1) alone (x2 and x3 do nothing to it)."""
    return {"y": ishigami(inputs, seed)["y"], "only_x1": float(np.sin(inputs["x1"]))}


def test_the_study_writes_indices_charts_and_a_report(tmp_path):
    result = run_sensitivity(ishigami_problem(), Evaluation(two_outputs, ("y", "only_x1")), RunOptions(),
                             trajectories=20, top_k=3, base_samples=512, seed=1)
    paths = write_sensitivity_outputs(result, tmp_path, title="Ishigami", settings={"base samples": 512},
                                      labels={"only_x1": "sin(x1)"})
    indices = pd.read_csv(paths["indices"])
    assert list(indices.columns) == INDEX_COLUMNS
    assert set(indices["input"]) == {"x1", "x2", "x3", DUMMY}
    assert set(indices["method"] + "/" + indices["index"]) == {"morris/mu_star", "morris/sigma", "sobol/S1", "sobol/ST"}
    for chart in ("tornado", "sobol"):
        data = paths[chart].read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000

    report = paths["report"].read_text()
    assert report.startswith("# Ishigami")
    y_section, x1_section = report.split("## y")[1].split("## sin(x1)")
    assert "It rests on: x1 ST" in y_section and "x3 ST" in y_section  # x3 matters through its interaction
    rests_on = x1_section.split("It rests on:")[1].split("\n")[0]
    assert "x1 ST 1.00" in rests_on and "x2" not in rests_on and "x3" not in rests_on
    assert report.count("Dummy check:") == 4 and "FAILED" not in report
    assert "| x1 |" in y_section and "Morris ranking" in y_section


def test_the_variance_table_reads_shares_with_intervals():
    design = SourceDesign(("posterior", "noise"), 200)
    rows = design.rows()
    draws = np.random.default_rng(0).normal(size=(2, 400))
    outputs = np.array([2 * draws[0, row["posterior"]] + draws[1, row["noise"]] for row in rows])
    text = variance_shares_markdown(variance_shares(design, outputs, ["net saving"]))
    assert text.startswith("**net saving** (variance")
    assert "shares sum to 1.000" in text
    share, lo, hi = map(int, re.search(r"\| posterior \| (\d+)% \((\d+)% to (\d+)%\)", text).groups())
    assert lo <= 80 <= hi and abs(share - 80) < 5  # 4 / 5 of the variance
