"""Care providers: kinship carers, fostering services, children's homes, supported accommodation.

Each provider has places (capacity) and a weekly price. A non-kinship fostering provider is
one fostering household (in-house, approved by its local authority, or with an independent
agency): its approved places, the ages it is approved for and its carers' age band; it is
recruited and leaves (sim/market.py). Children's homes open and close. The monthly update works
on `ProviderTable`; each provider is also a Mesa `CareProvider` agent for identity and
inspection (fostering households' and kinship carers' agents are made on request).
"""
from __future__ import annotations

from enum import IntEnum

import numpy as np

from agents.mesa_core import Agent
from agents.table import Table
from sim.states import State


class ProviderKind(IntEnum):
    """The kind of provider; its value is the care `State` of a child placed there."""

    KINSHIP = int(State.KINSHIP)
    FOSTER_IN_HOUSE = int(State.FOSTER_IN_HOUSE)
    FOSTER_AGENCY = int(State.FOSTER_AGENCY)
    HOME_LA = int(State.HOME_LA)
    HOME_PRIVATE = int(State.HOME_PRIVATE)
    SEMI_INDEPENDENT = int(State.SEMI_INDEPENDENT)


# Kinds whose places the market adds as children need them (private homes and supported
# accommodation expanded with demand over the period). A kinship placement is always with the
# family's own carer: one provider per family, made when its first child is placed there.
EXPANDS_ON_DEMAND = (ProviderKind.HOME_PRIVATE, ProviderKind.SEMI_INDEPENDENT)
# Kinds whose providers are single fostering households (approval ranges, carers' ages).
FOSTERING_HOUSEHOLDS = (ProviderKind.FOSTER_IN_HOUSE, ProviderKind.FOSTER_AGENCY)


class ProviderTable(Table):
    FIELDS = {
        "kind": (np.int8, 0),
        "places": (np.int32, 0),
        "occupied": (np.int32, 0),
        "households": (np.float64, 0.0),  # fostering households: 1 while approved, 0 after leaving
        "approved_min_months": (np.int16, 0),  # fostering households: youngest age approved for
        "approved_max_months": (np.int16, 216),  # ... and the age (months) below which approved
        "carer_band": (np.int8, -1),  # fostering households: carers' age band (sim/market.py CARER_BANDS)
        "price_factor": (np.float64, 1.0),  # this provider's price relative to its kind's mean
        "open": (bool, True),
        "months_empty": (np.int16, 0),
        "serial": (np.int32, -1),  # its identity among providers of its kind (kinship carers: the family)
        "family": (np.int32, -1),  # kinship carers: the family whose carer this is
    }

    def free_places(self) -> np.ndarray:
        n = self.n
        return np.where(self.open[:n], self.places[:n] - self.occupied[:n], 0)


class CareProvider(Agent):
    """A provider of care places."""

    def __init__(self, model, row: int):
        super().__init__(model)
        self.row = int(row)

    @property
    def kind(self) -> ProviderKind:
        return ProviderKind(int(self.model.providers.kind[self.row]))

    @property
    def places(self) -> int:
        return int(self.model.providers.places[self.row])

    @property
    def occupied(self) -> int:
        return int(self.model.providers.occupied[self.row])

    @property
    def is_open(self) -> bool:
        return bool(self.model.providers.open[self.row])

    @property
    def approved_ages_months(self) -> tuple[int, int]:
        """Ages (months, from inclusive, to exclusive) a fostering household is approved for."""
        t = self.model.providers
        return int(t.approved_min_months[self.row]), int(t.approved_max_months[self.row])

    @property
    def weekly_cost_gbp(self) -> float:
        """This provider's weekly price this month."""
        return float(self.model.costs.provider_weekly_cost(self.model, np.array([self.row]))[0])

    def __repr__(self) -> str:
        return f"CareProvider({self.kind.name}, {self.occupied}/{self.places})"
