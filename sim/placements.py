"""The placements ledger and placement matching: the ONLY code that changes provider occupancy.

A child in a provider's place holds `children.provider = row`, and that provider's `occupied`
counts it. Taking a place (`take_places`) and releasing one (`release`) are the two ledger
operations; everything else (state changes in sim/transitions.py, matching below) goes
through them, so occupancy always equals the children attached (an invariant test).

Matching serves children in a random order: family route to kinship; foster route to in-house
or agency care (by preference, then whichever has a place), and to a children's home, counted
in `new_residential_no_foster`, when neither has a place; children's homes an LA home if one
has a place, else a private home (the market adds homes); step-down requests last, and only
if a foster place is still free.
"""
from __future__ import annotations

import numpy as np

from agents.providers import EXPANDS_ON_DEMAND, ProviderKind
from sim.states import IS_IN_CARE, Reason


class Route:
    """What kind of placement a child needs (placement matching)."""

    FAMILY = 0  # kinship if the family has carers, else foster
    FOSTER = 1  # in-house or agency foster care
    RESIDENTIAL = 2  # a children's home
    SEMI = 3  # semi-independent or supported accommodation


class PlacementLedger:
    """Who holds which place; matching children needing a placement to free places."""

    def __init__(self, model):
        self.model = model
        self.params = model.params
        self.children = model.children
        self.providers = model.providers

    # ------------------------------------------------------------------ the ledger
    def take_places(self, rows: np.ndarray, kind: ProviderKind, gen) -> np.ndarray:
        """Place `rows` with providers of `kind` that have a free place; returns those placed (a prefix)."""
        if rows.size == 0:
            return rows
        prov = self.providers
        of_kind = np.flatnonzero((prov.kind[: prov.n] == kind) & prov.open[: prov.n])
        free = prov.free_places()[of_kind]
        if kind in EXPANDS_ON_DEMAND and free.sum() < rows.size:
            self.model.market.expand(kind, rows.size - int(free.sum()), gen)
            of_kind = np.flatnonzero((prov.kind[: prov.n] == kind) & prov.open[: prov.n])
            free = prov.free_places()[of_kind]
        slots = np.repeat(of_kind, free)
        take = min(rows.size, slots.size)
        if take == 0:
            return rows[:0]
        chosen = slots[gen.permutation(slots.size)[:take]] if take < slots.size else gen.permutation(slots)
        placed = rows[:take]
        np.add.at(prov.occupied, chosen, 1)
        self.children.provider[placed] = chosen
        return placed

    def release(self, rows: np.ndarray) -> None:
        """Free the places held by `rows` (children without one are left alone)."""
        c = self.children
        held = c.provider[rows]
        has = held >= 0
        if has.any():
            np.subtract.at(self.providers.occupied, held[has], 1)
            c.provider[rows[has]] = -1

    # ------------------------------------------------------------------ matching
    def match(self, rows: np.ndarray, routes: np.ndarray, step_downs: np.ndarray) -> None:
        """Every child needing a placement gets the best available type with a free place (module docstring)."""
        c, m = self.children, self.model
        gen = m.streams["placement"].generator
        order = np.argsort(m.streams["placement"].uniform(rows, m.month, salt=2), kind="stable")
        rows, routes = rows[order], routes[order]
        reason = np.where(IS_IN_CARE[c.state[rows]], Reason.PLACEMENT_MOVE, Reason.ENTERED_CARE)
        self._place(rows[routes == Route.FAMILY], ProviderKind.KINSHIP, reason[routes == Route.FAMILY], gen)
        self._place(rows[routes == Route.SEMI], ProviderKind.SEMI_INDEPENDENT, reason[routes == Route.SEMI], gen)
        fos = routes == Route.FOSTER
        left = self._place_foster(rows[fos], reason[fos], gen)[0]
        left, left_reason = rows[fos][left], reason[fos][left]
        m.flows["new_residential_no_foster"] += left.size
        res = routes == Route.RESIDENTIAL
        self._place_home(np.concatenate([rows[res], left]), np.concatenate([reason[res], left_reason]), gen)
        if step_downs.size:
            kept = self._step_down(step_downs, gen)
            m.flows["new_step_downs"] += step_downs.size - kept.size

    def _place(self, rows: np.ndarray, kind: ProviderKind, reasons: np.ndarray, gen) -> np.ndarray:
        """Place rows with providers of `kind`; returns those without a free place (not moved)."""
        if rows.size == 0:
            return rows
        c = self.children
        placed = self.take_places(rows, kind, gen)
        if placed.size:
            provider = c.provider[placed].copy()
            c.provider[placed] = -1  # the move releases held places; re-attach after
            self.model.transitions.move(placed, int(kind), reasons[: placed.size])
            c.provider[placed] = provider
        return rows[placed.size:]

    def _place_foster(self, rows, reasons, gen) -> tuple[np.ndarray, np.ndarray]:
        """In-house or agency foster care by preference, else the other; returns the indices in
        `rows` of the children with no foster place (those preferring in-house first), and
        whether each row is unplaced."""
        if rows.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        u = self.model.streams["placement"].uniform(rows, self.model.month, salt=3)
        prefer_in_house = u < self.params.in_house_preference
        unplaced = np.ones(rows.size, dtype=bool)
        choices = ((prefer_in_house, ProviderKind.FOSTER_IN_HOUSE, ProviderKind.FOSTER_AGENCY),
                   (~prefer_in_house, ProviderKind.FOSTER_AGENCY, ProviderKind.FOSTER_IN_HOUSE))
        for k in (1, 2):  # first choices, then second choices
            for group, *kinds in choices:
                idx = np.flatnonzero(group & unplaced)
                rest = self._place(rows[idx], kinds[k - 1], reasons[idx], gen)
                unplaced[idx[: idx.size - rest.size]] = False  # _place fills from the front
        left = np.concatenate([np.flatnonzero(group & unplaced) for group, *_ in choices])
        return left, unplaced

    def _step_down(self, rows: np.ndarray, gen) -> np.ndarray:
        """Children in homes move to foster care if a place is free; they keep their home place
        until one is found. Returns those kept in their home."""
        c, prov = self.children, self.providers
        home_place = c.provider[rows].copy()
        c.provider[rows] = -1  # detached while matched; re-attached or released below
        left, unplaced = self._place_foster(rows, np.full(rows.size, Reason.STEP_DOWN), gen)
        c.provider[rows[unplaced]] = home_place[unplaced]
        left_home = home_place[~unplaced]
        np.subtract.at(prov.occupied, left_home[left_home >= 0], 1)
        return rows[left]

    def _place_home(self, rows, reasons, gen) -> None:
        u = self.model.streams["placement"].uniform(rows, self.model.month, salt=4)
        la_first = u < self.params.la_home_preference
        rest = self._place(rows[la_first], ProviderKind.HOME_LA, reasons[la_first], gen)
        rest_reasons = reasons[la_first][rows[la_first].size - rest.size:]
        self._place(np.concatenate([rows[~la_first], rest]), ProviderKind.HOME_PRIVATE,
                    np.concatenate([reasons[~la_first], rest_reasons]), gen)
