"""Every parameter of the model, in one place, with its unit, range and source.

`Params` is a frozen dataclass. Each field's metadata carries a one-line meaning, the
inclusive range a value must lie in, the source (targets.md grade, or "assumption") and
whether calibration treats it as free. Values live in a parameter file
(`calibration/params/default.toml`), which `caresim calibrate` regenerates; the model loads
that file by default, and the loader refuses a file with a missing, unknown or out-of-range
value. Rates are per year and turned into monthly probabilities by `monthly_probability`.
"""
from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np


class ParameterError(ValueError):
    """A parameter file or value that the model cannot use; the message is one line."""


def p(lo: float, hi: float, doc: str, source: str = "assumption", free: bool = False):
    """A parameter field: no default (every value comes from the file), metadata for checks."""
    return field(metadata={"lo": lo, "hi": hi, "doc": doc, "source": source, "free": free})


@dataclass(frozen=True)
class Params:
    """The model's parameters. Times are years since 31 March 2015 unless a name says otherwise."""

    # --- front door: referrals of children at risk (the wider child-in-need pool is aggregate) ---
    cp_starts_per_year: float = p(0.0, 1.5e5, "children starting a child protection plan per year, 2015", "B, DfE: 62,200 started in 2014-15", free=True)
    at_risk_referrals_per_year: float = p(0.0, 2e5, "children assessed at risk of care, not on a plan, per year, 2015", "free; no published figure", free=True)
    referral_trend_per_year: float = p(-0.1, 0.1, "relative growth per year of plan starts and at-risk referrals", "free", free=True)
    uasc_entries_per_year: float = p(0.0, 1e4, "unaccompanied asylum-seeking children entering care per year, 2015", "free; 5,080 UASC in care 2020 (B)", free=True)
    uasc_trend_per_year: float = p(-0.2, 0.3, "relative growth per year of UASC arrivals", "free", free=True)
    sibling_share_2: float = p(0.0, 1.0, "share of referred families with two children", "assumption")
    sibling_share_3: float = p(0.0, 1.0, "share of referred families with three children", "assumption")
    sibling_share_4: float = p(0.0, 1.0, "share of referred families with four children", "assumption")
    high_need_share: float = p(0.0, 1.0, "share of referred children with high needs (complex needs, disability, harm)", "assumption")
    domestic_abuse_share: float = p(0.0, 1.0, "share of referred families where domestic abuse is a factor", "assumption, DfE CIN factors at assessment")
    substance_misuse_share: float = p(0.0, 1.0, "share of referred families where drug or alcohol misuse is a factor", "assumption, DfE CIN factors")
    mental_health_share: float = p(0.0, 1.0, "share of referred families where parental mental health is a factor", "assumption, DfE CIN factors")
    risk_factor_multiplier: float = p(1.0, 3.0, "care-entry hazard multiplier per family risk factor present", "assumption")
    high_need_multiplier: float = p(1.0, 5.0, "care-entry hazard multiplier for a high-need child", "assumption")

    # --- child protection and children in need at home ---
    cp_plan_end_rate_per_year: float = p(0.2, 4.0, "hazard that a plan ends (child stays home, case steps down)", "free; plan stock 48,300 (2014), 51,510 (2020)", free=True)
    at_risk_closure_rate_per_year: float = p(0.1, 6.0, "hazard that an at-risk child-in-need case closes", "free", free=True)
    at_risk_escalation_rate_per_year: float = p(0.0, 2.0, "hazard that an at-risk child is put on a plan", "assumption")
    care_entry_rate_cp_per_year: float = p(0.0, 2.0, "care-entry hazard of a family on a plan, no risk factors, average need", "free; entries 30,430 (2014), 30,970 (2020)", free=True)
    care_entry_rate_at_risk_per_year: float = p(0.0, 2.0, "care-entry hazard of an at-risk family not on a plan", "free", free=True)
    infant_entry_multiplier: float = p(0.0, 5.0, "care-entry hazard multiplier for a child under 1", "assumption")

    # --- edge-of-care support (front edge) ---
    edge_capacity_families: float = p(0.0, 1e5, "families that baseline edge-of-care services can support at once", "assumption; no national figure")
    edge_support_months: float = p(1.0, 24.0, "length of an episode of edge-of-care support", "assumption (typical 3-6 month programmes)")
    edge_weekly_cost_gbp: float = p(0.0, 5000.0, "cost of edge-of-care support per family per week, 2020 prices", "assumption (intensive family support ~GBP 6,500 per 6-month episode)")
    avoidable_share: float = p(0.0, 1.0, "share of families whose child's entry could be avoided with the right support", "D, R10: up to 39% of entrants (case reviews)")
    edge_effectiveness: float = p(0.0, 1.0, "chance that support keeps an avoidable family together, at baseline worker time", "assumption")

    # --- social workers ---
    social_workers_fte_2020: float = p(1e3, 1e5, "children-and-family social workers (FTE) at 30 September 2020", "C, DfE workforce: ~31,900")
    social_workers_growth_per_year: float = p(-0.1, 0.1, "relative growth per year of the FTE workforce", "C, 31,900 (2020) to 32,500 (2021)")
    average_caseload: float = p(1.0, 60.0, "cases per FTE social worker (agents plus the wider child-in-need caseload)", "A, DfE workforce: 16.3 (2020 and 2021)")
    weekly_hours: float = p(1.0, 60.0, "contracted weekly hours of a full-time social worker", "targets.md: 37")
    direct_share: float = p(0.0, 1.0, "share of hours spent directly with children and families", "C, R9: ~600,000 direct hours a week / (FTE x 37)")
    half_effect_direct_hours: float = p(0.01, 20.0, "direct hours per case per week at which time-dependent effects are half their maximum", "assumption")
    social_worker_annual_cost_gbp: float = p(0.0, 2e5, "cost of one FTE social worker per year incl. on-costs, 2020 prices", "assumption")

    # --- placement in care ---
    kinship_share_at_entry: float = p(0.0, 1.0, "chance that a family-based entrant is placed with relatives or friends", "free; C, 10,450 of 56,160 fostered children in 2019 (B)", free=True)
    residential_need_rate: float = p(0.0, 1.0, "chance that a high-need entrant aged 11+ needs a children's home, 2015", "free; 2019 mix 12% residential (B)", free=True)
    residential_need_trend_per_year: float = p(-0.2, 0.3, "relative growth per year of that chance (placement-mix drift)", "free", free=True)
    semi_independent_share_16plus: float = p(0.0, 1.0, "chance that an entrant aged 16-17 goes to semi-independent accommodation", "assumption")
    in_house_preference: float = p(0.0, 1.0, "chance that a child goes in-house when both in-house and agency places are free", "C, 64% in-house / 36% agency (B)")
    la_home_preference: float = p(0.0, 1.0, "chance that a child needing a home goes to an LA home when one has a place", "assumption")
    foster_breakdown_rate_per_year: float = p(0.0, 2.0, "hazard that a foster placement ends unplanned (a move)", "assumption")
    breakdown_to_residential_share: float = p(0.0, 1.0, "share of breakdowns of children aged 11+ that need a children's home", "assumption")
    step_down_rate_per_year: float = p(0.0, 2.0, "hazard that a child in a children's home steps down to foster care, if a place is free", "assumption")
    to_semi_independent_rate_per_year: float = p(0.0, 2.0, "hazard that a 16-17 year old moves from a home to semi-independent living", "assumption")
    placed_with_parents_rate_per_year: float = p(0.0, 1.0, "hazard that a fostered child on a care order is placed with parents", "free; 7% of stock in 2019 (B)", free=True)
    placed_for_adoption_rate_per_year: float = p(0.0, 2.0, "hazard that a fostered child under 5, 6+ months in care, is placed for adoption, 2015", "free; adoptions 5,360 (2015), 3,440 (2020)", free=True)
    adoption_trend_per_year: float = p(-0.3, 0.1, "relative change per year of that hazard", "free", free=True)
    adoption_order_rate_per_year: float = p(0.0, 6.0, "hazard that a placement for adoption ends in an adoption order", "free; assumption about 9 months; adoptions vs placed-for-adoption stock", free=True)

    # --- foster and residential supply ---
    places_per_foster_household: float = p(1.0, 4.0, "usable places per fostering household", "C, ~55,000 children / 44,450 households (2019, A)")
    foster_vacancy_2015: float = p(0.0, 0.5, "share of in-house and agency foster places free at 31 March 2015", "free", free=True)
    foster_recruitment_rate_per_year: float = p(0.0, 0.5, "new fostering households per year, relative to households", "free; households 44,450 (2019), carers -15% 2020-2024 (A)", free=True)
    foster_attrition_rate_per_year: float = p(0.0, 0.5, "households leaving per year, relative to households (only free places go)", "free", free=True)
    places_per_home: float = p(1.0, 20.0, "places in a children's home", "assumption (Ofsted: about 4)")
    la_share_of_homes: float = p(0.0, 1.0, "share of children's home places run by local authorities, 2015", "assumption")
    home_vacancy_2015: float = p(0.0, 0.5, "share of children's home places free at 31 March 2015", "assumption")
    home_closure_rate_per_year: float = p(0.0, 2.0, "hazard that an empty private children's home closes", "assumption")

    # --- leaving care ---
    return_home_rate_per_year: float = p(0.0, 2.0, "hazard of returning home after the first 6 months in care, 2015", "free; returned home 31% of leavers (2018, B)", free=True)
    return_home_early_multiplier: float = p(1.0, 20.0, "multiplier on that hazard in the first 6 months of an episode", "assumption")
    exit_trend_per_year: float = p(-0.2, 0.1, "relative change per year of return-home, guardianship and other exits", "free; exits 30,430 (2014), 29,590 (2020)", free=True)
    special_guardianship_rate_per_year: float = p(0.0, 1.0, "hazard of a special guardianship order for a fostered child under 16, 6+ months in care", "free; ~13% of leavers (2019, C)", free=True)
    kinship_guardianship_multiplier: float = p(1.0, 20.0, "multiplier on that hazard when placed with relatives or friends", "assumption")
    left_16_17_rate_per_year: float = p(0.0, 2.0, "hazard that a 16-17 year old leaves care before 18 (independent living, other)", "assumption")
    placed_with_parents_discharge_rate_per_year: float = p(0.0, 3.0, "hazard that a care order for a child placed with parents is discharged", "assumption")
    reentry_rate_per_year: float = p(0.0, 2.0, "hazard that a child who returned home comes back into care", "assumption (about a third within 5 years)")
    monitoring_months: float = p(1.0, 120.0, "months a returned-home child stays known before the case closes", "assumption")
    reunifiable_share: float = p(0.0, 1.0, "share of children in care for whom a return home could safely be explored", "D, R11: up to 34%")

    # --- initial stock at 31 March 2015 ---
    children_in_care_2015: float = p(1e4, 2e5, "children looked after at 31 March 2015", "A, DfE SFR 34/2015: 69,540")
    foster_share_2015: float = p(0.0, 1.0, "share of them in foster placements", "A, SFR 34/2015: 52,050 (75%)")
    residential_share_2015: float = p(0.0, 1.0, "share in children's homes, semi-independent and secure", "C, 2019 mix (B) scaled to the 25% not fostered")
    semi_independent_share_of_residential: float = p(0.0, 1.0, "share of those in semi-independent living", "assumption")
    placed_with_parents_share_2015: float = p(0.0, 1.0, "share placed with parents", "C, 2019 mix scaled")
    placed_for_adoption_share_2015: float = p(0.0, 1.0, "share placed for adoption", "free; C, 2019 mix scaled; adoptions 5,360 (2015, A)", free=True)
    section_20_share_2015: float = p(0.0, 1.0, "share of entrants accommodated under section 20, 2015", "B, section 20 peaked at 28%")
    section_20_share_2020: float = p(0.0, 1.0, "share of entrants accommodated under section 20, 2020 and after", "A, 17% in 2020")

    # --- money (weekly unit costs at 2020 prices, growing at a rate per year) ---
    kinship_weekly_cost_gbp: float = p(0.0, 5e3, "kinship foster placement", "assumption (allowances and support)")
    in_house_foster_weekly_cost_gbp: float = p(0.0, 5e3, "in-house foster placement", "B, DfE written answer ~600 (c.2016), grown to 2020")
    agency_foster_weekly_cost_gbp: float = p(0.0, 5e3, "independent fostering agency placement", "B, CMA 2021: ~820 (2020-21)")
    la_home_weekly_cost_gbp: float = p(0.0, 2e4, "local-authority children's home place", "B, DfE written answer ~3,000 (c.2016), grown to 2020")
    private_home_weekly_cost_gbp: float = p(0.0, 2e4, "private children's home place", "B, CMA 2021: 3,830 (2020-21)")
    semi_independent_weekly_cost_gbp: float = p(0.0, 1e4, "semi-independent or supported accommodation", "assumption")
    other_placement_weekly_cost_gbp: float = p(0.0, 5e3, "placed with parents, for adoption, other", "assumption")
    care_overhead_weekly_cost_gbp: float = p(0.0, 5e3, "per child in care: social work, legal, reviews, leaving-care support", "free; spend ~GBP 5.3bn in 2020 (C)", free=True)
    residential_cost_growth_per_year: float = p(-0.05, 0.2, "growth per year of residential unit costs", "C, residential 2,915 (2014) to 4,165 (2020) (D): 6.1%")
    family_cost_growth_per_year: float = p(-0.05, 0.2, "growth per year of foster, other and overhead unit costs", "assumption (pay and prices)")
    cost_dispersion: float = p(0.0, 1.0, "standard deviation of a provider's log price around its type's mean", "assumption")

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            lo, hi = f.metadata["lo"], f.metadata["hi"]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ParameterError(f"parameter {f.name}: value {value!r} is not a number")
            if not lo <= value <= hi:
                raise ParameterError(f"parameter {f.name}: value {value} is outside [{lo}, {hi}]")
        siblings = self.sibling_share_2 + self.sibling_share_3 + self.sibling_share_4
        if siblings > 1:
            raise ParameterError(f"parameters sibling_share_2..4: sum {siblings:.3f} is above 1")
        shares = (self.foster_share_2015 + self.residential_share_2015 + self.placed_with_parents_share_2015
                  + self.placed_for_adoption_share_2015)
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
    def meta(cls, name: str) -> dict:
        return dict(next(f for f in dataclasses.fields(cls) if f.name == name).metadata)

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


