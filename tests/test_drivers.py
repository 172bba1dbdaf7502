"""The drivers file: the shipped example's values and times, the trend after it, and one-line errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from runner.drivers import MEASURES, DriversError, load_drivers
from runner.errors import UserError

SHIPPED = Path(__file__).resolve().parents[1] / "calibration" / "data" / "drivers.csv"  # a copy of ../shared/drivers.csv
HEADER = "year,measure,value,unit,as_at,grade,source\n"


@pytest.fixture(scope="module")
def shipped():
    return load_drivers(SHIPPED)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "drivers.csv"
    path.write_text(text)
    return path


def test_the_shipped_file_loads_every_measure(shipped):
    assert set(shipped.measures) == set(MEASURES)
    assert shipped.years("referrals") == [2021, 2022, 2023, 2024]
    assert shipped.value("referrals", 2021) == 597_700
    assert shipped.value("referrals", 2020) is None


def test_a_flow_is_the_model_row_of_its_year_to_31_march_and_steps_by_year(shipped):
    assert shipped.at_model_year("referrals", 2021) == 597_700
    assert shipped.relative_change("referrals", 2022, 2021) == pytest.approx(650_270 / 597_700 - 1)  # +8.8%
    assert shipped.at("referrals", 2020.25 + 1 / 12) == 597_700  # April 2020 is in the year to March 2021
    assert shipped.at("referrals", 2021.25) == 597_700           # 31 March 2021 closes that year
    assert shipped.at("referrals", 2021.25 + 1 / 12) == 650_270
    assert shipped.at("referrals", 2020.25) is None               # the year to March 2020: not in the file


def test_a_september_stock_is_interpolated_to_31_march(shipped):
    # 31 March 2022 lies halfway between the censuses of 30 September 2021 and 2022
    assert shipped.at_model_year("social_worker_fte", 2022) == pytest.approx((32_500 + 31_634) / 2)
    assert shipped.at("social_worker_fte", 2021.75) == 32_500
    assert shipped.at_model_year("social_worker_fte", 2021) is None  # needs September 2020
    assert shipped.at("social_worker_fte", 2023.75) == 33_119
    assert shipped.at("social_worker_fte", 2023.76) is None


def test_a_relative_change_can_take_its_reference_from_the_calibration_data(shipped):
    assert shipped.relative_change("referrals", 2021, 2020) is None
    change = shipped.relative_change("referrals", 2021, 2020, reference_value=642_980)
    assert change == pytest.approx(597_700 / 642_980 - 1)


def test_the_multiplier_follows_the_observations_then_the_trend(shipped):
    reference = 642_980  # referrals in the year to March 2020 (calibration data)
    assert shipped.multiplier("referrals", 2020.0, reference_value=reference, trend_per_year=0.02) is None
    observed = shipped.multiplier("referrals", 2022.0, reference_value=reference, trend_per_year=0.02)
    assert observed == pytest.approx(650_270 / reference)
    # the year after the last observed one (to March 2025) runs on the trend from 2024's mid-year: +2% over the year
    months = [shipped.multiplier("referrals", 2024.25 + (m + 0.5) / 12, reference_value=reference, trend_per_year=0.02)
              for m in range(12)]
    assert sum(months) / 12 == pytest.approx(621_880 * 1.02 / reference, rel=1e-4)
    stock = shipped.multiplier("social_worker_fte", 2025.75, reference_value=31_900, trend_per_year=-0.01)
    assert stock == pytest.approx(33_119 / 31_900 * 0.99 ** 2)


def test_an_unknown_measure_asked_of_the_object_is_a_user_error(shipped):
    with pytest.raises(UserError, match="unknown driver measure 'referals'"):
        shipped.value("referals", 2021)


@pytest.mark.parametrize("rows, message", [
    ("2021,referals,597700,,,,\n", r"row 2, column 'measure': expected one of referrals, .*got 'referals'"),
    ("2022,children_in_care,82170,,,,\n", r"row 2, column 'measure': a care outcome is what the model projects"),
    ("2021,referrals,lots,,,,\n", r"row 2, column 'value': expected a number, got 'lots'"),
    ("2021,referrals,,,,,\n", r"row 2, column 'value': expected a finite number, got ''"),
    ("2021,referrals,-5,,,,\n", r"row 2, column 'value': expected a referrals value of at least 0, got '-5'"),
    ("2021,vacancy_rate_pct,120,,30 September,,\n",
     r"column 'value': expected a vacancy_rate_pct value from 0 to 100, got '120'"),
    ("twenty,referrals,5,,,,\n", r"row 2, column 'year': expected a whole year, got 'twenty'"),
    ("2099,referrals,5,,,,\n", r"row 2, column 'year': expected a year from 2015 to 2050, got '2099'"),
    ("2021,referrals,5,,31 March,,\n",
     r"row 2, column 'as_at': referrals is measured 'year to 31 March', got '31 March'"),
    ("2021,referrals,5,,,,\n2022,referrals,6,,,,\n2021,referrals,7,,,,\n",
     r"row 4, column 'year': referrals 2021 is already given on row 2"),
    ("2021,referrals,5,,,,,extra\n", r"row 2: more fields than the header's 7"),
])
def test_a_bad_row_is_one_line_naming_file_row_column_and_value(tmp_path, rows, message):
    path = write(tmp_path, HEADER + rows)
    with pytest.raises(DriversError, match=message) as caught:
        load_drivers(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


@pytest.mark.parametrize("text, message", [
    ("", "the drivers file is empty"),
    (HEADER, "a header but no rows"),
    ("year,measure\n2021,referrals\n", "row 1: missing column 'value'"),
    ("year,measure,value,notes\n2021,referrals,5,x\n", "row 1: unknown column 'notes'"),
])
def test_a_bad_file_is_one_line(tmp_path, text, message):
    with pytest.raises(DriversError, match=message):
        load_drivers(write(tmp_path, text))


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(DriversError, match="no such drivers file"):
        load_drivers(tmp_path / "absent.csv")


def test_minimal_columns_and_thousands_separators_are_accepted(tmp_path):
    drivers = load_drivers(write(tmp_path, 'year,measure,value\n2021,referrals,"597,700"\n'))
    assert drivers.value("referrals", 2021) == 597_700
