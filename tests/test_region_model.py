"""A region as one model (sim/local_start.py `pool`, sim/recorder.py `_record_authorities`):
its authorities' tables add up to the model's own figures, a region of one authority is that
authority's model, new families belong to the authorities in proportion to their sizes, and each
authority's own rates act on its children only."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calibration.region import summed_columns
from sim.local_start import AUTHORITY_RATES, LocalStart, pool
from sim.model import CareModel
from sim.parameter_file import load_params
from sim.measures import AUTHORITY_MEASURES
from sim.states import State

STATES = [State.FOSTER_IN_HOUSE, State.FOSTER_AGENCY, State.KINSHIP, State.HOME_PRIVATE, State.PLACED_WITH_PARENTS]


def authority(name: str, n: int, seed: int, year: int = 2021) -> LocalStart:
    """`n` children in care of mixed ages, placements and times in care (seeded)."""
    rng = np.random.default_rng(seed)
    ages = rng.integers(0, 17 * 12, n)
    children = pd.DataFrame({"age_months": ages, "state": [STATES[k].name for k in rng.integers(0, len(STATES), n)],
                             "legal_status": "care order", "months_in_care": np.minimum(rng.integers(0, 60, n), ages),
                             "uasc": False})
    return LocalStart(year, children, size=n / 80_000, name=name)


def run(start: LocalStart, seed: int = 3, end: int = 2024, **kwargs) -> CareModel:
    model = CareModel(load_params(), seed=seed, start=start, journeys=False, **kwargs)
    model.run_until(end)
    return model


@pytest.fixture(scope="module")
def region_run():
    starts = [authority("north", 300, 1), authority("south", 150, 2), authority("west", 450, 3)]
    model = run(pool(starts))
    try:
        yield starts, model.recorder.yearly_by_authority(), model.yearly_table(), model
    finally:
        model.release()


def test_the_authorities_add_up_to_the_region_in_every_year_and_measure(region_run):
    starts, tables, total, _ = region_run
    assert list(tables) == ["north", "south", "west"]
    assert set(model_records(region_run)) == AUTHORITY_MEASURES  # what is recorded is what is declared
    measures = summed_columns()  # what adds up (counts, flows, money, hours); ratios do not
    assert {"n_in_care", "new_entries", "new_exits", "spend_children_in_care_gbp", "n_cp_plans",
            "direct_hours_per_week", "n_social_workers"} <= set(measures) <= AUTHORITY_MEASURES
    for col in measures:
        summed = sum(tables[n][col].to_numpy(dtype=float) for n in tables)
        expected = total[col].to_numpy(dtype=float)
        if col == "direct_hours_per_week":  # the model's own total sums float32 hours in float32
            np.testing.assert_allclose(summed, expected, rtol=1e-6, err_msg=col)
        elif col.startswith("spend_") or col in ("n_social_workers", "n_agency_social_workers"):
            # money and FTE: the same sums in another order
            np.testing.assert_allclose(summed, expected, rtol=1e-12, err_msg=col)
        else:  # children: no child lost or counted twice
            assert np.array_equal(summed, expected, equal_nan=True), col
    # each starts with its own children, and the region's shared measures are not split
    assert [tables[s.name].at[2021, "n_in_care"] for s in starts] == [len(s.children) for s in starts]
    assert tables["north"]["n_foster_households"].isna().all()
    assert total["n_foster_households"].notna().all()
    assert tables["north"]["caseload_per_fte"].iloc[1:].notna().all()  # each authority has its workforce


def model_records(region_run) -> list[str]:
    return list(region_run[3].recorder.by_authority[0])


def test_a_region_of_one_authority_is_that_authoritys_model():
    one = authority("north", 300, 1)
    a, b = run(one), run(pool([one]))
    try:
        pd.testing.assert_frame_equal(a.yearly_table(), b.yearly_table())
    finally:
        a.release()
        b.release()


def test_new_families_belong_to_the_authorities_in_proportion_to_their_sizes(region_run):
    starts, _, _, model = region_run
    f = model.families
    start_families = sum(len(s.children) for s in starts)  # one family per child of the return
    later = f.authority[start_families: f.n]
    shares = np.bincount(later, minlength=3) / later.size
    expected = np.array([300, 150, 450]) / 900
    # binomial: each share within 4 standard errors, two-sided (seeded, so the check is exact here)
    se = np.sqrt(expected * (1 - expected) / later.size)
    assert later.size > 2_000
    assert np.all(np.abs(shares - expected) < 4 * se), (shares, expected)
    # and a child belongs to its family's authority
    c = model.children
    assert np.array_equal(c.authority[: c.n], f.authority[c.family[: c.n]])


def test_an_authoritys_own_rates_act_on_its_children_only():
    twins = [authority("a", 400, 7), authority("b", 400, 7)]  # the same children
    p = load_params()
    same = {r: [getattr(p, r)] * 2 for r in AUTHORITY_RATES}
    base = run(pool(twins), authority_rates=same)
    plain = run(pool(twins))
    higher = dict(same, care_entry_rate_cp_per_year=[p.care_entry_rate_cp_per_year, 3 * p.care_entry_rate_cp_per_year],
                  care_entry_rate_at_risk_per_year=[p.care_entry_rate_at_risk_per_year,
                                                    3 * p.care_entry_rate_at_risk_per_year])
    raised = run(pool(twins), authority_rates=higher)
    try:
        # the national rates given per authority are no rates at all: the same run, exactly
        pd.testing.assert_frame_equal(base.yearly_table(), plain.yearly_table())
        entries = {k: m.recorder.yearly_by_authority() for k, m in (("base", base), ("raised", raised))}
        a_base, b_base = (entries["base"][n]["new_entries"].sum() for n in ("a", "b"))
        a_up, b_up = (entries["raised"][n]["new_entries"].sum() for n in ("a", "b"))
        assert b_up > 1.5 * b_base  # three times the entry rate from home: far more entries
        assert abs(a_up - a_base) < 0.25 * a_base  # the other authority barely moves (it shares places)
    finally:
        for m in (base, plain, raised):
            m.release()


def test_each_authoritys_cases_are_held_by_its_own_workers(region_run):
    _, tables, total, model = region_run
    c, w = model.children, model.workers
    rows = model.active_rows
    held = rows[c.worker[rows] >= 0]
    assert held.size > 500
    assert np.array_equal(w.authority[c.worker[held]], c.authority[held])
    # every authority keeps at least one worker, and its caseload is its own cases over its own workers
    active = np.flatnonzero(w.active[: w.n])
    assert set(np.unique(w.authority[active])) == {0, 1, 2}
    loads = [tables[n]["caseload_per_fte"].iloc[-1] for n in tables]
    assert all(np.isfinite(loads)) and min(loads) > 0


def test_a_region_refuses_authorities_that_start_in_different_years():
    with pytest.raises(ValueError, match="latest 31 March differ"):
        pool([authority("a", 50, 1, 2021), authority("b", 50, 2, 2020)])


def test_a_replications_store_rows_are_the_tables_suppressed_one_by_one():
    """`store_rows` (every table at once, as the region's driver writes a seed) gives the rows the
    per-table path gave: `as_rows` of each table with its `authority`, `suppressed_tables` of them
    all with the total, in name order; and `region_total` adds the tables in name order."""
    from calibration.region import TOTAL, region_total, store_rows, suppressed_tables
    from calibration.ssda903.privacy import count_columns
    from runner.montecarlo import as_rows
    from sim.measures import MEASURES

    rng = np.random.default_rng(5)
    years = pd.Index(range(2021, 2026), name="year")
    columns = [m.name for m in MEASURES]
    names = [f"la{i:02d}" for i in rng.permutation(8)]  # not in name order, as a dict may come
    tables = {}
    for n in names:  # small counts, many zeros: primary and secondary suppression both happen
        values = rng.integers(0, 14, (len(years), len(columns))) * rng.integers(0, 2, (len(years), len(columns)))
        t = pd.DataFrame(values, index=years, columns=columns)
        t["n_in_care"] = t["n_foster"] + t["n_residential"] + t["n_other_care"]
        t = t.astype({c: float for c in columns[::2]})  # the recorder's tables mix int64 and float64
        t.loc[years[0], [c for c in columns if c.startswith("new_")]] = np.nan
        tables[n] = t
    total = region_total(tables)
    summed = summed_columns()
    by_name = np.zeros((len(years), len(summed)))
    for n in sorted(tables):
        by_name = by_name + tables[n][summed].to_numpy(dtype=float)
    assert np.array_equal(total[summed].to_numpy(), by_name, equal_nan=True)
    assert total.drop(columns=summed).isna().all().all()

    rows = {n: as_rows(t, "baseline", 9).assign(authority=n).set_index("year", drop=False)
            for n, t in {**tables, TOTAL: total}.items()}
    shown = suppressed_tables(rows, total=TOTAL)
    expected = pd.concat([shown[n] for n in [*sorted(tables), TOTAL]]).reset_index(drop=True)
    got = store_rows(tables, total, 9)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    counts = [c for c in count_columns() if c in got.columns]
    before = pd.concat([rows[n] for n in [*sorted(tables), TOTAL]]).reset_index(drop=True)[counts].to_numpy()
    hidden = np.isnan(got[counts].to_numpy()) & ~np.isnan(before)
    small = (np.round(before) >= 1) & (np.round(before) <= 5)
    assert (hidden & small).sum() > 50 and (hidden & ~small).sum() > 10  # primary and secondary
