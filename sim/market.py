"""The provider market: providers opening, fostering households recruited and leaving, homes closing.

The market decides how many places there are; it never places a child (that is the ledger,
sim/placements.py, the only code that changes a provider's occupancy). Private children's
homes and supported accommodation expand with demand; a family's kinship carer is a provider
of its own, made when the family's first child is placed with it; an empty private home may
close.

Foster care is a table of fostering households (one provider row each, in-house or agency;
about 45,000 at full scale). Each has approved places (1-3), an approval range of ages
(0-10, 0-17 or 11-17) and its carers' age band (under 50, 50-59, 60+; Ofsted 2019-20: 65% of
carers over 50, 25% over 60). Every household, with a child placed or not, may stop fostering
at `foster_attrition_rate_per_year` times its carers' age multiplier (older carers leave more:
retirement); its children then make a planned move (sim/placements.py `carers_left`). Carers age a
band at a time, so attrition rises as the 2015 carers grow older. Recruits come at
`foster_recruitment_rate_per_year` times the households of their kind at the start: a
recruitment capacity (assessment, panels, campaigns) that does not scale with the households
left, so the stock relaxes towards recruitment / attrition instead of growing or collapsing
exponentially; recruits are younger on average. From April 2020 the capacity is
`foster_recruitment_from_2020` times what it was (a declared assumption with a prior, fitted: the
stock was flat to 2019-20 and approved carers fell 15% from 2020 to 2024; neither the carers'
ageing, which is gradual, nor the agencies' response, which only acts once places run out, makes
a break at 2020; docs/households-diagnosis.md). Independent agencies also grow with the demand
foster care could not meet: for each child in the last twelve months who went to a children's
home for want of a foster place, agencies recruit `agency_response_households_per_child`
households over a year (a stock adjustment with a lag; without it a foster shortage switched all
overflow to residential at once, at a date that varied widely between posterior draws). A household whose child grows past its
approval has the approval varied to keep the child (as authorities do), so no household ever
holds a child outside its approval range. A household that leaves is dropped from the lists
the month loops over (its row stays, closed, so children's provider rows never change).

Common random numbers: every draw here is counter-based (sim/streams.py), keyed by the
provider's identity, so a lever that changes one provider's history leaves the others'
draws alone: a provider's price factor is a function of its kind and its serial number among
providers of that kind (a kinship carer's, of its family), and recruitment, attrition and
closure draws are keyed by (kind, serial number, month).
"""
from __future__ import annotations

import math
from collections import deque
from statistics import NormalDist

import numpy as np

from agents.providers import FOSTERING_HOUSEHOLDS, ProviderKind
from sim.ages import ADULT_MONTHS, AGE_11_MONTHS, STALE_HOME_MONTHS
from sim.parameters import monthly_probability

IN_HOUSE_SERVICES = 152  # local authorities in England, each with an in-house fostering service
AGENCIES = 300  # independent fostering agencies (assumption)
SEMI_PROVIDERS = 150  # supported-accommodation providers at the start (assumption)
SEMI_PLACES_PER_PROVIDER_ADDED = 6  # places a supported-accommodation provider adds at once (assumption)

# Fostering households. Places approved: 1, 2 or 3, mean `places_per_foster_household` (C:
# ~1.2 children per household with 62-67% of places filled). Approval ranges (months, from, to exclusive):
# 0-10, 0-17 and 11-17 (shares: assumption). Carers' age bands: under 50, 50-59, 60+. The 2020
# mix is Ofsted 2019-20's (A: 65% over 50, 25% over 60); the 2015 stock starts younger, the 2020
# mix projected back five years at the band ageing rate (39% move up a band in five years),
# allowing for younger recruits and older leavers (assumption), so that attrition rises as the
# carers age (a check: the model's 2020 mix). Recruits' mix an assumption (younger).
HOUSEHOLD_PLACES = (1, 2, 3)
APPROVALS = ((0, AGE_11_MONTHS), (0, ADULT_MONTHS), (AGE_11_MONTHS, ADULT_MONTHS))
APPROVAL_SHARES = (0.35, 0.45, 0.20)
CARER_BANDS = ("under 50", "50-59", "60+")
CARER_BAND_SHARES_2020 = (0.35, 0.40, 0.25)
CARER_BAND_SHARES_2015 = (0.50, 0.33, 0.17)
RECRUIT_BAND_SHARES = (0.60, 0.35, 0.05)
RECRUITMENT_STEP_YEAR = 2020.25  # 31 March 2020: `foster_recruitment_from_2020` acts from April 2020


