"""Scenario files: the shipped files load and round-trip; bad files are one line and exit 2."""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from runner.errors import UserError
from experiments.scenarios import ScenarioError, load_scenario, parse_scenario, scenario_dir, scenario_names
from sim.levers import LEVERS

REPO = Path(__file__).resolve().parents[1]


def test_shipped_scenarios_cover_the_report_and_every_lever():
    names = scenario_names()
    assert {"baseline", "optimised-low", "optimised-high"} <= set(names)
    single = {load_scenario(n).levers[0].TYPE for n in names if len(load_scenario(n).levers) == 1}
    assert single == set(LEVERS)
    assert load_scenario("baseline").levers == []
    high, low = load_scenario("optimised-high"), load_scenario("optimised-low")
    assert {lv.TYPE for lv in high.levers} == set(LEVERS) == {lv.TYPE for lv in low.levers}
    assert [lv.to_dict() for lv in high.levers] == [lv.to_dict() for lv in low.levers]  # only the share differs
    assert low.share_realised < high.share_realised


@pytest.mark.parametrize("name", scenario_names())
def test_shipped_file_round_trips(name):
    path = scenario_dir() / f"{name}.toml"
    scenario = load_scenario(name)
    assert scenario.name == name
    text = scenario.to_toml()
    assert tomllib.loads(text) == tomllib.loads(path.read_text())  # the file's content, semantically
    assert parse_scenario(tomllib.loads(text), "again") == scenario
    assert load_scenario(path) == scenario  # by path as by name


def test_user_file_round_trips(tmp_path):
    text = """
name = "my-mix"
description = "fostering and step-down only"
share_realised = 0.3
[[levers]]
type = "great_place_to_call_home"
recruitment_multiplier = 2
[[levers]]
type = "right_care"
start = "2023-01"
ramp_months = 0
step_down_rate_per_year = 0.2
"""
    path = tmp_path / "mine.toml"
    path.write_text(text)
    scenario = load_scenario(path)
    assert scenario.share_realised == 0.3 and [lv.share_realised for lv in scenario.levers] == [0.3, 0.3]
    again = tmp_path / "again.toml"
    again.write_text(scenario.to_toml())
    assert load_scenario(again) == scenario
    assert tomllib.loads(again.read_text()) == tomllib.loads(text)
    assert scenario.levers[0].to_dict() == {"type": "great_place_to_call_home", "recruitment_multiplier": 2}


BAD = [
    ('name = "x"\ncolour = "red"\n', ["unknown key", "'colour'", "'red'"]),
    ('name = "x"\nshare_realised = 1.5\n', ["share_realised", "1.5"]),
    ('name = "x y"\n', ["name", "'x y'"]),
    ('levers = 3\n', ["levers", "3"]),
    ('[[levers]]\ntype = "teleport"\n', ["levers[0]", "type", "'teleport'"]),
    ('[[levers]]\ntype = "right_care"\nstep_down_rate_per_year = 40.0\n', ["levers[0]", "step_down_rate_per_year", "40.0"]),
    ('[[levers]]\ntype = "investment"\ngbp_per_year = "205m"\n', ["gbp_per_year", "'205m'"]),
    ('[[levers]]\ntype = "investment"\nstart = "2020/04"\n', ["start", "'2020/04'"]),
    ('[[levers]]\ntype = "investment"\npounds = 1\n', ["unknown key", "'pounds'"]),
    ('name = "x"\nlevers = [\n', ["not valid TOML"]),
]


@pytest.mark.parametrize("text, words", BAD)
def test_bad_file_is_refused_with_one_line_naming_file_key_value(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert isinstance(err.value, UserError)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    for w in words:
        assert w in message, (w, message)


def test_unknown_name_lists_the_shipped_scenarios():
    with pytest.raises(ScenarioError, match="'nowhere'.*optimised-high"):
        load_scenario("nowhere")


# what the `caresim` console script runs (`python -m experiments.cli` would load the module twice)
CARESIM = [sys.executable, "-c", "import sys; from experiments.cli import main; sys.exit(main())"]


def caresim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CARESIM, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("text, words", [BAD[0], BAD[5], BAD[-1]])
def test_cli_refuses_a_bad_file_with_exit_2_and_one_line(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    done = caresim("run", "--scenario", str(path), "--scale", "0.02", "--end-year", "2016")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0]
    for w in words:
        assert w in lines[0]


def test_cli_refuses_a_lever_the_parameters_cannot_support(tmp_path):
    path = tmp_path / "weak.toml"
    path.write_text('[[levers]]\ntype = "keeping_families_together"\neffectiveness = 0.0\n')
    done = caresim("run", "--scenario", str(path), "--scale", "0.02", "--end-year", "2016")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "effectiveness = 0.0" in done.stderr


def test_run_scenario_keeps_the_json_contract():
    done = caresim("run", "--scenario", "right-care", "--scale", "0.02", "--end-year", "2017", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["scenario"] == "right-care" and out["years"] == [2015, 2016, 2017]
    for key in ("children_in_care", "foster", "residential", "entries", "exits", "spend_gbp", "direct_hours_per_week"):
        assert len(out[key]) == 3


@pytest.mark.slow
def test_every_shipped_scenario_runs_and_every_lever_acts():
    """Smoke test: each file runs briefly; every scenario but the baseline changes the run."""
    from sim.run import run_replication

    base = run_replication(seed=2, scale=0.02, end_year=2021)
    for name in scenario_names():
        scenario = load_scenario(name)
        table = run_replication(seed=2, scale=0.02, end_year=2021, levers=scenario.levers)
        assert table["n_in_care"].notna().all()
        assert table.equals(base) == (name == "baseline"), name
