"""What `caresim data check` prints and writes: counts from a return, suppressed, never identifiers.

Every number derived from a return passes through calibration/ssda903/privacy.py: counts from 1
to 5 show as `c`, with secondary suppression where a total and its parts are shown together; a
rate shows as `c` when the events behind it number 1 to 5. Nothing here reads CHILD, UPN, DOB,
postcodes or URN: the cleaned return holds none of them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from calibration.ssda903 import codes
from calibration.ssda903.cleaning import CleanReturn
from calibration.ssda903.counts import flow_table, stock_partitions, stock_table
from calibration.ssda903.estimates import LEGAL_STATUS_GROUPS, TIME_IN_CARE_BANDS, TIME_IN_CARE_EDGES, LocalEstimates
from calibration.ssda903.privacy import HIDDEN, is_small, suppress_count, suppress_table

NOTE = "Counts from 1 to 5 are shown as c, and so is any other figure that would reveal one."


def _years(ret: CleanReturn) -> str:
    first, last = ret.years[0], ret.years[-1]
    label = lambda y: f"{y - 1}-{y % 100:02d}"  # noqa: E731
    return f"{label(first)} to {label(last)} ({len(ret.years)} collection years)" if first != last else label(first)


def stock(ret: CleanReturn) -> pd.DataFrame:
    table = suppress_table(stock_table(ret), stock_partitions())
    return table.rename(columns=codes.STATE_LABELS)


def flows(ret: CleanReturn) -> pd.DataFrame:
    return suppress_table(flow_table(ret))


def cleaning(ret: CleanReturn) -> pd.DataFrame:
    return pd.DataFrame({"rows changed": [suppress_count(v) for v in ret.steps.values()]},
                        index=pd.Index(list(ret.steps), name="cleaning step"))


def summary_text(ret: CleanReturn) -> str:
    """The summary `caresim data check DIR` prints."""
    lines = [f"SSDA903 return: {_years(ret)}; {ret.n_authorities} authorit{'y' if ret.n_authorities == 1 else 'ies'}",
             f"children {suppress_count(len(ret.children))}, episodes after cleaning "
             f"{suppress_count(len(ret.episodes))}"]
    if ret.optional_rows:
        lines.append("other tables read: " + ", ".join(f"{k} ({suppress_count(v)} rows)"
                                                        for k, v in sorted(ret.optional_rows.items())))
    lines += ["", "Looked after at 31 March, by placement and age (short breaks left out):",
              stock(ret).to_string(), "",
              "Started and ceased to be looked after in the year ending 31 March:",
              flows(ret).to_string(), "", "Cleaning (rows changed by each step, in order):",
              cleaning(ret).to_string(), "", NOTE]
    return "\n".join(lines)


def _rates(table: pd.DataFrame, causes: tuple[str, ...]) -> pd.DataFrame:
    """Hazards per year to 3 decimals, `c` where the events behind one number 1 to 5."""
    out = pd.DataFrame(index=table.index)
    for c in causes:
        values = table[f"{c} per year"].map(lambda v: f"{v:.3f}")
        out[c] = values.mask(is_small(table[c].to_numpy()), HIDDEN)
    return out


def _with_total(table: pd.DataFrame, parts) -> pd.DataFrame:
    t = table.copy()
    t.insert(0, "total", t[list(parts)].sum(axis=1))
    return suppress_table(t, [("total", list(parts))])


def _population(est: LocalEstimates) -> pd.DataFrame:
    """The latest 31 March population by time in care, legal status and UASC (its placement and
    age are in the stock table): one line, parts suppressed against their total."""
    pop = est.population
    time = np.clip(np.searchsorted(TIME_IN_CARE_EDGES, pop["months_in_care"], side="right") - 1, 0, 2)
    row = {"total": len(pop)}
    row.update({band: int((time == k).sum()) for k, band in enumerate(TIME_IN_CARE_BANDS)})
    legal = pop["legal_status"].value_counts().reindex(LEGAL_STATUS_GROUPS, fill_value=0)
    row.update(legal.to_dict())
    row["UASC"] = int(pop["uasc"].sum())
    table = pd.DataFrame([row], index=pd.Index([f"31 March {est.date.year}"], name="children"))
    return suppress_table(table, [("total", TIME_IN_CARE_BANDS), ("total", LEGAL_STATUS_GROUPS)])


def _move_rates_by_state(est: LocalEstimates) -> pd.DataFrame:
    t = est.move_rates.groupby(level="state")[["move", "child_years"]].sum()
    share = np.clip(t["move"] / (12 * t["child_years"]).where(t["child_years"] > 0), 0, 1 - 1e-9)
    t["move per year"] = (-12 * np.log1p(-share)).fillna(0.0)
    return _rates(t, ("move",)).rename(columns={"move": "placement moves per year"})


def estimate_tables(est: LocalEstimates) -> dict[str, pd.DataFrame]:
    """Every table of the estimates as shown or written: suppressed text."""
    inputs = pd.DataFrame({
        "value": [f"{est.scale:.5f}", f"{est.social_workers:,.1f}", f"{est.foster_households:,.1f}",
                  f"{est.cost_factor:g}"],
        "source": [est.sources["scale"], est.sources["social_workers"], est.sources["foster_households"],
                   est.sources["unit_costs"]]},
        index=pd.Index(["scale (share of England)", "social workers (FTE)", "fostering households",
                        "unit costs (x England's)"], name="input"))
    if is_small([len(est.population)])[0]:  # the scale would reveal the count
        inputs.iloc[:3, 0] = HIDDEN
    tables = {"inputs": inputs}
    tables["population"] = _population(est)
    tables["entries"] = _with_total(est.entries, codes.AGE_BAND_NAMES)
    tables["exits"] = _with_total(est.exits, codes.EXIT_GROUPS)
    tables["exit_rates_by_state"] = _rates(est.exit_rates_by_state, codes.EXIT_GROUPS)
    tables["exit_rates_by_age_and_time_in_care"] = _rates(est.exit_rates_by_age_time, codes.EXIT_GROUPS)
    tables["moves"] = suppress_table(est.moves)
    tables["move_rates_by_state"] = _move_rates_by_state(est)
    tables["provider_mix"] = _with_total(est.provider_mix, list(est.provider_mix.columns))
    return tables


TITLES = {
    "inputs": "Inputs 903 does not hold, and the authority's scale",
    "population": "Population at {date} by time in care, legal status and UASC (placement and age: above)",
    "entries": "Periods of care begun, by age at entry",
    "exits": "Periods of care ended, by reason (aged 18: any reason at 18)",
    "exit_rates_by_state": "Exit hazards per child-year in care, by placement state",
    "exit_rates_by_age_and_time_in_care": "Exit hazards per child-year in care, by age and time in care",
    "moves": "Placement changes between states (within a period of care), all years",
    "move_rates_by_state": "Placement-change hazard per child-year in care",
    "provider_mix": "Children at each 31 March by provider (PLACE_PROVIDER; none = blank)",
}


def estimates_text(est: LocalEstimates) -> str:
    date = f"31 March {est.date.year}"
    parts = []
    for name, table in estimate_tables(est).items():
        parts += [TITLES[name].format(date=date) + ":", table.to_string(), ""]
    parts.append(NOTE)
    return "\n".join(parts)


def write_tables(out: Path, ret: CleanReturn, est: LocalEstimates) -> list[Path]:
    """Write the summary and estimate tables as CSV (suppressed, as printed) under `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables = {"stock_31_march": stock(ret), "flows": flows(ret), "cleaning": cleaning(ret)}
    tables.update(estimate_tables(est))
    paths = []
    for name, table in tables.items():
        path = out / f"{name}.csv"
        table.to_csv(path)
        paths.append(path)
    return paths
