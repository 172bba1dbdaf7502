"""The `caresim run` command line: JSON contract, readable table, CSV, and bad input."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.measures import CONTRACT


def caresim(*args, check=False):
    return subprocess.run([sys.executable, "-m", "experiments.cli", *args], capture_output=True, text=True,
                          check=check)


def test_json_contract_has_every_field_and_nothing_else_on_stdout():
    out = caresim("run", "--scale", "0.02", "--end-year", "2018", "--json", check=True)
    doc = json.loads(out.stdout)
    assert doc["scenario"] == "baseline" and doc["replications"] == 1
    assert doc["years"] == [2015, 2016, 2017, 2018]
    for name in CONTRACT:
        assert len(doc[name]) == 4
    assert doc["entries"][0] is None and doc["exits"][0] is None and doc["spend_gbp"][0] is None
    assert doc["children_in_care"][0] == pytest.approx(69540, rel=0.01)
    assert doc["child_months"] > 0


def test_replications_give_the_mean_and_percentiles_of_the_replications_themselves():
    """Recomputed here from the three replications run one by one (seed 2, 3, 4, each with its draw)."""
    from sim.parameter_file import ParameterSet
    from sim.run import run_replication

    out = caresim("run", "--scale", "0.02", "--end-year", "2017", "--replications", "3", "--seed", "2", "--json",
                  check=True)
    doc = json.loads(out.stdout)
    assert doc["replications"] == 3
    pset = ParameterSet.load()
    tables = [run_replication(pset.for_replication(seed), seed=seed, scale=0.02, end_year=2017) for seed in (2, 3, 4)]
    assert doc["child_months"] == sum(t.attrs["child_months"] for t in tables)
    as_json = lambda values: [None if np.isnan(v) else round(float(v), 2) for v in values]  # noqa: E731
    for name, column in CONTRACT.items():
        values = np.stack([t[column].to_numpy(dtype=float) for t in tables])
        assert doc[name] == as_json(values.mean(axis=0)), name
        assert doc[f"{name}_p05"] == as_json(np.percentile(values, 5, axis=0)), name
        assert doc[f"{name}_p95"] == as_json(np.percentile(values, 95, axis=0)), name
    assert doc["children_in_care_p05"][-1] < doc["children_in_care_p95"][-1]  # the replications differ


def test_readable_table_and_csv(tmp_path):
    out = caresim("run", "--scale", "0.02", "--end-year", "2017", "--out", str(tmp_path), check=True)
    assert "31 March" in out.stdout and "2017" in out.stdout and "spend £bn" in out.stdout
    table = pd.read_csv(tmp_path / "yearly.csv", index_col="year")
    assert list(table.index) == [2015, 2016, 2017]
    assert "n_in_care" in table.columns


@pytest.mark.parametrize("args, words", [
    (["run", "--bogus"], "unrecognized arguments: --bogus"),
    (["run", "--scale", "-1"], "scale"),
    (["run", "--scale", "abc"], "abc"),
    (["run", "--end-year", "2014"], "2014"),
    (["run", "--replications", "0"], "at least 1"),
    (["run", "--params", "/nonexistent/params.toml"], "/nonexistent/params.toml"),
    (["launch"], "launch"),
    (["run", "--seed", "-1"], "seed must be from 0"),
    (["run", "--scale", "1e-5"], "0.001"),
    (["run", "--params", "/dev/zero"], "not a regular file"),
    (["run", "--scenario", "/dev/zero"], "not a regular file"),
    (["run", "--out", "/proc/caresim"], "cannot write"),
    (["calibrate", "--quick"], "--out"),
])
def test_bad_input_is_one_line_exit_2_no_traceback(args, words):
    out = caresim(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], out.stderr
    assert out.stdout == ""


def test_malformed_parameter_file_is_refused_with_file_field_and_value(tmp_path, params):
    good = (tmp_path / "p.toml")
    lines = ["[parameters]"] + [f"{k} = {v!r}" for k, v in params.to_dict().items()]
    good.write_text("\n".join(lines).replace("return_home_rate_per_year = ", "return_home_rate_per_year = 9.5 #"))
    out = caresim("run", "--params", str(good), "--scale", "0.02", "--end-year", "2016")
    assert out.returncode == 2
    assert str(good) in out.stderr and "return_home_rate_per_year" in out.stderr and "9.5" in out.stderr
    bad = tmp_path / "broken.toml"
    bad.write_text("[parameters\nx = ")
    out = caresim("run", "--params", str(bad))
    assert out.returncode == 2 and "not valid TOML" in out.stderr and "Traceback" not in out.stderr


def test_point_estimate_runs_every_replication_on_the_calibrated_point():
    from sim.parameter_file import ParameterSet
    from sim.run import run_replication

    out = caresim("run", "--scale", "0.02", "--end-year", "2017", "--seed", "3", "--point-estimate", "--json",
                  check=True)
    doc = json.loads(out.stdout)
    pset = ParameterSet.load()
    assert pset.draws, "the shipped file carries posterior draws"
    expected = run_replication(pset.point, seed=3, scale=0.02, end_year=2017)
    assert doc["children_in_care"][-1] == round(float(expected["n_in_care"].iloc[-1]), 2)
    drawn = run_replication(pset.for_replication(3), seed=3, scale=0.02, end_year=2017)
    assert not drawn["n_in_care"].equals(expected["n_in_care"])


HEAVY = ("sim.model", "mesa", "pandas", "numpy", "scipy", "matplotlib", "dask", "distributed", "pyarrow", "solara")


def loaded_after(code: str) -> set[str]:
    """Top-level packages imported by a fresh interpreter that runs `code`."""
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split()) if out.stdout else set()


def test_the_command_line_imports_no_model_to_parse_options():
    """`caresim --help` starts fast: the subcommands import the model, pandas, Dask etc. only in main."""
    loaded = loaded_after("from experiments.cli import build_parser\nbuild_parser().format_help()")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_a_run_imports_neither_pandas_nor_dask_nor_plotting_nor_scipy_stats():
    loaded = loaded_after("import contextlib, io\nfrom experiments.cli import main\n"
                          "with contextlib.redirect_stdout(io.StringIO()):\n"
                          "    main(['run', '--scale', '0.01', '--end-year', '2016', '--json'])")
    assert "sim.model" in loaded  # it did run
    avoided = {"scipy.stats", "matplotlib", "dask", "distributed", "solara",
               "scipy.spatial", "mesa.space", "mesa.experimental", "mesa.batchrunner",  # Mesa's core only
               "pandas", "pyarrow",  # the tables are arrays (sim.measures.Yearly): ~0.3 s of start-up
               "numpy.ma"}  # imported by np.unique and np.percentile on first use: ~25 ms
    assert not loaded & avoided, sorted(loaded & avoided)


def test_the_rest_of_mesa_imports_on_first_use_after_its_core():
    """agents/mesa_core.py loads Mesa's Agent and Model alone; anything else of Mesa still works."""
    loaded = loaded_after("import sim.model, mesa\n"
                          "assert mesa.Agent is sim.model.Agent and mesa.Model is sim.model.Model\n"
                          "assert mesa.DataCollector.__name__ == 'DataCollector' and mesa.__version__\n"
                          "from mesa import batch_run\nimport mesa.space")
    assert {"mesa.datacollection", "mesa.batchrunner", "mesa.space", "scipy.spatial"} <= loaded
