"""The social-work workforce: FTE to the trend, allocation of cases, direct time per case.

Workers are hired or leave each month so that FTE follows its trend. A case without a worker
goes to the least-loaded one. A worker's direct hours per case scale the time-dependent
effects (edge-of-care support keeping a family together, a return home) through a saturating
curve h / (h + h_half), normalised by its value at the 2015 mean direct hours per case:
more time helps, with diminishing returns.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.dates import START_DATE_YEARS

WORKFORCE_BASE_YEAR = 2020.75  # the FTE parameter is the count at 30 September 2020 (DfE workforce)


class WorkerTime(NamedTuple):
    """This month's direct time: hours per case and the time effect of each worker (by row)."""

    direct_per_case: np.ndarray
    effect: np.ndarray

    def of(self, children, rows: np.ndarray) -> np.ndarray:
        """The time effect of each child's worker (1 at the 2015 reference)."""
        return self.effect[children.worker[rows]]


class Workforce:
    """Hires, allocates and times the social workers of a model."""

    def __init__(self, model):
        self.model = model
        self.params = model.params
        self.workers = model.workers
        self.children = model.children
        self.reference_direct_hours_per_case = 1.0  # set once from the 2015 allocation

    def fte_target(self) -> int:
        p, m = self.params, self.model
        years = START_DATE_YEARS + m.month / 12 - WORKFORCE_BASE_YEAR
        fte = p.social_workers_fte_2020 * (1 + p.social_workers_growth_per_year) ** years
        if m.drivers is not None:  # the observed FTE census (sim/driven.py), the trend after it
            observed = m.drivers.multiplier("social_worker_fte", START_DATE_YEARS + m.month / 12,
                                            reference_value=p.social_workers_fte_2020,
                                            trend_per_year=p.social_workers_growth_per_year)
            fte = fte if observed is None else p.social_workers_fte_2020 * observed
        return max(1, int(round(fte * m.scale)))

    def hire(self, target: int) -> None:
        """Hire or let go so that `target` workers are active; a leaver's cases are reallocated."""
        w, m = self.workers, self.model
        active = int(w.active[: w.n].sum())
        if target > active:
            rows = w.append(target - active)
            w.weekly_hours[rows] = self.params.weekly_hours
        elif target < active:
            leaving = np.flatnonzero(w.active[: w.n])[target:]
            w.active[leaving] = False
            c = self.children
            mine = m.active_rows[np.isin(c.worker[m.active_rows], leaving)]
            c.worker[mine] = -1  # reallocated this month

    def update(self, admin_time_released: float) -> None:
        """This month's FTE, and the direct share of hours (a lever may release admin time)."""
        self.hire(self.fte_target())
        p, w = self.params, self.workers
        released = min(max(admin_time_released, 0.0), 1.0)
        w.direct_share[: w.n] = p.direct_share + released * (1 - p.direct_share)

    def allocate(self, rows: np.ndarray) -> WorkerTime:
        """Cases (`rows`: the active children) without a worker go to the least-loaded; returns direct time."""
        c, w = self.children, self.workers
        workers = c.worker[rows]
        active_workers = np.flatnonzero(w.active[: w.n])
        counts = np.bincount(workers[workers >= 0], minlength=w.n)
        unallocated = rows[workers < 0]
        if unallocated.size:
            # caseloads are small integers: numpy's stable sort of 16-bit keys is a radix sort
            keys = counts[active_workers]
            keys = keys.astype(np.int16) if keys.max(initial=0) < 2**15 else keys
            order = active_workers[np.argsort(keys, kind="stable")]
            chosen = order[np.arange(unallocated.size) % order.size]
            c.worker[unallocated] = chosen
            counts += np.bincount(chosen, minlength=w.n)
        # the wider child-in-need caseload is not simulated child by child: it fills each
        # worker's caseload up to the observed average, spread evenly
        pool = max(self.params.average_caseload * active_workers.size - rows.size, 0.0)
        w.caseload[: w.n] = np.where(w.active[: w.n], counts + pool / max(active_workers.size, 1), 0)
        direct_per_case = w.direct_hours() / np.maximum(w.caseload[: w.n], 1.0)
        h_half, ref = self.params.half_effect_direct_hours, self.reference_direct_hours_per_case
        return WorkerTime(direct_per_case, (direct_per_case / (direct_per_case + h_half)) / (ref / (ref + h_half)))
