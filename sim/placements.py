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

    FAMILY = 0  # kinship care with the family's own carer (made for the family if it has none)
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
    def take_places(self, rows: np.ndarray, kind: ProviderKind) -> np.ndarray:
        """Place `rows` with providers of `kind` that have a free place; returns those placed (a prefix).

        A kinship placement is with the child's family's own carer (made on first need), so it
        never depends on anyone else. Other children take free places in `rows` order, each
        aiming at a free place by its own counter-based draw (child, month, kind), the next free
        place when two aim at one: no sequential draw whose size would change with the levers.
        """
        if rows.size == 0:
            return rows
        if kind == ProviderKind.KINSHIP:
            return self._with_kinship_carers(rows)
        prov, market = self.providers, self.model.market
        of_kind = market.rows_of_kind(kind)
        of_kind = of_kind[prov.open[of_kind]]
        free = prov.places[of_kind] - prov.occupied[of_kind]
        if kind in EXPANDS_ON_DEMAND and free.sum() < rows.size:
            market.expand(kind, rows.size - int(free.sum()))
            of_kind = market.rows_of_kind(kind)
            of_kind = of_kind[prov.open[of_kind]]
            free = prov.places[of_kind] - prov.occupied[of_kind]
        last_place = np.cumsum(free)  # free places numbered provider by provider
        n_free = int(last_place[-1]) if last_place.size else 0
        take = min(rows.size, n_free)
        if take == 0:
            return rows[:0]
        placed = rows[:take]
        u = self.model.streams["places"].uniform(placed, self.model.month, salt=int(kind))
        order = np.argsort(u, kind="stable")
        aim = (u[order] * n_free).astype(np.int64)  # ascending
        # the k-th aim takes the first place at or after it not taken by an earlier aim; places
        # at the end are kept for the aims after it, so every child gets a distinct free place
        k = np.arange(take)
        place = k + np.maximum.accumulate(aim - k)
        place = np.minimum(place, n_free - take + k)
        provider_index = np.searchsorted(last_place, place, side="right")
        prov.occupied[of_kind] += np.bincount(provider_index, minlength=of_kind.size).astype(prov.occupied.dtype)
        chosen = np.empty(take, dtype=np.int64)
        chosen[order] = of_kind[provider_index]
        self.children.provider[placed] = chosen
        return placed

    def _with_kinship_carers(self, rows: np.ndarray) -> np.ndarray:
        """Every child of `rows` goes to its family's kinship carer (made for families without one)."""
        prov, f = self.providers, self.model.families
        family = self.children.family[rows]
        carer = f.kinship_carer[family]
        if (carer < 0).any():
            self.model.market.kinship_carers(np.unique(family[carer < 0]))
            carer = f.kinship_carer[family]
        np.add.at(prov.occupied, carer, 1)
        prov.places[carer] = np.maximum(prov.places[carer], prov.occupied[carer])
        self.children.provider[rows] = carer
        return rows

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
        order = np.argsort(m.streams["placement"].uniform(rows, m.month, salt=2), kind="stable")
        rows, routes = rows[order], routes[order]
        reason = np.where(IS_IN_CARE[c.state[rows]], Reason.PLACEMENT_MOVE, Reason.ENTERED_CARE)
        self._place(rows[routes == Route.FAMILY], ProviderKind.KINSHIP, reason[routes == Route.FAMILY])
        self._place(rows[routes == Route.SEMI], ProviderKind.SEMI_INDEPENDENT, reason[routes == Route.SEMI])
        fos = routes == Route.FOSTER
        left = self._place_foster(rows[fos], reason[fos])[0]
        left, left_reason = rows[fos][left], reason[fos][left]
        m.flows["new_residential_no_foster"] += left.size
        res = routes == Route.RESIDENTIAL
        self._place_home(np.concatenate([rows[res], left]), np.concatenate([reason[res], left_reason]))
        if step_downs.size:
            kept = self._step_down(step_downs)
            m.flows["new_step_downs"] += step_downs.size - kept.size

    def _place(self, rows: np.ndarray, kind: ProviderKind, reasons: np.ndarray) -> np.ndarray:
        """Place rows with providers of `kind`; returns those without a free place (not moved)."""
        if rows.size == 0:
            return rows
        c = self.children
        placed = self.take_places(rows, kind)
        if placed.size:
            provider = c.provider[placed].copy()
            c.provider[placed] = -1  # the move releases held places; re-attach after
            self.model.transitions.move(placed, int(kind), reasons[: placed.size])
            c.provider[placed] = provider
        return rows[placed.size:]

    def _place_foster(self, rows, reasons) -> tuple[np.ndarray, np.ndarray]:
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
                rest = self._place(rows[idx], kinds[k - 1], reasons[idx])
                unplaced[idx[: idx.size - rest.size]] = False  # _place fills from the front
        left = np.concatenate([np.flatnonzero(group & unplaced) for group, *_ in choices])
        return left, unplaced

    def _step_down(self, rows: np.ndarray) -> np.ndarray:
        """Children in homes move to foster care if a place is free; they keep their home place
        until one is found. Returns those kept in their home."""
        c, prov = self.children, self.providers
        home_place = c.provider[rows].copy()
        c.provider[rows] = -1  # detached while matched; re-attached or released below
        left, unplaced = self._place_foster(rows, np.full(rows.size, Reason.STEP_DOWN))
        c.provider[rows[unplaced]] = home_place[unplaced]
        left_home = home_place[~unplaced]
        np.subtract.at(prov.occupied, left_home[left_home >= 0], 1)
        return rows[left]

    def _place_home(self, rows, reasons) -> None:
        u = self.model.streams["placement"].uniform(rows, self.model.month, salt=4)
        la_first = u < self.params.la_home_preference
        rest = self._place(rows[la_first], ProviderKind.HOME_LA, reasons[la_first])
        rest_reasons = reasons[la_first][rows[la_first].size - rest.size:]
        self._place(np.concatenate([rows[~la_first], rest]), ProviderKind.HOME_PRIVATE,
                    np.concatenate([reasons[~la_first], rest_reasons]))
