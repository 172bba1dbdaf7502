"""caresim's uncertain inputs and one evaluation of them, shared by `sensitivity`, `discover` and
`compare --lever-uncertainty`.

The inputs (`uncertain_problem`) are every parameter with a prior range (sim/parameters.py): the
free ones over their posterior's 5-95% range (their prior range without posterior draws), the
fixed ones over their prior; and the lever strengths of the chosen scenario over their priors
(sim/levers.py), with the scenario's `share_realised`. A lever strength is named
`<lever type>__<argument>`; `share_realised` is `scenario__share_realised`.

`evaluate_outputs` runs one row: the baseline and the scenario with the same seed (common random
numbers, through `runner.montecarlo`'s task function) and returns, for the end year, the
baseline's children in care, spend on children in care and residential, and the scenario's net
saving (GBP and % of the baseline's spend, as the report's 19%-27% are stated).
`evaluate_sources` turns draw numbers of the four variance sources into a posterior draw, lever
strengths, assumption values and a seed, then does the same.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from runner.sensitivity import Input, Problem

SEPARATOR = "__"
SHARE_INPUT = f"scenario{SEPARATOR}share_realised"
OUTPUTS = ("children_in_care", "spend_gbp", "residential", "net_saving_gbp", "net_saving_pct")
OUTPUT_LABELS = {"children_in_care": "children in care (baseline)", "spend_gbp": "spend on children in care (baseline)",
                 "residential": "residential (baseline)", "net_saving_gbp": "net saving (scenario)",
                 "net_saving_pct": "net saving, % of baseline spend (scenario)"}
POSTERIOR_RANGE = (5, 95)  # percentiles of the posterior draws that bound a free parameter


def parameter_inputs(parameters, *, kinds: Sequence[str] = ("fixed", "free")) -> list[Input]:
    """Inputs for the parameters with a prior: fixed over their prior, free over their posterior's range."""
    from sim.parameters import Params

    point = parameters.point
    out = []
    for name in Params.uncertain_names():
        meta = Params.meta(name)
        kind = "free" if meta["free"] else "fixed"
        if kind not in kinds:
            continue
        low, high = Params.prior_range(name)
        if kind == "free" and name in parameters.names and parameters.draws:
            column = np.array([draw[parameters.names.index(name)] for draw in parameters.draws])
            low, high = (float(v) for v in np.percentile(column, POSTERIOR_RANGE))
            if not high > low:
                continue  # a parameter the posterior pins: no uncertainty to sample
        value = float(getattr(point, name))
        out.append(Input(name, low, high, nominal=min(max(value, low), high)))
    return out


def lever_inputs(scenario: Mapping) -> list[Input]:
    """Inputs for every lever strength of `scenario` (as its file says it) with a prior, and its share realised."""
    from sim.levers import LEVERS
    from sim.policy import SHARE_REALISED

    out = []
    realised = False
    for table in scenario.get("levers", ()):
        cls = LEVERS[table["type"]]
        for arg, spec in cls.PARAMETERS.items():
            if spec.prior is None:
                continue
            low, high = spec.prior[:2]
            value = float(table.get(arg, spec.default))
            out.append(Input(f"{cls.TYPE}{SEPARATOR}{arg}", low, high, nominal=min(max(value, low), high)))
            realised = realised or spec.realised
    if realised:
        low, high = SHARE_REALISED.prior[:2]
        share = float(scenario.get("share_realised", 1.0))
        out.append(Input(SHARE_INPUT, low, high, nominal=min(max(share, low), high)))
    return out


def uncertain_problem(scenario: Mapping, parameters, *, include: Sequence[str] = ("fixed", "free", "levers")) -> Problem:
    """The sensitivity problem over the chosen kinds of input ("fixed", "free", "levers")."""
    inputs = parameter_inputs(parameters, kinds=[k for k in include if k in ("fixed", "free")])
    if "levers" in include:
        inputs += lever_inputs(scenario)
    return Problem(tuple(inputs))


