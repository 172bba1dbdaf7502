"""The page's parts without a browser: charts, the result cache, files from and to the browser,
the uncertainty and authority views, and the command's safe defaults."""
from __future__ import annotations

import io
import json

import ipyvuetify as v
import pandas as pd
import pytest
import solara

from experiments import dashboard as d
from experiments import dashboard_command as command
from experiments.page import authority, cache, charts, futures, uncertainty
from experiments.page.mix import MAX_UPLOAD_BYTES, scenario_from_upload
from experiments.scenarios import ScenarioError, load_scenario, parse_scenario
from runner.errors import UserError
from runner.montecarlo import BASELINE_SCENARIO
from runner.summary import SAVING
from runner.sensitivity import INDEX_COLUMNS
from runner.variance_sources import SHARE_COLUMNS


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CARESIM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def two_levers():
    doc = load_scenario("optimised-low").to_dict()
    doc["levers"] = doc["levers"][:2]
    doc["name"] = "two-levers"
    return parse_scenario(doc, source="test")


def test_a_result_is_kept_and_read_back_unchanged_and_a_change_of_input_is_a_new_key(tmp_cache):
    scenario = two_levers()
    first = futures.run_futures(scenario, replications=1, scale=0.02, seed=3)
    again = futures.run_futures(scenario, replications=1, scale=0.02, seed=3)
    assert not first.from_cache and again.from_cache
    pd.testing.assert_frame_equal(first.runs, again.runs, check_exact=True)
    pd.testing.assert_frame_equal(first.savings.table, again.savings.table, check_exact=True)
    assert again.savings.total_gbp == first.savings.total_gbp
    assert first.savings.table["saving_gbp"].sum() == pytest.approx(first.at(futures.MIX, f"{SAVING}_mean"), rel=1e-9)
    doc = scenario.to_dict()
    assert cache.key(doc, seed=3) != cache.key(doc, seed=4)
    assert cache.key(doc, seed=3) != cache.key({**doc, "share_realised": doc["share_realised"] / 2}, seed=3)

    # the page shows the waterfall, its table and the CSV of the results
    box, rc = solara.render(d.LeverWaterfall(first), handle_error=False)
    assert "by lever" in rc.find(tag="h3").widget.unsafe_innerHTML
    rc.close()
    table = pd.read_csv(io.BytesIO(futures.results_csv(first)))
    assert set(table["scenario"]) == {"two-levers", "baseline"}
    assert {"year", "children_in_care_median", "children_in_care_p05", "children_in_care_p95",
            "spend_gbp_median", f"{SAVING}_median"} <= set(table.columns)


def test_a_damaged_cache_entry_is_recomputed(tmp_cache):
    cache.store("x", {"runs": pd.DataFrame({"a": [1.0]})}, {})
    assert cache.load("x")[0]["runs"]["a"].tolist() == [1.0]
    (tmp_cache / "x" / "runs.parquet").write_bytes(b"not parquet")
    assert cache.load("x") is None


def test_the_fan_chart_draws_a_band_reads_values_on_hover_and_switches_series_off():
    summary = pd.DataFrame({"year": [2024, 2025], "children_in_care_median": [10.0, 12.0],
                            "children_in_care_p05": [8.0, 9.0], "children_in_care_p95": [11.0, 15.0]})
    data = charts.fan_data({"Baseline": summary}, {"children_in_care": "All children in care"})
    observed = pd.DataFrame({"measure": ["All children in care"], "year": [2024], "value": [9.5], "source": ["x"]})
    spec = json.loads(charts.fan_chart(data, observed, title="t", unit="children", label_year=2025).to_json())
    layers = spec["spec"]["layer"]
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in layers]
    assert marks[:4] == ["area", "line", "circle", "text"] and marks[4] == "point"
    assert layers[0]["encoding"]["y"]["field"] == "p05" and layers[0]["encoding"]["y2"]["field"] == "p95"
    assert any(t["field"] == "median" for t in layers[2]["encoding"]["tooltip"])
    assert spec["params"][0]["bind"] == "legend"


def test_the_waterfall_ends_at_the_total():
    table = pd.DataFrame({"lever": ["a", "b"], "saving_gbp": [3e6, -1e6]})
    spec = json.loads(charts.waterfall_chart(table, 2e6, title="t").to_json())
    rows = spec["datasets"][spec["layer"][0]["data"]["name"]] if "data" in spec["layer"][0] else \
        next(iter(spec["datasets"].values()))
    assert [(r["start"], r["end"]) for r in rows] == [(0.0, 3.0), (3.0, 2.0), (0.0, 2.0)]


