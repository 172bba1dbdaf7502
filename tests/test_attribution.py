"""Savings by lever (runner/attribution.py): Shapley values of a scenario's levers."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from runner.attribution import lever_savings, orders, shapley, subsets_needed


def additive(effects):
    """The game of levers whose savings simply add: v(S) = sum of their effects."""
    n = len(effects)
    return {frozenset(c): float(sum(effects[i] for i in c)) for k in range(n + 1) for c in combinations(range(n), k)}


@pytest.mark.parametrize("effects", [[3.0], [5.0, -2.0], [1e8, 2.5e7, -4e6, 0.0], [7.0, 1.0, 2.0, 3.0, 4.0, 11.0]])
def test_additive_levers_get_their_solo_effect_and_sum_to_the_total(effects):
    n = len(effects)
    v = additive(effects)
    for chosen in (None, orders(n, sampled=6)):
        phi = shapley(n, v, chosen)
        assert phi.tolist() == pytest.approx(effects, abs=1e-6)
        assert phi.sum() == pytest.approx(v[frozenset(range(n))], rel=1e-12, abs=1e-9)


def test_an_interaction_is_split_evenly_between_the_two_levers_that_make_it():
    # v = a + b + 6 when both are on: each gets its own effect plus half of the 6
    v = {frozenset(): 0.0, frozenset({0}): 1.0, frozenset({1}): 2.0, frozenset({0, 1}): 9.0}
    assert shapley(2, v).tolist() == [4.0, 5.0]


def test_sampled_orders_sum_exactly_and_need_fewer_subsets():
    rng = np.random.default_rng(3)
    n = 6
    v = {frozenset(c): float(rng.normal()) if c else 0.0 for k in range(n + 1) for c in combinations(range(n), k)}
    chosen = orders(n)
    assert chosen is not None and len(chosen) == 8 and chosen[1] == chosen[0][::-1]
    assert len(subsets_needed(n, chosen)) < 2 ** n
    assert shapley(n, v, chosen).sum() == pytest.approx(v[frozenset(range(n))], abs=1e-12)
    assert orders(4) is None and len(subsets_needed(4, None)) == 16


@pytest.mark.slow
def test_on_the_model_the_lever_savings_sum_to_the_scenarios_net_saving():
    """Two levers, two paired seeds: the Shapley values add up to runner.summary's net saving."""
    from experiments.scenarios import load_scenario
    from runner.montecarlo import seeds_of
    from runner.summary import SAVING, summarise
    from sim.parameter_file import ParameterSet

    doc = load_scenario("optimised-low").to_dict()
    doc["levers"] = doc["levers"][:2]
    result = lever_savings(doc, seeds_of(2, 2), ParameterSet.load(None), scale=0.02, end_year=2026, year=2025)
    assert result.exact and len(result.table) == 2
    runs = result.runs
    full = "0+1"
    summary = summarise(runs[runs["scenario"].isin([full, "baseline"])], measures={}, baseline="baseline")
    net = float(summary.loc[(summary["scenario"] == full) & (summary["year"] == 2025), f"{SAVING}_mean"].iloc[0])
    assert result.total_gbp == pytest.approx(net, rel=1e-12)
    assert result.table["saving_gbp"].sum() == pytest.approx(net, rel=1e-9)
    assert abs(net) > 1e5  # the levers do save (or cost) something: the test has content
