"""`--drivers FILE` in the model: observed referrals, UASC arrivals and FTE replace the fitted trends."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main
from runner.drivers import load_drivers
from sim.driven import REFERRALS_2020
from sim.parameter_file import load_params
from sim.run import run_replication

DRIVERS = Path(__file__).resolve().parents[1] / "calibration" / "data" / "drivers.csv"
SCALE = 0.005


@pytest.fixture(scope="module")
def tables():
    params = load_params()
    plain = run_replication(params, seed=3, scale=0.02, end_year=2024)
    driven = run_replication(params, seed=3, scale=0.02, end_year=2024, drivers=load_drivers(DRIVERS))
    return plain, driven


def test_run_json_with_drivers_reports_the_observed_referrals(capsys):
    assert main(["run", "--drivers", str(DRIVERS), "--json", "--scale", str(SCALE), "--end-year", "2022",
                 "--point-estimate"]) == 0
    out = json.loads(capsys.readouterr().out)
    referrals = dict(zip(out["years"], out["referrals"]))
    assert referrals[2021] == pytest.approx(597_700, rel=0.01)  # the tolerance: 1%
    assert referrals[2022] == pytest.approx(650_270, rel=0.01)


def test_without_drivers_total_referrals_follow_the_2020_count_on_the_trend(tables):
    plain, _ = tables
    assert plain.loc[2020, "referrals_all"] == pytest.approx(REFERRALS_2020, rel=0.01)
    assert plain.loc[2021, "referrals_all"] > 0.9 * REFERRALS_2020  # no fall: the trend knows nothing of 2020-21


def test_drivers_change_nothing_before_their_first_observed_year(tables):
    plain, driven = tables
    before = [y for y in plain.index if y <= 2020]
    np.testing.assert_array_equal(plain.loc[before].to_numpy(), driven.loc[before].to_numpy())


def test_drivers_move_referrals_agents_and_workforce_after_2020(tables):
    plain, driven = tables
    # observed referrals 2021-2024 are ~3% below the trend: the agents referred move with them
    # (their sum over four years at scale 0.02 has about 2% noise: tolerance 4%)
    years = [2021, 2022, 2023, 2024]
    ratio = driven.loc[years, "new_referrals"].sum() / plain.loc[years, "new_referrals"].sum()
    expected = driven.loc[years, "referrals_all"].sum() / plain.loc[years, "referrals_all"].sum()
    assert expected == pytest.approx((597_700 + 650_270 + 640_430 + 621_880) / plain.loc[years, "referrals_all"].sum())
    assert ratio == pytest.approx(expected, abs=0.04)
    # FTE at 31 March 2022 between the September 2021 (32,500) and 2022 (31,634) censuses, to rounding at this scale
    assert driven.loc[2022, "n_social_workers"] == pytest.approx((32_500 + 31_634) / 2, rel=0.01)
    assert plain.loc[2022, "n_social_workers"] > 32_500


def test_a_bad_drivers_file_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "drivers.csv"
    bad.write_text("year,measure,value\n2021,children_in_care,80000\n")
    assert main(["run", "--drivers", str(bad), "--scale", str(SCALE), "--end-year", "2016"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "row 2" in err and "children_in_care" in err