def test_an_uploaded_scenario_file_is_read_by_the_loader_and_a_bad_one_is_one_line():
    text = load_scenario("optimised-high").to_toml().encode()
    assert scenario_from_upload("a.toml", text).to_dict() == load_scenario("optimised-high").to_dict()
    with pytest.raises(ScenarioError, match=r"^b.toml: not a TOML scenario file"):
        scenario_from_upload("b.toml", b"name = ")
    with pytest.raises(ScenarioError, match=r"^c.toml: .* is too large"):
        scenario_from_upload("c.toml", b"#" * (MAX_UPLOAD_BYTES + 1))
    with pytest.raises(ScenarioError) as caught:
        scenario_from_upload("d.toml", b'name = "x"\nlevers = [{type = "no_such_lever"}]\n')
    assert "\n" not in str(caught.value) and "no_such_lever" in str(caught.value)


def test_the_uncertainty_view_reads_indices_and_shares_by_their_columns():
    indices = pd.DataFrame([["spend", "p1", "morris", "mu_star", 2.0, 1.0, 3.0],
                            ["spend", "p2", "morris", "mu_star", 5.0, 4.0, 6.0]], columns=INDEX_COLUMNS)
    kind, table = uncertainty.read_table("indices.csv", indices.to_csv(index=False).encode())
    assert kind == "indices"
    spec = json.loads(charts.tornado_chart(table, "spend").to_json())
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["p2", "p1"]  # largest first
    shares = pd.DataFrame([["spend", "seed", 0.6, 0.5, 0.7, 0.5, 0.7, 1.0]], columns=SHARE_COLUMNS)
    assert uncertainty.read_table("s.csv", shares.to_csv(index=False).encode())[0] == "shares"
    with pytest.raises(UserError, match=r"^x.csv: columns \['a'\] are neither"):
        uncertainty.read_table("x.csv", b"a\n1\n")


def test_an_authority_is_chosen_among_the_folders_under_the_data_root_only(tmp_path, monkeypatch):
    (tmp_path / "Barsetshire").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    assert authority.authority_folders(tmp_path) == ["Barsetshire"]
    assert authority.folder_of(tmp_path, "Barsetshire") == (tmp_path / "Barsetshire").resolve()
    for bad in ("..", "../etc", "notes.txt", "missing"):
        with pytest.raises(UserError):
            authority.folder_of(tmp_path, bad)
    monkeypatch.setenv(authority.DATA_ROOT_ENV, str(tmp_path))
    authority.chosen.value = "Barsetshire"
    box, rc = solara.render(authority.AuthorityView(BASELINE_SCENARIO, [1]), handle_error=False)
    assert authority.local_model() is None  # nothing registered: the view says what is coming
    assert rc.find(v.Alert, class_="authority-coming").widget.children == [
        "authority runs need caresim run --data (coming)"]
    rc.close()
    monkeypatch.setattr(authority, "_local_model", [])
    authority.register_local_model(lambda folder, doc, seeds: None, lambda table: table)  # as experiments.cli does
    box, rc = solara.render(authority.AuthorityView(BASELINE_SCENARIO, [1]), handle_error=False)
    assert rc.find(v.Btn, class_="authority-run").widget.children == ["Run Barsetshire"]
    rc.close()
    authority.chosen.value = authority.ENGLAND


def test_the_page_listens_on_this_machine_unless_told_and_warns_when_told():
    import argparse

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    assert parser.parse_args([]).host == "127.0.0.1"
    assert command.host_warning("127.0.0.1") is None and command.host_warning("localhost") is None
    warning = command.host_warning("0.0.0.0")
    assert "0.0.0.0" in warning and "run simulations" in warning


def test_a_data_root_that_is_not_a_folder_is_one_line(tmp_path):
    import argparse

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    with pytest.raises(UserError, match="--data-root .*: not a folder"):
        command.main(parser.parse_args(["--data-root", str(tmp_path / "none")]))


def test_the_uncertainty_view_shows_the_newest_shipped_study_and_names_it(tmp_path):
    assert uncertainty.shipped_study(tmp_path) is None
    rows = pd.DataFrame([["spend", "p1", "morris", "mu_star", 2.0, 1.0, 3.0]], columns=INDEX_COLUMNS)
    for folder, day, scale in (("old", "2026-01-01", "0.05"), ("new", "2026-12-03", "0.1"), ("no-indices", "2027-01-01", "1")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "study.json").write_text(json.dumps(
            {"title": "t", "date": day, "settings": {"scenario": "optimised-low", "scale": scale, "end year": "2025"}}))
        if folder != "no-indices":
            rows.assign(input=folder).to_csv(tmp_path / folder / "indices.csv", index=False)
    table, described = uncertainty.shipped_study(tmp_path)
    assert list(table["input"]) == ["new"]
    assert described == ("From the shipped study `docs/sensitivity/new` (scenario optimised-low, scale 0.1, "
                         "end year 2025; run 2026-12-03).")


