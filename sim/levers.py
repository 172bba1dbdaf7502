"""Policy levers: the report's pillars as interventions that change mechanisms, never outputs.

Each lever is a small object (Covasim/Starsim interventions): the constructor stores the
arguments exactly as the scenario file gave them, `init(model)` validates them against the
model, `apply(model)` sets fields of `model.policy` (sim/policy.py) at the start of each
month, and `to_dict()` gives back what the file said. The mechanisms that read those fields
are in sim/model.py; what the levers do is therefore only to change capacities, hazards and
time, and every output (children in care, residential use, spend) emerges from the model.

Every lever starts in a month (`start`, "YYYY-MM") and ramps up linearly over `ramp_months`
to full strength. Strengths come from the report's evidence where it gives one (targets.md
R7, R9, R10, R11); where it does not, the lever's default describes the *full opportunity* and
the scenario's single `share_realised` scales it (specs with `realised=True`). Each parameter
is described once, in `PARAMETERS`, for validation, the scenario loader and the dashboard.

The levers and their evidence:

* keeping_families_together - edge-of-care support for families at the edge of care: the lever
  raises support's relative cut of entry from the FGC trial's 0.19 towards R10's upper bound
  (39%), and may add places.
* supporting_children_home - reunification support episodes for children in care whose return
  home was not properly explored (R11, 34%: the model's `reunifiable_share`); an assessment
  finds a return appropriate for a share of them (`return_appropriate_share`).
* great_place_to_call_home - foster carer recruitment and retention.
* right_care - step-down from children's homes to family settings when a place frees.
* practitioner_time - less recording and fewer meetings: +25% direct time (R9).
* aligned_partnership_working - a faster multi-agency response: less escalation from an at-risk
  referral to a plan and to care (assumptions, prior 0-20%).
* locally_tailored_delivery - edge-of-care support focused on an age band or need.
* investment - GBP 205m a year of edge-of-care spending (R7). The money buys places at the
  model's weekly cost of support, so it appears once, in `spend_edge_of_care_gbp`, through
  the families actually supported.
"""
from __future__ import annotations

import math

from sim.costs import WEEKS_PER_MONTH
from sim.files import short_repr
from sim.policy import LeverError, ParamSpec, PolicyLever

WEEKS_PER_YEAR = WEEKS_PER_MONTH * 12
class KeepingFamiliesTogether(PolicyLever):
    """Front edge: evidence-backed, relationship-based support for families at the edge of care.

    Support places go to the families at the edge (on a plan, high hazard) at highest risk; for
    a year from its start support multiplies a reached child's entry hazard by 1 - cut (none
    at 11+ by default: sim/front_edge.py). The baseline cut is the FGC trial's (RR 0.81:
    `edge_support_relative_risk`); this lever raises it towards `effectiveness`, at most R10's
    39% (an upper bound: "up to 39% of entrants could have avoided care"). Places added here are
    costed in `spend_edge_of_care_gbp`.
    """

    TYPE = "keeping_families_together"
    TITLE = "Keeping families together"
    PARAMETERS = {
        "effectiveness": ParamSpec(
            0.0, 0.39, 0.39, "relative cut",
            "relative cut of a reached family's care-entry hazard, at full strength and baseline worker time",
            "R10 as an upper bound (up to 39% of entrants avoidable); the FGC trial's RR 0.81 is the baseline cut 0.19",
            realised=True,
            prior=(0.19, 0.39, "evidence.md: FGC trial cut 0.19 for families reached; R10's 39% a maximum")),
        "extra_capacity_families": ParamSpec(
            0.0, 1e5, 0.0, "families at once",
            "edge-of-care places added besides those the investment buys (costed at edge_weekly_cost_gbp)",
            "assumption; the shipped scenarios add places only through the investment lever (R7)",
            prior=(0.0, 2000.0, "assumption: up to two thirds of baseline places again")),
    }

    @staticmethod
    def baseline_cut(model) -> float:
        return 1 - model.params.edge_support_relative_risk

    def check_model(self, model) -> None:
        base = self.baseline_cut(model)
        if self.value("effectiveness") < base - 1e-12:
            raise LeverError(f"{self.TYPE}: effectiveness = {self.value('effectiveness')!r} is below the "
                             f"model's baseline cut 1 - edge_support_relative_risk = {base:g}")

    def act(self, model, ramp: float, realised: float) -> None:
        gap = max(self.value("effectiveness") - self.baseline_cut(model), 0.0)
        model.policy.edge_effectiveness_uplift += realised * gap
        model.policy.extra_edge_capacity_families += ramp * self.value("extra_capacity_families")


