"""The provider market: providers opening, fostering households recruited and leaving, homes closing.

The market decides how many places there are; it never places a child (that is the ledger,
sim/placements.py, the only code that changes a provider's occupancy). Kinship carers,
private children's homes and supported accommodation expand with demand; fostering places
follow approved households; an empty private home may close.
"""
from __future__ import annotations

import math

import numpy as np

from agents.providers import CareProvider, ProviderKind
from sim.ages import STALE_HOME_MONTHS
from sim.parameters import monthly_probability
from sim.states import IS_NON_KIN_FOSTER

IN_HOUSE_SERVICES = 152  # local authorities in England, each with an in-house fostering service
AGENCIES = 300  # independent fostering agencies (assumption)
SEMI_PROVIDERS = 150  # supported-accommodation providers at the start (assumption)
SEMI_PLACES_PER_PROVIDER_ADDED = 6  # places a supported-accommodation provider adds at once (assumption)


class ProviderMarket:
    """Opens providers and changes their places; counts homes opened and closed."""

    def __init__(self, model):
        self.model = model
        self.params = model.params
        self.providers = model.providers

    def new_providers(self, kind: ProviderKind, count: int, places: np.ndarray, gen) -> np.ndarray:
        """`count` providers of `kind` with `places`; each with its own price factor (mean 1)."""
        prov, m = self.providers, self.model
        rows = prov.append(count)
        prov.kind[rows] = int(kind)
        prov.places[rows] = places
        prov.price_factor[rows] = np.exp(gen.normal(-0.5 * self.params.cost_dispersion ** 2,
                                                    self.params.cost_dispersion, count))
        for r in rows:
            m._view("provider", CareProvider, r)
        return rows

    @staticmethod
    def _split(total: int, parts: int, gen) -> np.ndarray:
        return gen.multinomial(int(total), np.full(parts, 1 / parts)) if total > 0 else np.zeros(parts, dtype=int)

    def open_providers(self, kind: ProviderKind, n: int, places: int, gen) -> None:
        """`n` providers sharing `places` at random."""
        n = max(1, int(n))
        self.new_providers(kind, n, self._split(places, n, gen), gen)

    def open_fostering(self, kind: ProviderKind, n_services: int, occupied: int, gen) -> None:
        """Fostering services (England count `n_services`) with places for `occupied` at the 2015 vacancy."""
        p = self.params
        n = max(1, round(n_services * self.model.scale))
        places = int(round(occupied / max(1 - p.foster_vacancy_2015, 1e-9)))
        rows = self.new_providers(kind, n, self._split(places, n, gen), gen)
        self.providers.households[rows] = self.providers.places[rows] / p.places_per_foster_household

    def expand(self, kind: ProviderKind, shortfall: int, gen) -> None:
        """The market adds places where children need them (kinds in EXPANDS_ON_DEMAND)."""
        prov = self.providers
        if kind == ProviderKind.HOME_PRIVATE:
            per_home = int(self.params.places_per_home)
            n_new = math.ceil(shortfall / per_home)
            self.new_providers(kind, n_new, np.full(n_new, per_home), gen)
            self.model.flows["new_homes_opened"] += n_new
            return
        if kind == ProviderKind.SEMI_INDEPENDENT:
            n_new = math.ceil(shortfall / SEMI_PLACES_PER_PROVIDER_ADDED)
            self.new_providers(kind, n_new, np.full(n_new, SEMI_PLACES_PER_PROVIDER_ADDED), gen)
            return
        of_kind = np.flatnonzero((prov.kind[: prov.n] == kind) & prov.open[: prov.n])
        np.add.at(prov.places, of_kind[gen.integers(0, of_kind.size, shortfall)], 1)

    def supply_places(self, policy) -> None:
        """Foster households are recruited and leave (only from free places); empty homes close."""
        p, prov, flows = self.params, self.providers, self.model.flows
        gen = self.model.streams["supply"].generator
        n = prov.n
        fostering = np.flatnonzero(IS_NON_KIN_FOSTER[prov.kind[:n]])
        h = prov.households[fostering]
        recruited = gen.poisson(h * p.foster_recruitment_rate_per_year * policy.foster_recruitment_multiplier / 12)
        p_leave = monthly_probability(p.foster_attrition_rate_per_year * policy.foster_attrition_multiplier)
        leaving = gen.binomial(np.round(h).astype(np.int64), min(p_leave, 1.0))
        free_households = np.floor((prov.places[fostering] - prov.occupied[fostering]) / p.places_per_foster_household)
        leaving = np.minimum(leaving, np.maximum(free_households, 0))
        prov.households[fostering] = h + recruited - leaving
        places = np.floor(prov.households[fostering] * p.places_per_foster_household).astype(np.int32)
        prov.places[fostering] = np.maximum(places, prov.occupied[fostering])
        flows["new_foster_households_recruited"] += int(recruited.sum())
        flows["new_foster_households_left"] += int(leaving.sum())
        homes = np.flatnonzero((prov.kind[:n] == ProviderKind.HOME_PRIVATE) & prov.open[:n])
        empty = prov.occupied[homes] == 0
        prov.months_empty[homes] = np.where(empty, prov.months_empty[homes] + 1, 0)
        stale = homes[(prov.months_empty[homes] >= STALE_HOME_MONTHS)]
        close = stale[gen.random(stale.size) < monthly_probability(p.home_closure_rate_per_year)]
        prov.open[close] = False
        flows["new_homes_closed"] += close.size
