"""No identifier from a return reaches any output, and small counts are suppressed.

A small synthetic authority (many counts from 1 to 5) gets distinctive identifiers planted in
every identifying column; `caresim data check --estimates --out` must not print or write any
of them, nor any date of birth, and every count it shows is 0, 6 or more, or `c`, with no line
where a single hidden cell could be recovered from its total.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from calibration.ssda903.counts import stock_partitions
from calibration.ssda903.synth import synthesise
from experiments.cli import main

COUNT_TABLES = ("stock_31_march", "flows", "entries", "exits", "moves", "provider_mix", "population", "cleaning")


def _plant(folder: Path) -> list[str]:
    """Replace every identifier with a distinctive one; returns all of them and every DOB written."""
    ids = {}
    planted: set[str] = set()
    for path in sorted(folder.rglob("*.csv")):
        t = pd.read_csv(path, dtype=str, keep_default_na=False)
        t["CHILD"] = [ids.setdefault(c, f"PLANTEDCHILD{len(ids):05d}") for c in t["CHILD"]]
        if "UPN" in t:
            t["UPN"] = "QUPN" + t["CHILD"].str[-5:] + "77"
        for column in ("HOME_POST", "PL_POST"):
            if column in t:
                t[column] = "QQ" + t["CHILD"].str[-2:] + " 9ZZ"
        if "URN" in t:
            t["URN"] = t["URN"].where(t["URN"] == "", "SC9Q" + t["CHILD"].str[-5:])
        if "DOB" in t:
            planted |= set(t["DOB"])
            planted |= {f"{d[6:]}-{d[3:5]}-{d[:2]}" for d in t["DOB"]}
        for column in ("CHILD", "UPN", "HOME_POST", "PL_POST", "URN"):
            if column in t:
                planted |= set(t[column]) - {""}
        t.to_csv(path, index=False)
    return sorted(planted)


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    root = tmp_path_factory.mktemp("privacy")
    synthesise(root / "return", children=60, years=(2019, 2021), seed=8)
    planted = _plant(root / "return")
    out = root / "out"
    import contextlib
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(["data", "check", str(root / "return"), "--estimates", "--out", str(out)])
    return rc, planted, stdout.getvalue() + stderr.getvalue(), out


def test_no_identifier_or_date_of_birth_in_any_output(checked):
    rc, planted, printed, out = checked
    assert rc == 0
    assert len(planted) > 100
    written = "".join(p.read_text() for p in sorted(out.glob("*.csv")))
    assert len(list(out.glob("*.csv"))) >= 10
    leaks = [value for value in planted if value in printed or value in written]
    assert leaks == []


def test_every_count_shown_is_zero_six_or_more_or_c(checked):
    _, _, _, out = checked
    seen_c = 0
    for name in COUNT_TABLES:
        table = pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False, index_col=0)
        for value in table.to_numpy().ravel():
            if value == "c":
                seen_c += 1
                continue
            number = int(value.replace(",", ""))
            assert number == 0 or number >= 6, (name, value)
    assert seen_c > 10  # the small authority does exercise suppression


def test_no_total_reveals_a_hidden_count(checked):
    _, _, _, out = checked
    stock = pd.read_csv(out / "stock_31_march.csv", dtype=str, keep_default_na=False, index_col=0)
    labels = {"KINSHIP": "kinship", "FOSTER_IN_HOUSE": "in-house", "FOSTER_AGENCY": "agency", "HOME_LA": "LA home",
              "HOME_PRIVATE": "private home", "SEMI_INDEPENDENT": "semi-indep."}
    for total, parts in stock_partitions():
        cells = [labels.get(total, total)] + [labels.get(p, p) for p in parts]
        hidden = (stock[cells] == "c").sum(axis=1)
        assert (hidden != 1).all(), (total, stock[cells])
    for name in ("entries", "exits", "provider_mix"):
        table = pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False, index_col=0)
        assert ((table == "c").sum(axis=1) != 1).all(), name
