"""Money: weekly unit costs per placement type, their growth, and the monthly spend by part.

Unit costs are weekly prices at 2020-21 prices (sources in sim/parameters.py), grown at the
residential rate (children's homes, semi-independent) or the family rate (foster care,
other placements, overheads, support, social work) from the middle of 2020-21. A provider's
price is its kind's price times the provider's own price factor. Spend on children in care is
placements plus the per-child overhead; support (edge-of-care, reunification: `SUPPORT_SPEND`)
and social work are counted separately, so scenario savings can be stated net of investment.
"""
from __future__ import annotations

import numpy as np

from sim.states import N_STATES, State

WEEKS_PER_MONTH = 52.1775 / 12
PRICE_BASE_YEAR = 2020.75  # middle of financial year 2020-21

RESIDENTIAL_PRICED = (State.HOME_LA, State.HOME_PRIVATE, State.SEMI_INDEPENDENT)

PLACEMENT_SPEND = {  # output name -> the states whose placement spend it sums
    "spend_foster_gbp": (State.KINSHIP, State.FOSTER_IN_HOUSE, State.FOSTER_AGENCY),
    "spend_childrens_homes_gbp": (State.HOME_LA, State.HOME_PRIVATE),
    "spend_semi_independent_gbp": (State.SEMI_INDEPENDENT,),
    "spend_other_placements_gbp": (State.PLACED_WITH_PARENTS, State.PLACED_FOR_ADOPTION, State.OTHER_PLACEMENT),
}


# every support that levers and the baseline buy, each a money measure (sim/measures.py)
SUPPORT_SPEND = ("spend_edge_of_care_gbp", "spend_reunification_gbp")


def weekly_prices(params) -> np.ndarray:
    """Weekly price at 2020-21 prices of a placement in each state (0 outside care)."""
    price = np.zeros(N_STATES)
    price[State.KINSHIP] = params.kinship_weekly_cost_gbp
    price[State.FOSTER_IN_HOUSE] = params.in_house_foster_weekly_cost_gbp
    price[State.FOSTER_AGENCY] = params.agency_foster_weekly_cost_gbp
    price[State.HOME_LA] = params.la_home_weekly_cost_gbp
    price[State.HOME_PRIVATE] = params.private_home_weekly_cost_gbp
    price[State.SEMI_INDEPENDENT] = params.semi_independent_weekly_cost_gbp
    for s in (State.PLACED_WITH_PARENTS, State.PLACED_FOR_ADOPTION, State.OTHER_PLACEMENT):
        price[s] = params.other_placement_weekly_cost_gbp
    return price


class Costs:
    """Prices of a run; `month_spend` returns one month's spend by part."""

    def __init__(self, params):
        self.params = params
        self.base_price = weekly_prices(params)
        self.residential = np.zeros(N_STATES, dtype=bool)
        self.residential[list(RESIDENTIAL_PRICED)] = True

    def indices(self, year: float) -> tuple[float, float]:
        """(residential, family) price index relative to 2020-21."""
        p = self.params
        dt = year - PRICE_BASE_YEAR
        return (1 + p.residential_cost_growth_per_year) ** dt, (1 + p.family_cost_growth_per_year) ** dt

    def state_prices(self, year: float) -> np.ndarray:
        res, fam = self.indices(year)
        return self.base_price * np.where(self.residential, res, fam)

    def provider_weekly_cost(self, model, provider_rows: np.ndarray) -> np.ndarray:
        prov = model.providers
        return self.state_prices(model.year)[prov.kind[provider_rows]] * prov.price_factor[provider_rows]

    def month_spend(self, year: float, states: np.ndarray, price_factors: np.ndarray,
                    n_supported_families: float, n_workers: float, *,
                    n_reunification_children: float = 0) -> dict[str, float]:
        """Spend of one month, by part, for the children, families and workers simulated (unscaled).

        `states` and `price_factors` are those of the children in care this month.
        """
        p = self.params
        _, fam = self.indices(year)
        weekly_by_state = np.bincount(states, weights=price_factors, minlength=N_STATES) * self.state_prices(year)
        month_by_state = weekly_by_state * WEEKS_PER_MONTH
        spend = {name: float(month_by_state[list(sts)].sum()) for name, sts in PLACEMENT_SPEND.items()}
        n_in_care = states.size
        spend["spend_care_overhead_gbp"] = n_in_care * p.care_overhead_weekly_cost_gbp * fam * WEEKS_PER_MONTH
        spend["spend_children_in_care_gbp"] = sum(spend.values())
        spend["spend_edge_of_care_gbp"] = n_supported_families * p.edge_weekly_cost_gbp * fam * WEEKS_PER_MONTH
        spend["spend_reunification_gbp"] = n_reunification_children * p.reunification_weekly_cost_gbp * fam * WEEKS_PER_MONTH
        spend["spend_support_gbp"] = sum(spend[name] for name in SUPPORT_SPEND)
        spend["spend_social_work_gbp"] = n_workers * p.social_worker_annual_cost_gbp * fam / 12
        return spend
