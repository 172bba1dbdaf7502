"""The mechanism settings that policy levers may change, and the lever protocol.

Levers (sim/levers.py) never touch outputs. Each month, after the context is updated and
before referrals, the model resets `model.policy` to the baseline and calls every lever's
`apply(model)`; the mechanisms then read `model.policy`. A lever is a small object: its
constructor stores its arguments, `init(model)` validates them against the model, `apply`
acts at that fixed point of the step, and `to_dict()` gives back what the scenario file said.

`PolicyLever` is that protocol for a scenario file's levers: arguments described once by
`ParamSpec`s (range, default, unit, source, prior), a start month and a linear ramp, and the
scenario's `share_realised`; the levers themselves are in sim/levers.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from sim.files import short_repr
from sim.parameters import finite_number


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
    carer_support_share: float = 0.0  # share of fostering households given extra retention support (costed)


class Lever:
    """Base class of policy levers (see module docstring)."""

    name: str = "lever"

    def init(self, model) -> None:  # pragma: no cover - interface
        """Validate the arguments against the model; raise ValueError with one line if wrong."""

    def apply(self, model) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def to_dict(self) -> dict:  # pragma: no cover - interface
        raise NotImplementedError


FIRST_START = (2015, 4)  # the first month the model simulates
LAST_START = (2050, 12)
DEFAULT_START = "2020-04"
_START = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


class LeverError(ValueError):
    """A lever argument that cannot be used; the message is one line naming lever, field and value."""


@dataclass(frozen=True)
class ParamSpec:
    """How one lever argument is described, checked and shown.

    Attributes:
        lo, hi: inclusive range.
        default: value when the scenario file leaves the argument out.
        unit: unit of the value.
        doc: one-line meaning.
        source: where the default comes from (targets.md id, or "assumption").
        realised: the scenario's `share_realised` scales this strength (an opportunity whose
            realisation is unknown); False for strengths the report states.
        integer: the value must be a whole number.
        prior: (lo, hi, why): the range of the strength's uncertainty, inside [lo, hi], which
            sensitivity analysis and `compare --lever-uncertainty` sample (evidence.md where it
            speaks, otherwise a stated assumption).
    """

    lo: float
    hi: float
    default: float
    unit: str
    doc: str
    source: str
    realised: bool = False
    integer: bool = False
    prior: tuple[float, float, str] | None = None

    def check(self, lever: str, name: str, value: Any) -> None:
        """Raise LeverError unless `value` is a number of the right kind within [lo, hi]."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LeverError(f"{lever}: {name} = {short_repr(value)} is not a number")
        if self.integer and not isinstance(value, int):
            raise LeverError(f"{lever}: {name} = {value!r} is not a whole number")
        number = finite_number(value)  # None for NaN, infinities and integers too large for a float
        if number is None or not self.lo <= number <= self.hi:
            raise LeverError(f"{lever}: {name} = {short_repr(value)} is outside [{self.lo:g}, {self.hi:g}]")


RAMP_MONTHS = ParamSpec(0, 240, 12, "months", "months of linear ramp from the start to full strength",
                        "assumption: a year to roll out", integer=True,
                        prior=(6, 24, "assumption: half a year to two years to roll out"))
SHARE_REALISED = ParamSpec(0.0, 1.0, 1.0, "share",
                           "share of each unknown-strength opportunity that the scenario realises",
                           "assumption per scenario (the report's low and high ends of full adoption)",
                           prior=(0.25, 0.75, "assumption: a quarter to three quarters of each opportunity realised"))


def parse_start(lever: str, value: Any) -> int:
    """The model month (0 = March 2015) of a "YYYY-MM" start; LeverError if malformed."""
    m = _START.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise LeverError(f"{lever}: start = {short_repr(value)} is not a month written \"YYYY-MM\"")
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12 or not FIRST_START <= (year, month) <= LAST_START:
        raise LeverError(f"{lever}: start = {value!r} is outside "
                         f"{FIRST_START[0]}-{FIRST_START[1]:02d}..{LAST_START[0]}-{LAST_START[1]:02d}")
    return (year - 2015) * 12 + (month - 3)


class PolicyLever(Lever):
    """A lever of a scenario file: arguments described by `PARAMETERS`, a start and a ramp.

    Args:
        share_realised: the scenario's share of the opportunity realised (scales the
            strengths whose spec has `realised=True`); belongs to the scenario, not the lever.
        **args: the lever's table of the scenario file (without `type`), stored as given.
    """

    TYPE: ClassVar[str] = "lever"
    TITLE: ClassVar[str] = ""
    PARAMETERS: ClassVar[dict[str, ParamSpec]] = {}

    def __init__(self, *, share_realised: float = 1.0, **args: Any):
        self.share_realised = share_realised
        self.args = dict(args)
        self._start_month: int | None = None

    @property
    def name(self) -> str:  # the Lever base class's label
        return self.TYPE

    @classmethod
    def specs(cls) -> dict[str, ParamSpec]:
        """Every numeric argument: the lever's own and `ramp_months`."""
        return {**cls.PARAMETERS, "ramp_months": RAMP_MONTHS}

    def value(self, name: str) -> float:
        """The argument `name` as given, or its default."""
        return self.args.get(name, self.specs()[name].default)

    @property
    def start(self) -> str:
        return self.args.get("start", DEFAULT_START)

    def check(self) -> None:
        """Validate the arguments without a model (types, ranges, unknown names)."""
        specs = self.specs()
        for key, value in self.args.items():
            if key == "start":
                parse_start(self.TYPE, value)
            elif key in specs:
                specs[key].check(self.TYPE, key, value)
            else:
                known = ", ".join(["start", *specs])
                raise LeverError(f"{self.TYPE}: unknown key {key!r} = {short_repr(value)} (known: {known})")
        SHARE_REALISED.check(self.TYPE, "share_realised", self.share_realised)

    def init(self, model) -> None:
        """Validate against the model (raises LeverError, a ValueError, with one line)."""
        self.check()
        self._start_month = parse_start(self.TYPE, self.start)
        self.check_model(model)

    def check_model(self, model) -> None:
        """Checks that need the model's parameters (override where needed)."""

    def ramp(self, model) -> float:
        """0 before the start, rising linearly to 1 over `ramp_months` (1 at once if 0)."""
        start = self._start_month if self._start_month is not None else parse_start(self.TYPE, self.start)
        months_on = model.month - start + 1
        if months_on <= 0:
            return 0.0
        ramp = int(self.value("ramp_months"))
        return 1.0 if ramp == 0 else min(months_on / ramp, 1.0)

    def apply(self, model) -> None:
        ramp = self.ramp(model)
        if ramp > 0:
            self.act(model, ramp, ramp * self.share_realised)

    def act(self, model, ramp: float, realised: float) -> None:
        """Set `model.policy` fields: `ramp` scales stated strengths, `realised` unknown ones."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """The lever's table exactly as the scenario file gave it."""
        return {"type": self.TYPE, **self.args}

    def __eq__(self, other) -> bool:
        return (type(self) is type(other) and self.args == other.args
                and self.share_realised == other.share_realised)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.args!r}, share_realised={self.share_realised!r})"
