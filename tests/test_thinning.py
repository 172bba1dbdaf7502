"""Competing hazards by thinning (sim/hazards.py `competing`): exact, not an approximation.

`competing` computes a child's hazards only when its uniform falls under the probability of an
upper bound of its total hazard (`exit_bound`, `move_bound`). That is exact only if the bound
really bounds every child's total: checked here over random children, times, workers' time
effects and lever settings, and the thinned draw is compared with computing every child's
hazards.
"""
from __future__ import annotations

import numpy as np
import pytest

from sim import hazards
from sim.parameter_file import load_params
from sim.states import IN_CARE, State
from sim.streams import Stream

PARAMS = load_params()
VARIANTS = {  # the shipped values, and values pushing each term of the bound
    "shipped": {},
    "early exits high, trend falling": {"return_home_early_multiplier": 4.0, "exit_trend_per_year": -0.05},
    "kinship guardianship high": {"kinship_guardianship_multiplier": 3.0, "exit_trend_per_year": 0.05},
}


def random_children(rng, n: int) -> dict:
    in_care = np.array([int(s) for s in IN_CARE], dtype=np.int8)
    return dict(state=rng.choice(in_care, n), age=rng.integers(0, 216, n).astype(np.int16),
                months_in_care=rng.integers(0, 200, n).astype(np.int16), uasc=rng.random(n) < 0.1,
                care_order=rng.random(n) < 0.5, placement_order=rng.random(n) < 0.2,
                time_effect=rng.gamma(4.0, 0.3, n), supported=np.flatnonzero(rng.random(n) < 0.2))


def exits(p, years, ch, rate, idx=slice(None)):
    sel = np.arange(ch["state"].size)[idx]
    supported = np.flatnonzero(np.isin(sel, ch["supported"]))
    return hazards.exit_hazards(p, years, ch["state"][sel], ch["age"][sel], ch["months_in_care"][sel], ch["uasc"][sel],
                                ch["time_effect"][sel], supported, rate)


def moves(p, years, ch, extra, idx=slice(None)):
    return hazards.move_hazards(p, years, ch["state"][idx], ch["age"][idx], ch["months_in_care"][idx], ch["uasc"][idx],
                                ch["care_order"][idx], ch["placement_order"][idx], extra)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("years", [0.0, 4.5, 15.0])
def test_the_bounds_bound_every_childs_total_hazard(variant, years):
    p = PARAMS.replace(**VARIANTS[variant])
    rng = np.random.default_rng(7)
    ch = random_children(rng, 20_000)
    for rate in (0.0, 2.0):
        total = np.sum(exits(p, years, ch, rate), axis=0)
        bound = hazards.exit_bound(p, years, float(ch["time_effect"].max()), rate).take(ch["state"])
        assert (total <= bound).all()
        assert (total >= bound * 0.5).any()  # and it is not loose everywhere: some child comes near it
    for extra in (0.0, 0.5):
        total = np.sum(moves(p, years, ch, extra), axis=0)
        assert (total <= hazards.move_bound(p, years, extra).take(ch["state"])).all()


def reference(stream, rows, month, hz):
    """Every child's hazards computed: the draw `competing` must reproduce."""
    total = np.sum(hz, axis=0)
    u = stream.uniform(rows, month)
    p_any = -np.expm1(-total / 12)
    fires = np.flatnonzero(u < p_any)
    pos = u[fires] / p_any[fires] * total[fires]
    which = (pos[:, None] >= np.cumsum(np.array(hz)[:, fires], axis=0)[:-1].T).sum(axis=1)
    return rows[fires], which


@pytest.mark.parametrize("month", [1, 37, 110])
def test_thinning_gives_the_same_events_as_computing_every_child(month):
    rng = np.random.default_rng(month)
    ch = random_children(rng, 30_000)
    rows = np.sort(rng.choice(10**6, ch["state"].size, replace=False))
    stream, years, rate, extra = Stream(11, "exits"), month / 12, 1.0, 0.3
    bound = hazards.exit_bound(PARAMS, years, float(ch["time_effect"].max()), rate)
    got = hazards.competing(stream, rows, month, lambda idx: exits(PARAMS, years, ch, rate, idx), bound, ch["state"])
    want = reference(stream, rows, month, exits(PARAMS, years, ch, rate))
    assert want[0].size > 500  # enough events to compare
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    bound = hazards.move_bound(PARAMS, years, extra)
    got = hazards.competing(stream, rows, month, lambda idx: moves(PARAMS, years, ch, extra, idx), bound, ch["state"])
    want = reference(stream, rows, month, moves(PARAMS, years, ch, extra))
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_a_bound_too_low_would_lose_events():
    """The comparison above can fail: with the bound halved, events go missing."""
    rng = np.random.default_rng(3)
    ch = random_children(rng, 30_000)
    rows = np.arange(ch["state"].size)
    stream, years = Stream(11, "exits"), 1.0
    bound = hazards.exit_bound(PARAMS, years, float(ch["time_effect"].max()), 1.0)
    got = hazards.competing(stream, rows, 5, lambda idx: exits(PARAMS, years, ch, 1.0, idx), bound * 0.3, ch["state"])
    want = reference(stream, rows, 5, exits(PARAMS, years, ch, 1.0))
    assert got[0].size < want[0].size


def test_a_subset_of_families_at_home_is_the_same_children_regrouped():
    from sim.front_edge import AtHome
    from tests.conftest import small_model

    m = small_model()
    m.run_until(2017)
    c = m.children
    rows = m.active_rows
    home = m.front.at_home(rows.compress(c.state[rows] <= State.EDGE_OF_CARE))
    idx = np.flatnonzero(np.random.default_rng(1).random(home.families.size) < 0.1)
    some = home.of_families(idx)
    assert isinstance(some, AtHome)
    keep = np.isin(home.family, home.families[idx])
    np.testing.assert_array_equal(some.rows, home.rows[keep])
    np.testing.assert_array_equal(some.hazard, home.hazard[keep])
    np.testing.assert_array_equal(some.families, home.families[idx])
    np.testing.assert_array_equal(some.families.take(some.group), c.family[some.rows])
    np.testing.assert_array_equal(some.family_hazard, hazards.family_max(some.hazard, some.group, idx.size))
    np.testing.assert_array_equal(some.rows.take(some.starts), some.rows[np.r_[True, np.diff(some.family) != 0]])
