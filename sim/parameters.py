"""Every parameter of the model, in one place: meaning, unit, range, source, and value or prior.

`Params` is a frozen dataclass; each field says what it is, once:

* a **fixed** parameter (`fixed(value, lo, hi, doc, source, prior=(lo, hi, why))`) is an
  assumption or a figure from data. Its value is written here, beside its source, and this is the
  one place to edit it; its prior range (from ../shared/evidence.md where it speaks, otherwise a
  stated assumption) is what `caresim sensitivity` samples. Only pure data has no prior.
* a **free** parameter (`free(lo, hi, doc, source, prior=(lo, hi, why))`) is fitted by
  `caresim calibrate` inside its prior range; it has no value here. Its value comes from a
  parameter file: the shipped `calibration/params/calibrated.toml`, which calibration writes
  (the point estimate, 90% intervals and posterior draws) and never anything else.

A parameter file (sim/parameter_file.py) gives every free parameter and may override fixed
ones (a what-if copy). Rates are per year and turned into monthly probabilities by
`monthly_probability`.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class ParameterError(ValueError):
    """A parameter file or value that the model cannot use; the message is one line."""


def fixed(value: float, lo: float, hi: float, doc: str, source: str = "assumption", *,
          prior: tuple[float, float, str] | None = None):
    """A fixed parameter: its value (edit it here), inclusive range, meaning and source, and the
    prior range of its uncertainty (inside the hard range, containing the value) with the reason,
    which sensitivity analysis samples; None only for a figure that is pure data (an exact count)."""
    return field(default=value, metadata={"lo": lo, "hi": hi, "doc": doc, "source": source, "free": False,
                                          "prior": prior})


def free(lo: float, hi: float, doc: str, source: str, *, prior: tuple[float, float, str]):
    """A free parameter: no value here (calibration fits it); hard range, meaning, source, and the
    prior range (inside the hard range) with the reason for it, which calibration reads."""
    return field(metadata={"lo": lo, "hi": hi, "doc": doc, "source": source, "free": True, "prior": prior})


_RANGES: dict[type, dict[str, tuple[float, float]]] = {}  # hard ranges by parameter, per class


def finite_number(value: Any) -> float | None:
    """`value` as a finite float, or None if it is not a finite number (bools, strings, lists,
    NaN, infinities and integers too large for a float are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True, kw_only=True)
