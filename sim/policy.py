"""The mechanism settings that policy levers may change, and the lever protocol.

Levers (sim/levers.py) never touch outputs. Each month, after the context is updated and
before referrals, the model resets `model.policy` to the baseline and calls every lever's
`apply(model)`; the mechanisms then read `model.policy`. A lever is a small object: its
constructor stores its arguments, `init(model)` validates them against the model, `apply`
acts at that fixed point of the step, and `to_dict()` gives back what the scenario file said.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PolicyState:
    """This month's policy settings; all zero / one in the baseline."""

    extra_edge_capacity_families: float = 0.0  # edge-of-care places added (families, England scale)
    edge_effectiveness_uplift: float = 0.0  # added to the relative cut of entry (1 - relative risk) for families reached
    edge_target_min_age_months: int = 0  # edge support goes only to families with a child in this age band
    edge_target_max_age_months: int = 216  # (exclusive upper end)
    edge_target_high_need_only: bool = False  # ... and, if set, with a high-need child
    at_risk_escalation_multiplier: float = 1.0  # on the at-risk-to-plan escalation hazard (aligned partnership working)
    at_risk_entry_multiplier: float = 1.0  # on the care-entry hazard of at-risk families not on a plan
    reunification_capacity_children: float = 0.0  # children in care receiving back-edge support at once
    reunification_rate_per_year: float = 0.0  # added return-home hazard of a supported reunifiable child
    reentry_reduction: float = 0.0  # relative cut in re-entry hazard after supported reunification
    foster_recruitment_multiplier: float = 1.0
    foster_attrition_multiplier: float = 1.0
    extra_step_down_rate_per_year: float = 0.0  # added residential-to-family hazard when a place is free
    admin_time_released: float = 0.0  # share of non-direct hours turned into direct work


class Lever:
    """Base class of policy levers (see module docstring)."""

    name: str = "lever"

    def init(self, model) -> None:  # pragma: no cover - interface
        """Validate the arguments against the model; raise ValueError with one line if wrong."""

    def apply(self, model) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def to_dict(self) -> dict:  # pragma: no cover - interface
        raise NotImplementedError