class SupportingChildrenHome(PolicyLever):
    """Back edge: reunification support for children whose return home was not properly explored.

    Support episodes (`reunification_support_months` long, `reunification_weekly_cost_gbp` a
    week, counted in `spend_reunification_gbp`) go to those children (R11: up to 34%, the
    model's `reunifiable_share`) in random order while places are free. The episode assesses
    the return: for the share found appropriate (`return_appropriate_share`) the return-home
    hazard rises, scaled by worker time; for the others it ends without a return. Re-entry
    after a supported return falls by `reentry_reduction` (an assumption: specialist
    reunification services give more stable returns, SCIE briefing 42, size unknown).
    """

    TYPE = "supporting_children_home"
    TITLE = "Supporting children home"
    PARAMETERS = {
        "capacity_children": ParamSpec(
            0.0, 2e5, 27_000.0, "children at once",
            "children in a reunification support episode at once (in care or after going home)",
            "R11 x R2: 34% of 80,080 children in care (2020), i.e. every child whose return was not explored",
            realised=True,
            prior=(10000.0, 27000.0, "evidence.md: R11's 34% is a maximum, not who would return safely")),
        "return_rate_per_year": ParamSpec(
            0.0, 12.0, 1.0, "per year",
            "added return-home hazard of a supported child whose return is appropriate (scaled by worker time)",
            "assumption: a supported, appropriate return home within about a year", realised=True,
            prior=(0.3, 1.5, "evidence.md: specialist reunification helps, size unknown")),
        "reentry_reduction": ParamSpec(
            0.0, 1.0, 0.5, "share",
            "relative cut in the re-entry hazard after a supported return home",
            "assumption: direction from SCIE briefing 42 (evidence.md), size unknown", realised=True,
            prior=(0.1, 0.6, "evidence.md: stabler returns with specialist services, size not known")),
    }

    def act(self, model, ramp: float, realised: float) -> None:
        pol = model.policy
        pol.reunification_capacity_children += realised * self.value("capacity_children")
        pol.reunification_rate_per_year += realised * self.value("return_rate_per_year")
        pol.reentry_reduction = 1 - (1 - pol.reentry_reduction) * (1 - realised * self.value("reentry_reduction"))


class GreatPlaceToCallHome(PolicyLever):
    """Sufficient family homes: more fostering households recruited, fewer leaving.

    The report recommends a national programme to attract and retain enough foster carers to
    meet demand; it gives no rate, so the full opportunity is an assumption. Its cost is
    counted in `spend_support_gbp`: each household recruited beyond the baseline rate at
    `carer_recruitment_cost_gbp`, and retention support for every household at
    `carer_support_weekly_cost_gbp` while attrition is cut (Mockingbird: 0-10% less attrition,
    evidence.md; the default 0.75 lies beyond that evidence).
    """

    TYPE = "great_place_to_call_home"
    TITLE = "A great place to call home"
    PARAMETERS = {
        "recruitment_multiplier": ParamSpec(
            0.5, 5.0, 1.5, "x baseline",
            "multiplier on fostering households recruited per year, at full strength",
            "assumption: national recruitment programme (report recommendation)", realised=True,
            prior=(1.0, 2.0, "assumption: the report gives no rate")),
        "attrition_multiplier": ParamSpec(
            0.1, 2.0, 0.75, "x baseline",
            "multiplier on fostering households leaving per year, at full strength",
            "assumption: better support and retention of carers", realised=True,
            prior=(0.6, 1.0, "evidence.md: Mockingbird 0-10% less attrition; wider support assumed up to 40%")),
    }

    def act(self, model, ramp: float, realised: float) -> None:
        pol = model.policy
        pol.foster_recruitment_multiplier *= 1 + realised * (self.value("recruitment_multiplier") - 1)
        pol.foster_attrition_multiplier *= 1 + realised * (self.value("attrition_multiplier") - 1)
        if self.value("attrition_multiplier") < 1:  # retention is bought: every household supported, costed
            pol.carer_support_share = max(pol.carer_support_share, ramp)