DEFAULT_PARAMS_FILE = "default.toml"


def default_params_path() -> Path:
    """The shipped, calibrated parameter file that the model loads by default."""
    return Path(str(resources.files("calibration") / "params" / DEFAULT_PARAMS_FILE))


def read_params_file(path: str | Path) -> tuple[Params, dict]:
    """Load a parameter file: returns the parameters and the file's other tables (meta, intervals)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise ParameterError(f"{path}: parameter file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{path}: not valid TOML ({exc})") from None
    values = doc.get("parameters")
    if not isinstance(values, dict):
        raise ParameterError(f"{path}: no [parameters] table")
    names = Params.names()
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ParameterError(f"{path}: unknown parameter {unknown[0]!r} = {values[unknown[0]]!r}")
    missing = [n for n in names if n not in values]
    if missing:
        raise ParameterError(f"{path}: missing parameter {missing[0]!r}")
    try:
        params = Params(**{n: values[n] for n in names})
    except ParameterError as exc:
        raise ParameterError(f"{path}: {exc}") from None
    return params, {k: v for k, v in doc.items() if k != "parameters"}


def load_params(path: str | Path | None = None) -> Params:
    """The parameters in `path`, or the shipped calibrated defaults."""
    return read_params_file(path or default_params_path())[0]


class ParameterSet:
    """A calibrated parameter file: the point estimate and, if present, posterior draws.

    A file may carry a `[posterior]` table with `names` (free parameters) and `draws` (a list
    of value lists). Replication-level parameter uncertainty: `for_replication(seed)` picks a
    draw by the replication's seed (the same draw for every scenario with that seed, so
    scenario differences stay paired); without draws it returns the point estimate.
    """

    def __init__(self, point: Params, names: list[str] | None = None, draws: list[list[float]] | None = None,
                 meta: dict | None = None, source: str = ""):
        self.point = point
        self.names = list(names or [])
        self.draws = [list(d) for d in (draws or [])]
        self.meta = dict(meta or {})
        self.source = source
        unknown = [n for n in self.names if n not in Params.names()]
        if unknown:
            raise ParameterError(f"{source}: [posterior] names unknown parameter {unknown[0]!r}")
        for d in self.draws:
            if len(d) != len(self.names):
                raise ParameterError(f"{source}: [posterior] draw of length {len(d)} for {len(self.names)} names")

    @classmethod
    def load(cls, path: str | Path | None = None) -> "ParameterSet":
        path = Path(path) if path else default_params_path()
        point, extra = read_params_file(path)
        post = extra.get("posterior", {})
        return cls(point, post.get("names"), post.get("draws"), extra.get("meta"), str(path))

    def for_replication(self, seed: int, uncertainty: bool = True) -> Params:
        if not uncertainty or not self.draws:
            return self.point
        k = int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 7]).generate_state(1)[0]) % len(self.draws)
        try:
            return self.point.replace(**dict(zip(self.names, self.draws[k])))
        except ParameterError as exc:
            raise ParameterError(f"{self.source}: posterior draw {k}: {exc}") from None
