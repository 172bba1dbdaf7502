"""Money: weekly unit costs per placement type, their growth, and the monthly spend by part.

Unit costs are weekly prices at 2020-21 prices (sources in sim/parameters.py), grown at the
residential rate (children's homes, semi-independent) or the family rate (foster care,
other placements, overheads, support, social work) from the middle of 2020-21. A provider's
price is its kind's price times the provider's own price factor.

Spend on children in care is placements plus the overhead of care (social work, legal,
reviews, leaving-care support), in two parts: a **fixed** part - teams, legal and management
that do not shrink within the horizon when a child leaves care - constant in real terms
(grown only with prices, never with the number of children), and a **variable** part per
child in care. The two are a split of the calibrated overhead per child at the 2020 stock
(`care_overhead_fixed_share`, an assumption), so total spend at the 2020 stock is unchanged.

Support that the baseline and levers buy is counted apart, in `SUPPORT_SPEND` (edge-of-care,
reunification, foster carers' recruitment and retention support, extra social-work capacity),
and `spend_support_gbp` is their sum: a scenario's net saving is stated against all of it
(runner/summary.py). Social workers' pay at the baseline FTE (`spend_social_work_gbp`) is
shown, not part of either.
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


# Every support a lever or the baseline buys, by measure name: `spend_support_gbp` is their sum.
SUPPORT_SPEND: tuple[str, ...] = (
    "spend_edge_of_care_gbp",
    "spend_reunification_gbp",
    "spend_carer_recruitment_gbp",
    "spend_carer_support_gbp",
)


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

    def overhead_fixed_weekly_gbp(self, scale: float) -> float:
        """Fixed overhead of care per week at 2020-21 prices, for a `scale` share of England."""
        p = self.params
        return p.care_overhead_fixed_share * p.care_overhead_weekly_cost_gbp * p.overhead_reference_children * scale

    def overhead_variable_weekly_gbp(self) -> float:
        """Variable overhead per child in care per week at 2020-21 prices."""
        p = self.params
        return (1 - p.care_overhead_fixed_share) * p.care_overhead_weekly_cost_gbp

    def care_spend(self, year: float, states: np.ndarray, price_factors: np.ndarray, *, scale: float,
                   group: np.ndarray | None = None, shares: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """One month's spend on children in care, by part (placements, fixed and variable overhead,
        their total), for the children simulated: one value each, or, with `group` (each child's
        index, e.g. its authority in a region) and `shares` (each group's part of the fixed
        overhead, summing to 1), one value per group."""
        _, fam = self.indices(year)
        n_groups = 1 if group is None else len(shares)
        key = states if group is None else group.astype(np.intp) * N_STATES + states
        weekly_by_state = (np.bincount(key, weights=price_factors, minlength=n_groups * N_STATES)
                           .reshape(n_groups, N_STATES) * self.state_prices(year))
        month_by_state = weekly_by_state * WEEKS_PER_MONTH
        spend = {name: month_by_state[:, list(sts)].sum(axis=1) for name, sts in PLACEMENT_SPEND.items()}
        n_in_care = np.array([states.size]) if group is None else np.bincount(group, minlength=n_groups)
        fixed = self.overhead_fixed_weekly_gbp(scale) * fam * WEEKS_PER_MONTH
        spend["spend_overhead_fixed_gbp"] = np.array([fixed]) if group is None else fixed * np.asarray(shares)
        spend["spend_overhead_variable_gbp"] = n_in_care * self.overhead_variable_weekly_gbp() * fam * WEEKS_PER_MONTH
        spend["spend_care_overhead_gbp"] = spend["spend_overhead_fixed_gbp"] + spend["spend_overhead_variable_gbp"]
        spend["spend_children_in_care_gbp"] = (sum(spend[name] for name in PLACEMENT_SPEND)
                                               + spend["spend_care_overhead_gbp"])
        return spend

    def month_spend(self, year: float, states: np.ndarray, price_factors: np.ndarray,
                    n_supported_families: float, n_workers: float, *, scale: float = 1.0,
                    n_reunification_children: float = 0, extra_households_recruited: float = 0.0,
                    households_supported: float = 0.0) -> dict[str, float]:
        """Spend of one month, by part, for the children, families and workers simulated (unscaled).

        `states` and `price_factors` are those of the children in care this month; `scale` is
        the share of England simulated (the fixed overhead is England's times it);
        `extra_households_recruited` are the fostering households a lever's recruitment added
        this month, `households_supported` those given a lever's retention support.
        """
        p = self.params
        _, fam = self.indices(year)
        spend = {name: float(v[0]) for name, v in self.care_spend(year, states, price_factors, scale=scale).items()}
        spend["spend_edge_of_care_gbp"] = n_supported_families * p.edge_weekly_cost_gbp * fam * WEEKS_PER_MONTH
        spend["spend_reunification_gbp"] = n_reunification_children * p.reunification_weekly_cost_gbp * fam * WEEKS_PER_MONTH
        spend["spend_carer_recruitment_gbp"] = extra_households_recruited * p.carer_recruitment_cost_gbp * fam
        spend["spend_carer_support_gbp"] = households_supported * p.carer_support_weekly_cost_gbp * fam * WEEKS_PER_MONTH
        spend["spend_support_gbp"] = sum(spend[name] for name in SUPPORT_SPEND)
        spend["spend_social_work_gbp"] = n_workers * p.social_worker_annual_cost_gbp * fam / 12
        return spend