class RightCare(PolicyLever):
    """For those in care, the right care: step-down from children's homes to families.

    A child in a children's home asks to step down at a higher hazard; the move happens only
    if a foster place is free (the queue is not bypassed).
    """

    TYPE = "right_care"
    TITLE = "The right care"
    PARAMETERS = {
        "step_down_rate_per_year": ParamSpec(
            0.0, 12.0, 0.5, "per year",
            "added hazard that a child in a children's home asks to step down to a family",
            "assumption: a child who could live in a family steps down within about two years",
            realised=True,
            prior=(0.1, 1.0, "assumption: step-down within one to ten years")),
    }

    def act(self, model, ramp: float, realised: float) -> None:
        model.policy.extra_step_down_rate_per_year += realised * self.value("step_down_rate_per_year")


class PractitionerTime(PolicyLever):
    """Less recording and fewer meetings: more of social workers' hours spent directly.

    `direct_time_increase` is the relative rise of direct hours (R9: +25%); with a baseline
    direct share d it releases increase x d / (1 - d) of the non-direct hours. Direct time then
    scales the time-dependent effects of sim/model.py (edge support, reunification).
    """

    TYPE = "practitioner_time"
    TITLE = "Practitioner time"
    PARAMETERS = {
        "direct_time_increase": ParamSpec(
            0.0, 3.0, 0.25, "share",
            "relative increase of social workers' direct hours with children and families",
            "R9: +25% (about 150,000 hours a week)",
            prior=(0.1, 0.3, "R9: +25% is the report's aim; delivery may fall short")),
    }

    def released_share(self, model) -> float:
        d = model.params.direct_share
        return math.inf if d >= 1 else self.value("direct_time_increase") * d / (1 - d)

    def check_model(self, model) -> None:
        if self.released_share(model) > 1:
            raise LeverError(f"{self.TYPE}: direct_time_increase = {self.value('direct_time_increase')!r} "
                             f"needs more than every non-direct hour (direct_share {model.params.direct_share:g})")

    def act(self, model, ramp: float, realised: float) -> None:
        model.policy.admin_time_released += ramp * self.released_share(model)


class Investment(PolicyLever):
    """Ongoing edge-of-care investment (R7: GBP 205m a year) that buys support places.

    Places = money / (weekly cost of support x weeks a year), the weekly cost grown like the
    model's family costs, so a full year of full places spends the money once, in
    `spend_edge_of_care_gbp`. Places not taken (no eligible family) are not spent.
    """

    TYPE = "investment"
    TITLE = "Edge-of-care investment"
    PARAMETERS = {
        "gbp_per_year": ParamSpec(
            0.0, 1e10, 205e6, "GBP a year (cash)",
            "edge-of-care spending, buying support places at edge_weekly_cost_gbp",
            "R7: GBP 205m a year of ongoing investment",
            prior=(150000000.0, 260000000.0, "R7: GBP 205m; assumption: +-25% actually spent")),
    }

    def check_model(self, model) -> None:
        if self.value("gbp_per_year") > 0 and model.params.edge_weekly_cost_gbp <= 0:
            raise LeverError(f"{self.TYPE}: gbp_per_year = {self.value('gbp_per_year')!r} buys nothing: "
                             "the model's edge_weekly_cost_gbp is 0")

    def places(self, model) -> float:
        """Families the money supports at once this month (England scale, before the ramp)."""
        _, family_index = model.costs.indices(model.year)
        weekly = model.params.edge_weekly_cost_gbp * family_index
        return self.value("gbp_per_year") / (weekly * WEEKS_PER_YEAR) if weekly > 0 else 0.0

    def act(self, model, ramp: float, realised: float) -> None:
        model.policy.extra_edge_capacity_families += ramp * self.places(model)