def test_the_newest_shipped_variance_study_is_found_named_and_its_shares_sum_to_one():
    table, described = uncertainty.shipped_variance_study()
    folder, study = uncertainty.newest_shipped(uncertainty.SHIPPED_VARIANCE, uncertainty.SHARES_FILE)
    assert described.startswith(f"From the shipped study `docs/variance/{folder.name}` (")
    assert f"variance samples {study['settings']['variance samples']}" in described
    assert list(table.columns) == SHARE_COLUMNS and len(table) > 0
    sums = table.groupby("output")["share"].sum()
    assert ((sums - 1).abs() <= 0.02).all(), sums.to_dict()  # Shapley shares telescope to 1 (issue 13's 1 +- 0.02)
    assert set(table["source"]) == {"calibration posterior", "lever strengths", "other assumptions", "stochastic noise"}


def test_the_variance_study_picked_is_the_newest_with_a_table_whatever_the_folder_order(tmp_path):
    assert uncertainty.shipped_variance_study(tmp_path) is None
    rows = pd.DataFrame([["baseline:spend_gbp", "stochastic noise", 1.0, 0.9, 1.0, 1.0, 1.0, 5.0]], columns=SHARE_COLUMNS)
    for folder, day in (("a-newer", "2026-12-03"), ("b-older", "2026-11-01"), ("c-no-table", "2027-01-01")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "study.json").write_text(json.dumps(
            {"date": day, "settings": {"scenario": "optimised-low", "scale": "0.05", "variance samples": "10"}}))
        if folder != "c-no-table":
            rows.assign(source=folder).to_csv(tmp_path / folder / uncertainty.SHARES_FILE, index=False)
    table, described = uncertainty.shipped_variance_study(tmp_path)
    assert list(table["source"]) == ["a-newer"]
    assert described == ("From the shipped study `docs/variance/a-newer` (scenario optimised-low, scale 0.05, "
                         "variance samples 10; run 2026-12-03).")


def test_the_tornado_and_the_split_of_one_output_are_matched_by_measure():
    indices = pd.DataFrame({"output": ["spend_gbp", "net_saving_pct"]})
    shares = pd.DataFrame({"output": ["baseline:spend_gbp", "optimised-low:net_saving_pct", "optimised-low:net_saving_gbp"]})
    assert uncertainty.output_choices(indices, shares) == ["net_saving_pct", "optimised-low:net_saving_gbp", "spend_gbp"]
    assert uncertainty.matching_output(shares["output"], "spend_gbp") == "baseline:spend_gbp"
    assert uncertainty.matching_output(shares["output"], "optimised-low:net_saving_gbp") == "optimised-low:net_saving_gbp"
    assert uncertainty.matching_output(indices["output"], "optimised-low:net_saving_gbp") is None
    assert uncertainty.output_choices(None, None) == []


def test_the_uncertainty_view_shows_both_shipped_studies_side_by_side_and_a_dropped_table_replaces_the_split():
    uncertainty.indices.value = uncertainty.shares.value = uncertainty.output.value = None
    box, rc = solara.render(uncertainty.UncertaintyView(), handle_error=False)
    texts = _page_texts(rc)
    assert any("docs/sensitivity/" in t for t in texts) and any("docs/variance/" in t for t in texts), texts
    rc.find(v.Html, class_="chart-tornado").assert_single()
    rc.find(v.Html, class_="chart-shares").assert_single()
    dropped = pd.DataFrame([["baseline:spend_gbp", "stochastic noise", 1.0, 0.9, 1.0, 1.0, 1.0, 5.0]], columns=SHARE_COLUMNS)
    try:
        uncertainty.shares.value = dropped
        uncertainty.output.value = "spend_gbp"  # the dropped table has only this output
        texts = _page_texts(rc)
        assert any("docs/sensitivity/" in t for t in texts) and not any("docs/variance/" in t for t in texts), texts
        rc.find(v.Html, class_="chart-shares").assert_single()
    finally:
        uncertainty.shares.value = uncertainty.output.value = None


def _page_texts(rc) -> list[str]:
    """The HTML of every Markdown block on a rendered page (solara renders Markdown as a Vuetify template)."""
    return [str(w.template) for w in rc.find(v.VuetifyTemplate).widgets]
