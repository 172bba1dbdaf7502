"""Uncertainty by source: an output's variance split among named sources, with shares that sum to 1.

A forecast's spread comes from several places: the calibration posterior (which parameter
draw), the lever strengths (how well a policy works), the other fixed assumptions, and
stochastic noise (the seed). The question "how much of the interval is each?" has an exact
answer when each source's share is its **Shapley effect** (Owen 2014; Song, Nelson & Staum
2016): the variance explained by a source, averaged over every order in which the sources could
be added. Interactions are shared fairly between the sources that make them, and the shares of
all sources add up to exactly 1 (Shapley's efficiency), unlike first-order Sobol indices (sum
below 1) or total indices (sum above 1).

**The design** (pick-freeze, Sobol 1993; Janon et al. 2014). Each source has 2n independent
draws, numbered 0 .. 2n-1; the caller turns a draw number into a concrete draw (a posterior
draw's index; lever strengths sampled from their priors with a generator seeded by the draw
number; a replication seed). For every non-empty subset S of the d sources and every base sample
i < n, one row takes draw i of each source in S and draw n + i of every other source. The row
with S = all sources is the base row A_i. That is n (2^d - 1) rows: 15 n for four sources.
Common random numbers make this sharp: the rows of one base sample share every draw that S
keeps, so their differences come from the sources that changed.

**The estimator.** For each subset, V(S) = Var(E[Y | sources in S]) is estimated from the pairs
(Y_A, Y_S) by Janon et al.'s estimator: mean(Y_A Y_S) - (mean of (Y_A + Y_S) / 2)^2. V(all) is
then the sample variance of Y_A and V(empty) = 0. A source's Shapley effect is the weighted sum
over subsets S without it of V(S + source) - V(S), with weight |S|! (d - |S| - 1)! / d!; its
share is that over V(all). The shares telescope to V(all) / V(all) = 1 in every sample and in
every bootstrap resample (resampling base samples i), so they sum to 1 up to rounding; each has
a 95% percentile bootstrap interval. A source that does not matter has a share near 0 (it can
be slightly negative in a finite sample). The first-order (V({s}) / V) and total
(1 - V(all but s) / V) indices are reported beside it: when they differ, the source interacts.

The simpler "one source varied at a time" design (each source alone around a nominal point)
costs d n rows but misses interactions and does not sum to 1 except for an additive model.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from runner.errors import UserError
from runner.sensitivity import Evaluation, RunOptions, evaluate_rows

SHARE_COLUMNS = ["output", "source", "share", "lo", "hi", "first_order", "total", "variance"]
CALIBRATION_POSTERIOR = "calibration posterior"
LEVER_STRENGTHS = "lever strengths"
OTHER_ASSUMPTIONS = "other assumptions"
STOCHASTIC_NOISE = "stochastic noise"
CARESIM_SOURCES = (CALIBRATION_POSTERIOR, LEVER_STRENGTHS, OTHER_ASSUMPTIONS, STOCHASTIC_NOISE)


@dataclass(frozen=True)
class SourceDesign:
    """The pick-freeze design over `sources` with `base_samples` base samples (see the module docstring)."""

    sources: tuple[str, ...]
    base_samples: int

    def __post_init__(self) -> None:
        if len(set(self.sources)) != len(self.sources) or not self.sources:
            raise UserError(f"variance sources must be distinct and at least one: {list(self.sources)}")
        if len(self.sources) > 8:
            raise UserError(f"{len(self.sources)} variance sources need 2^d - 1 rows per sample: at most 8")
        if self.base_samples < 2:
            raise UserError(f"a variance-by-source design needs at least 2 base samples, got {self.base_samples}")

    @property
    def subsets(self) -> list[frozenset[str]]:
        """Every non-empty subset of the sources, the full set last (its rows are the base rows)."""
        found = [frozenset(chosen) for size in range(1, len(self.sources) + 1)
                 for chosen in combinations(self.sources, size)]
        return found

    def rows(self) -> list[dict[str, int]]:
        """One row per (subset, base sample), subset-major: {source: draw number}."""
        n = self.base_samples
        return [{source: i if source in subset else n + i for source in self.sources}
                for subset in self.subsets for i in range(n)]

    def __len__(self) -> int:
        return self.base_samples * (2 ** len(self.sources) - 1)


def variance_shares(design: SourceDesign, outputs: np.ndarray, output_names: Sequence[str], *,
                    resamples: int = 1000, seed: int = 1) -> pd.DataFrame:
    """Each source's Shapley share of each output's variance, with a 95% bootstrap interval.

    Args:
        design: the design whose `rows()` were evaluated.
        outputs: one row per design row, in `rows()` order; one column per name in `output_names`.
        resamples: bootstrap resamples of the base samples.
        seed: seeds the bootstrap's generator.
    """
    outputs = np.asarray(outputs, dtype=float).reshape(len(design), -1)
    if outputs.shape[1] != len(output_names):
        raise UserError(f"{outputs.shape[1]} output columns for {len(output_names)} output names")
    n = design.base_samples
    by_subset = outputs.reshape(len(design.subsets), n, -1)  # subset x base sample x output
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(resamples, n))
    records = []
    for j, name in enumerate(output_names):
        values = by_subset[:, :, j]
        point = _shapley(design, values)
        booted = np.array([_shapley(design, values[:, sample])[0] for sample in draws])
        shares, first_order, total, variance = point
        for k, source in enumerate(design.sources):
            lo, hi = np.quantile(booted[:, k], [0.025, 0.975]) if variance > 0 else (0.0, 0.0)
            records.append((name, source, shares[k], float(lo), float(hi), first_order[k], total[k], variance))
    return pd.DataFrame.from_records(records, columns=SHARE_COLUMNS)


def _shapley(design: SourceDesign, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(shares, first-order, total, variance) from one subset x base-sample table of an output."""
    subsets = design.subsets
    base = values[-1]  # the full subset: Y_A
    explained = {frozenset(): 0.0}
    for subset, picked in zip(subsets, values):
        middle = np.mean((base + picked) / 2)
        explained[subset] = float(np.mean(base * picked) - middle ** 2)
    everything = frozenset(design.sources)
    variance = explained[everything]
    d = len(design.sources)
    effects = np.zeros(d)
    for k, source in enumerate(design.sources):
        for subset, value in explained.items():
            if source in subset:
                continue
            weight = math.factorial(len(subset)) * math.factorial(d - len(subset) - 1) / math.factorial(d)
            effects[k] += weight * (explained[subset | {source}] - value)
    if variance <= 0:
        zeros = np.zeros(d)
        return zeros, zeros, zeros, 0.0
    first_order = np.array([explained[frozenset({s})] for s in design.sources]) / variance
    total = np.array([1 - explained[everything - {s}] / variance for s in design.sources])
    return effects / variance, first_order, total, variance


def run_variance_study(design: SourceDesign, fn: Callable[..., Mapping[str, float]], outputs: Sequence[str],
                       options: RunOptions, *, settings: Mapping[str, object] | None = None,
                       resamples: int = 1000, seed: int = 1) -> tuple[pd.DataFrame, int]:
    """Evaluate the design's rows as executor tasks (through the store) and split each output's variance.

    `fn(inputs={source: draw number}, seed=seed, **settings)` returns {output: value}; it must
    derive every random choice from the draw numbers (the seed it is given is the study's, the
    same for every row). Returns the shares table and the number of rows evaluated now.
    """
    evaluation = Evaluation(fn, tuple(outputs), settings=dict(settings or {}), seed=seed, seeds="common")
    table, evaluated = evaluate_rows(design.rows(), evaluation, options, label="variance")
    return variance_shares(design, table, list(outputs), resamples=resamples, seed=seed + 1), evaluated