class ProviderMarket:
    """Opens providers and changes their places; counts homes opened and closed."""

    def __init__(self, model):
        self.model = model
        self.params = model.params
        self.providers = model.providers
        self._serials = dict.fromkeys(ProviderKind, 0)  # providers of each kind made so far (kinship: unused)
        self._rows_of_kind = {kind: np.zeros(0, dtype=np.int64) for kind in ProviderKind}
        self._start_households = dict.fromkeys(FOSTERING_HOUSEHOLDS, 0)  # recruitment's reference
        self._unmet: deque[int] = deque(maxlen=12)  # children a month who found no foster place, last 12 months

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

    def open_fostering(self, kind: ProviderKind, occupied: int) -> np.ndarray:
        """Fostering households of `kind` with places for `occupied` children at the 2015 vacancy
        (carers of the 2015 age mix); returns their rows."""
        p = self.params
        places = occupied / max(1 - p.foster_vacancy_2015, 1e-9)
        mean_places = float(np.dot(HOUSEHOLD_PLACES, self._places_shares()))
        rows = self.new_households(kind, int(math.ceil(places / mean_places)), CARER_BAND_SHARES_2015)
        self._start_households[kind] += rows.size
        return rows

    def new_households(self, kind: ProviderKind, count: int, band_shares, approval: int | None = None) -> np.ndarray:
        """`count` fostering households of `kind`: places, approval range and carers' age band
        drawn from counter-based uniforms keyed by each household's identity (its Mesa agent is
        made on request). `approval` fixes the range (an index of APPROVALS) instead."""
        prov, m = self.providers, self.model
        rows = prov.append(count)
        prov.kind[rows] = int(kind)
        prov.serial[rows] = self._serials[kind] + np.arange(count)
        self._serials[kind] += count
        prov.price_factor[rows] = self.price_factors(kind, prov.serial[rows])
        key = self.identity(rows)
        stream = m.streams["households"]
        prov.places[rows] = np.take(HOUSEHOLD_PLACES, _pick(stream.uniform(key, 0, salt=0), self._places_shares()))
        which = (_pick(stream.uniform(key, 0, salt=1), APPROVAL_SHARES) if approval is None
                 else np.full(count, approval))
        prov.approved_min_months[rows] = np.take([a[0] for a in APPROVALS], which)
        prov.approved_max_months[rows] = np.take([a[1] for a in APPROVALS], which)
        prov.carer_band[rows] = _pick(stream.uniform(key, 0, salt=2), band_shares)
        prov.households[rows] = 1.0
        self._rows_of_kind[kind] = np.concatenate([self._rows_of_kind[kind], rows])
        return rows

    def _places_shares(self) -> tuple[float, float, float]:
        """Shares of households approved for 1, 2 and 3 places: 1 + Binomial(2, q), with q set so
        that the mean is `places_per_foster_household`."""
        q = min(max((self.params.places_per_foster_household - 1) / 2, 0.0), 1.0)
        return ((1 - q) ** 2, 2 * q * (1 - q), q ** 2)

    def fostering_rows(self) -> np.ndarray:
        """Rows of the approved fostering households (in-house and agency), ascending by kind."""
        return np.concatenate([self._rows_of_kind[k] for k in FOSTERING_HOUSEHOLDS])

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

    def supply_places(self, policy, unmet_last_month: float) -> np.ndarray:
        """Fostering households age, leave (any household, its children then move) and are
        recruited; empty private homes close. Returns the households that left this month
        (closed; the ledger moves their children, sim/placements.py `carers_left`).
        `unmet_last_month`: children who went to a children's home for want of a foster place
        last month (agencies' response)."""
        p, prov, flows = self.params, self.providers, self.model.flows
        supply, month = self.model.streams["supply"], self.model.month
        self._unmet.append(unmet_last_month)
        fostering = self.fostering_rows()
        key = self.identity(fostering)
        band = prov.carer_band[fostering]
        older = (supply.uniform(key, month, salt=3) < monthly_probability(p.carer_band_ageing_rate_per_year)) & (band < 2)
        band = band + older
        prov.carer_band[fostering] = band
        band_multiplier = np.array([p.carer_under_50_attrition_multiplier, p.carer_50_59_attrition_multiplier,
                                    p.carer_60_plus_attrition_multiplier])[band]
        rate = p.foster_attrition_rate_per_year * policy.foster_attrition_multiplier * band_multiplier
        leaving = fostering[supply.uniform(key, month, salt=1) < monthly_probability(rate)]
        prov.open[leaving] = False
        prov.households[leaving] = 0.0
        prov.places[leaving] = 0
        flows["new_foster_households_left"] += leaving.size
        multiplier = policy.foster_recruitment_multiplier
        capacity = p.foster_recruitment_rate_per_year
        if self.model.year > RECRUITMENT_STEP_YEAR:
            capacity *= p.foster_recruitment_from_2020
        for kind in FOSTERING_HOUSEHOLDS:
            rows = self._rows_of_kind[kind]
            self._rows_of_kind[kind] = rows.compress(prov.open[rows])  # a household that left is gone for good
            mean = self._start_households[kind] * capacity * multiplier / 12
            u = supply.uniform(np.array([int(kind) << 32], dtype=np.int64), month, salt=0)
            if kind == ProviderKind.FOSTER_AGENCY:  # agencies grow with the demand foster care could not meet
                mean += p.agency_response_households_per_child * sum(self._unmet) / 12
            n_new = _poisson(u, mean)
            self.new_households(kind, n_new, RECRUIT_BAND_SHARES)
            flows["new_foster_households_recruited"] += n_new
            if multiplier > 1:
                flows["new_foster_households_recruited_by_lever"] += n_new * (1 - 1 / multiplier)
        self._follow_home_demand()
        homes = self._rows_of_kind[ProviderKind.HOME_PRIVATE]
        homes = homes.compress(prov.open[homes])
        empty = prov.occupied[homes] == 0
        prov.months_empty[homes] = np.where(empty, prov.months_empty[homes] + 1, 0)
        stale = homes[(prov.months_empty[homes] >= STALE_HOME_MONTHS)]
        p_close = monthly_probability(p.home_closure_rate_per_year)
        close = stale[supply.uniform(self.identity(stale), month, salt=2) < p_close]
        prov.open[close] = False
        flows["new_homes_closed"] += close.size
        return leaving

    def _follow_home_demand(self) -> None:
        """Local-authority children's homes follow demand with a lag: while LA places fall short
        of their 2015 share of the children in homes (at the 2015 vacancy), new LA homes open at
        a rate that closes the gap in `la_home_capacity_lag_months` on average (a Poisson count,
        one counter-based draw a month). Private homes open at once when a child needs a place
        (`expand`): the spot market fills what LA capacity has not yet caught up with."""
        p, prov, m = self.params, self.providers, self.model
        la = self._rows_of_kind[ProviderKind.HOME_LA]
        private = self._rows_of_kind[ProviderKind.HOME_PRIVATE]
        in_homes = int(prov.occupied[la].sum() + prov.occupied[private].sum())
        target = p.la_share_of_homes * in_homes / max(1 - p.home_vacancy_2015, 1e-9)
        gap = target - float(prov.places[la].sum())
        if gap <= 0:
            return
        u = m.streams["supply"].uniform(np.array([int(ProviderKind.HOME_LA) << 32], dtype=np.int64), m.month, salt=4)
        n_new = _poisson(u, gap / p.places_per_home / p.la_home_capacity_lag_months)
        if n_new:
            self.new_providers(ProviderKind.HOME_LA, n_new, np.full(n_new, int(p.places_per_home)))
            m.flows["new_homes_opened"] += n_new

    def vary_approvals(self) -> None:
        """A household holding a child who has grown past its approved ages is approved to 18.

        Matching never places a child outside a household's range, and the only range that ends
        before 18 ends at 11: so only children who turned 11 this month can be past theirs (a
        contiguous scan of ages, cheaper than gathering the active children)."""
        c, prov = self.model.children, self.providers
        turned = np.flatnonzero(c.age_months[: c.n] == AGE_11_MONTHS)
        held = c.provider[turned]
        held = held[held >= 0]  # children who left or are at home hold no place
        prov.approved_max_months[held[prov.approved_max_months[held] <= AGE_11_MONTHS]] = ADULT_MONTHS


def _poisson(u: np.ndarray, mean: float) -> int:
    """A Poisson(`mean`) draw from one uniform: by inversion, or its normal approximation for a
    large mean (where exp(-mean) would underflow). The inversion is `poisson_quantile`'s sum
    term by term, in Python floats: for one draw a loop of scalars is ~10x cheaper than numpy's
    one-element arrays (0.15 s of a full-scale run)."""
    x = float(u[0])
    if mean > 400:
        return max(0, int(round(mean + math.sqrt(mean) * NormalDist().inv_cdf(min(max(x, 1e-12), 1 - 1e-12)))))
    pmf = cdf = math.exp(-mean)
    limit = int(mean + 12 * math.sqrt(mean) + 30)
    k = 0
    while x >= cdf and k + 1 < limit:
        k += 1
        pmf = pmf * mean / k
        cdf += pmf
    return k


def _pick(u: np.ndarray, shares) -> np.ndarray:
    """Index of the category each uniform falls in, for categories with these shares."""
    return np.minimum(np.searchsorted(np.cumsum(shares), u, side="right"), len(shares) - 1)
