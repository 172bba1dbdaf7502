"""`caresim backtest --drivers`: the national back-test with and without observed drivers.

Both runs use the same seeds, so the years before the drivers start (up to 2020) must match
exactly, and the report must name the run whose figures of 2021 onwards are closer to the actual
ones, leaving out the figures the drivers file sets itself.
"""
from __future__ import annotations

import contextlib
import io
import math

import pandas as pd
import pytest

from calibration.backtest_command import WITH_DRIVERS, WITHOUT_DRIVERS, closeness, closeness_sentence
from experiments.cli import main

DRIVERS = "calibration/data/drivers.csv"


def _cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue() + "\n" + err.getvalue()


def _table(rows):
    return pd.DataFrame(rows, columns=["drivers", "year", "measure", "horizon", "mean", "p05", "p95", "actual", "error"])


def test_closeness_names_the_run_with_the_smaller_relative_error_and_leaves_out_driver_figures():
    rows = []
    for label, care, spend, workers in ((WITHOUT_DRIVERS, 110, 9.0, 31900), (WITH_DRIVERS, 104, 8.0, 10)):
        rows += [(label, 2019, "spend", -1, 1.0, 1, 1, 100.0, -99.0),  # before 2021: not counted
                 (label, 2025, "n_in_care", 5, care, care, care, 100.0, care - 100.0),
                 (label, 2025, "spend", 5, spend, spend, spend, 10.0, spend - 10.0),
                 (label, 2021, "n_social_workers", 1, workers, 0, 0, 31900.0, workers - 31900.0)]
    found = closeness(_table(rows), ["social_worker_fte", "referrals"])
    assert found["left_out"] == ["n_social_workers"]  # set by the file's social_worker_fte: not a test
    assert found["figures"] == ["n_in_care 2025", "spend 2025"]
    assert math.isclose(found["error"][WITHOUT_DRIVERS], (0.10 + 0.10) / 2)
    assert math.isclose(found["error"][WITH_DRIVERS], (0.04 + 0.20) / 2)
    assert found["closer"] == WITHOUT_DRIVERS
    assert closeness_sentence(found, "d.csv").startswith("Closer to the actual figures: the run with the fitted trends")
    # without social_worker_fte in the file, the workforce figure is a test, and the observed run loses more
    assert closeness(_table(rows), ["referrals"])["left_out"] == []
    care_only = closeness(_table([r for r in rows if r[2] != "spend"]), ["social_worker_fte"])
    assert care_only["closer"] == WITH_DRIVERS  # 4% against 10%


def test_backtest_with_drivers_writes_both_runs_and_says_which_is_closer(tmp_path):
    out = tmp_path / "bt"
    rc, text = _cli(["backtest", "--drivers", DRIVERS, "--scale", "0.005", "--replications", "1", "--out", str(out)])
    assert rc == 0, text
    table = pd.read_csv(out / "backtest.csv")
    assert list(table.columns[:2]) == ["drivers", "year"]
    without, observed = (table[table["drivers"] == label].reset_index(drop=True) for label in (WITHOUT_DRIVERS, WITH_DRIVERS))
    assert len(without) == len(observed) > 0
    assert list(without["measure"]) == list(observed["measure"])
    early = without["year"] <= 2020
    pd.testing.assert_series_equal(without.loc[early, "mean"], observed.loc[early, "mean"])  # same seeds, same past
    late = without["measure"] == "n_in_care"
    assert (without.loc[late, "mean"] != observed.loc[late, "mean"]).all()  # the observed referrals change 2025
    report = (out / "backtest.md").read_text()
    line = next(line for line in report.splitlines() if "mean absolute relative error" in line)
    assert line.startswith(("Closer to the actual figures: the run with", "Neither run is closer"))
    assert "left out as set by the drivers file: n_social_workers." in line
    assert "| 2025 | n_in_care | 9.5e+04 | D |" in report and line in text


def test_backtest_drivers_with_an_authority_is_one_line(tmp_path):
    rc, text = _cli(["backtest", "--data", str(tmp_path), "--drivers", DRIVERS, "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "--drivers: the back-test with observed drivers is national" in text and "Traceback" not in text


@pytest.mark.parametrize("bad", ["year,measure,value\n2021,referrals,-5\n"])
def test_a_bad_drivers_file_is_one_line_naming_the_row(tmp_path, bad):
    path = tmp_path / "d.csv"
    path.write_text(bad)
    rc, text = _cli(["backtest", "--drivers", str(path), "--scale", "0.005", "--replications", "1",
                     "--out", str(tmp_path / "o")])
    assert rc == 2 and "d.csv" in text and "Traceback" not in text
