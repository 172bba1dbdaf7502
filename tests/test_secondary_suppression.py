"""Secondary suppression (issue 12 item 8: "no total that reveals one").

A count of 1-5 from a return is shown as `c`; these tests check that no hidden count can be
recovered from what is published with it: not by subtracting the shown cells of any one sum (a
region's total and its authorities, placements and children in care, a year's stock and the last
with entries and exits), nor by any combination of those sums. The check here is independent of
calibration/ssda903/privacy.py: a hidden cell is recoverable exactly when its column of the sums
restricted to the hidden cells is not a combination of the other hidden cells' columns (rank).
"""
from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pandas as pd
import pytest

from calibration.ssda903.privacy import hidden_yearly, is_small
from calibration.ssda903.synth import synthesise
from experiments.cli import main

COUNTS = ["n_in_care", "n_foster", "n_residential", "n_other_care", "new_entries", "new_exits"]
YEARS = list(range(2019, 2024))


def sums(names: list[str], total: str | None, years: list[int]) -> list[dict]:
    """Every sum the published tables obey, as {(table, year, column): coefficient}."""
    out = []
    for y in years:
        if total is not None:
            for c in COUNTS:
                out.append({(total, y, c): 1, **{(n, y, c): -1 for n in names if n != total}})
        for n in names:
            out.append({(n, y, "n_in_care"): 1, (n, y, "n_foster"): -1, (n, y, "n_residential"): -1,
                        (n, y, "n_other_care"): -1})
            if y != years[0]:
                out.append({(n, y, "n_in_care"): 1, (n, y - 1, "n_in_care"): -1, (n, y, "new_entries"): -1,
                            (n, y, "new_exits"): 1})
    return out


def recoverable(hidden: set, relations: list[dict]) -> set:
    """Hidden cells whose value follows from the shown ones through the sums (by rank)."""
    cells = sorted(hidden)
    rows = [r for r in relations if any(c in hidden for c in r)]
    if not cells or not rows:
        return set(cells)
    a = np.array([[r.get(c, 0) for c in cells] for r in rows], dtype=float)
    rank = np.linalg.matrix_rank(a)
    return {c for j, c in enumerate(cells) if np.linalg.matrix_rank(np.delete(a, j, axis=1)) < rank}


def recovered_values(shown: dict, hidden: set, relations: list[dict]) -> dict:
    """The value of each recoverable hidden cell, solved from the shown cells and the sums."""
    cells = sorted(hidden)
    rows = [r for r in relations if any(c in hidden for c in r)]
    a = np.array([[r.get(c, 0) for c in cells] for r in rows], dtype=float)
    b = np.array([-sum(k * shown[c] for c, k in r.items() if c not in hidden) for r in rows])
    x = np.linalg.lstsq(a, b, rcond=None)[0]
    return {c: x[cells.index(c)] for c in recoverable(hidden, relations)}


def by_subtraction(hidden: set, relations: list[dict]) -> set:
    """Hidden cells that one sum gives away: the only hidden cell of a sum."""
    return {next(c for c in r if c in hidden) for r in relations if sum(c in hidden for c in r) == 1}


def region(rng: np.random.Generator, n: int, planted: tuple | None = None) -> dict[str, pd.DataFrame]:
    """n authorities' consistent yearly tables (placements add up; the stock moves by entries less
    exits) and their total, with small counts here and there."""
    tables = {}
    for i in range(n):
        parts = rng.integers(0, 40, size=(len(YEARS), 3)) * rng.integers(0, 2, size=(len(YEARS), 3))
        t = pd.DataFrame(parts, index=YEARS, columns=["n_foster", "n_residential", "n_other_care"])
        t["n_in_care"] = t.sum(axis=1)
        exits = rng.integers(0, 30, size=len(YEARS))
        t["new_exits"] = exits.astype(float)
        t["new_entries"] = t["n_in_care"].diff() + t["new_exits"]
        t.loc[YEARS[0], ["new_entries", "new_exits"]] = np.nan
        tables[f"la{i}"] = t[COUNTS].astype(float)
    if planted is not None:  # a 3 in a placement, the rest of the authority's table moved to match
        name, year = planted
        t = tables[name]
        t.loc[year, "n_residential"] = 3
        t["n_in_care"] = t[["n_foster", "n_residential", "n_other_care"]].sum(axis=1)
        t["new_entries"] = t["n_in_care"].diff() + t["new_exits"]
        t.loc[YEARS[0], "new_entries"] = np.nan
    tables["total"] = sum(tables.values())
    return tables


def hidden_set(masks: dict[str, pd.DataFrame]) -> set:
    return {(n, y, c) for n, m in masks.items() for c in m.columns for y in m.index if m.at[y, c]}


def small_set(tables: dict[str, pd.DataFrame]) -> set:
    return {(n, y, c) for n, t in tables.items() for c in COUNTS for y in t.index
            if np.isfinite(t.at[y, c]) and is_small([round(t.at[y, c])])[0]}


