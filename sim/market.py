"""The provider market: providers opening, fostering households recruited and leaving, homes closing.

The market decides how many places there are; it never places a child (that is the ledger,
sim/placements.py, the only code that changes a provider's occupancy). Private children's
homes and supported accommodation expand with demand; a family's kinship carer is a provider
of its own, made when the family's first child is placed with it; fostering places follow
approved households; an empty private home may close.

Common random numbers: every draw here is counter-based (sim/streams.py), keyed by the
provider's identity, so a lever that changes one provider's history leaves the others'
draws alone: a provider's price factor is a function of its kind and its serial number among
providers of that kind (a kinship carer's, of its family), and recruitment, attrition and
closure draws are keyed by (kind, serial number, month).
"""
from __future__ import annotations

import math

import numpy as np

from agents.providers import ProviderKind
from sim.ages import STALE_HOME_MONTHS
from sim.parameters import monthly_probability
from sim.streams import binomial_quantile, poisson_quantile

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
        self._serials = dict.fromkeys(ProviderKind, 0)  # providers of each kind made so far (kinship: unused)
        self._rows_of_kind = {kind: np.zeros(0, dtype=np.int64) for kind in ProviderKind}

    def rows_of_kind(self, kind: ProviderKind) -> np.ndarray:
        """Rows of the providers of `kind` (open or not), ascending; kinship carers are not listed."""
        return self._rows_of_kind[kind]

    def identity(self, rows: np.ndarray) -> np.ndarray:
        """A provider's identity, the same in every run of a seed whatever the levers: (kind, serial)."""
        prov = self.providers
        return prov.kind[rows].astype(np.int64) << 32 | prov.serial[rows]

    def price_factors(self, kind: ProviderKind, serials: np.ndarray) -> np.ndarray:
        """Price factors (lognormal, mean 1) of providers of `kind` with these serial numbers.

        The normal deviate is Box-Muller's from two counter-based uniforms of the provider's
        identity (not an inverse normal: scipy.special cost 0.1-0.15 s of every start-up)."""
        sd = self.params.cost_dispersion
        ids = int(kind) << 32 | np.asarray(serials, dtype=np.int64)
        prices = self.model.streams["prices"]
        u1, u2 = prices.uniform(ids, 0), prices.uniform(ids, 0, salt=1)
        z = np.sqrt(-2 * np.log1p(-u1)) * np.cos(2 * np.pi * u2)  # 1 - u1 lies in (0, 1]
        return np.exp(-0.5 * sd ** 2 + sd * z)

    def new_providers(self, kind: ProviderKind, count: int, places: np.ndarray) -> np.ndarray:
        """`count` providers of `kind` with `places`, each with its own price factor (its Mesa
        agent is made on request, `CareModel.provider`)."""
        prov = self.providers
        rows = prov.append(count)
        prov.kind[rows] = int(kind)
        prov.places[rows] = places
        prov.serial[rows] = self._serials[kind] + np.arange(count)
        prov.price_factor[rows] = self.price_factors(kind, prov.serial[rows])
        self._serials[kind] += count
        self._rows_of_kind[kind] = np.concatenate([self._rows_of_kind[kind], rows])
        return rows

    def kinship_carers(self, families: np.ndarray) -> np.ndarray:
        """New kinship carers of `families` (distinct, without one yet): places for every child of
        the family."""
        prov, f = self.providers, self.model.families
        rows = prov.append(families.size)
        prov.kind[rows] = int(ProviderKind.KINSHIP)
        prov.places[rows] = f.n_children[families]
        prov.family[rows] = families
        prov.serial[rows] = families
        prov.price_factor[rows] = self.price_factors(ProviderKind.KINSHIP, families)
        f.kinship_carer[families] = rows
        return rows

    @staticmethod
    def _split(total: int, parts: int, gen) -> np.ndarray:
        return gen.multinomial(int(total), np.full(parts, 1 / parts)) if total > 0 else np.zeros(parts, dtype=int)

    def open_providers(self, kind: ProviderKind, n: int, places: int, gen) -> None:
        """`n` providers sharing `places` at random."""
        n = max(1, int(n))
        self.new_providers(kind, n, self._split(places, n, gen))

    def open_fostering(self, kind: ProviderKind, n_services: int, occupied: int, gen) -> None:
        """Fostering services (England count `n_services`) with places for `occupied` at the 2015 vacancy."""
        p = self.params
        n = max(1, round(n_services * self.model.scale))
        places = int(round(occupied / max(1 - p.foster_vacancy_2015, 1e-9)))
        rows = self.new_providers(kind, n, self._split(places, n, gen))
        self.providers.households[rows] = self.providers.places[rows] / p.places_per_foster_household

    def expand(self, kind: ProviderKind, shortfall: int) -> None:
        """The market adds places where children need them (kinds in EXPANDS_ON_DEMAND): new
        private homes of the usual size, or supported-accommodation providers."""
        if kind == ProviderKind.HOME_PRIVATE:
            per_provider = int(self.params.places_per_home)
            self.model.flows["new_homes_opened"] += math.ceil(shortfall / per_provider)
        elif kind == ProviderKind.SEMI_INDEPENDENT:
            per_provider = SEMI_PLACES_PER_PROVIDER_ADDED
        else:
            raise ValueError(f"{kind.name} places do not expand on demand")
        n_new = math.ceil(shortfall / per_provider)
        self.new_providers(kind, n_new, np.full(n_new, per_provider))

    def supply_places(self, policy) -> None:
        """Foster households are recruited and leave (only from free places); empty homes close."""
        p, prov, flows = self.params, self.providers, self.model.flows
        supply, month = self.model.streams["supply"], self.model.month
        fostering = np.concatenate([self._rows_of_kind[ProviderKind.FOSTER_IN_HOUSE],
                                    self._rows_of_kind[ProviderKind.FOSTER_AGENCY]])
        h = prov.households[fostering]
        recruited = poisson_quantile(supply.uniform(self.identity(fostering), month, salt=0),
                                     h * p.foster_recruitment_rate_per_year * policy.foster_recruitment_multiplier / 12)
        p_leave = monthly_probability(p.foster_attrition_rate_per_year * policy.foster_attrition_multiplier)
        leaving = binomial_quantile(supply.uniform(self.identity(fostering), month, salt=1),
                                    np.round(h).astype(np.int64), min(float(p_leave), 1.0))
        free_households = np.floor((prov.places[fostering] - prov.occupied[fostering]) / p.places_per_foster_household)
        leaving = np.minimum(leaving, np.maximum(free_households, 0))
        prov.households[fostering] = h + recruited - leaving
        places = np.floor(prov.households[fostering] * p.places_per_foster_household).astype(np.int32)
        prov.places[fostering] = np.maximum(places, prov.occupied[fostering])
        flows["new_foster_households_recruited"] += int(recruited.sum())
        flows["new_foster_households_left"] += int(leaving.sum())
        homes = self._rows_of_kind[ProviderKind.HOME_PRIVATE]
        homes = homes[prov.open[homes]]
        empty = prov.occupied[homes] == 0
        prov.months_empty[homes] = np.where(empty, prov.months_empty[homes] + 1, 0)
        stale = homes[(prov.months_empty[homes] >= STALE_HOME_MONTHS)]
        p_close = monthly_probability(p.home_closure_rate_per_year)
        close = stale[supply.uniform(self.identity(stale), month, salt=2) < p_close]
        prov.open[close] = False
        flows["new_homes_closed"] += close.size
