"""The dashboard's logic and components without a browser (solara.render); the browser test is
tests/test_dashboard_browser.py."""
from __future__ import annotations

import tomllib

import ipyvuetify as v
import numpy as np
import pytest
import solara

from experiments import dashboard as d
from experiments.scenarios import load_scenario, scenario_names
from sim.levers import LEVERS, LeverError


@pytest.fixture(autouse=True)
def fresh_page_state():
    """Each test starts from the page's initial state (the reactive values are module-level)."""
    d.mix.value, d.errors.value, d.drafts.value = d.Mix(), {}, {}
    yield
    d.mix.value, d.errors.value, d.drafts.value = d.Mix(), {}, {}


@pytest.mark.parametrize("name", scenario_names())
def test_the_controls_hold_every_shipped_scenario_unchanged(name):
    shipped = load_scenario(name)
    rebuilt = d.to_scenario(d.from_scenario(shipped))
    assert (rebuilt.name, rebuilt.description, rebuilt.share_realised) == \
        (shipped.name, shipped.description, shipped.share_realised)
    assert [type(lever) for lever in rebuilt.levers] == [type(lever) for lever in shipped.levers]
    for new, old in zip(rebuilt.levers, shipped.levers):  # the mix writes defaults out; values are the same
        assert new.start == old.start
        assert {k: new.value(k) for k in new.specs()} == {k: old.value(k) for k in old.specs()}


def test_a_saved_mix_is_what_load_scenario_reads(tmp_path):
    mix = d.from_scenario(load_scenario("optimised-low"))
    mix.name, mix.enabled["right_care"] = "fewer-pillars", False
    path = tmp_path / "sub" / "fewer-pillars.toml"
    saved = d.save_scenario(mix, path)
    doc = tomllib.loads(path.read_text())
    assert load_scenario(path).to_dict() == doc == saved.to_dict()
    assert "right_care" not in [t["type"] for t in doc["levers"]] and doc["share_realised"] == 0.5


@pytest.mark.parametrize("text, message", [
    ("-5", "gbp_per_year: -5 is outside 0 to 10,000,000,000 GBP a year (cash)"),
    ("lots", "gbp_per_year: 'lots' is not a number"),
    ("nan", "gbp_per_year: nan is outside 0 to 10,000,000,000 GBP a year (cash)"),
])
def test_a_typed_value_out_of_range_is_one_line(text, message):
    spec = LEVERS["investment"].PARAMETERS["gbp_per_year"]
    with pytest.raises(LeverError) as caught:
        d.parse_value(spec, "investment", "gbp_per_year", text)
    assert str(caught.value) == message


def test_typed_values_are_read_as_people_write_them():
    spec = LEVERS["investment"].PARAMETERS["gbp_per_year"]
    assert d.parse_value(spec, "investment", "gbp_per_year", " 400,000,000 ") == 4e8
    ramp = LEVERS["investment"].specs()["ramp_months"]
    assert d.parse_value(ramp, "investment", "ramp_months", "6") == 6
    with pytest.raises(LeverError, match="ramp_months: '6.5' is not a whole number"):
        d.parse_value(ramp, "investment", "ramp_months", "6.5")


def _futures(base_spend, scen_spend, base_edge, scen_edge) -> d.Futures:
    years = np.array([d.TABLE_YEAR])
    col = lambda values: np.array(values, dtype=float)[:, None]  # noqa: E731 - (replications, 1 year)
    zeros = col([0.0] * len(base_spend))
    base = {c: zeros for c in d.KEPT} | {d.SPEND: col(base_spend), d.EDGE_SPEND: col(base_edge)}
    scen = {c: zeros for c in d.KEPT} | {d.SPEND: col(scen_spend), d.EDGE_SPEND: col(scen_edge)}
    return d.Futures("x", [], years, scen, base, len(base_spend), 0.05, 1)


def test_the_saving_is_net_of_investment_and_paired_by_seed():
    f = _futures(base_spend=[10e6, 20e6, 30e6], scen_spend=[8e6, 15e6, 29e6], base_edge=[1e6, 1e6, 1e6],
                 scen_edge=[2e6, 3e6, 1e6])
    assert d.net_saving(f)[:, 0].tolist() == [1e6, 3e6, 1e6]  # (10-8)-(2-1), (20-15)-(3-1), (30-29)-0
    net_row = d.table_rows(f)[-1]
    assert net_row[0].startswith("Saving net of investment") and net_row[3].startswith("1 (")


def test_a_mix_without_levers_is_the_baseline_run_for_run():
    f = d.run_futures(load_scenario("baseline"), replications=1, scale=0.02, seed=3)
    for col in d.KEPT:
        np.testing.assert_array_equal(f.scenario[col], f.baseline[col])
    assert f.years[0] == 2015 and f.years[-1] == d.END_YEAR
    assert np.nan_to_num(d.net_saving(f)).tolist() == [[0.0] * len(f.years)]


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


def test_the_page_shows_what_caresim_compare_computes_for_the_saved_file(tmp_path):
    import pandas as pd

    from experiments.cli import main
    from experiments.compare import add_savings

    mix = d.from_scenario(load_scenario("optimised-low"))
    mix.name = "page-mix"
    path = tmp_path / "page-mix.toml"
    d.save_scenario(mix, path)
    assert main(["compare", str(path), "--scale", "0.02", "--replications", "1", "--seed", "4",
                 "--out", str(tmp_path / "cmp"), "--no-progress"]) == 0
    runs = add_savings(pd.read_parquet(tmp_path / "cmp" / "runs.parquet"))
    row = runs[(runs["scenario"] == "page-mix") & (runs["year"] == d.TABLE_YEAR)].iloc[0]
    f = d.run_futures(d.to_scenario(mix), replications=1, scale=0.02, seed=4)
    j = int(np.flatnonzero(f.years == d.TABLE_YEAR)[0])
    assert f.scenario["n_in_care"][0, j] == row["n_in_care"]
    assert d.net_saving(f)[0, j] == pytest.approx(row["savings_net_gbp"], rel=1e-12)
