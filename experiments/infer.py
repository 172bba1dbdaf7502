"""Inverse analysis: the share of the opportunity realised that reproduces a target net cut.

The report gives its optimised model's total (R5: a 19% net cut in 2025 at the low end, 27% at
the high end) but not the strength of each lever. caresim's scenarios set the strengths the
report states as stated and scale every other opportunity by one scalar, `share_realised`
(sim/levers.py). This module asks the question backwards: at which `share_realised` does the
scenario's mean net cut equal the report's total? The answer is *inferred from the report's
figure*, not evidence; other report figures (R8, R12b) are then out-of-sample checks, computed
at the inferred share and never fitted.

How:

* The net cut of a replication is `runner.summary.net_saving` (all in) in the year divided by
  the baseline's spend on children in care in that year, paired by seed; the curve is its mean
  over seeds. Every share runs with the same seeds and posterior draws (common random
  numbers), so the curve in the share is smooth and differences between shares are the
  levers' effect, not noise.
* A small grid over the allowed range (default 0, 0.5, 1), then regula falsi: the crossing of
  the piecewise-linear curve through every share run so far is run next, until a run at the
  crossing reproduces the target within `tolerance` (or `max_rounds` runs).
* If the target lies above the curve at the top of the range (or below it at the bottom), it is
  *not reached*: that is the answer, stated with the cut at the end of the range. The range is
  the lever's allowed one and is never widened.
* Intervals: a 90% bootstrap over seeds (resample seeds, recompute the mean curve through the
  shares run, take its crossing): the Monte Carlo uncertainty of the inferred share; and the
  spread over replications (each seed's own curve's crossing, 5th-95th percentiles): the shares
  that single replications (posterior draw and noise) would give.

`infer` holds the root finding and works on any `evaluate(shares) -> {share: Outcomes}`;
`ScenarioEvaluator` is the model's: it runs the scenario at those shares through the one Monte
Carlo path (runner/montecarlo.py).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

YEAR = 2025  # the report's horizon: R5, R8 and R12b are for 2025
# The report's figures (targets.md section 1, grade D). R5 is the inference's input; R8 and R12b
# are printed beside the result as out-of-sample checks, never fitted.
REPORT_NET_CUT = {"optimised-low": 0.19, "optimised-high": 0.27}  # R5: net cut of 2025 spend
REPORT_HOMES_CHANGE = -0.37  # R8: children in children's homes vs the forecast
REPORT_RESIDENTIAL_CHANGE = -4_400  # R12b (secondary source): children in residential care vs the forecast
SHARE_RANGE = (0.0, 1.0)  # share_realised's allowed range (sim/levers.py SHARE_REALISED)
GRID = (0.0, 0.5, 1.0)
TOLERANCE = 0.0025  # net cut (a share of spend): a run at the inferred share is within 0.25 points
MAX_ROUNDS = 4  # regula falsi runs after the grid
BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 20_220_301  # resamples of seeds are themselves seeded: the same runs give the same interval


@dataclass(frozen=True)
class Outcomes:
    """One share's per-seed results in `YEAR`, paired with the baseline (arrays in seed order)."""

    net_cut: np.ndarray  # net saving / baseline spend on children in care
    homes_change: np.ndarray  # children in children's homes / baseline's - 1 (R8)
    residential_change: np.ndarray  # children in residential care - baseline's (R12b)


