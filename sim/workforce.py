"""The social-work workforce: FTE, vacancies and agency staff, caseloads, direct time per case.

Employed FTE follow their trend (DfE workforce); vacant posts (`vacancy_rate`) are partly
covered by agency social workers (`agency_cover_of_vacancies`); a share of employed and agency
FTE hold cases (`case_holding_share`): those case holders are the worker agents. Caseload is
an outcome, not a parameter: every child simulated is a case, and the children in need not
simulated child by child are a stock following its own trend (`other_cin_cases_2020`), spread
evenly over case holders; so caseload per case-holding FTE = (agents + that stock) / case
holders, and it moves with demand and staffing. A case without a worker goes to the
least-loaded one (in a region, sim/local_start.py `pool`, each authority has its own workers - its
share of the FTE by size - and its own share of the unsimulated stock, and a case goes to the
least-loaded worker of its child's authority). Direct hours per case = weekly hours x direct
share / the worker's caseload;
it scales the time-dependent effects (edge-of-care support keeping a family together, a return
home) with a named elasticity, (h / h_ref) ** `direct_time_elasticity`, where h_ref is the
direct time per case at `reference_caseload` (the 2020 caseload the hazards were fitted at).
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
        return self.effect.take(children.worker[rows])  # `take`: 2x cheaper with int32 rows


class Workforce:
    """Hires, allocates and times the social workers of a model."""

    def __init__(self, model):
        self.model = model
        self.params = model.params
        self.workers = model.workers
        self.children = model.children

    def employed_fte(self) -> float:
        """Employed children-and-family social workers (FTE, England) this month: the trend."""
        p, m = self.params, self.model
        years = START_DATE_YEARS + m.month / 12 - WORKFORCE_BASE_YEAR
        fte = p.social_workers_fte_2020 * (1 + p.social_workers_growth_per_year) ** years
        if m.drivers is not None:  # the observed FTE census (sim/driven.py), the trend after it
            observed = m.drivers.multiplier("social_worker_fte", START_DATE_YEARS + m.month / 12,
                                            reference_value=p.social_workers_fte_2020,
                                            trend_per_year=p.social_workers_growth_per_year)
            fte = fte if observed is None else p.social_workers_fte_2020 * observed
        return fte

    def agency_fte(self) -> float:
        """Agency social workers (FTE, England) covering vacant posts this month."""
        p = self.params
        vacant = self.employed_fte() * p.vacancy_rate / (1 - p.vacancy_rate)
        return vacant * p.agency_cover_of_vacancies

    def case_holders(self) -> float:
        """Case-holding FTE (employed and agency) this month, for the share of England simulated."""
        return (self.employed_fte() + self.agency_fte()) * self.params.case_holding_share * self.model.scale

    def fte_target(self) -> int:
        """Case-holding workers simulated this month (the worker agents)."""
        return max(1, int(round(self.case_holders())))

    def other_cases(self) -> float:
        """Children in need not simulated as agents, for the share of England simulated."""
        p, m = self.params, self.model
        years = START_DATE_YEARS + m.month / 12 - WORKFORCE_BASE_YEAR
        return p.other_cin_cases_2020 * (1 + p.other_cin_trend_per_year) ** years * m.scale

    def staff(self) -> None:
        """Hire or let go to this month's FTE: the region's split among its authorities by size."""
        m = self.model
        if m.n_authorities == 1:
            self.hire(self.fte_target())
            return
        self._hire_by_authority(np.maximum(1, np.round(self.case_holders() * m.start.shares)).astype(np.int64))

    def _hire_by_authority(self, targets: np.ndarray) -> None:
        """`hire` for each authority of a region: the last hired of an authority leave first."""
        w, m, n = self.workers, self.model, self.model.n_authorities
        active = np.flatnonzero(w.active[: w.n])
        auth = w.authority[active].astype(np.intp)
        counts = np.bincount(auth, minlength=n)
        short = np.maximum(targets - counts, 0)
        surplus = np.maximum(counts - targets, 0)
        if surplus.any():
            order = np.argsort(auth, kind="stable")  # by authority, rows ascending within each
            position = np.arange(active.size) - (np.cumsum(counts) - counts)[auth[order]]
            leaving = active[order][position >= (counts - surplus)[auth[order]]]
            w.active[leaving] = False
            c = self.children
            mine = m.active_rows[np.isin(c.worker[m.active_rows], leaving)]
            c.worker[mine] = -1  # reallocated this month
        if short.any():
            rows = w.append(int(short.sum()))
            w.weekly_hours[rows] = self.params.weekly_hours
            w.direct_share[rows] = self.params.direct_share
            w.authority[rows] = np.repeat(np.arange(n), short)

    def hire(self, target: int) -> None:
        """Hire or let go so that `target` workers are active; a leaver's cases are reallocated."""
        w, m = self.workers, self.model
        active = int(w.active[: w.n].sum())
        if target > active:
            rows = w.append(target - active)
            w.weekly_hours[rows] = self.params.weekly_hours
            w.direct_share[rows] = self.params.direct_share
        elif target < active:
            leaving = np.flatnonzero(w.active[: w.n])[target:]
            w.active[leaving] = False
            c = self.children
            mine = m.active_rows[np.isin(c.worker[m.active_rows], leaving)]
            c.worker[mine] = -1  # reallocated this month

    def update(self, admin_time_released: float) -> None:
        """This month's FTE, and the direct share of hours (a lever may release admin time)."""
        self.staff()
        p, w = self.params, self.workers
        released = min(max(admin_time_released, 0.0), 1.0)
        w.direct_share[: w.n] = p.direct_share + released * (1 - p.direct_share)

    @property
    def caseload_per_fte(self) -> float:
        """Cases per case-holding FTE this month (agents and the unsimulated stock)."""
        w = self.workers
        return float(w.caseload[: w.n][w.active[: w.n]].mean())

    def allocate(self, rows: np.ndarray) -> WorkerTime:
        """Cases (`rows`: the active children) without a worker go to the least-loaded; returns direct time."""
        c, w, p = self.children, self.workers, self.params
        workers = c.worker[rows]
        active_workers = np.flatnonzero(w.active[: w.n])
        counts = np.bincount(workers.compress(workers >= 0), minlength=w.n)
        unallocated = rows.compress(workers < 0)
        region = self.model.n_authorities > 1
        if unallocated.size:
            # caseloads are small integers: numpy's stable sort of 16-bit keys is a radix sort
            keys = counts[active_workers]
            keys = keys.astype(np.int16) if keys.max(initial=0) < 2**15 else keys
            if region:
                chosen = self._least_loaded_by_authority(active_workers, keys, c.authority[unallocated])
            else:
                order = active_workers[np.argsort(keys, kind="stable")]
                chosen = order[np.arange(unallocated.size) % order.size]
            c.worker[unallocated] = chosen
            counts += np.bincount(chosen, minlength=w.n)
        # the children in need not simulated child by child are spread evenly over case holders
        # (in a region, each authority's share of them over its own case holders)
        if region:
            per_worker = self.other_cases() * self.model.start.shares / np.maximum(
                np.bincount(w.authority[active_workers], minlength=self.model.n_authorities), 1)
            other = per_worker[w.authority[: w.n]]
        else:
            other = self.other_cases() / max(active_workers.size, 1)
        w.caseload[: w.n] = np.where(w.active[: w.n], counts + other, 0)
        direct_per_case = w.direct_hours() / np.maximum(w.caseload[: w.n], 1.0)
        reference = p.weekly_hours * p.direct_share / p.reference_caseload
        effect = (np.maximum(direct_per_case, 0.0) / reference) ** p.direct_time_elasticity
        return WorkerTime(direct_per_case, effect)

    def _least_loaded_by_authority(self, active_workers: np.ndarray, keys: np.ndarray,
                                   case_authority: np.ndarray) -> np.ndarray:
        """Each new case's worker: its authority's workers from the least loaded up, in turn (as
        nationally, within each authority; every authority has at least one worker)."""
        n = self.model.n_authorities
        worker_auth = self.workers.authority[active_workers]
        # by authority, then caseload (stable): two stable sorts of 16-bit keys (radix sorts), lexsort's order
        by_load = np.argsort(keys, kind="stable")
        order = active_workers[by_load[np.argsort(worker_auth[by_load], kind="stable")]]
        worker_auth = worker_auth.astype(np.intp)
        size = np.bincount(worker_auth, minlength=n)
        first = np.cumsum(size) - size
        by = np.argsort(case_authority, kind="stable")  # int16: a radix sort
        case_authority = case_authority.astype(np.intp)
        n_cases = np.bincount(case_authority, minlength=n)
        rank = np.empty(case_authority.size, dtype=np.int64)
        rank[by] = np.arange(case_authority.size) - (np.cumsum(n_cases) - n_cases)[case_authority[by]]
        return order[first[case_authority] + rank % size[case_authority]]

    def by_authority(self) -> dict[str, np.ndarray]:
        """A region's workforce measures per authority (unscaled, as the recorder's): employed and
        agency FTE (the region's split by size), direct hours a week, and cases per case holder."""
        m, w = self.model, self.workers
        n, shares = m.n_authorities, m.start.shares
        auth = w.authority[: w.n].astype(np.intp)
        active = w.active[: w.n]
        holders = np.bincount(auth, weights=active, minlength=n)
        caseload = np.bincount(auth, weights=np.where(active, w.caseload[: w.n], 0.0), minlength=n) / np.maximum(holders, 1)
        return {"n_social_workers": self.employed_fte() * m.scale * shares,
                "n_agency_social_workers": self.agency_fte() * m.scale * shares,
                "direct_hours_per_week": np.bincount(auth, weights=w.direct_hours(), minlength=n),
                "mean_caseload": caseload, "caseload_per_fte": caseload}