def with_lever_values(scenario: Mapping, values: Mapping[str, float]) -> dict:
    """The scenario with the lever strengths and share realised named in `values` replaced."""
    from sim.levers import LEVERS

    out = dict(scenario)
    levers = []
    for table in scenario.get("levers", ()):
        table = dict(table)
        cls = LEVERS[table["type"]]
        for arg, spec in cls.PARAMETERS.items():
            key = f"{cls.TYPE}{SEPARATOR}{arg}"
            if key in values:
                table[arg] = int(round(values[key])) if spec.integer else float(values[key])
        levers.append(table)
    out["levers"] = levers
    if SHARE_INPUT in values:
        out["share_realised"] = float(values[SHARE_INPUT])
    return out


def _params_with(parameters, values: Mapping[str, float], base=None):
    from sim.parameters import Params

    base = base if base is not None else parameters.point
    names = set(Params.names())
    return base.replace(**{k: float(v) for k, v in values.items() if k in names})


def consistent_with(scenario: Mapping, params) -> dict:
    """The scenario with each sampled lever strength raised to the floor the sampled parameters set.

    `keeping_families_together`'s effectiveness is the total relative cut of a reached family's
    entry hazard, and its floor is the baseline's own cut (1 - edge_support_relative_risk): a user
    who writes less is refused (sim/levers.py), but when both are sampled from their priors a
    strength below the baseline's cut means the lever adds nothing, which is what the floor gives.

    `locally_tailored_delivery`'s age band: its two ends are sampled from priors that meet at 5
    (youngest 0-5, oldest 5-18, rounded to whole years), so both can come out as 5, an empty band
    the lever refuses; the oldest age is then raised to the youngest + 1 (the narrowest band).
    """
    out = dict(scenario)
    floor = 1 - params.edge_support_relative_risk
    levers = []
    for table in scenario.get("levers", ()):
        table = dict(table)
        if table.get("type") == "keeping_families_together" and "effectiveness" in table:
            table["effectiveness"] = max(float(table["effectiveness"]), floor)
        if (table.get("type") == "locally_tailored_delivery" and "min_age_years" in table
                and "max_age_years" in table and table["max_age_years"] <= table["min_age_years"]):
            table["max_age_years"] = table["min_age_years"] + 1
        levers.append(table)
    out["levers"] = levers
    return out


BASELINE_COLUMNS = ("n_in_care", "n_residential", "spend_children_in_care_gbp", "spend_support_gbp")  # runner.summary SPEND, SUPPORT_SPEND


def baseline_row(params, seed: int, scale: float, end_year: int, drivers=None) -> dict[str, float]:
    """The baseline's end-year figures that `paired_outputs` reads (no lever changes them)."""
    from runner.montecarlo import BASELINE_SCENARIO, replication_table

    row = replication_table(BASELINE_SCENARIO, params, seed, scale, end_year, drivers=drivers).loc[end_year]
    return {name: float(row[name]) for name in BASELINE_COLUMNS}


def paired_outputs(params, scenario: Mapping, seed: int, scale: float, end_year: int, drivers=None,
                   base: Mapping[str, float] | None = None) -> dict[str, float]:
    """Baseline and scenario with one seed (common random numbers): the end year's headline outputs.

    `base`: the baseline's `baseline_row` for these parameters and seed, when already run.
    """
    from runner.montecarlo import replication_table
    from runner.summary import SUPPORT_SPEND, SPEND, net_saving

    base = base if base is not None else baseline_row(params, seed, scale, end_year, drivers)
    policy = replication_table(consistent_with(scenario, params), params, seed, scale, end_year,
                               drivers=drivers).loc[end_year]
    saving = float(net_saving({c: base[c] for c in (SPEND, SUPPORT_SPEND)}, {c: policy[c] for c in (SPEND, SUPPORT_SPEND)}))
    spend = float(base[SPEND])
    return {"children_in_care": float(base["n_in_care"]), "spend_gbp": spend,
            "residential": float(base["n_residential"]), "net_saving_gbp": saving,
            "net_saving_pct": 100 * saving / spend if spend > 0 else math.nan}


