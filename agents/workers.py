"""Social workers: weekly hours, caseload, and how the hours split between direct work and the rest.

A worker's direct hours per case decide how much time each of their children and families
gets, which in turn scales the chance that edge-of-care support keeps a family together and
that a child in care is supported home (see sim/workforce.py). Workers are Mesa
agents (a few tens of thousands, made once); their numbers live in `WorkerTable` so that the
model can compute every caseload with one `bincount` a month.
"""
from __future__ import annotations

import numpy as np

from agents.mesa_core import Agent
from agents.table import Table


class WorkerTable(Table):
    FIELDS = {
        "weekly_hours": (np.float32, 37.0),
        "direct_share": (np.float32, 0.5),  # share of hours with children and families
        "active": (bool, True),
        "caseload": (np.float32, 0.0),  # cases this month: agent children plus a share of the CIN pool
        "authority": (np.int16, 0),  # in a region, the authority the worker works for (sim/workforce.py)
    }

    def direct_hours(self) -> np.ndarray:
        """Direct hours per week of each worker (zero for those who left)."""
        n = self.n
        return self.weekly_hours[:n] * self.direct_share[:n] * self.active[:n]


class SocialWorker(Agent):
    """A full-time-equivalent children-and-families social worker."""

    def __init__(self, model, row: int):
        super().__init__(model)
        self.row = int(row)

    @property
    def weekly_hours(self) -> float:
        return float(self.model.workers.weekly_hours[self.row])

    @property
    def direct_hours_per_week(self) -> float:
        t = self.model.workers
        return float(t.weekly_hours[self.row] * t.direct_share[self.row] * t.active[self.row])

    @property
    def other_hours_per_week(self) -> float:
        """Recording, meetings, travel."""
        return self.weekly_hours - self.direct_hours_per_week

    @property
    def caseload(self) -> float:
        return float(self.model.workers.caseload[self.row])

    @property
    def children(self) -> list:
        m = self.model
        rows = m.active_rows[m.children.worker[m.active_rows] == self.row]
        return [m.child(r) for r in rows]