class AlignedPartnershipWorking(PolicyLever):
    """Aligned partnership working: a faster multi-agency response at the front door.

    Police, health, schools and children's services acting together on a referral lower the
    escalation of at-risk cases onto a plan and the care-entry hazard of at-risk families not on
    a plan. The report gives no size: each cut is an assumption with a prior of 0-20%, default
    a modest 10%.
    """

    TYPE = "aligned_partnership_working"
    TITLE = "Aligned partnership working"
    PARAMETERS = {
        "escalation_cut": ParamSpec(
            0.0, 0.5, 0.1, "relative cut",
            "relative cut of the hazard that an at-risk case escalates onto a child protection plan",
            "assumption: prior 0-0.2 (no published estimate)", realised=True,
            prior=(0.0, 0.2, "assumption: no published estimate")),
        "entry_cut": ParamSpec(
            0.0, 0.5, 0.1, "relative cut",
            "relative cut of the care-entry hazard of at-risk families not on a plan",
            "assumption: prior 0-0.2 (no published estimate)", realised=True,
            prior=(0.0, 0.2, "assumption: no published estimate")),
    }

    def act(self, model, ramp: float, realised: float) -> None:
        pol = model.policy
        pol.at_risk_escalation_multiplier *= 1 - realised * self.value("escalation_cut")
        pol.at_risk_entry_multiplier *= 1 - realised * self.value("entry_cut")


class LocallyTailoredDelivery(PolicyLever):
    """Locally tailored delivery: edge-of-care support focused on a chosen age band or need.

    Only families at the edge with a child aged `min_age_years` to under `max_age_years` (and,
    with `high_need_only` = 1, a high-need child) are offered support places; capacity and the
    effect of support are unchanged, so the lever moves support to the families chosen. Its
    fuller form (local authorities' own mixes) comes with the local-authority model.
    """

    TYPE = "locally_tailored_delivery"
    TITLE = "Locally tailored delivery"
    PARAMETERS = {
        "min_age_years": ParamSpec(0, 17, 0, "years", "youngest age of the children support is focused on",
                                   "assumption per scenario (e.g. under 11s: the MST trial found no effect at 11+)",
                                   integer=True, prior=(0, 5, "a targeting choice: from birth to the under-5s")),
        "max_age_years": ParamSpec(1, 18, 11, "years", "age (exclusive) up to which support is focused",
                                   "assumption per scenario", integer=True,
                                   prior=(5, 18, "a targeting choice: under-5s to every age")),
        "high_need_only": ParamSpec(0, 1, 0, "0 or 1", "focus support on families with a high-need child",
                                    "assumption per scenario", integer=True,
                                    prior=(0, 1, "a targeting choice")),
    }

    def check(self) -> None:
        super().check()
        if self.value("min_age_years") >= self.value("max_age_years"):
            raise LeverError(f"{self.TYPE}: min_age_years = {self.value('min_age_years')!r} is not below "
                             f"max_age_years = {self.value('max_age_years')!r}")

    def act(self, model, ramp: float, realised: float) -> None:
        pol = model.policy
        pol.edge_target_min_age_months = max(pol.edge_target_min_age_months, 12 * int(self.value("min_age_years")))
        pol.edge_target_max_age_months = min(pol.edge_target_max_age_months, 12 * int(self.value("max_age_years")))
        pol.edge_target_high_need_only = pol.edge_target_high_need_only or bool(self.value("high_need_only"))


LEVERS: dict[str, type[PolicyLever]] = {cls.TYPE: cls for cls in (
    KeepingFamiliesTogether, SupportingChildrenHome, GreatPlaceToCallHome, RightCare, PractitionerTime,
    Investment, AlignedPartnershipWorking, LocallyTailoredDelivery)}


def lever_from_dict(table: dict, share_realised: float = 1.0) -> PolicyLever:
    """Build and check a lever from a scenario file's table (`type` names the lever)."""
    if not isinstance(table, dict):
        raise LeverError(f"lever = {table!r} is not a table")
    args = dict(table)
    kind = args.pop("type", None)
    if "share_realised" in args:
        raise LeverError(f"{short_repr(kind)}: share_realised = {short_repr(args['share_realised'])} belongs to the scenario, "
                         "not a lever")
    if not isinstance(kind, str) or kind not in LEVERS:
        known = ", ".join(LEVERS)
        raise LeverError(f"type = {short_repr(kind)} is not a known lever (known: {known})")
    lever = LEVERS[kind](share_realised=share_realised, **args)
    lever.check()
    return lever