def absent(tables: dict[str, pd.DataFrame]) -> set:
    return {(n, y, c) for n, t in tables.items() for c in COUNTS for y in t.index if not np.isfinite(t.at[y, c])}


def relations_present(tables, total) -> list[dict]:
    missing = absent(tables)
    return [r for r in sums(list(tables), total, YEARS) if not any(c in missing for c in r)]


def test_a_planted_small_count_cannot_be_recovered_across_a_region():
    rng = np.random.default_rng(7)
    tables = region(rng, 4, planted=("la2", 2021))
    masks = hidden_yearly(tables, COUNTS, total="total")
    hidden, relations = hidden_set(masks), relations_present(tables, "total")
    assert ("la2", 2021, "n_residential") in hidden
    assert small_set(tables) <= hidden
    assert by_subtraction(hidden, relations) & small_set(tables) == set()
    assert recoverable(hidden, relations) & small_set(tables) == set()
    # and the check can fail: hiding the small counts alone leaves the planted one recoverable
    assert ("la2", 2021, "n_residential") in recoverable(small_set(tables), relations)


def test_no_small_count_is_recoverable_in_random_regions():
    rng = np.random.default_rng(11)
    exposed_by_primary_only = 0
    for trial in range(25):
        tables = region(rng, int(rng.integers(2, 6)))
        masks = hidden_yearly(tables, COUNTS, total="total")
        hidden, relations = hidden_set(masks), relations_present(tables, "total")
        small = small_set(tables)
        assert small <= hidden, trial
        assert recoverable(hidden, relations) & small == set(), trial
        assert not hidden & absent(tables)
        exposed_by_primary_only += bool(recoverable(small, relations) & small)
    assert exposed_by_primary_only >= 10  # the tables do hold small counts that primary suppression leaks


def test_one_authority_alone_hides_what_its_own_sums_reveal():
    rng = np.random.default_rng(3)
    tables = {"la0": region(rng, 1, planted=("la0", 2020))["la0"]}
    masks = hidden_yearly(tables, COUNTS)
    hidden = hidden_set(masks)
    relations = relations_present(tables, None)
    assert ("la0", 2020, "n_residential") in hidden
    assert recoverable(hidden, relations) & small_set(tables) == set()


@pytest.mark.slow  # a region or a resumed run of several replications: 2-4 s each
def test_region_command_publishes_no_recoverable_count(tmp_path):
    """`caresim region --json`: with the published JSON's `c` as unknowns, no count of 1-5 follows
    from the published sums, and the store's replications likewise."""
    root = tmp_path / "region"
    for name, children, seed in (("alpha", 25, 21), ("beta", 40, 22), ("gamma", 60, 23)):
        synthesise(root / name, children=children, years=(2019, 2021), seed=seed)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["region", str(root), "--out", str(tmp_path / "out"), "--replications", "1", "--no-fit",
                   "--end-year", "2024", "--json"])
    assert rc == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    keys = {"n_in_care": "children_in_care", "n_foster": "foster", "n_residential": "residential",
            "n_other_care": "other", "new_entries": "entries", "new_exits": "exits"}
    published = {"total": doc["total"], **doc["by_authority"]}
    years = doc["total"]["years"]
    hidden = {(n, y, c) for n, d in published.items() for c, k in keys.items() for y, v in zip(years, d[k])
              if v == "c"}
    assert hidden, "synthetic authorities of 25-60 children have small counts"
    missing = {(n, y, c) for n, d in published.items() for c, k in keys.items() for y, v in zip(years, d[k])
               if v is None}
    relations = [r for r in sums(list(published), "total", years) if not any(c in missing for c in r)]
    shown = {(n, y, c): v for n, d in published.items() for c, k in keys.items() for y, v in zip(years, d[k])
             if v not in ("c", None)}
    recovered = recovered_values(shown, hidden, relations)  # a secondary cell may follow: never a small one
    assert not any(is_small([round(v)])[0] for v in recovered.values()), recovered
    for n, d in published.items():  # what is shown is 0 or at least 6
        for k in keys.values():
            assert all(v in ("c", None) or round(v) == 0 or round(v) >= 6 for v in d[k]), (n, k)
    store = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    tables = {n: g.set_index("year")[COUNTS] for n, g in store.groupby("authority")}
    store_hidden = {(n, y, c) for n, t in tables.items() for c in COUNTS for y in t.index
                    if not np.isfinite(t.at[y, c]) and not (y == years[0] and c.startswith("new_"))}
    store_missing = {(n, years[0], c) for n in tables for c in ("new_entries", "new_exits")}
    store_relations = [r for r in sums(list(tables), "total", years) if not any(c in store_missing for c in r)]
    store_shown = {(n, y, c): t.at[y, c] for n, t in tables.items() for c in COUNTS for y in t.index
                   if np.isfinite(t.at[y, c])}
    recovered = recovered_values(store_shown, store_hidden, store_relations)
    assert store_hidden and not any(is_small([round(v)])[0] for v in recovered.values()), recovered