@dataclass
class Inference:
    """The answer for one scenario.

    `share` is the inferred share (NaN if the target is not reached), `checked_share` the share
    whose runs give `at` (the inferred one, or the end of the range that comes nearest when the
    target is not reached); `interval` the bootstrap 90% interval of the share, `spread` the 5th
    and 95th percentiles of single replications' crossings (NaN where fewer than 95% cross
    inside the range); `evaluated` every share run, in the order run.
    """

    scenario: str
    target: float
    reachable: bool
    share: float
    checked_share: float
    at: Outcomes
    interval: tuple[float, float]
    spread: tuple[float, float]
    evaluated: dict[float, Outcomes] = field(default_factory=dict)

    def finding(self) -> str:
        """One sentence a person reads."""
        cut = self.at.net_cut
        where = f"{_pct(cut.mean())} ({_pct(np.percentile(cut, 5))} to {_pct(np.percentile(cut, 95))} over replications)"
        if self.reachable:
            return (f"{_pct(self.target)} is reached at share {self.share:.3f} (90% interval {_range(self.interval)}); "
                    f"a run at that share gives {where} (inferred from the report's total, not evidence)")
        side = "top" if self.checked_share == SHARE_RANGE[1] else "bottom"
        return (f"{_pct(self.target)} is not reached: at share {self.checked_share:g} (the {side} of the lever's "
                f"allowed range {SHARE_RANGE[0]:g}-{SHARE_RANGE[1]:g}) the net cut is {where}; no share in the "
                "range reproduces the report's total with these mechanisms")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _range(pair: tuple[float, float]) -> str:
    lo, hi = (("below 0" if v == -math.inf else "above 1" if v == math.inf else "-" if math.isnan(v) else f"{v:.3f}")
              for v in pair)
    return f"{lo} to {hi}"


# ---------------------------------------------------------------------------- the curve
def crossing(shares: Sequence[float], values: np.ndarray, target: float) -> float:
    """The first share at which the piecewise-linear curve through (shares, values) reaches
    `target`: -inf if the curve is above it everywhere (reached below the range), +inf if below
    it everywhere. `shares` ascending; `values` their curve values (the last axis)."""
    v = np.asarray(values, dtype=float) - target
    if v[0] == 0:
        return float(shares[0])
    for i in range(len(shares) - 1):
        a, b = v[i], v[i + 1]
        if (a < 0 <= b) or (a > 0 >= b):
            return float(shares[i] + (shares[i + 1] - shares[i]) * a / (a - b))
    return math.inf if v.max() < 0 else -math.inf


def _quantiles(values: np.ndarray) -> tuple[float, float]:
    """5th and 95th percentiles that allow infinite values (crossings outside the range)."""
    return (float(np.quantile(values, 0.05, method="lower")), float(np.quantile(values, 0.95, method="higher")))


