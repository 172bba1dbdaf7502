"""Every uncertain input has a prior range: fixed assumptions, free parameters and lever strengths."""
from __future__ import annotations

import dataclasses

from sim.levers import LEVERS
from sim.policy import RAMP_MONTHS, SHARE_REALISED
from sim.parameters import Params

PURE_DATA = {"children_in_care_2015", "foster_share_2015", "weekly_hours"}  # exact counts or the contract


def test_every_fixed_parameter_but_pure_data_has_a_prior_inside_its_range_around_its_value():
    for f in dataclasses.fields(Params):
        meta = f.metadata
        prior = meta.get("prior")
        if meta["free"]:
            assert prior is not None, f.name
            continue
        if f.name in PURE_DATA:
            assert prior is None, f"{f.name} is pure data: no prior"
            continue
        assert prior is not None, f"fixed parameter {f.name} has no prior range"
        lo, hi, why = prior
        assert meta["lo"] <= lo < hi <= meta["hi"], (f.name, prior, meta["lo"], meta["hi"])
        assert lo <= f.default <= hi, (f.name, f.default, prior)
        assert isinstance(why, str) and why.strip(), f.name
    assert len(Params.uncertain_names()) == len(Params.names()) - len(PURE_DATA)


def test_every_lever_strength_has_a_prior_inside_its_range_around_its_default():
    specs = [(f"{kind}.{name}", spec) for kind, cls in LEVERS.items() for name, spec in cls.PARAMETERS.items()]
    specs += [("ramp_months", RAMP_MONTHS), ("share_realised", SHARE_REALISED)]
    for name, spec in specs:
        assert spec.prior is not None, f"lever strength {name} has no prior"
        lo, hi, why = spec.prior
        assert spec.lo <= lo < hi <= spec.hi, (name, spec.prior)
        assert why.strip(), name
        if name not in ("share_realised",):  # the scenario sets it (0.5 low end), not the spec's default 1
            assert lo <= spec.default <= hi, (name, spec.default, spec.prior)


def test_prior_range_of_a_fixed_parameter():
    assert Params.prior_range("reunifiable_share") == (0.1, 0.34)
