"""Every bad input is answered in one line, exit code 2, no traceback, before any work is done.

One test (or one parametrised case) per class of issue 15: paths, numbers and types, damaged
parameter files, options, outputs checked first, experiment folders, and inputs that used to be
accepted silently. Commands run in-process (`experiments.cli.main`), so an unexpected exception
fails the test with its traceback instead of being hidden.
"""
from __future__ import annotations

import json
import os
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w

from experiments.cli import main as caresim
from sim.parameter_file import ParameterSet, default_params_path

TINY = ["--scale", "0.002", "--end-year", "2016"]


def refused(capsys, argv: list[str], *words: str) -> str:
    """Run `caresim argv`; assert exit 2, one line on stderr naming `words`, nothing on stdout."""
    code = caresim(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (argv, out, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert out == "", out
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def shipped_doc() -> dict:
    with open(default_params_path(), "rb") as fh:
        return tomllib.load(fh)


def write_toml(path: Path, doc: dict) -> Path:
    path.write_text(tomli_w.dumps(doc))
    return path


def scenario_file(tmp_path: Path, levers: list[dict], name: str = "mine", **top) -> Path:
    path = tmp_path / f"{name}.toml"
    return write_toml(path, {"name": name, **top, "levers": levers})


# ---------------------------------------------------------------- 1. paths a user gives
def _bad_paths(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Each kind of bad input path: (path, words the message must contain)."""
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    loop = tmp_path / "loop.toml"
    os.symlink(loop, loop)
    utf16 = tmp_path / "utf16.toml"
    utf16.write_bytes('name = "x"\n'.encode("utf-16"))
    huge = tmp_path / "huge.toml"
    with open(huge, "wb") as fh:
        fh.truncate(64 * 2**20)  # sparse: 64 MiB, above every loader's cap
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    return {
        "under a file": (str(a_file / "x.toml"), "a part of the path is a file"),
        "a directory": (str(folder), "is a directory"),
        "a symlink loop": (str(loop), "symbolic links"),
        "another encoding": (str(utf16), "not UTF-8"),
        "a device": ("/dev/zero", "not a regular file"),
        "far too large": (str(huge), "larger than"),
        "missing": (str(tmp_path / "nope.toml"), "not found"),
    }


@pytest.mark.parametrize("kind", ["under a file", "a directory", "a symlink loop", "another encoding", "a device",
                                  "far too large", "missing"])
@pytest.mark.parametrize("option", ["--scenario", "--params"])
def test_a_bad_input_path_is_one_line(tmp_path, capsys, kind, option):
    path, words = _bad_paths(tmp_path)[kind]
    started = time.monotonic()
    refused(capsys, ["run", *TINY, option, path], path, words)
    assert time.monotonic() - started < 5  # /dev/zero and the 64 MiB file are not read


@pytest.mark.parametrize("kind", ["under a file", "a directory", "a device", "far too large", "missing"])
def test_a_bad_target_file_path_is_one_line(tmp_path, capsys, kind):
    path, words = _bad_paths(tmp_path)[kind]
    refused(capsys, ["calibrate", "--quick", "--data", path, "--out", str(tmp_path / "o.toml")], path, words)
    assert not (tmp_path / "o.toml").exists()


@pytest.mark.parametrize("argv, words", [
    (["run", "--scenario", ""], "empty"),
    (["run", "--params", ""], "empty path"),
    (["run", "--out", ""], "empty path"),
    (["compare", "baseline", "--out", ""], "empty path"),
    (["calibrate", "--out", ""], "empty path"),
    (["calibrate", "--quick", "--out", "o.toml", "--data", ""], "empty path"),
    (["fit-report", "--out", ""], "empty path"),
    (["compare", "baseline", "--out", "x", "--scheduler", ""], "empty"),
])
def test_empty_option_values_are_mistakes(capsys, argv, words):
    refused(capsys, argv, words)


# ---------------------------------------------------------------- 2. numbers and types
@pytest.mark.parametrize("table, words", [
    ({"type": "investment", "gbp_per_year": 10**400}, ["gbp_per_year", "outside"]),
    ({"type": "investment", "gbp_per_year": float("nan")}, ["gbp_per_year", "nan"]),
    ({"type": "investment", "gbp_per_year": float("inf")}, ["gbp_per_year", "inf"]),
    ({"type": "practitioner_time", "direct_time_increase": -float("inf")}, ["direct_time_increase", "-inf"]),
    ({"type": ["investment"]}, ["type", "['investment']", "not a known lever"]),
    ({"type": {"a": 1}}, ["type", "not a known lever"]),
    ({"type": "investment", "gbp_per_year": [1, 2]}, ["gbp_per_year", "[1, 2]", "not a number"]),
    ({"type": "investment", "ramp_months": 10**30}, ["ramp_months", "outside"]),
    ({"type": "investment", "start": ["2020-04"]}, ["start", "YYYY-MM"]),
    ({"type": "investment", "start": "2020-04\n"}, ["start", "YYYY-MM"]),
])
def test_bad_lever_values_name_file_key_and_value(tmp_path, capsys, table, words):
    path = scenario_file(tmp_path, [table])
    refused(capsys, ["run", *TINY, "--scenario", str(path)], str(path), *words)


@pytest.mark.parametrize("top, words", [
    ({"share_realised": float("nan")}, ["share_realised", "nan"]),
    ({"share_realised": 10**400}, ["share_realised", "outside"]),
    ({"name": ["x"]}, ["name", "['x']"]),
    ({"name": "x" * 65}, ["name", "64"]),
    ({"description": {"a": 1}}, ["description"]),
])
def test_bad_scenario_values_name_file_key_and_value(tmp_path, capsys, top, words):
    path = write_toml(tmp_path / "s.toml", {"name": "s", **top, "levers": []})
    refused(capsys, ["run", *TINY, "--scenario", str(path)], str(path), *words)


@pytest.mark.parametrize("value, words", [
    (10**400, "not a finite number"), (float("nan"), "nan"), (float("inf"), "inf"), ([1.0], "[1.0]"),
    ({"a": 1}, "not a finite number"), ("0.2", "'0.2'"), (True, "True"),
])
def test_bad_parameter_values_name_file_key_and_value(tmp_path, capsys, value, words):
    doc = shipped_doc()
    doc["parameters"]["return_home_rate_per_year"] = value
    path = write_toml(tmp_path / "p.toml", doc)
    refused(capsys, ["run", *TINY, "--params", str(path)], str(path), "return_home_rate_per_year", words)


def test_an_integer_too_long_for_python_is_not_valid_toml(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text('name = "s"\nshare_realised = ' + "9" * 5000 + "\n")
    refused(capsys, ["run", *TINY, "--scenario", str(path)], str(path), "not valid TOML")


# ---------------------------------------------------------------- 3. damaged parameter files
def _damage(doc: dict, how: str) -> None:
    post = doc["posterior"]
    if how == "posterior not a table":
        doc["posterior"] = 5
    elif how == "meta not a table":
        doc["meta"] = [1, 2]
    elif how == "intervals not a table":
        doc["intervals"] = "x"
    elif how == "an interval not a pair":
        doc["intervals"]["cp_starts_per_year"] = [1.0]
    elif how == "names not a list":
        post["names"] = "cp_starts_per_year"
    elif how == "an unknown name":
        post["names"][0] = "no_such_parameter"
    elif how == "a fixed name":
        post["names"][0] = "weekly_hours"
    elif how == "draws not a list of lists":
        post["draws"] = [1.0, 2.0]
    elif how == "a short draw":
        post["draws"][7] = post["draws"][7][:-1]
    elif how == "a string in a draw":
        post["draws"][150][0] = "lots"
    elif how == "NaN in a draw":
        post["draws"][199][3] = float("nan")
    elif how == "a negative count in a draw":
        post["draws"][123][0] = -5.0
    elif how == "fitted of the wrong length":
        post["fitted"] = post["fitted"][:3]
    elif how == "an unknown table":
        doc["parameter"] = {}
    else:
        raise AssertionError(how)


DAMAGES = ["posterior not a table", "meta not a table", "intervals not a table", "an interval not a pair",
           "names not a list", "an unknown name", "a fixed name", "draws not a list of lists", "a short draw",
           "a string in a draw", "NaN in a draw", "a negative count in a draw", "fitted of the wrong length",
           "an unknown table"]


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_parameter_file_is_refused_whole_whatever_the_seed(tmp_path, capsys, how):
    doc = shipped_doc()
    _damage(doc, how)
    path = write_toml(tmp_path / "p.toml", doc)
    for seed in ("1", "2", "3"):  # not only when a seed happens to pick the bad draw
        refused(capsys, ["run", *TINY, "--seed", seed, "--params", str(path)], str(path))


# ---------------------------------------------------------------- 4. options
@pytest.mark.parametrize("command", [["run"], ["compare", "baseline", "--out", "never-made"]])
@pytest.mark.parametrize("options, words", [
    (["--seed", "-1"], "seed must be from 0"),
    (["--seed", str(2**32)], "seed must be from 0"),
    (["--seed", str(2**32 - 1), "--replications", "2"], "last replication's seed"),
    (["--scale", "1e-5"], "scale must be from 0.001"),
    (["--scale", "nan"], "scale"),
    (["--scale", "inf"], "scale"),
    (["--replications", "1000000000"], "at most 10,000 replications"),
    (["--end-year", "10e3"], "expected a year"),
])
def test_option_limits_are_the_same_for_run_and_compare(tmp_path, capsys, monkeypatch, command, options, words):
    monkeypatch.chdir(tmp_path)
    started = time.monotonic()
    refused(capsys, [*command, *options], words)
    assert time.monotonic() - started < 5 and not (tmp_path / "never-made").exists()


@pytest.mark.parametrize("argv, words", [
    (["compare", "baseline", "--out", "x", "--workers", "100000"], "at most 256"),
    (["calibrate", "--quick", "--out", "o.toml", "--max-evaluations", "99999999"], "at most 1,000"),
    (["calibrate", "--quick"], "--out"),  # never writes over the shipped file unless told to
    (["calibrate", "--quick", "--out", "o.toml", "--replace-shipped"], "not allowed with"),
])
def test_other_option_limits(tmp_path, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    refused(capsys, argv, words)
    assert files_under(tmp_path) == set()


def test_the_scale_floor_still_gives_a_population_in_every_placement_type(capsys):
    assert caresim(["run", "--scale", "0.001", "--end-year", "2016", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["foster"][0] > 0 and doc["residential"][0] > 0 and doc["other"][0] > 0
    assert abs(doc["children_in_care"][0] - 69_540) / 69_540 < 0.05


# ---------------------------------------------------------------- 5. outputs checked before any work
def _bad_outputs(tmp_path: Path) -> dict[str, tuple[str, str]]:
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    return {
        "a file": (str(a_file), "not a folder"),
        "under a file": (str(a_file / "out"), "is a file, not a folder"),
        "/proc": ("/proc/caresim-out", "cannot write"),
        "a name too long": (str(tmp_path / ("n" * 300)), "longer than a file name"),
    }


@pytest.mark.parametrize("kind", ["a file", "under a file", "/proc", "a name too long"])
@pytest.mark.parametrize("command", [["run", *TINY], ["compare", "optimised-low", *TINY], ["fit-report", "--scale", "0.002"]])
def test_an_unwritable_out_folder_is_refused_before_any_work(tmp_path, capsys, command, kind):
    path, words = _bad_outputs(tmp_path)[kind]
    before = files_under(tmp_path)
    started = time.monotonic()
    refused(capsys, [*command, "--out", path], words)
    assert time.monotonic() - started < 5  # refused before simulating
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("kind", ["a folder", "under a file", "/proc", "a device"])
def test_calibrate_refuses_an_unwritable_out_file_before_fitting(tmp_path, capsys, kind):
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    (tmp_path / "existing").mkdir()
    path, words = {"a folder": (str(tmp_path / "existing"), "is a folder"),
                   "under a file": (str(a_file / "fit.toml"), "is a file, not a folder"),
                   "/proc": ("/proc/caresim-fit.toml", "cannot write"),
                   "a device": ("/dev/null", "not a regular file")}[kind]
    before = files_under(tmp_path)
    started = time.monotonic()
    refused(capsys, ["calibrate", "--quick", "--out", path], words)
    assert time.monotonic() - started < 10  # before the fit: no checkpoint, no temporary file
    assert files_under(tmp_path) == before


def test_a_refused_compare_leaves_no_folder_and_prints_no_progress(tmp_path, capsys):
    bad = scenario_file(tmp_path, [{"type": "practitioner_time", "direct_time_increase": 2.5}])
    out = tmp_path / "exp"
    refused(capsys, ["compare", str(bad), *TINY, "--out", str(out)], str(bad), "direct_time_increase")
    assert not out.exists()


# ---------------------------------------------------------------- 6. experiment folders
@pytest.mark.parametrize("content", ["[1, 2]", "5", "null", '"text"', "{not json", "\xff\xfe"])
def test_a_manifest_that_is_not_an_object_is_refused(tmp_path, capsys, content):
    out = tmp_path / "exp"
    out.mkdir()
    (out / "manifest.json").write_bytes(content.encode("latin-1"))
    before = files_under(tmp_path)
    refused(capsys, ["compare", "optimised-low", *TINY, "--out", str(out), "--no-progress"], "manifest")
    assert files_under(tmp_path) == before


@pytest.mark.slow  # a region or a resumed run of several replications: 2-4 s each
def test_a_damaged_run_file_is_run_again_saying_so(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "exp"
    argv = ["compare", "optimised-low", *TINY, "--replications", "2", "--out", str(out), "--no-progress"]
    assert caresim(argv) == 0
    capsys.readouterr()
    store = out / "runs.parquet"
    clean = pd.read_parquet(store).sort_values(["scenario", "seed", "year"]).reset_index(drop=True)
    damaged = store / "optimised-low--seed2.parquet"
    damaged.write_bytes(b"PAR1 this is not a parquet file")
    assert caresim(argv) == 0
    err = capsys.readouterr().err
    assert str(damaged) in err and "damaged" in err and "running it again" in err
    again = pd.read_parquet(store).sort_values(["scenario", "seed", "year"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(again, clean)


def test_a_scenario_name_too_long_for_a_file_name_is_refused_up_front(tmp_path, capsys):
    path = write_toml(tmp_path / "long.toml", {"name": "n" * 250, "levers": []})
    out = tmp_path / "exp"
    refused(capsys, ["compare", str(path), *TINY, "--out", str(out)], str(path), "name")
    assert not out.exists()


# ---------------------------------------------------------------- 7. no silent acceptance
@pytest.mark.parametrize("levers", [
    [{"type": "practitioner_time", "direct_time_increase": 0.9}] * 2,
    [{"type": "supporting_children_home", "reentry_reduction": 1.0}] * 2,
    [{"type": "investment", "gbp_per_year": 1e10}] * 2000,
])
def test_two_levers_of_one_type_are_refused(tmp_path, capsys, levers):
    path = scenario_file(tmp_path, levers)
    refused(capsys, ["run", *TINY, "--scenario", str(path)], str(path), "levers[1]", "a second", levers[0]["type"])


def test_a_users_scenario_named_baseline_with_levers_is_refused(tmp_path, capsys):
    path = scenario_file(tmp_path, [{"type": "investment"}], name="baseline")
    out = tmp_path / "exp"
    refused(capsys, ["compare", str(path), *TINY, "--out", str(out)], str(path), "'baseline'", "reference")
    assert not out.exists()


def test_a_lever_checked_against_the_parameters_names_the_scenario_file(tmp_path, capsys):
    path = scenario_file(tmp_path, [{"type": "keeping_families_together", "effectiveness": 0.1}])
    refused(capsys, ["run", *TINY, "--scenario", str(path)], str(path), "effectiveness", "0.1")


def test_an_edited_free_parameter_counts_and_the_run_says_so(tmp_path, capsys):
    import pandas as pd

    from sim.run import run_replication

    doc = shipped_doc()
    doc["parameters"]["cp_starts_per_year"] = 70000.0
    path = write_toml(tmp_path / "p.toml", doc)
    assert caresim(["run", *TINY, "--replications", "2", "--params", str(path), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert f"{path}: cp_starts_per_year = 70000.0" in err and "every replication uses 70000.0" in err
    shipped = ParameterSet.load()
    tables = [run_replication(shipped.for_replication(s).replace(cp_starts_per_year=70000.0), seed=s, scale=0.002,
                              end_year=2016) for s in (1, 2)]
    got = pd.read_csv(tmp_path / "o" / "yearly.csv", index_col="year")
    assert got["n_in_care"].tolist() == pytest.approx(((tables[0] + tables[1]) / 2)["n_in_care"].tolist())
