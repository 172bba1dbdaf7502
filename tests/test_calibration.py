"""Calibration: the shipped parameter file, the loader's refusals, the target file and the CLI's errors."""
from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from calibration.fit import FORMAT_VERSION, prior_range
from calibration.targets import DataError, data_digest, default_data_path, load_targets
from experiments.cli import main as caresim
from sim.model import CareModel
from sim.parameters import ParameterError, Params
from sim.parameter_file import ParameterSet, default_params_path, load_params, read_params_file


def _doc() -> dict:
    with open(default_params_path(), "rb") as fh:
        return tomllib.load(fh)


def _write(tmp_path: Path, doc: dict, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(tomli_w.dumps(doc))
    return path


# ---------------------------------------------------------------- the shipped file is the default
def test_model_uses_the_shipped_calibrated_file():
    model = CareModel(seed=3, scale=0.01)
    try:
        assert model.params == load_params(default_params_path())
    finally:
        model.release()
    meta = _doc()["meta"]
    assert meta["version"].startswith(FORMAT_VERSION + "+")
    assert meta["quick"] is False  # the shipped file comes from a full calibration, not --quick
    assert meta["data_sha256"] == data_digest()  # fitted to the data file shipped beside it
    assert meta["free"] == Params.free_names()  # and to today's choice of free parameters


def test_shipped_posterior_covers_the_free_parameters_and_varies_by_seed():
    pset = ParameterSet.load()
    assert pset.names == Params.free_names()
    assert len(pset.draws) >= 100
    draws = [pset.for_replication(seed) for seed in range(1, 9)]
    for name in Params.names():
        values = {getattr(d, name) for d in draws}
        if name in pset.names:
            assert len(values) > 1, name  # parameter uncertainty reaches the replications
            lo, hi = prior_range(name)
            assert all(lo <= v <= hi for v in values), name
        else:
            assert values == {getattr(pset.point, name)}, name
    intervals = _doc()["intervals"]
    for name in pset.names:
        lo, hi = intervals[name]
        values = [d[pset.names.index(name)] for d in pset.draws]
        assert prior_range(name)[0] <= lo < hi <= prior_range(name)[1], name
        assert np.isclose(np.percentile(values, 5), lo, rtol=1e-4) and np.isclose(np.percentile(values, 95), hi, rtol=1e-4)


def test_every_free_parameter_has_a_prior_inside_its_hard_range():
    for name in Params.free_names():
        meta = Params.meta(name)
        lo, hi, why = meta["prior"]
        assert meta["lo"] <= lo < hi <= meta["hi"] and why, name
        assert prior_range(name) == (lo, hi)


def test_values_live_in_one_place_each():
    """Fixed values are written in sim/parameters.py only; the shipped file holds only the free ones."""
    doc = _doc()
    assert set(doc["parameters"]) == set(Params.free_names())
    assert set(Params.fixed_values()) == set(Params.names()) - set(Params.free_names())
    point = load_params()
    for name, value in Params.fixed_values().items():
        assert getattr(point, name) == value, name
    with pytest.raises(TypeError):
        Params(**Params.fixed_values())  # a free parameter has no value without a parameter file


def test_a_fixed_value_edited_in_a_copy_counts_and_a_free_one_is_held_in_every_draw(tmp_path):
    doc = _doc()
    doc["parameters"]["weekly_hours"] = 35.0  # a fixed assumption overridden in a what-if copy
    doc["parameters"]["cp_starts_per_year"] = 70000.0  # a free parameter edited by hand
    pset = ParameterSet.load(_write(tmp_path, doc))
    assert pset.held == {"cp_starts_per_year": 70000.0}
    shipped = ParameterSet.load()
    for seed in (1, 2, 3):
        drawn, reference = pset.for_replication(seed), shipped.for_replication(seed)
        assert drawn.weekly_hours == 35.0 and drawn.cp_starts_per_year == 70000.0
        others = [n for n in pset.names if n != "cp_starts_per_year"]
        assert all(getattr(drawn, n) == getattr(reference, n) for n in others)
    (note,) = pset.notes()
    fitted = str(shipped.point.cp_starts_per_year)  # the shipped fit, whatever the last calibration gave
    assert "cp_starts_per_year = 70000.0" in note and fitted in note and "every replication" in note


# ---------------------------------------------------------------- the loader refuses bad files
@pytest.mark.parametrize("change, words", [
    (lambda d: d["parameters"].pop("return_home_rate_per_year"), ["missing", "return_home_rate_per_year"]),
    (lambda d: d["parameters"].__setitem__("return_home_rate_per_yr", 0.1), ["unknown", "return_home_rate_per_yr"]),
    (lambda d: d["parameters"].__setitem__("return_home_rate_per_year", 7.5), ["return_home_rate_per_year", "7.5", "outside"]),
])
def test_loader_refuses_missing_unknown_and_out_of_range(tmp_path, change, words):
    doc = _doc()
    change(doc)
    path = _write(tmp_path, doc)
    with pytest.raises(ParameterError) as err:
        read_params_file(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    for w in words:
        assert w in message


def test_cli_reports_a_bad_parameter_file_in_one_line(tmp_path, capsys):
    doc = _doc()
    doc["parameters"]["foster_vacancy_2015"] = -1.0
    path = _write(tmp_path, doc)
    assert caresim(["calibrate", "--quick", "--params", str(path), "--out", str(tmp_path / "o.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "foster_vacancy_2015" in err and "-1.0" in err


# ---------------------------------------------------------------- the target file
def test_shipped_targets_load_and_2025_figures_are_never_fitted():
    targets = load_targets()
    fit = [t for t in targets if t.use == "fit"]
    assert len(fit) >= 15
    assert all(t.model_year < 2025 and t.year < 2025 for t in fit)
    oos = {(t.measure, t.year) for t in targets if t.use == "oos"}
    assert ("n_in_care", 2025) in oos and ("spend_growth_from_2020_gbp", 2025) in oos
    kinds = {t.kind for t in fit}
    assert {"stock", "flow", "share", "money"} <= kinds  # flows are fitted as well as stocks


def _first(rows: list[list[str]], measure: str) -> list[str]:
    """The first data row of the target file about `measure` (columns as calibration.targets.COLUMNS)."""
    return next(r for r in rows[1:] if r[1] == measure)


@pytest.mark.parametrize("edit, field", [
    (lambda rows: rows[1].__setitem__(2, "lots"), "value"),
    (lambda rows: _first(rows, "n_in_care").__setitem__(1, "n_unicorns"), "measure"),  # not in sim/measures.py
    (lambda rows: _first(rows, "new_entries").__setitem__(4, "stock"), "kind"),  # a flow compared as a stock
    (lambda rows: rows[1].__setitem__(5, "maybe"), "use"),
    (lambda rows: rows[1].__setitem__(7, "-0.1"), "tolerance"),
    (lambda rows: rows[-2].__setitem__(5, "fit"), "use"),  # a 2025 figure may not be fitted
])
def test_malformed_target_file_gives_one_line_and_exit_2(tmp_path, capsys, edit, field):
    import csv

    with open(default_data_path(), newline="") as fh:
        rows = list(csv.reader(fh))
    edit(rows)
    path = tmp_path / "targets.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(DataError):
        load_targets(path)
    assert caresim(["calibrate", "--quick", "--data", str(path), "--out", str(tmp_path / "o.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(path) in err and repr(field) in err
    assert not (tmp_path / "o.toml").exists()


def test_targets_read_the_declared_measures():
    """Every measure a target or a derived measure reads is declared in sim/measures.py, and a
    stock figure is compared with a 31 March value, a flow or money figure with a sum over the year."""
    from calibration.targets import DERIVED, OVER_YEAR
    from sim.measures import BY_NAME

    for name, (_, columns) in DERIVED.items():
        assert set(columns) <= set(BY_NAME), name
    for t in load_targets():
        if t.use != "unused" and t.measure not in DERIVED:
            assert t.kind not in OVER_YEAR or BY_NAME[t.measure].over_year == OVER_YEAR[t.kind], t.label


@pytest.mark.parametrize("argv", [
    ["calibrate", "--bogus"],
    ["calibrate", "--workers", "0"],
    ["calibrate", "--scale", "2"],
    ["calibrate", "--free", "not_a_parameter"],
    ["calibrate", "--free", "weekly_hours"],  # a fixed parameter
])
def test_bad_calibrate_option_gives_one_line_and_exit_2(capsys, argv):
    assert caresim(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err


def test_caresim_run_uses_a_posterior_draw_per_replication(tmp_path, capsys):
    import pandas as pd

    from sim.run import run_replication

    assert caresim(["run", "--scale", "0.02", "--end-year", "2016", "--replications", "2", "--seed", "5",
                    "--out", str(tmp_path)]) == 0
    got = pd.read_csv(tmp_path / "yearly.csv", index_col="year")
    pset = ParameterSet.load()
    tables = [run_replication(pset.for_replication(seed), seed=seed, scale=0.02, end_year=2016) for seed in (5, 6)]
    want = (tables[0] + tables[1]) / 2
    np.testing.assert_allclose(got["n_in_care"].to_numpy(), want["n_in_care"].to_numpy())
    np.testing.assert_allclose(got["spend_children_in_care_gbp"].to_numpy()[1:],
                               want["spend_children_in_care_gbp"].to_numpy()[1:])


def test_the_share_of_foster_places_filled_is_one_minus_the_free_share_of_usable_places():
    """The 2020 target compares Ofsted's share filled with the model's usable places: filled =
    places - free, on a run's own table, and it lies strictly between 0 and 1."""
    from calibration.targets import DERIVED
    from tests.conftest import small_model

    m = small_model(seed=3)
    m.run_until(2020)
    table = m.yearly_table()
    share = DERIVED["foster_places_filled_share"][0](table, 2020)
    places, free = table.at[2020, "n_foster_places"], table.at[2020, "n_foster_places_free"]
    assert share == pytest.approx((places - free) / places, rel=1e-12)
    assert 0 < share < 1


# ---------------------------------------------------------------- posterior draws: region and cut-off
class _OneTargetEvaluator:
    """An evaluator whose single target's residual is 20 x (z[0] - 0.5): the other coordinates are
    free directions the data cannot see (a stand-in for the model, which is not run)."""

    def tables(self, zs, what=""):
        return list(zs)

    @staticmethod
    def target_residuals(z):
        return np.array([20.0 * (z[0] - 0.5)])

    def log(self, msg):
        pass


@pytest.mark.parametrize("inflation", [1.0, 4.0])
def test_posterior_keeps_no_draw_that_misses_a_target_by_more_than_three_widened_tolerances(inflation):
    from calibration.fit import IMPLAUSIBILITY, FitSettings, _region_draws
    from scipy.stats import chi2

    k = 30  # the 90% region over 30 parameters allows a chi-square of 40: a residual of up to 6.3
    z = np.full(k, 0.5)
    settings = FitSettings(free=[f"p{i}" for i in range(k)], seed=5, draws=400, proposals=400, proposal_variance=1.0)
    draws, share = _region_draws(_OneTargetEvaluator(), z, np.eye(k) * 0.5, inflation, 0.0, settings)
    residuals = np.abs(20.0 * (draws[:, 0] - 0.5))
    cut = IMPLAUSIBILITY * np.sqrt(inflation)
    assert residuals.max() <= cut
    # the region alone would have kept draws beyond the cut: the cut is what removed them
    assert inflation * chi2.ppf(0.90, k) > cut ** 2
    assert 0 < share < 1 and residuals.max() > 0.8 * cut  # draws reach out to the cut, not far inside it
