"""Parameter recovery: `caresim calibrate --quick` on synthetic data made by the model itself.

Three free parameters are set to known values, the model generates the figures (other seeds
than the fit's), and the quick fit, started from the shipped values, must recover each within
10% of its true value, and within its reported 90% interval widened by that tolerance. The
checkpoint lets an interrupted calibration resume: a rerun on a kept checkpoint simulates
nothing and lands on the same point.
"""
from __future__ import annotations

import csv
import tomllib

import numpy as np
import pytest

from calibration.fit import FitSettings, calibrate
from calibration.targets import COLUMNS, load_targets
from experiments.cli import main as caresim
from sim.measures import BY_NAME
from sim.parameters import Params
from sim.parameter_file import load_params
from sim.run import run_replication

pytestmark = [pytest.mark.slow]

TRUTH = {"care_entry_rate_cp_per_year": 0.3, "return_home_rate_per_year": 0.2, "placement_order_rate_per_year": 1.0}
SYNTHETIC = [  # (measure, model year, relative tolerance)
    ("n_in_care", 2020, 0.01), ("new_entries", 2020, 0.02), ("new_exits", 2020, 0.02), ("new_entries", 2017, 0.02),
    ("new_exits", 2017, 0.02), ("new_adoptions", 2020, 0.05), ("new_adoptions", 2017, 0.05),
    ("new_returned_home", 2019, 0.03),
]
RECOVERY_TOLERANCE = 0.10  # relative


def _synthetic_targets(path) -> None:
    # the fit's own common random numbers (`--quick`: seeds 1 and 2 at scale 0.05): at TRUTH the
    # model's mean is then exactly these targets, so the test checks that the fit finds TRUTH,
    # not how noisy four other replications happen to be
    truth = load_params().replace(**TRUTH)
    tables = [run_replication(truth, seed=seed, scale=0.05, end_year=2020) for seed in (1, 2)]
    mean = sum(tables) / len(tables)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for measure, year, tol in SYNTHETIC:
            kind = BY_NAME[measure].kind  # stock or flow, as sim/measures.py declares it
            w.writerow([year, measure, round(float(mean.at[year, measure]), 1), "children", kind, "fit", year, tol,
                        "relative", "synthetic: the model at TRUTH", "C", ""])


def test_quick_calibration_recovers_known_parameters(tmp_path):
    data = tmp_path / "synthetic.csv"
    _synthetic_targets(data)
    out = tmp_path / "fit.toml"
    code = caresim(["calibrate", "--quick", "--data", str(data), "--free", ",".join(TRUTH), "--out", str(out),
                    "--max-evaluations", "10"])
    assert code == 0
    with open(out, "rb") as fh:
        doc = tomllib.load(fh)
    assert not (tmp_path / "fit.toml.checkpoint.jsonl").exists()  # removed once finished
    assert doc["posterior"]["names"] == list(TRUTH)
    assert set(doc["parameters"]) == set(Params.free_names())  # the fit writes free values only
    assert load_params(out) == load_params().replace(**doc["parameters"])  # laid over the fixed values
    for name, true in TRUTH.items():
        got = doc["parameters"][name]
        assert abs(got - true) <= RECOVERY_TOLERANCE * true, (name, got, true)
        lo, hi = doc["intervals"][name]
        assert lo - RECOVERY_TOLERANCE * true <= true <= hi + RECOVERY_TOLERANCE * true, (name, lo, hi, true)


def test_an_interrupted_calibration_resumes_from_its_checkpoint(tmp_path):
    data = tmp_path / "synthetic.csv"
    _synthetic_targets(data)
    targets = load_targets(data)
    settings = FitSettings(free=["care_entry_rate_cp_per_year", "return_home_rate_per_year"], scale=0.03,
                           replications=1, end_year=2020, max_evaluations=3, draws=20, proposals=6)
    checkpoint = tmp_path / "cp.jsonl"
    first = calibrate(load_params(), targets, settings, checkpoint=checkpoint)
    assert first.simulations > 0
    # cut the last line in half, as a kill during a write would
    text = checkpoint.read_text()
    checkpoint.write_text(text[: len(text) - 40])
    again = calibrate(load_params(), targets, settings, checkpoint=checkpoint)
    assert again.simulations <= 1  # only the simulation whose line was cut is redone
    np.testing.assert_array_equal(again.z, first.z)