def bootstrap_interval(evaluated: Mapping[float, Outcomes], target: float, draws: int = BOOTSTRAP_DRAWS,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """The 90% interval of the mean curve's crossing under resampling of seeds (every share's
    runs resampled with the same seeds: they are paired)."""
    shares = sorted(evaluated)
    cuts = np.stack([evaluated[s].net_cut for s in shares])  # (shares, seeds)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, cuts.shape[1], size=(draws, cuts.shape[1]))
    means = cuts[:, picks].mean(axis=2)  # (shares, draws)
    return _quantiles(np.array([crossing(shares, means[:, d], target) for d in range(draws)]))


def replication_spread(evaluated: Mapping[float, Outcomes], target: float) -> tuple[float, float]:
    """5th and 95th percentiles of each seed's own curve's crossing."""
    shares = sorted(evaluated)
    cuts = np.stack([evaluated[s].net_cut for s in shares])
    return _quantiles(np.array([crossing(shares, cuts[:, j], target) for j in range(cuts.shape[1])]))


def infer(scenario: str, target: float, evaluate: Callable[[list[float]], Mapping[float, Outcomes]], *,
          grid: Sequence[float] = GRID, tolerance: float = TOLERANCE, max_rounds: int = MAX_ROUNDS) -> Inference:
    """The share of `scenario`'s opportunity realised at which its mean net cut is `target`.

    Args:
        evaluate: runs the scenario at the shares given (with the same seeds every time) and
            returns their per-seed outcomes.
        grid: shares run first; they must include both ends of `SHARE_RANGE`.
        tolerance: a run at the inferred share has a mean net cut within this of `target`.
        max_rounds: regula falsi runs after the grid.
    """
    evaluated: dict[float, Outcomes] = dict(evaluate(sorted(set(grid))))
    share = math.nan
    for _ in range(max_rounds + 1):
        shares = sorted(evaluated)
        means = np.array([evaluated[s].net_cut.mean() for s in shares])
        share = crossing(shares, means, target)
        if math.isinf(share):
            break
        nearest = min(shares, key=lambda s: abs(evaluated[s].net_cut.mean() - target))
        if abs(evaluated[nearest].net_cut.mean() - target) <= tolerance:
            share = nearest
            break
        if len(evaluated) >= len(set(grid)) + max_rounds:
            break
        evaluated.update(evaluate([share]))
    reachable = not math.isinf(share)
    if reachable:
        checked = min(evaluated, key=lambda s: abs(evaluated[s].net_cut.mean() - target))
        share = checked
    else:
        checked = SHARE_RANGE[1] if share == math.inf else SHARE_RANGE[0]
        share = math.nan
    return Inference(scenario, target, reachable, share, checked, evaluated[checked],
                     bootstrap_interval(evaluated, target), replication_spread(evaluated, target), evaluated)


# ---------------------------------------------------------------------------- the model's curve
class ScenarioEvaluator:
    """`evaluate` for one scenario: runs it at given shares with fixed seeds and posterior draws
    through `runner.montecarlo`, paired with the baseline runs of the same seeds (run once)."""

    def __init__(self, scenario: Mapping, seeds: Sequence[int], parameters, *, scale: float,
                 uncertainty: bool = True, executor=None, baseline: Mapping[str, np.ndarray] | None = None):
        self.scenario = dict(scenario)
        self.seeds = [int(s) for s in seeds]
        self.parameters = parameters
        self.scale = scale
        self.uncertainty = uncertainty
        self.executor = executor
        self.runs = 0  # replications run, the baseline's included
        self.cache: dict[float, Outcomes] = {}
        self.baseline = baseline if baseline is not None else self._columns([self._doc_baseline()])["baseline"]

    @staticmethod
    def _doc_baseline() -> dict:
        from runner.montecarlo import BASELINE_SCENARIO

        return dict(BASELINE_SCENARIO)

    COLUMNS = ("spend_children_in_care_gbp", "spend_support_gbp", "n_childrens_homes", "n_residential")

    def _columns(self, docs: list[dict]) -> dict[str, dict[str, np.ndarray]]:
        """Per scenario document (by name): per column, the per-seed values in `YEAR`."""
        from runner.montecarlo import ExecutorOptions, plan, run_replications

        position = {s: i for i, s in enumerate(self.seeds)}
        out = {d["name"]: {c: np.full(len(self.seeds), np.nan) for c in self.COLUMNS} for d in docs}

        def keep(replication, table) -> None:
            for c in self.COLUMNS:
                out[replication.scenario["name"]][c][position[replication.seed]] = float(table.loc[YEAR, c])

        todo = plan(docs, self.seeds, self.parameters, uncertainty=self.uncertainty)
        run_replications(todo, keep, scale=self.scale, end_year=YEAR, executor=self.executor or ExecutorOptions(),
                         key_prefix="infer/")
        self.runs += len(todo)
        return out

    def __call__(self, shares: list[float]) -> dict[float, Outcomes]:
        """Outcomes at each share (a share already run is not run again)."""
        from runner.summary import SPEND, SUPPORT_SPEND, net_saving

        todo = [float(s) for s in shares if float(s) not in self.cache]
        docs = {f"{self.scenario['name']}@{s!r}": {**self.scenario, "name": f"{self.scenario['name']}@{s!r}",
                                                   "share_realised": float(s)} for s in todo}
        values = self._columns(list(docs.values())) if docs else {}
        base = self.baseline
        for s, name in zip(todo, docs):
            v = values[name]
            saving = net_saving({SPEND: base[SPEND], SUPPORT_SPEND: base[SUPPORT_SPEND]},
                                {SPEND: v[SPEND], SUPPORT_SPEND: v[SUPPORT_SPEND]})
            self.cache[s] = Outcomes(net_cut=saving / base[SPEND],
                                     homes_change=v["n_childrens_homes"] / base["n_childrens_homes"] - 1,
                                     residential_change=v["n_residential"] - base["n_residential"])
        return {float(s): self.cache[float(s)] for s in shares}


def realised_levers(scenario: Mapping) -> list[str]:
    """The scenario's levers with a strength that `share_realised` scales (what inference can move)."""
    from sim.levers import LEVERS

    return [t["type"] for t in scenario.get("levers", ())
            if t.get("type") in LEVERS and any(spec.realised for spec in LEVERS[t["type"]].PARAMETERS.values())]