class Params:
    """The model's parameters. Times are years since 31 March 2015 unless a name says otherwise."""

    # --- front door: referrals of children at risk (the wider child-in-need pool is aggregate) ---
    cp_starts_per_year: float = free(0.0, 1.5e5, "children starting a child protection plan per year, 2015", "B, DfE: 62,200 started in 2014-15",
                                     prior=(50_000, 75_000, "DfE: 62,200 plans started in 2014-15 (B), +-20%"))
    at_risk_referrals_per_year: float = free(0.0, 2e5, "children assessed at risk of care, not on a plan, per year, 2015", "free; no published figure",
                                             prior=(5_000, 80_000, "no published figure: wide"))
    referral_trend_per_year: float = free(-0.1, 0.1, "relative growth per year of plan starts and at-risk referrals", "free",
                                          prior=(-0.03, 0.05, "referrals -0.4%/yr and plans +1%/yr 2014-2020 (A): near zero"))
    uasc_entries_per_year: float = free(0.0, 1e4, "unaccompanied asylum-seeking children entering care per year, 2015", "free; 5,080 UASC in care 2020 (B)",
                                        prior=(1_000, 5_000, "no 2015 figure; 5,080 in care in 2020 (B)"))
    uasc_trend_per_year: float = free(-0.2, 0.3, "relative growth per year of UASC arrivals", "free",
                                      prior=(-0.1, 0.25, "arrivals rose after 2015: wide"))
    sibling_share_2: float = fixed(0.27, 0.0, 1.0, "share of referred families with two children", "assumption",
                                   prior=(0.18, 0.36, "assumption: a third either way"))
    sibling_share_3: float = fixed(0.12, 0.0, 1.0, "share of referred families with three children", "assumption",
                                   prior=(0.08, 0.16, "assumption: a third either way"))
    sibling_share_4: float = fixed(0.06, 0.0, 1.0, "share of referred families with four children", "assumption",
                                   prior=(0.03, 0.09, "assumption: half either way"))
    high_need_share: float = fixed(0.2, 0.0, 1.0, "share of referred children with high needs (complex needs, disability, harm)", "assumption",
                                   prior=(0.1, 0.3, "assumption: half either way"))
    domestic_abuse_share: float = fixed(0.5, 0.0, 1.0, "share of referred families where domestic abuse is a factor", "assumption, DfE CIN factors at assessment",
                                        prior=(0.4, 0.6, "DfE CIN factors: the most common factor at assessment; +-0.1"))
    substance_misuse_share: float = fixed(0.3, 0.0, 1.0, "share of referred families where drug or alcohol misuse is a factor", "assumption, DfE CIN factors",
                                          prior=(0.2, 0.4, "DfE CIN factors; +-0.1"))
    mental_health_share: float = fixed(0.4, 0.0, 1.0, "share of referred families where parental mental health is a factor", "assumption, DfE CIN factors",
                                       prior=(0.3, 0.5, "DfE CIN factors; +-0.1"))
    risk_factor_multiplier: float = fixed(1.3, 1.0, 3.0, "care-entry hazard multiplier per family risk factor present", "assumption",
                                          prior=(1.1, 1.6, "assumption"))
    high_need_multiplier: float = fixed(2.0, 1.0, 5.0, "care-entry hazard multiplier for a high-need child", "assumption",
                                        prior=(1.4, 3.0, "assumption"))

    # --- child protection and children in need at home ---
    cp_plan_end_rate_per_year: float = free(0.2, 4.0, "hazard that a plan ends (child stays home, case steps down)", "free; plan stock 48,300 (2014), 51,510 (2020)",
                                            prior=(0.4, 2.0, "plan stock / starts ~ 0.8 years (A); plans also end by care entry"))
    at_risk_closure_rate_per_year: float = free(0.1, 6.0, "hazard that an at-risk child-in-need case closes", "free",
                                                prior=(0.5, 4.0, "no published figure: cases last 3 months to 2 years"))
    at_risk_escalation_rate_per_year: float = fixed(0.2, 0.0, 2.0, "hazard that an at-risk child is put on a plan", "assumption",
                                                    prior=(0.1, 0.4, "assumption: half to double"))
    care_entry_rate_cp_per_year: float = free(0.0, 2.0, "care-entry hazard of a family on a plan, no risk factors, average need", "free; entries 30,430 (2014), 30,970 (2020)",
                                              prior=(0.05, 0.5, "entries ~31,000 a year against ~50,000 plans (A)"))
    care_entry_rate_at_risk_per_year: float = free(0.0, 2.0, "care-entry hazard of an at-risk family not on a plan", "free",
                                                   prior=(0.05, 0.8, "no published figure: wide"))
    infant_entry_multiplier: float = fixed(3.0, 0.0, 5.0, "care-entry hazard multiplier for a child under 1", "assumption",
                                           prior=(2.0, 4.5, "assumption: infants enter care most often"))

    # --- edge-of-care support (front edge) ---
    edge_capacity_families: float = fixed(3000.0, 0.0, 1e5, "families that baseline edge-of-care services can support at once", "assumption; no national figure",
                                          prior=(1500.0, 6000.0, "no national figure: half to double"))
    edge_support_months: float = fixed(6.0, 1.0, 24.0, "length of an episode of edge-of-care support", "assumption (typical 3-6 month programmes)",
                                       prior=(3.0, 12.0, "3-6 month programmes; evidence.md: FGC effects measured at a year"))
    edge_weekly_cost_gbp: float = fixed(250.0, 0.0, 5000.0, "cost of edge-of-care support per family per week, 2020 prices",
                                        "assumption, range 150-500 (about GBP 6,500 per 6-month episode of intensive family support or family group conferencing with follow-up); no unit cost in ../shared/evidence.md",
                                        prior=(150.0, 500.0, "assumption: GBP 4,000-13,000 per episode of intensive support"))
    edge_hazard_threshold_multiple: float = fixed(2.0, 1.0, 20.0, "a family is at the edge of care when it is on a plan and its care-entry hazard is at least this multiple of the plan base rate",
                                                  "assumption (pre-proceedings: on a plan and high need, an infant, or all three parental risks), range 1.5-3",
                                                  prior=(1.5, 3.0, "assumption: pre-proceedings families are the highest-risk families on plans"))
    edge_support_relative_risk: float = fixed(0.81, 0.0, 1.0, "relative risk of care entry for a family reached by edge-of-care support (children under 11)",
                                              "evidence.md: FGC trial (Taylor et al. 2024), in care at 12 months 36.2% vs 44.8%, RR ~0.81; prior 0.7-0.95",
                                              prior=(0.7, 0.95, "evidence.md: FGC trial RR ~0.81 for the families reached"))
    edge_effect_months: float = fixed(12.0, 1.0, 60.0, "months from the start of support during which it lowers the entry hazard; none after",
                                      "evidence.md: the FGC effect is measured at 12 months; assumption that it fades after (range 6-24)",
                                      prior=(6.0, 24.0, "evidence.md: measured at 12 months; assumption"))
    edge_adolescent_effect_multiplier: float = fixed(0.0, 0.0, 1.0, "share of the support's effect that reaches a child aged 11+",
                                                     "evidence.md: MST trial (START, Fonagy et al. 2018), no effect on placement for 11-17s (OR 1.25, 0.77-2.05); prior 0-0.5",
                                                     prior=(0.0, 0.5, "evidence.md: MST trial null for adolescents"))

    # --- social workers ---
    social_workers_fte_2020: float = fixed(31900.0, 1e3, 1e5, "children-and-family social workers (FTE) at 30 September 2020", "C, DfE workforce: ~31,900",
                                           prior=(31000.0, 32800.0, "evidence.md: ~31,900 (C); +-3%"))
    social_workers_growth_per_year: float = fixed(0.0188, -0.1, 0.1, "relative growth per year of the FTE workforce", "C, 31,900 (2020) to 32,500 (2021)",
                                                  prior=(0.0, 0.04, "evidence.md: FTE +3.6% a year 2016-2020, +1.9% 2020-21"))
    vacancy_rate: float = fixed(0.163, 0.0, 0.9, "share of social-work posts not filled by an employee", "A/C, DfE workforce: vacancy rate about 16.3% (2019), 16.7% (2021); drivers.csv 20.0% (2022), 18.9% (2023)",
                                prior=(0.14, 0.20, "evidence.md/drivers.csv: 16.3% (2019) to 20.0% (2022)"))
    agency_cover_of_vacancies: float = fixed(0.97, 0.0, 1.0, "share of vacant posts covered by agency social workers (FTE)", "C, DfE workforce 2019: agency 5,800 FTE / (30,700 x 0.163 / 0.837 = 5,980 vacancies)",
                                             prior=(0.85, 1.0, "C, 5,800 agency FTE against ~5,980 vacancies (2019)"))
    case_holding_share: float = fixed(0.63, 0.05, 1.0, "share of employed and agency FTE who hold cases", "C, children in need 389,260 (2020, A) / caseload 16.3 (2020, A) = 23,880 case holders, of 31,900 employed + 6,030 agency FTE",
                                      prior=(0.58, 0.68, "C, derived: 23,880 case holders of ~37,900 FTE; +-8%"))
    other_cin_cases_2020: float = fixed(229000.0, 0.0, 1e6, "children in need not simulated as agents (no plan, not at risk of care, not in care), 31 March 2020", "C, 389,260 children in need (2020, A) less the ~160,000 the model simulates then",
                                        prior=(210000.0, 250000.0, "C, derived from the 389,260 children in need (A); +-9%"))
    other_cin_trend_per_year: float = fixed(-0.0042, -0.1, 0.1, "relative growth per year of that stock", "A, children in need 397,600 (2015) to 389,260 (2020): -0.42% a year",
                                            prior=(-0.01, 0.01, "A, -0.42% a year 2015-2020; drivers.csv 388,490 (2021) to 399,460 (2024)"))
    weekly_hours: float = fixed(37.0, 1.0, 60.0, "contracted weekly hours of a full-time social worker", "targets.md: 37")
    direct_share: float = fixed(0.68, 0.0, 1.0, "share of a case-holding worker's hours spent directly with children and families", "C, R9: ~600,000 direct hours a week / (23,880 case-holding FTE x 37)",
                                prior=(0.55, 0.75, "C, derived from R9's direct hours, -0.13 to +0.07: above 0.75 the practitioner_time lever's prior (up to +30% direct time) would need more than every hour"))
    direct_time_elasticity: float = fixed(0.5, 0.0, 2.0, "elasticity of the time-dependent effects (support keeping a family together, a return home) to direct hours per case", "assumption: no published estimate; 0.5 = diminishing returns",
                                          prior=(0.0, 1.0, "assumption: none to proportional"))
    reference_caseload: float = fixed(16.3, 1.0, 60.0, "caseload at which the time effect is 1 (the calibration's reference)", "A, DfE workforce: 16.3 (2020), the caseload the hazards were fitted at",
                                      prior=(15.5, 17.5, "evidence.md: 17.4 (2018) to 16.3 (2020)"))
    social_worker_annual_cost_gbp: float = fixed(55000.0, 0.0, 2e5, "cost of one FTE social worker per year incl. on-costs, 2020 prices", "assumption",
                                                 prior=(45000.0, 65000.0, "assumption: salary about GBP 40k plus on-costs"))

    # --- placement in care ---
    kinship_share_at_entry: float = free(0.0, 1.0, "chance that a family-based entrant is placed with relatives or friends", "free; C, 10,450 of 56,160 fostered children in 2019 (B)",
                                         prior=(0.12, 0.45, "18.6% of fostered children with relatives (2019, C); kinship leaves faster (SGO)"))
    residential_need_rate: float = free(0.0, 1.0, "chance that a high-need entrant aged 11+ needs a children's home, 2015", "free; 2019 mix 12% residential (B)",
                                        prior=(0.1, 0.8, "12% of children in care in residential settings (2019, B)"))
    residential_need_trend_per_year: float = free(-0.2, 0.3, "relative growth per year of that chance (placement-mix drift)", "free",
                                                  prior=(-0.05, 0.15, "placement-mix drift towards residential: wide"))
    semi_independent_share_16plus: float = fixed(0.35, 0.0, 1.0, "chance that an entrant aged 16-17 goes to semi-independent accommodation", "assumption",
                                                 prior=(0.2, 0.5, "assumption"))
    in_house_preference: float = fixed(0.64, 0.0, 1.0, "chance that a child goes in-house when both in-house and agency places are free", "C, 64% in-house / 36% agency (B)",
                                       prior=(0.55, 0.72, "C, 64% in-house (B): a few points either way"))
    la_home_preference: float = fixed(0.9, 0.0, 1.0, "chance that a child needing a home goes to an LA home when one has a place", "assumption",
                                      prior=(0.7, 1.0, "assumption"))
    foster_breakdown_rate_per_year: float = fixed(0.12, 0.0, 2.0, "hazard that a foster placement ends unplanned (a move)", "assumption",
                                                  prior=(0.08, 0.18, "evidence.md: >6,000 unplanned endings (2017-18) for ~53,000 fostered: ~0.11 a year"))
    breakdown_to_residential_share: float = fixed(0.25, 0.0, 1.0, "share of breakdowns of children aged 11+ that need a children's home", "assumption",
                                                  prior=(0.1, 0.4, "assumption"))
    step_down_rate_per_year: float = fixed(0.08, 0.0, 2.0, "hazard that a child in a children's home steps down to foster care, if a place is free", "assumption",
                                           prior=(0.04, 0.16, "assumption: half to double"))
    to_semi_independent_rate_per_year: float = fixed(0.3, 0.0, 2.0, "hazard that a 16-17 year old moves from a home to semi-independent living", "assumption",
                                                     prior=(0.15, 0.6, "assumption: half to double"))
    placed_with_parents_rate_per_year: float = free(0.0, 1.0, "hazard that a fostered child on a care order is placed with parents", "free; 7% of stock in 2019 (B)",
                                                    prior=(0.01, 0.12, "7% of children in care placed with parents (2019, B)"))
    placement_order_rate_per_year: float = free(0.0, 3.0, "hazard that a non-kin fostered child under 5, 6+ months in care, gets a placement order, 2015", "free; adoptions 5,360 (2015), 3,440 (2020)",
                                                prior=(0.2, 1.6, "adoptions 5,360 a year (2015, A): wide"))
    placement_order_trend_per_year: float = free(-0.4, 0.1, "relative change per year of that hazard (fewer placement-order decisions after the Re B-S judgments, 2013)", "free",
                                                 prior=(-0.25, 0.02, "adoptions 5,360 (2015) to 3,440 (2020): -8.5% a year (A); the decisions fell first"))
    placement_order_backlog_2015: float = free(0.5, 6.0, "odds of a young fostered child holding a placement order in the 2015 stock, relative to the steady state of the 2015 pipeline hazards", "free; adoptions 5,360 (2015, A)",
                                               prior=(1.0, 3.0, "assumption: orders made at the 2013 peak, before Re B-S, still waiting in 2015"))
    placed_for_adoption_rate_per_year: float = free(0.0, 6.0, "hazard that a fostered child with a placement order is placed for adoption (the wait for a match)", "free; placed-for-adoption stock 3% (2019, B)",
                                                    prior=(0.5, 3.0, "assumption: a match in 4-24 months"))
    adoption_order_rate_per_year: float = free(0.0, 6.0, "hazard that a placement for adoption ends in an adoption order", "free; assumption about 9 months; adoptions vs placed-for-adoption stock",
                                               prior=(0.8, 2.5, "placed-for-adoption stock 2,190 vs ~3,500 adoptions a year (2019, B/A)"))

    # --- foster and residential supply ---
    places_per_foster_household: float = fixed(1.75, 1.0, 3.0, "mean places a fostering household is approved for and can use (1, 2 or 3)", "C, derived: ~1.2 children per household (53,000 / 43,475, Ofsted 2017-18) with 62-67% of places filled (Ofsted 2019-20) gives ~1.9 approved places; a few are not usable (assumption)",
                                               prior=(1.5, 2.0, "C, derived from Ofsted's children per household and share of places filled"))
    foster_vacancy_2015: float = free(0.0, 0.5, "share of in-house and agency foster places free at 31 March 2015", "free",
                                      prior=(0.2, 0.45, "evidence.md: 62-67% of fostering places filled (Ofsted 2019-20)"))
    foster_recruitment_rate_per_year: float = free(0.0, 0.5, "new fostering households recruited per year, relative to the households at the start (a recruitment capacity)", "free; households 44,450 (2019), carers -15% 2020-2024 (A)",
                                                   prior=(0.05, 0.25, "no published figure: households turn over in 4-20 years"))
    foster_recruitment_from_2020: float = free(0.0, 2.0, "recruitment capacity of fostering households from April 2020, relative to before (a step, both kinds)", "free; assumption: the stock was flat to 2019-20 (evidence.md: 43,475 households in 2018, 1% fewer than a year before; 44,450 in 2019; +100 net in 2019-20) and approved carers fell 15% from 2020 to 2024 (A); the sources give no recruitment figure",
                                               prior=(0.4, 1.1, "assumption: from a halving of approvals (assessments and panels disrupted from 2020) to no change"))
    foster_attrition_rate_per_year: float = free(0.0, 0.5, "hazard that a fostering household stops fostering, with a child placed or not (carers of the 2020 age mix; times the age band's multiplier)", "free; evidence.md: 65% of carers over 50, 25% over 60 (retirement-driven)",
                                                 prior=(0.05, 0.25, "approved carers -15% 2020-2024 (A): attrition above recruitment"))
    places_per_home: float = fixed(4.0, 1.0, 20.0, "places in a children's home", "assumption (Ofsted: about 4)",
                                   prior=(3.0, 5.0, "Ofsted: about 4 places"))
    la_share_of_homes: float = fixed(0.25, 0.0, 1.0, "share of children's home places run by local authorities, 2015", "assumption",
                                     prior=(0.15, 0.35, "assumption"))
    home_vacancy_2015: float = fixed(0.15, 0.0, 0.5, "share of children's home places free at 31 March 2015", "assumption",
                                     prior=(0.08, 0.25, "assumption"))
    la_home_capacity_lag_months: float = fixed(24.0, 1.0, 240.0, "mean lag (months) with which local-authority children's home places follow their share of demand", "assumption: planning, building and Ofsted registration of a home take one to four years",
                                               prior=(12.0, 48.0, "assumption: one to four years"))
    agency_response_households_per_child: float = fixed(1.0, 0.0, 3.0, "fostering households independent agencies recruit, over the next year, for each child a year who found no foster place and went to a children's home", "assumption: agencies are businesses that grow with unmet demand (Ofsted 2019-20: agencies gained 330 households while local-authority services lost 230; CMA 2022)",
                                                        prior=(0.5, 2.0, "assumption: half to double; 0 let a foster shortage switch all overflow to residential at once (2025 residential p05-p95 12,900-32,400 over posterior draws at scale 0.1, against 10,800-17,100 at 1)"))
    home_closure_rate_per_year: float = fixed(0.5, 0.0, 2.0, "hazard that an empty private children's home closes", "assumption",
                                              prior=(0.25, 1.0, "assumption: half to double"))
    carer_under_50_attrition_multiplier: float = fixed(0.55, 0.0, 5.0, "multiplier on household attrition when the carers are under 50", "assumption: direction from Ofsted 2019-20 (younger carers fill more of their places); mean 1 over the 2020 age mix",
                                                      prior=(0.4, 0.8, "assumption: younger carers leave less"))
    carer_50_59_attrition_multiplier: float = fixed(0.95, 0.0, 5.0, "multiplier on household attrition when the carers are 50-59", "assumption; mean 1 over the 2020 age mix",
                                                    prior=(0.8, 1.1, "assumption"))
    carer_60_plus_attrition_multiplier: float = fixed(1.7, 0.0, 5.0, "multiplier on household attrition when the carers are 60 or over (retirement)", "assumption: retirement; evidence.md: 25% of carers over 60 (Ofsted 2019-20)",
                                                      prior=(1.3, 2.5, "assumption: retirement-driven attrition"))
    carer_band_ageing_rate_per_year: float = fixed(0.1, 0.0, 1.0, "hazard that a household's carers move up an age band (under 50 -> 50-59 -> 60+)", "assumption: a decade a band",
                                                   prior=(0.07, 0.14, "assumption: 7-14 years a band"))

    # --- leaving care ---
    return_home_rate_per_year: float = free(0.0, 2.0, "hazard of returning home after the first 6 months in care, 2015", "free; returned home 31% of leavers (2018, B)",
                                            prior=(0.04, 0.4, "31% of leavers return home (2018, B)"))
    return_home_early_multiplier: float = fixed(5.0, 1.0, 20.0, "multiplier on that hazard in the first 6 months of an episode", "assumption",
                                                prior=(2.5, 10.0, "assumption: half to double"))
    exit_trend_per_year: float = free(-0.2, 0.1, "relative change per year of return-home, guardianship and other exits", "free; exits 30,430 (2014), 29,590 (2020)",
                                      prior=(-0.1, 0.05, "exits 30,430 (2014) to 29,590 (2020) (A)"))
    special_guardianship_rate_per_year: float = free(0.0, 1.0, "hazard of a special guardianship order for a fostered child under 16, 6+ months in care", "free; ~13% of leavers (2019, C)",
                                                     prior=(0.005, 0.12, "about 13% of leavers (2019, C)"))
    kinship_guardianship_multiplier: float = fixed(6.0, 1.0, 20.0, "multiplier on that hazard when placed with relatives or friends", "assumption",
                                                   prior=(3.0, 12.0, "assumption: half to double"))
    left_16_17_rate_per_year: float = fixed(0.1, 0.0, 2.0, "hazard that a 16-17 year old leaves care before 18 (independent living, other)", "assumption",
                                            prior=(0.05, 0.2, "assumption: half to double"))
    independent_living_rate_per_year: float = free(0.0, 2.0, "hazard that a 16-17 year old in foster care or semi-independent living moves to independent living (State.OTHER_PLACEMENT)", "free; independent living 4% of children in care (3,400, 2019, B)",
                                                   prior=(0.05, 0.8, "C: 3,400 in independent living (2019, B) for some 10 months (to 18 or leaving at 16-17) need about 4,000 moves a year, from the 16+ (23% of children in care, A) in families and semi-independence"))
    placed_with_parents_discharge_rate_per_year: float = fixed(0.25, 0.0, 3.0, "hazard that a care order for a child placed with parents is discharged", "assumption",
                                                               prior=(0.125, 0.5, "assumption: half to double"))
    reentry_rate_first_year_per_year: float = fixed(0.223, 0.0, 5.0, "re-entry hazard of a child in the first 12 months after going home",
                                                    "evidence.md: about one in five back in care within a year (Goldacre et al. 2022): -ln(0.8) = 0.223",
                                                    prior=(0.16, 0.29, "evidence.md: 15-25% back within a year"))
    reentry_rate_later_per_year: float = fixed(0.0415, 0.0, 2.0, "re-entry hazard from 12 months after going home to the horizon",
                                               "evidence.md: 30% within five years (DfE 2006-07 cohort), over a third within six (Goldacre et al. 2022): S(72 months) = 0.8 x exp(-5 x 0.0415) = 0.65",
                                               prior=(0.025, 0.06, "evidence.md: 30-40% back within five to six years"))
    reentry_horizon_months: float = fixed(72.0, 12.0, 216.0, "months after going home beyond which the model assumes no re-entry (the child stops being an agent)",
                                          "assumption: the evidence ends at six years (Goldacre et al. 2022); 216 keeps every child until 18",
                                          prior=(60.0, 120.0, "assumption: the evidence covers six years"))
    monitoring_months: float = fixed(24.0, 1.0, 120.0, "months a returned-home child stays on a social worker's caseload", "assumption",
                                     prior=(12.0, 48.0, "assumption: half to double"))
    reunifiable_share: float = fixed(0.34, 0.0, 1.0, "share of children in care whose return home was not properly explored", "D, R11: up to 34% (an upper bound of a reviewed population)",
                                     prior=(0.1, 0.34, "evidence.md: R11's 34% is a maximum"))
    return_appropriate_share: float = fixed(0.5, 0.0, 1.0, "of those, the share for whom an assessment finds a return home appropriate",
                                            "assumption, prior 0.25-0.75: evidence.md, 'not properly explored' is not 'would return home safely'; Farmer 2014: 27% of returns unplanned",
                                            prior=(0.25, 0.75, "assumption: not explored is not would return safely"))
    reunification_support_months: float = fixed(9.0, 1.0, 36.0, "length of an episode of reunification support (assessment, return, support at home)",
                                                 "assumption, range 6-12 (reunification programmes run over months, evidence.md: Farmer 2014, SCIE briefing 42)",
                                                 prior=(6.0, 12.0, "assumption: reunification programmes run over months"))
    reunification_weekly_cost_gbp: float = fixed(250.0, 0.0, 5000.0, "cost of reunification support per child per week, 2020 prices",
                                                 "assumption, range 150-500: as edge-of-care support (no unit cost in ../shared/evidence.md)",
                                                 prior=(150.0, 500.0, "assumption, as edge-of-care support"))

    # --- initial stock at 31 March 2015 ---
    children_in_care_2015: float = fixed(69540.0, 1e4, 2e5, "children looked after at 31 March 2015", "A, DfE SFR 34/2015: 69,540")
    foster_share_2015: float = fixed(0.7485, 0.0, 1.0, "share of them in foster placements", "A, SFR 34/2015: 52,050 (75%)")
    residential_share_2015: float = fixed(0.107, 0.0, 1.0, "share in children's homes, semi-independent and secure", "C, 2019 mix (B) scaled to the 25% not fostered",
                                          prior=(0.09, 0.12, "C, 2019 mix scaled: about +-15%"))
    semi_independent_share_of_residential: float = fixed(0.25, 0.0, 1.0, "share of those in semi-independent living", "assumption",
                                                         prior=(0.15, 0.35, "assumption"))
    placed_with_parents_share_2015: float = fixed(0.0625, 0.0, 1.0, "share placed with parents", "C, 2019 mix scaled",
                                                  prior=(0.05, 0.07, "C, 2019 mix scaled"))
    placed_for_adoption_share_2015: float = free(0.0, 1.0, "share placed for adoption", "free; C, 2019 mix scaled; adoptions 5,360 (2015, A)",
                                                 prior=(0.02, 0.06, "2015 stock unknown; 5,360 adoptions in 2014-15 (A) need more than 2019's 3%"))
    section_20_share_2015: float = fixed(0.28, 0.0, 1.0, "share of entrants accommodated under section 20, 2015", "B, section 20 peaked at 28%",
                                         prior=(0.25, 0.31, "B, the 28% peak: +-3 points"))
    section_20_share_2020: float = fixed(0.17, 0.0, 1.0, "share of entrants accommodated under section 20, 2020 and after", "A, 17% in 2020",
                                         prior=(0.16, 0.18, "A, 17%: rounding"))

    # --- money (weekly unit costs at 2020 prices, growing at a rate per year) ---
    kinship_weekly_cost_gbp: float = fixed(250.0, 0.0, 5e3, "kinship foster placement", "assumption (allowances and support)",
                                           prior=(150.0, 400.0, "assumption"))
    in_house_foster_weekly_cost_gbp: float = fixed(650.0, 0.0, 5e3, "in-house foster placement", "B, DfE written answer ~600 (c.2016), grown to 2020",
                                                   prior=(550.0, 750.0, "B, ~600 (c.2016) grown: +-15%"))
    agency_foster_weekly_cost_gbp: float = fixed(820.0, 0.0, 5e3, "independent fostering agency placement", "B, CMA 2021: ~820 (2020-21)",
                                                 prior=(750.0, 900.0, "B, CMA 2021 ~820: +-10%"))
    la_home_weekly_cost_gbp: float = fixed(3800.0, 0.0, 2e4, "local-authority children's home place", "B, DfE written answer ~3,000 (c.2016), grown to 2020",
                                           prior=(3200.0, 4400.0, "B, ~3,000 (c.2016) grown: +-15%"))
    private_home_weekly_cost_gbp: float = fixed(3830.0, 0.0, 2e4, "private children's home place", "B, CMA 2021: 3,830 (2020-21)",
                                                prior=(3450.0, 4200.0, "B, CMA 2021 3,830: +-10%"))
    semi_independent_weekly_cost_gbp: float = fixed(1000.0, 0.0, 1e4, "semi-independent or supported accommodation", "assumption",
                                                    prior=(600.0, 1500.0, "assumption"))
    other_placement_weekly_cost_gbp: float = fixed(150.0, 0.0, 5e3, "placed with parents, for adoption, other", "assumption",
                                                   prior=(50.0, 300.0, "assumption"))
    care_overhead_weekly_cost_gbp: float = free(0.0, 5e3, "per child in care: social work, legal, reviews, leaving-care support", "free; spend ~GBP 5.3bn in 2020 (C)",
                                                prior=(150.0, 1000.0, "spend ~GBP 5.3bn in 2020 (C) less placement costs"))
    care_overhead_fixed_share: float = fixed(0.5, 0.0, 1.0, "share of the overhead per child, at the 2020 stock, that is fixed: social-work teams, legal and management that do not shrink within the horizon when a child leaves care (constant in real terms)", "assumption (no national split published)",
                                             prior=(0.3, 0.7, "assumption: no national split published"))
    overhead_reference_children: float = fixed(80080.0, 1e4, 2e5, "children in care at which the overhead is split into fixed and variable parts (31 March 2020)", "A, DfE: 80,080 (2020)",
                                              prior=(78000.0, 82000.0, "A, 80,080: the 2015-2020 stocks are close"))
    carer_recruitment_cost_gbp: float = fixed(8000.0, 0.0, 1e5, "cost of recruiting and approving one extra fostering household, 2020 prices (lever-bought recruitment only)", "assumption (assessment, training, panel, marketing)",
                                              prior=(4000.0, 15000.0, "assumption: assessment, training, panel, marketing"))
    carer_support_weekly_cost_gbp: float = fixed(15.0, 0.0, 1e3, "cost per fostering household per week of the extra retention support a lever buys (support networks, respite), 2020 prices", "assumption (Mockingbird-style hub: ~GBP 800 a household a year)",
                                                 prior=(5.0, 40.0, "assumption: Mockingbird-style hub about GBP 800 a household a year"))
    residential_cost_growth_per_year: float = fixed(0.061, -0.05, 0.2, "growth per year of residential unit costs", "C, residential 2,915 (2014) to 4,165 (2020) (D): 6.1%",
                                                    prior=(0.04, 0.08, "C, 6.1% a year 2014-2020 (D): +-2 points"))
    family_cost_growth_per_year: float = fixed(0.02, -0.05, 0.2, "growth per year of foster, other and overhead unit costs", "assumption (pay and prices)",
                                               prior=(0.01, 0.035, "assumption: pay and prices"))
    cost_dispersion: float = fixed(0.2, 0.0, 1.0, "standard deviation of a provider's log price around its type's mean", "assumption",
                                   prior=(0.1, 0.35, "assumption"))

    def __post_init__(self):
        self.check(vars(self))

    @classmethod
    def check(cls, values: dict, names=None) -> None:
        """Raise ParameterError unless `values` (every parameter by name) are valid: each of `names`
        (default: all) a finite number within its hard range, and the shares that must not pass 1.
        A posterior draw is checked for its drawn names only (the others are the point's, checked)."""
        ranges = _RANGES.get(cls) or _RANGES.setdefault(
            cls, {f.name: (f.metadata["lo"], f.metadata["hi"]) for f in dataclasses.fields(cls)})
        for name in ranges if names is None else names:
            value = values[name]
            lo, hi = ranges[name]
            if finite_number(value) is None:
                raise ParameterError(f"parameter {name}: value {value!r} is not a finite number")
            if not lo <= value <= hi:
                raise ParameterError(f"parameter {name}: value {value} is outside [{lo}, {hi}]")
        siblings = values["sibling_share_2"] + values["sibling_share_3"] + values["sibling_share_4"]
        if siblings > 1:
            raise ParameterError(f"parameters sibling_share_2..4: sum {siblings:.3f} is above 1")
        shares = (values["foster_share_2015"] + values["residential_share_2015"]
                  + values["placed_with_parents_share_2015"] + values["placed_for_adoption_share_2015"])
        if shares > 1:
            raise ParameterError(f"parameters *_share_2015: placement shares sum to {shares:.3f}, above 1")

    # ------------------------------------------------------------------ helpers
    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def free_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.metadata["free"]]

    @classmethod
    def fixed_values(cls) -> dict[str, float]:
        """The value of every fixed parameter, as written in this module."""
        return {f.name: f.default for f in dataclasses.fields(cls) if not f.metadata["free"]}

    @classmethod
    def meta(cls, name: str) -> dict:
        return dict(next(f for f in dataclasses.fields(cls) if f.name == name).metadata)

    @classmethod
    def uncertain_names(cls) -> list[str]:
        """Every parameter with a prior range: the free ones and the fixed ones that are not pure data."""
        return [f.name for f in dataclasses.fields(cls) if f.metadata.get("prior") is not None]

    @classmethod
    def prior_range(cls, name: str) -> tuple[float, float]:
        """The prior range of a parameter (inside its hard range): for a free one, where calibration
        fits it; for a fixed one, its uncertainty, which sensitivity analysis samples."""
        meta = cls.meta(name)
        if meta.get("prior") is None:
            raise ParameterError(f"parameter {name}: no prior range (a fixed figure taken as pure data)")
        lo, hi = meta["prior"][:2]
        return max(lo, meta["lo"]), min(hi, meta["hi"])

    def to_dict(self) -> dict[str, float]:
        return {n: getattr(self, n) for n in self.names()}

    def replace(self, **changes) -> "Params":
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            raise ParameterError(f"unknown parameter {unknown[0]!r}")
        return dataclasses.replace(self, **changes)


# Ages (in years) of children referred at risk of care: assumption (most infants are referred at or
# before birth), set so that the stock of children in care keeps the 2021 age mix (A: <1 5%, 1-4 14%, 5-9 19%, 10-15 39%, 16+ 23%).
REFERRAL_AGE_BANDS = ((0, 0.5, 0.17), (0.5, 5, 0.13), (5, 10, 0.17), (10, 16, 0.37), (16, 18, 0.16))
# Age mix of children in care at 31 March (A, DfE 2021, stable over the period): the initial stock.
CARE_AGE_BANDS = ((0, 1, 0.05), (1, 5, 0.14), (5, 10, 0.19), (10, 16, 0.39), (16, 18, 0.23))


def monthly_probability(rate_per_year, months: float = 1.0):
    """Probability of at least one event in `months` for a Poisson hazard `rate_per_year`."""
    return -np.expm1(-np.asarray(rate_per_year, dtype=float) * months / 12.0)