def evaluate_outputs(inputs: Mapping[str, float], seed: int, *, scenario: Mapping, params_file: str | None,
                     scale: float, end_year: int, shared: Mapping[str, float] | None = None) -> dict[str, float]:
    """One row of a sensitivity or discovery design: parameters and lever strengths set, the pair run.

    `shared`: the baseline's figures from `evaluate_baseline` for the same parameters and seed.
    """
    from sim.parameter_file import ParameterSet

    parameters = ParameterSet.load(params_file)
    return paired_outputs(_params_with(parameters, inputs), with_lever_values(scenario, inputs), int(seed),
                          scale, end_year, base=shared)


def evaluate_baseline(inputs: Mapping[str, float], seed: int, *, scenario: Mapping, params_file: str | None,
                      scale: float, end_year: int) -> dict[str, float]:
    """The baseline half of `evaluate_outputs`: it reads only the parameter inputs (`scenario` is unused)."""
    from sim.parameter_file import ParameterSet

    return baseline_row(_params_with(ParameterSet.load(params_file), inputs), int(seed), scale, end_year)


def evaluate_experiment(**values) -> dict[str, float]:
    """EMA Workbench's model function: the experiment's inputs and the constants as keywords."""
    settings = {k: values.pop(k) for k in ("scenario", "params_file", "scale", "end_year", "seed")}
    return evaluate_outputs(values, settings.pop("seed"), **settings)


def uniform_values(inputs: Sequence[Input], draw: int, stream: int) -> dict[str, float]:
    """Values of `inputs` drawn uniformly over their ranges by draw number `draw` of a source."""
    rng = np.random.default_rng([int(draw), stream])
    return {item.name: float(item.from_unit(rng.random(1))[0]) for item in inputs}


LEVER_STREAM, ASSUMPTION_STREAM = 13, 17


def evaluate_sources(inputs: Mapping[str, int], seed: int, *, scenarios: Sequence[Mapping], params_file: str | None,
                     scale: float, end_year: int, sources: Sequence[str], outputs: Sequence[str]) -> dict[str, float]:
    """One row of the variance-by-source design: {source: draw number} -> the headline outputs.

    The calibration posterior's draw number picks a posterior draw (`ParameterSet.draw`); the
    lever strengths' and other assumptions' draw numbers seed uniform draws over their priors; the
    noise's draw number is added to the study's seed. A source left out of `sources` stays at its
    nominal value (the point estimate, the scenario's strengths, the fixed values, the seed).
    Outputs are named `<scenario>:<output>`.
    """
    from runner.variance_sources import CALIBRATION_POSTERIOR, LEVER_STRENGTHS, OTHER_ASSUMPTIONS, STOCHASTIC_NOISE
    from sim.parameter_file import ParameterSet

    parameters = ParameterSet.load(params_file)
    params = parameters.draw(inputs[CALIBRATION_POSTERIOR]) if CALIBRATION_POSTERIOR in inputs else parameters.point
    if OTHER_ASSUMPTIONS in inputs:
        params = _params_with(parameters, uniform_values(parameter_inputs(parameters, kinds=("fixed",)),
                                                   inputs[OTHER_ASSUMPTIONS], ASSUMPTION_STREAM), base=params)
    run_seed = int(seed) + int(inputs.get(STOCHASTIC_NOISE, 0))
    out: dict[str, float] = {}
    for scenario in scenarios:
        if LEVER_STRENGTHS in inputs:
            scenario = with_lever_values(scenario, uniform_values(lever_inputs(scenario), inputs[LEVER_STRENGTHS], LEVER_STREAM))
        values = paired_outputs(params, scenario, run_seed, scale, end_year)
        out |= {f"{scenario['name']}:{name}": values[name] for name in values}
    return {name: out[name] for name in outputs}
