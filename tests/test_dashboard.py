"""The dashboard's logic and components without a browser (solara.render); the browser test is
tests/test_dashboard_browser.py."""
from __future__ import annotations

import tomllib

import ipyvuetify as v
import numpy as np
import pytest
import solara

import pandas as pd

from experiments import dashboard as d
from experiments.page import futures
from experiments.page.mix import Mix, from_scenario, parse_value, save_scenario, to_scenario
from experiments.scenarios import load_scenario, scenario_names
from runner.summary import BASELINE, SUPPORT_SPEND, SAVING, SPEND, summarise, with_saving
from sim.levers import LEVERS
from sim.policy import LeverError


@pytest.fixture(autouse=True)
def fresh_page_state(tmp_path, monkeypatch):
    """Each test starts from the page's initial state (the reactive values are module-level), with
    a result cache of its own."""
    monkeypatch.setenv("CARESIM_CACHE", str(tmp_path / "page-cache"))
    d.mix.value, d.errors.value, d.drafts.value = Mix(), {}, {}
    yield
    d.mix.value, d.errors.value, d.drafts.value = Mix(), {}, {}


@pytest.mark.parametrize("name", scenario_names())
def test_the_controls_hold_every_shipped_scenario_unchanged(name):
    shipped = load_scenario(name)
    rebuilt = to_scenario(from_scenario(shipped))
    assert (rebuilt.name, rebuilt.description, rebuilt.share_realised) == \
        (shipped.name, shipped.description, shipped.share_realised)
    assert [type(lever) for lever in rebuilt.levers] == [type(lever) for lever in shipped.levers]
    for new, old in zip(rebuilt.levers, shipped.levers):  # the mix writes defaults out; values are the same
        assert new.start == old.start
        assert {k: new.value(k) for k in new.specs()} == {k: old.value(k) for k in old.specs()}


def test_a_saved_mix_is_what_load_scenario_reads(tmp_path):
    mix = from_scenario(load_scenario("optimised-low"))
    mix.name, mix.enabled["right_care"] = "fewer-pillars", False
    path = tmp_path / "sub" / "fewer-pillars.toml"
    saved = save_scenario(mix, path)
    doc = tomllib.loads(path.read_text())
    assert load_scenario(path).to_dict() == doc == saved.to_dict()
    assert "right_care" not in [t["type"] for t in doc["levers"]] and doc["share_realised"] == load_scenario("optimised-low").share_realised


@pytest.mark.parametrize("text, message", [
    ("-5", "gbp_per_year: -5 is outside 0 to 10,000,000,000 GBP a year (cash)"),
    ("lots", "gbp_per_year: 'lots' is not a number"),
    ("nan", "gbp_per_year: nan is outside 0 to 10,000,000,000 GBP a year (cash)"),
])
def test_a_typed_value_out_of_range_is_one_line(text, message):
    spec = LEVERS["investment"].PARAMETERS["gbp_per_year"]
    with pytest.raises(LeverError) as caught:
        parse_value(spec, "investment", "gbp_per_year", text)
    assert str(caught.value) == message


def test_typed_values_are_read_as_people_write_them():
    spec = LEVERS["investment"].PARAMETERS["gbp_per_year"]
    assert parse_value(spec, "investment", "gbp_per_year", " 400,000,000 ") == 4e8
    ramp = LEVERS["investment"].specs()["ramp_months"]
    assert parse_value(ramp, "investment", "ramp_months", "6") == 6
    with pytest.raises(LeverError, match="ramp_months: '6.5' is not a whole number"):
        parse_value(ramp, "investment", "ramp_months", "6.5")


def _futures(base_spend, scen_spend, base_edge, scen_edge) -> futures.Futures:
    """Results for the year TABLE_YEAR with the given spend per seed, summarised as the page does."""
    rows = []
    for label, spend, edge in ((BASELINE, base_spend, base_edge), (futures.MIX, scen_spend, scen_edge)):
        for seed, (s, e) in enumerate(zip(spend, edge)):
            rows.append({"scenario": label, "seed": seed, "year": futures.TABLE_YEAR, **dict.fromkeys(futures.SHOWN.values(), 0.0),
                         SPEND: s, SUPPORT_SPEND: e})
    runs = pd.DataFrame(rows)
    summary = summarise(runs, measures=futures.SHOWN, baseline=BASELINE, changes=True)
    return futures.Futures("x", [], runs, summary, len(base_spend), 0.05, 1)


def test_the_saving_is_net_of_investment_and_paired_by_seed():
    f = _futures(base_spend=[10e6, 20e6, 30e6], scen_spend=[8e6, 15e6, 29e6], base_edge=[1e6, 1e6, 1e6],
                 scen_edge=[2e6, 3e6, 1e6])
    saving = with_saving(f.runs, BASELINE)
    assert saving[saving["scenario"] == futures.MIX][SAVING].tolist() == [1e6, 3e6, 1e6]  # (10-8)-(2-1), (20-15)-(3-1), (30-29)-0
    assert f.at(futures.MIX, f"{SAVING}_median") == 1e6
    net_row = futures.table_rows(f)[-1]
    assert net_row[0].startswith("Saving net of investment") and net_row[3] == "1 (1 to 3)"


