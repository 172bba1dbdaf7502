"""The placements ledger and placement matching: the ONLY code that changes provider occupancy.

A child in a provider's place holds `children.provider = row`, and that provider's `occupied`
counts it. Taking a place (`take_places`) and releasing one (`release`) are the two ledger
operations; everything else (state changes in sim/transitions.py, matching below) goes
through them, so occupancy always equals the children attached (an invariant test).

Matching serves children in a random order: family route to kinship; foster route to in-house
or agency care (by preference, then whichever has a place), only with a fostering household
approved for the child's age, and to a children's home, counted
in `new_residential_no_foster`, when neither has a place; children's homes an LA home if one
has a place, else a private home (the market adds homes); step-down requests last, and only
if a foster place is still free. A child whose foster carers stop fostering makes a planned
move (`carers_left`), matched with the month's other movers.
"""
from __future__ import annotations

import numpy as np

from agents.providers import EXPANDS_ON_DEMAND, FOSTERING_HOUSEHOLDS, ProviderKind
from sim.ages import AGE_11_MONTHS
from sim.states import Reason, is_in_care


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
        """Place `rows` with providers of `kind` that have a free place; returns whether each was placed.

        A kinship placement is with the child's family's own carer (made on first need), so it
        never depends on anyone else. A fostering household takes only children of the ages it
        is approved for: children aged 11+ are matched first (fewer households are approved for
        them), then younger children. Children take free places in `rows` order, each aiming at
        a free place by its own counter-based draw (child, month, kind), the next free place
        when two aim at one: no sequential draw whose size would change with the levers.
        """
        if rows.size == 0:
            return np.zeros(0, dtype=bool)
        if kind == ProviderKind.KINSHIP:
            self._with_kinship_carers(rows)
            return np.ones(rows.size, dtype=bool)
        prov, market = self.providers, self.model.market
        of_kind = market.rows_of_kind(kind)
        if kind not in FOSTERING_HOUSEHOLDS:  # households that left are off the market's lists already
            of_kind = of_kind.compress(prov.open[of_kind])
        if kind in EXPANDS_ON_DEMAND:
            free = prov.places[of_kind] - prov.occupied[of_kind]
            if free.sum() < rows.size:
                market.expand(kind, rows.size - int(free.sum()))
                of_kind = market.rows_of_kind(kind)
                of_kind = of_kind.compress(prov.open[of_kind])
        if kind not in FOSTERING_HOUSEHOLDS:
            return np.arange(rows.size) < self._take_free(rows, of_kind, kind)
        # households with no free place add nothing to the numbering of free places (`_take_free`):
        # leaving them out changes no choice, and most households are full
        of_kind = of_kind.compress(prov.places[of_kind] > prov.occupied[of_kind])
        placed = np.zeros(rows.size, dtype=bool)
        age = self.children.age_months[rows]
        approved_from, approved_to = prov.approved_min_months[of_kind], prov.approved_max_months[of_kind]
        for group in (age >= AGE_11_MONTHS, age < AGE_11_MONTHS):
            idx = np.flatnonzero(group)
            if idx.size == 0:
                continue
            approved = (approved_from <= age[idx].min()) & (approved_to > age[idx].max())
            placed[idx[: self._take_free(rows[idx], of_kind.compress(approved), kind)]] = True
        return placed

    def _take_free(self, rows: np.ndarray, providers: np.ndarray, kind: ProviderKind) -> int:
        """Place a prefix of `rows` in free places of `providers` (see `take_places`); returns its length."""
        prov = self.providers
        free = prov.places[providers] - prov.occupied[providers]
        last_place = np.cumsum(np.maximum(free, 0))  # free places numbered provider by provider
        n_free = int(last_place[-1]) if last_place.size else 0
        take = min(rows.size, n_free)
        if take == 0:
            return 0
        placed = rows[:take]
        u = self.model.streams["places"].uniform(placed, self.model.month, salt=int(kind))
        order = np.argsort(u, kind="stable")
        aim = (u[order] * n_free).astype(np.int64)  # ascending
        # the k-th aim takes the first place at or after it not taken by an earlier aim; places
        # at the end are kept for the aims after it, so every child gets a distinct free place
        k = np.arange(take)
        place = k + np.maximum.accumulate(aim - k)
        place = np.minimum(place, n_free - take + k)
        taken = providers[np.searchsorted(last_place, place, side="right")]
        _add_to(prov.occupied, taken, 1)  # only the places taken: not a pass over every provider
        chosen = np.empty(take, dtype=np.int64)
        chosen[order] = taken
        self.children.provider[placed] = chosen
        return take

    def carers_left(self, households: np.ndarray, care: np.ndarray) -> np.ndarray:
        """Children of `care` (in care) whose foster carers stopped fostering (`households`,
        closed by the market) make a planned move: their places are released and they are
        returned, to be matched with this month's movers (counted in `new_carer_left_moves`)."""
        if households.size == 0:
            return np.zeros(0, dtype=np.int64)
        c, m = self.children, self.model
        leaving = np.zeros(self.providers.n + 1, dtype=bool)  # the last entry: "no provider" (-1)
        leaving[households] = True
        moved = care.compress(leaving.take(c.provider[care]))
        self.release(moved)
        m.flows["new_carer_left_moves"] += moved.size
        m.flows["new_placement_moves"] += moved.size
        return moved

    def _with_kinship_carers(self, rows: np.ndarray) -> np.ndarray:
        """Every child of `rows` goes to its family's kinship carer (made for families without one)."""
        prov, f = self.providers, self.model.families
        family = self.children.family[rows]
        carer = f.kinship_carer[family]
        if (carer < 0).any():
            self.model.market.kinship_carers(_distinct(family[carer < 0]))
            carer = f.kinship_carer[family]
        _add_to(prov.occupied, carer, 1)
        prov.places[carer] = np.maximum(prov.places[carer], prov.occupied[carer])
        self.children.provider[rows] = carer
        return rows

    def release(self, rows: np.ndarray) -> None:
        """Free the places held by `rows` (children without one are left alone)."""
        c = self.children
        held = c.provider[rows]
        has = held >= 0
        if has.any():
            _add_to(self.providers.occupied, held.compress(has), -1)
            c.provider[rows.compress(has)] = -1

    # ------------------------------------------------------------------ matching
    def match(self, rows: np.ndarray, routes: np.ndarray, step_downs: np.ndarray) -> None:
        """Every child needing a placement gets the best available type with a free place (module docstring)."""
        c, m = self.children, self.model
        order = np.argsort(m.streams["placement"].uniform(rows, m.month, salt=2), kind="stable")
        rows, routes = rows[order], routes[order]
        reason = np.where(is_in_care(c.state[rows]), Reason.PLACEMENT_MOVE, Reason.ENTERED_CARE)
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
        """Place rows with providers of `kind`; returns whether each row is still unplaced (not moved)."""
        if rows.size == 0:
            return np.zeros(0, dtype=bool)
        c = self.children
        placed_mask = self.take_places(rows, kind)
        placed = rows.compress(placed_mask)
        if placed.size:
            provider = c.provider[placed].copy()
            c.provider[placed] = -1  # the move releases held places; re-attach after
            self.model.transitions.move(placed, int(kind), reasons.compress(placed_mask))
            c.provider[placed] = provider
        return ~placed_mask

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
                unplaced[idx] = self._place(rows[idx], kinds[k - 1], reasons[idx])
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
        _add_to(prov.occupied, left_home[left_home >= 0], -1)
        return rows[left]

    def _place_home(self, rows, reasons) -> None:
        u = self.model.streams["placement"].uniform(rows, self.model.month, salt=4)
        la_first = u < self.params.la_home_preference
        rest = self._place(rows[la_first], ProviderKind.HOME_LA, reasons[la_first])
        self._place(np.concatenate([rows[~la_first], rows[la_first][rest]]), ProviderKind.HOME_PRIVATE,
                    np.concatenate([reasons[~la_first], reasons[la_first][rest]]))


def _distinct(values: np.ndarray) -> np.ndarray:
    """`np.unique(values)`: the sorted distinct values, without importing numpy.ma (~25 ms), which
    numpy 2.4's `unique` does on first use."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if values.size else values


def _add_to(column: np.ndarray, rows: np.ndarray, amount: int) -> None:
    """column[row] += amount for each of `rows`, repeated rows counted each time.

    `np.add.at` with values of the column's own dtype takes numpy's fast path (~3 ns a row); with
    a Python scalar it takes the generic one (~80 ns a row: 0.15 s of a full-scale run).
    """
    np.add.at(column, rows, np.full(rows.size, amount, dtype=column.dtype))
