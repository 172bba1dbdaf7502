"""Savings by lever: a scenario's net saving shared among its levers by Shapley values.

A scenario's levers interact (freeing foster places helps only if children are stepped down
into them), so "what does each lever save?" has no answer from running each lever alone: the
solo effects need not add up to the scenario's saving. The Shapley value answers it fairly: a
lever's share is its marginal saving averaged over every order in which the levers could be
added, so interactions are split between the levers that make them, and the shares add up to
exactly the scenario's saving (efficiency: the sum telescopes to v(all levers) - v(no lever),
and v(no lever) is the baseline against itself, 0).

`shapley` is the arithmetic, for any value function of a set of players. `lever_savings` is the
model's use of it: v(S) is the mean over seeds of `runner.summary.net_saving` in one year, of the
scenario with only the levers in S against the baseline, every subset run with the same seeds
and parameter draws through the one Monte Carlo path (`runner.montecarlo`), so that the
differences between subsets are the levers' effects and not noise (common random numbers).

Exact Shapley values need all 2^n subsets. For more than `EXACT_UP_TO` levers, the values are
averaged over a seeded sample of orders, each with its reverse (antithetic pairs); each order
telescopes, so the sampled values still add up to the scenario's saving exactly.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

EXACT_UP_TO = 4  # levers; 2^4 = 16 subsets
SAMPLED_ORDERS = 8  # orders (4 random ones and their reverses) above EXACT_UP_TO
ORDER_SEED = 20_250_331  # the seed of the sampled orders: the same scenario gets the same orders


def orders(n: int, sampled: int | None = None, seed: int = ORDER_SEED) -> list[tuple[int, ...]] | None:
    """None (exact: every subset) for n <= EXACT_UP_TO unless `sampled` is given, else `sampled`
    orders of range(n): random ones from a generator seeded by `seed`, each followed by its reverse."""
    if sampled is None and n <= EXACT_UP_TO:
        return None
    rng = np.random.default_rng(seed)
    out: list[tuple[int, ...]] = []
    while len(out) < (sampled or SAMPLED_ORDERS):
        order = tuple(int(i) for i in rng.permutation(n))
        out += [order, order[::-1]]
    return out[: sampled or SAMPLED_ORDERS]


def subsets_needed(n: int, sampled_orders: Sequence[tuple[int, ...]] | None) -> list[frozenset[int]]:
    """The subsets of range(n) whose value the Shapley values need (the empty set included)."""
    if sampled_orders is None:
        return [frozenset(c) for k in range(n + 1) for c in combinations(range(n), k)]
    seen = {frozenset(): None}
    for order in sampled_orders:
        for k in range(1, n + 1):
            seen.setdefault(frozenset(order[:k]), None)
    return list(seen)


def shapley(n: int, value: Mapping[frozenset[int], float],
            sampled_orders: Sequence[tuple[int, ...]] | None = None) -> np.ndarray:
    """Shapley values of players 0..n-1 for the game `value` (a value for every subset needed).

    Exact (weights |S|! (n - |S| - 1)! / n!) without `sampled_orders`; otherwise the mean
    marginal contribution over those orders. Either way the values sum to
    value[all] - value[empty].
    """
    phi = np.zeros(n)
    if sampled_orders is None:
        for i in range(n):
            others = [p for p in range(n) if p != i]
            for k in range(n):
                weight = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
                for c in combinations(others, k):
                    s = frozenset(c)
                    phi[i] += weight * (value[s | {i}] - value[s])
        return phi
    for order in sampled_orders:
        before = frozenset()
        for i in order:
            after = before | {i}
            phi[i] += value[after] - value[before]
            before = after
    return phi / len(sampled_orders)


@dataclass
class LeverSavings:
    """The decomposition of a scenario's net saving in `year`.

    `table` has one row per lever: `lever` (its title), `type`, `saving_gbp` (Shapley value),
    `solo_gbp` (the lever alone); `total_gbp` is the scenario's net saving (mean over seeds),
    which the `saving_gbp` column sums to. `runs` holds every run made, labelled by subset
    (`scenario` = "+"-joined lever indices, "baseline" for the empty set); `exact` says whether
    every subset was run.
    """

    table: pd.DataFrame
    total_gbp: float
    year: int
    exact: bool
    runs: pd.DataFrame


def subset_name(subset: frozenset[int]) -> str:
    from runner.summary import BASELINE

    return "+".join(str(i) for i in sorted(subset)) if subset else BASELINE


def lever_savings(scenario: Mapping, seeds: Sequence[int], parameters, *, scale: float, end_year: int, year: int,
                  executor=None, sampled: int | None = None,
                  on_table: Callable[[object, pd.DataFrame], None] | None = None,
                  runs_done: pd.DataFrame | None = None, uncertainty: bool = True, drivers=None) -> LeverSavings:
    """Shapley decomposition of `scenario`'s net saving in `year` over its levers.

    Args:
        scenario: as its file says it (`Scenario.to_dict()`).
        seeds, parameters: as for `runner.montecarlo.plan` (every subset gets the same seeds and draws).
        sampled: number of sampled orders (None: exact up to EXACT_UP_TO levers, else SAMPLED_ORDERS).
        on_table: called after each run (progress, cancellation by raising).
        runs_done: runs already made, labelled by `subset_name` (e.g. the full scenario and the
            baseline of the page's run), not run again.
        uncertainty, drivers: as for `runner.montecarlo.plan` and `run_replications` (they must
            match those of `runs_done`).
    """
    from runner.montecarlo import ExecutorOptions, as_rows, plan, run_replications
    from runner.summary import BASELINE, SAVING, with_saving

    levers = list(scenario.get("levers", ()))
    n = len(levers)
    chosen = orders(n, sampled)
    needed = subsets_needed(n, chosen)
    docs = {subset_name(s): {**scenario, "name": subset_name(s), "levers": [levers[i] for i in sorted(s)]}
            for s in needed}
    docs[BASELINE] = {"name": BASELINE, "description": "", "share_realised": 1.0, "levers": []}
    frames = [] if runs_done is None else [runs_done[runs_done["scenario"].isin(docs)]]
    done = set() if runs_done is None else set(map(tuple, frames[0][["scenario", "seed"]].drop_duplicates().to_numpy()))
    done = {(str(a), int(b)) for a, b in done}

    def keep(replication, table) -> None:
        frames.append(as_rows(table, replication.scenario["name"], replication.seed))
        if on_table is not None:
            on_table(replication, table)

    todo = plan(list(docs.values()), seeds, parameters, uncertainty=uncertainty, skip=done)
    run_replications(todo, keep, scale=scale, end_year=end_year, executor=executor or ExecutorOptions(),
                     drivers=drivers)
    runs = with_saving(pd.concat(frames, ignore_index=True))
    at_year = runs[(runs["year"] == year) & runs["seed"].isin(list(seeds))]
    value = {s: float(at_year.loc[at_year["scenario"] == subset_name(s), SAVING].mean()) for s in needed}
    phi = shapley(n, value, chosen)
    from sim.levers import LEVERS

    rows = []
    for i, lever in enumerate(levers):
        kind = lever["type"]
        title = getattr(LEVERS.get(kind), "TITLE", None) or kind
        solo = value.get(frozenset({i}), math.nan)
        rows.append({"lever": title, "type": kind, "saving_gbp": phi[i], "solo_gbp": solo})
    table = pd.DataFrame(rows, columns=["lever", "type", "saving_gbp", "solo_gbp"])
    return LeverSavings(table, value[frozenset(range(n))], year, chosen is None, runs)