def test_a_mix_without_levers_is_the_baseline_run_for_run():
    f = futures.run_futures(load_scenario("baseline"), replications=1, scale=0.02, seed=3)
    mix = f.runs[f.runs["scenario"] == futures.MIX].drop(columns="scenario").reset_index(drop=True)
    base = f.runs[f.runs["scenario"] == BASELINE].drop(columns="scenario").reset_index(drop=True)
    pd.testing.assert_frame_equal(mix, base, check_exact=True)
    assert f.years[0] == 2015 and f.years[-1] == futures.END_YEAR
    assert np.nan_to_num(f.rows(futures.MIX)[f"{SAVING}_mean"]).tolist() == [0.0] * len(f.years)


def _typed(box, text: str) -> None:
    box.v_model = text
    box.fire_event("keyup.enter", None)


def test_a_bad_typed_value_is_shown_beside_the_control_and_not_used():
    d.set_mix(enabled={**d.mix.value.enabled, "investment": True})
    box, rc = solara.render(d.LeverCard("investment"), handle_error=False)
    field = rc.find(v.TextField, label="value", class_="input-investment-gbp_per_year").widget
    run_box, run_rc = solara.render(d.RunControls(), handle_error=False)
    _typed(field, "12e9")
    rc.find(v.TextField, class_="input-investment-gbp_per_year").assert_single()
    field = rc.find(v.TextField, class_="input-investment-gbp_per_year").widget
    assert field.error
    assert field.messages == ["gbp_per_year: 12,000,000,000 is outside 0 to 10,000,000,000 GBP a year (cash)"]
    assert field.v_model == "12e9"  # what was typed stays, beside the message
    assert d.mix.value.args["investment"]["gbp_per_year"] == 205e6
    assert run_rc.find(v.Btn, children=["Run mix and baseline"]).widget.disabled
    _typed(field, "300000000")
    assert d.mix.value.args["investment"]["gbp_per_year"] == 3e8
    assert not d.errors.value
    assert not run_rc.find(v.Btn, children=["Run mix and baseline"]).widget.disabled
    rc.close()
    run_rc.close()


def test_switching_a_lever_off_drops_its_pending_error():
    d.set_mix(enabled={**d.mix.value.enabled, "right_care": True})
    box, rc = solara.render(d.LeverCard("right_care"), handle_error=False)
    _typed(rc.find(v.TextField, class_="input-right_care-start").widget, "2015-02")
    assert d.errors.value == {"right_care.start": "right_care: start = '2015-02' is outside 2015-04..2050-12"}
    rc.find(v.Switch).widget.v_model = False
    assert d.errors.value == {} and not d.mix.value.enabled["right_care"]
    rc.close()


@pytest.mark.slow
def test_the_page_run_and_compare_show_the_same_figures_for_the_same_seeds(tmp_path, capsys):
    """The page, `caresim run --json` and `caresim compare` on one scenario file, same seeds and scale:
    the same runs and the same means, medians, percentiles and net saving, year by year."""
    import json

    from experiments.cli import main
    from experiments.compare import read_runs

    mix = from_scenario(load_scenario("optimised-low"))
    mix.name = "page-mix"
    path = tmp_path / "page-mix.toml"
    save_scenario(mix, path)
    common = ["--scale", "0.02", "--replications", "2", "--seed", "4", "--end-year", str(futures.END_YEAR)]
    assert main(["compare", str(path), *common, "--out", str(tmp_path / "cmp"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["run", "--scenario", str(path), *common, "--json"]) == 0
    ran = json.loads(capsys.readouterr().out)
    f = futures.run_futures(to_scenario(mix), replications=2, scale=0.02, seed=4, by_lever=False)

    stored = read_runs(tmp_path / "cmp")
    for label, name in ((futures.MIX, "page-mix"), (BASELINE, "baseline")):  # the same runs, bit for bit
        page_runs = f.runs[f.runs["scenario"] == label].sort_values(["seed", "year"]).drop(columns="scenario")
        kept = stored[stored["scenario"] == name].drop(columns="scenario")
        pd.testing.assert_frame_equal(page_runs.reset_index(drop=True), kept.reset_index(drop=True), check_exact=True)

    summary = pd.read_csv(tmp_path / "cmp" / "summary.csv")
    as_csv = lambda values: [float(f"{v:.6g}") for v in values]  # noqa: E731 - as summary.csv writes them
    as_json = lambda values: [None if np.isnan(v) else round(float(v), 2) for v in values]  # noqa: E731
    for label, name in ((futures.MIX, "page-mix"), (BASELINE, "baseline")):
        page, compared = f.rows(label), summary[summary["scenario"] == name].reset_index(drop=True)
        assert page["year"].tolist() == compared["year"].tolist()
        for column in [c for c in page.columns if c.rsplit("_", 1)[-1] in ("mean", "median", "p05", "p95")
                       and "_change_" not in c]:
            np.testing.assert_array_equal(as_csv(page[column]), compared[column].to_numpy(), err_msg=column)
    page = f.rows(futures.MIX)
    for name in futures.SHOWN:
        assert ran[name] == as_json(page[f"{name}_mean"]), name
        assert ran[f"{name}_p05"] == as_json(page[f"{name}_p05"]), name
        assert ran[f"{name}_p95"] == as_json(page[f"{name}_p95"]), name
    assert page[f"{SAVING}_mean"].iloc[-1] > 0  # optimised-low saves money by 2030: the comparison has content


def test_the_page_shows_declared_measures():
    """Every series on the page is an output declared in sim/measures.py."""
    from sim.measures import BY_NAME, CONTRACT

    assert set(futures.SHOWN.values()) <= set(BY_NAME) and all(CONTRACT[k] == v for k, v in futures.SHOWN.items())
    assert set(d.SINGLE_RUN_COUNTS) | {"n_in_care"} <= set(BY_NAME)
