"""The local model (issue 12 items 4, 5, 7): an authority's own start, run, back-test and region.

Small synthetic authorities (`caresim data synth`, 40-120 children, with distinctive identifiers
planted in every identifying column) go through `caresim run --data`, `caresim backtest --data`
and `caresim region`; every output must be free of identifiers and show each count of children
as 0, 6 or more, or `c`; the regional total must be exactly the sum of its authorities in
every replication.
"""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibration.local import count_columns, history, load_authority, start_at, truncate
from calibration.region import region_replication, run_region
from calibration.ssda903.synth import synthesise
from experiments.cli import main
from sim.local_start import AUTHORITY_RATES, pool
from sim.model import CareModel
from sim.parameter_file import ParameterSet
from sim.states import IS_IN_CARE, State
from tests.test_ssda903_privacy import _plant


def _cli(argv: list[str]) -> tuple[int, str]:
    """Exit code, and stdout then stderr (so a JSON object printed is the first line)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue() + "\n" + err.getvalue()


@pytest.fixture(scope="module")
def authorities(tmp_path_factory):
    root = tmp_path_factory.mktemp("local")
    planted: list[str] = []
    for name, children, seed in (("alpha", 40, 11), ("beta", 70, 12), ("gamma", 120, 13)):
        synthesise(root / "region" / name, children=children, years=(2019, 2021), seed=seed)
        planted += _plant(root / "region" / name)
    return root, planted


def test_local_start_holds_the_authority_children(authorities):
    root, _ = authorities
    authority = load_authority(root / "region" / "gamma")
    start = start_at(authority.ret, 2021, authority.name)
    model = CareModel(seed=3, start=start, journeys=False)
    try:
        rows = model.active_rows
        in_care = rows[IS_IN_CARE[model.children.state[rows]]]
        assert in_care.size == len(start.children)
        got = pd.Series([State(s).name for s in model.children.state[in_care]]).value_counts().sort_index()
        assert got.to_dict() == start.children["state"].value_counts().sort_index().to_dict()
        assert sorted(model.children.age_months[in_care].tolist()) == sorted(start.children["age_months"].tolist())
        assert int(model.children.uasc[in_care].sum()) == int(start.children["uasc"].sum())
        assert model.month == (2021 - 2015) * 12
        assert model.scale == pytest.approx(start.size)
        model.run_until(2022)
        table = model.yearly_table()
        assert list(table.index) == [2021, 2022]
        assert table.at[2021, "n_in_care"] == len(start.children)  # the authority's own count, not England's
        assert np.isnan(table.at[2021, "new_entries"]) and table.at[2022, "new_entries"] >= 0
    finally:
        model.release()


def test_truncate_keeps_what_was_known_then(authorities):
    root, _ = authorities
    ret = load_authority(root / "region" / "beta").ret
    cut = truncate(ret, 2020)
    assert cut.years == [2019, 2020]
    pd.testing.assert_frame_equal(history(cut), history(ret).loc[[2019, 2020]])
    assert len(start_at(cut, 2020, "b").children) == len(start_at(ret, 2020, "b").children)


@pytest.mark.slow
def test_synth_check_run_round_trip_and_privacy(authorities, tmp_path):
    root, planted = authorities
    folder = root / "region" / "gamma"
    rc, printed = _cli(["data", "check", str(folder)])
    assert rc == 0
    out = tmp_path / "run"
    rc, text = _cli(["run", "--data", str(folder), "--out", str(out), "--replications", "2", "--json"])
    assert rc == 0, text
    doc = json.loads(text.splitlines()[0])
    assert doc["local_authority"] == "gamma"
    assert doc["years"][0] == 2021 and doc["replications"] == 2
    assert doc["children_in_care"][0] == history(load_authority(folder).ret).at[2021, "n_in_care"]
    assert (out / "local_params.toml").exists()  # cached beside the outputs, never in the data folder
    assert not any(p.name.startswith("local_") for p in folder.rglob("*"))
    rc, table_text = _cli(["run", "--data", str(folder), "--out", str(out), "--replications", "2"])
    assert rc == 0 and "gamma" in table_text and "(cached)" in table_text
    _assert_private(planted, text + table_text + printed, [out / "yearly.csv"])


@pytest.mark.slow
def test_backtest_table_and_privacy(authorities, tmp_path):
    root, planted = authorities
    out = tmp_path / "bt"
    rc, text = _cli(["backtest", "--data", str(root / "region" / "alpha"), "--fit-until", "2020", "--out", str(out),
                     "--replications", "3"])
    assert rc == 0, text
    table = pd.read_csv(out / "backtest.csv", dtype=str, keep_default_na=False)
    assert list(table.columns) == ["year", "measure", "horizon", "mean", "p05", "p95", "actual", "error"]
    assert set(table["year"]) == {"2021"} and set(table["horizon"]) == {"1"}
    assert {"n_in_care", "n_foster", "n_residential", "new_entries", "new_exits"} <= set(table["measure"])
    assert (out / "backtest.png").stat().st_size > 1000
    shown = [v for col in ("mean", "p05", "p95", "actual") for v in table[col]]
    for v in shown:
        assert v == "c" or round(float(v)) == 0 or round(float(v)) >= 6, v
    assert ((table["actual"] == "c") <= (table["error"] == "c")).all()  # a hidden actual hides its error
    _assert_private(planted, text, [out / "backtest.csv"])


@pytest.mark.slow  # a region or a resumed run of several replications: 2-4 s each
def test_region_total_is_exactly_the_sum_of_its_authorities(authorities, tmp_path):
    root, planted = authorities
    seen = []

    def check(seed, tables, total):
        names = sorted(tables)
        assert names == ["alpha", "beta", "gamma"]
        for col in ("n_in_care", "new_entries", "new_exits", "spend_children_in_care_gbp", "n_foster"):
            expected = tables[names[0]][col].to_numpy(dtype=float).copy()
            for n in names[1:]:
                expected = expected + tables[n][col].to_numpy(dtype=float)
            assert np.array_equal(total[col].to_numpy(dtype=float), expected, equal_nan=True), col
        seen.append(seed)

    prepared, ran = run_region(root / "region", tmp_path / "r", [1, 2], end_year=2023, fit=False, on_totals=check)
    assert sorted(seen) == [1, 2] and sorted(ran) == [1, 2]
    # the region's replication is a pure task (one model of all three): the same from a fresh call
    by_name = {x.name: x for x in prepared}
    names = sorted(by_name)
    rates = {r: [getattr(by_name[n].parameters.for_replication(2), r) for n in names] for r in AUTHORITY_RATES}
    again = region_replication(pool([by_name[n].start for n in names]),
                               ParameterSet.load().for_replication(2), rates, 2, 2023).tables
    store = pd.read_parquet(tmp_path / "r" / "runs.parquet")
    beta = store[(store["authority"] == "beta") & (store["seed"] == 2)].set_index("year")
    assert beta.loc[2023, "n_in_care"] == again["beta"].at[2023, "n_in_care"]
    # the region shares its providers (an authority's table leaves them blank), not its workforce
    assert beta["n_foster_households"].isna().all() and beta["caseload_per_fte"].iloc[1:].notna().all()
    # a rerun resumes: every seed's total is stored, nothing runs again
    _, ran_again = run_region(root / "region", tmp_path / "r", [1, 2], end_year=2023, fit=False)
    assert ran_again == []


@pytest.mark.slow  # a region or a resumed run of several replications: 2-4 s each
def test_region_command_json_and_privacy(authorities, tmp_path):
    root, planted = authorities
    out = tmp_path / "region_out"
    rc, text = _cli(["region", str(root / "region"), "--out", str(out), "--replications", "2", "--no-fit",
                     "--end-year", "2023", "--json"])
    assert rc == 0, text
    doc = json.loads(text.splitlines()[0])
    assert sorted(doc["by_authority"]) == ["alpha", "beta", "gamma"]
    total, parts = doc["total"], doc["by_authority"]
    for k, year in enumerate(total["years"]):
        values = [parts[n]["children_in_care"][k] for n in parts]
        if "c" not in values and year == 2021:  # the start: the sum of the returns' stocks
            assert total["children_in_care"][k] == sum(values)
    store = pd.read_parquet(out / "runs.parquet")
    for col in count_columns():
        v = store[col].to_numpy(dtype=float)
        v = np.round(v[np.isfinite(v)])
        assert ((v == 0) | (v >= 6)).all(), col
    _assert_private(planted, text, [out / "by_authority.csv", out / "region.csv"])


def _assert_private(planted: list[str], printed: str, files: list[Path]) -> None:
    """No planted identifier or date of birth anywhere; every count column shows 0, 6+, c or nothing."""
    written = "".join(f.read_text() for f in files)
    assert [v for v in planted if v in printed or v in written] == []
    counts = set(count_columns()) | {"children_in_care", "foster", "residential", "other", "entries", "exits"}
    for f in files:
        if f.name == "backtest.csv":
            continue
        table = pd.read_csv(f, dtype=str, keep_default_na=False)
        for col in [c for c in table.columns if c in counts]:
            for v in table[col]:
                assert v in ("c", "") or round(float(v)) == 0 or round(float(v)) >= 6, (f.name, col, v)


def test_mistakes_are_one_line_and_exit_2(authorities, tmp_path):
    root, _ = authorities
    for argv, words in (
            (["run", "--data", str(tmp_path / "missing")], "not a folder of SSDA903 files"),
            (["run", "--data", str(root / "region" / "alpha"), "--scale", "0.5"], "--scale 0.5"),
            (["backtest", "--data", str(root / "region" / "alpha"), "--fit-until", "2021", "--out", str(tmp_path / "b")],
             "--fit-until 2021"),
            (["region", str(tmp_path / "missing"), "--out", str(tmp_path / "r")], "not a folder")):
        rc, text = _cli(argv)
        assert rc == 2, argv
        assert words in text and text.strip().count("\n") == 0 and "Traceback" not in text, text
