"""What a local model needs, estimated from an authority's cleaned 903 return (`LocalEstimates`).

From the episodes: the population at the latest 31 March (each child's age, placement state,
legal status, time in care, UASC), entries by age, exits by reason, moves between placement
states, and the hazards of exits and moves by age band and time in care; the placement and
provider-sector mix at each 31 March. Rates are per child-year in care, estimated on the month
grid the model steps on: children in care at each month-end are at risk, and from E events in
M months at risk the yearly hazard is -12 ln(1 - E/M), shared between competing causes in
proportion to their events (the model's `_competing`).

Time in care counts from the earliest episode of a period in the files: a 903 file holds only
the episodes open during its year, so for a child whose period began before the first year's
earlier episodes it is a lower bound (left truncation; more years of returns shorten it).

Inputs that 903 does not hold - social workers, fostering households, unit costs - are the
user's (options) or England's scaled by the authority's share of England's children in care,
and `sources` says which.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from calibration.ssda903 import codes
from calibration.ssda903.cleaning import CleanReturn, collection_end
from calibration.ssda903.counts import age_band, age_in_years, counted

TIME_IN_CARE_BANDS = ("under 6 months", "6-23 months", "2 years+")
TIME_IN_CARE_EDGES = (0, 6, 24)
LEGAL_GROUPS = {"V2": "section 20", "C1": "care order", "C2": "care order", "D1": "placement order",
                "E1": "placement order"}  # the rest: other (police protection, youth justice)
LEGAL_STATUS_GROUPS = ("care order", "section 20", "placement order", "other")


@dataclass
class LocalEstimates:
    """An authority's inputs for a local model (counts and rates from its 903; others as `sources` says).

    `population` is record-level (one row per child, no identifier): it stays in memory for
    building a model and is never written; what is shown or written are its suppressed counts.
    """

    date: pd.Timestamp  # the 31 March of `population`
    years: list[int]
    population: pd.DataFrame  # age_months, state, legal_status, months_in_care, uasc
    entries: pd.DataFrame  # collection year x age band at entry: periods of care begun
    exits: pd.DataFrame  # collection year x exit group: periods of care ended
    exit_rates_by_state: pd.DataFrame  # state x exit group: hazard per year; plus events, child_years
    exit_rates_by_age_time: pd.DataFrame  # (age band, time in care) x exit group
    moves: pd.DataFrame  # from state x to state: placement changes within a period of care
    move_rates: pd.DataFrame  # (state, age band, time in care): hazard per year of a placement change
    placement_mix: pd.DataFrame  # 31 March x state: children
    provider_mix: pd.DataFrame  # 31 March x PR code: children
    scale: float  # children in care at `date` / England's
    social_workers: float
    foster_households: float
    cost_factor: float  # local unit costs relative to England's (sim/parameters.py)
    sources: dict[str, str] = field(default_factory=dict)


def _month_index(dates: pd.Series) -> np.ndarray:
    return (dates.dt.year * 12 + dates.dt.month - 1).to_numpy()


def _periods(ep: pd.DataFrame) -> np.ndarray:
    """The start date of each episode's period of care (a run of episodes with no gap)."""
    same_child = ep["child"].shift(1) == ep["child"]
    continues = same_child & (ep["dec"].shift(1) == ep["decom"]) & (ep["rec"].shift(1) == "X1")
    first = np.flatnonzero(~continues.to_numpy())  # each period's first episode (rows are in order)
    period = np.cumsum(~continues.to_numpy()) - 1
    return ep["decom"].to_numpy()[first][period]


def _time_band(months: np.ndarray) -> pd.Categorical:
    index = np.searchsorted(TIME_IN_CARE_EDGES, months, side="right") - 1
    return pd.Categorical.from_codes(np.clip(index, 0, 2), TIME_IN_CARE_BANDS)


def _panel(ret: CleanReturn, ep: pd.DataFrame, period_start: np.ndarray) -> pd.DataFrame:
    """One row per child in care at each month-end of the years covered: state, age and time bands."""
    lo, hi = _month_index(pd.Series([ret.start]))[0], _month_index(pd.Series([ret.end]))[0]
    first = np.maximum(_month_index(ep["decom"]), lo)
    last_open = np.where(ep["dec"].isna(), hi, _month_index(ep["dec"].fillna(ret.end)) - 1)
    last = np.minimum(last_open, hi)
    length = np.clip(last - first + 1, 0, None)
    rows = np.repeat(np.arange(len(ep)), length)
    month = first[rows] + (np.arange(rows.size) - np.repeat(np.cumsum(length) - length, length))
    dob = ret.children["dob"].reindex(ep["child"]).to_numpy()
    birth_month = _month_index(pd.Series(dob))
    start_month = _month_index(pd.Series(period_start))
    return pd.DataFrame({"state": ep["state"].to_numpy()[rows],
                         "age_band": age_band((month - birth_month[rows]) // 12),
                         "time_band": _time_band(month - start_month[rows])})


def _hazards(events: pd.DataFrame, exposure: pd.DataFrame, keys: list[str], causes: tuple[str, ...],
             cause: str = "cause") -> pd.DataFrame:
    """Yearly hazard per cause in each cell of `keys` (see the module docstring)."""
    months = exposure.groupby(keys, observed=True).size().rename("months")
    counts = events.groupby(keys + [cause], observed=True).size().unstack(cause, fill_value=0)
    counts = counts.reindex(columns=list(causes), fill_value=0)
    table = pd.concat([months, counts], axis=1).fillna(0)
    total = table[list(causes)].sum(axis=1)
    share = np.clip(total / table["months"].where(table["months"] > 0), 0, 1 - 1e-9)
    any_rate = -12 * np.log1p(-share)
    for c in causes:
        table[f"{c} per year"] = (any_rate * table[c] / total.where(total > 0)).fillna(0.0)
    table["events"] = total.astype(int)
    table["child_years"] = table["months"] / 12
    return table.drop(columns=["months"])


def england_figures(year: int | None = None) -> dict[str, tuple[int, float]]:
    """England's published figures caresim ships (year, value), the latest up to `year`: in care,
    social workers (FTE), fostering households."""
    from calibration.targets import default_data_path

    data = pd.read_csv(default_data_path())
    out = {}
    published = data[data["use"].isin(["fit", "initial", "check"])]
    for measure in ("n_in_care", "n_social_workers", "n_foster_households"):
        rows = published[published["measure"] == measure].sort_values("year")
        if year is not None and (rows["year"] <= year).any():
            rows = rows[rows["year"] <= year]
        out[measure] = (int(rows["year"].iloc[-1]), float(rows["value"].iloc[-1]))
    return out


def _in_care_on(ep: pd.DataFrame, date: pd.Timestamp) -> pd.Series:
    """The episodes open on `date` (one per child in care then)."""
    return (ep["decom"] <= date) & (ep["dec"].isna() | (ep["dec"] > date))


def _population_at(ret: CleanReturn, now: pd.DataFrame, period_start: np.ndarray, date: pd.Timestamp) -> pd.DataFrame:
    """One row per child in care on `date` (no identifier): age and time in care in months, state,
    legal status group, UASC. `now` are the counted episodes open on `date` (`_in_care_on`) with
    their model `state`, `period_start` the start of each one's period of care."""
    now_dob = ret.children["dob"].reindex(now["child"])
    uasc_until = ret.children["uasc_until"].reindex(now["child"])
    month = _month_index(pd.Series([date]))[0]
    return pd.DataFrame({
        "age_months": (month - _month_index(now_dob)).astype(int),
        "state": now["state"].to_numpy(),
        "legal_status": now["ls"].map(LEGAL_GROUPS).fillna("other").to_numpy(),
        "months_in_care": (month - _month_index(pd.Series(period_start))).astype(int),
        "uasc": (ret.children["uasc"].reindex(now["child"]).to_numpy()
                 & (uasc_until.isna() | (uasc_until > date)).to_numpy()),
    })


def population_at(ret: CleanReturn, date: pd.Timestamp, by_authority: bool = False) -> pd.DataFrame:
    """The children in care on `date` (any 31 March the return covers), as `LocalEstimates.population`:
    record-level, kept in memory to build a model, never written. Time in care is left-truncated
    at the first year's files (the module docstring), more so the earlier `date` is. With
    `by_authority`, a column `la` says each child's authority (`CleanReturn.child_la`)."""
    ep = counted(ret.episodes).reset_index(drop=True)
    open_now = _in_care_on(ep, date).to_numpy()
    now = ep[open_now]
    now = now.assign(state=_states(now))  # the open episodes' states only: a region's are ~1/4 of its rows
    population = _population_at(ret, now, _periods(ep)[open_now], date)
    if by_authority:
        population["la"] = ret.child_la[now["child"].to_numpy()]
    return population


def estimate(ret: CleanReturn, *, social_workers: float | None = None, foster_households: float | None = None,
             cost_factor: float = 1.0) -> LocalEstimates:
    """Estimate a local model's inputs from a cleaned return (see the module docstring)."""
    ep = counted(ret.episodes).reset_index(drop=True)
    ep["state"] = _states(ep)
    period_start = _periods(ep)
    dob = ret.children["dob"].reindex(ep["child"]).to_numpy()
    in_window = lambda d: (d >= ret.start) & (d <= ret.end)  # noqa: E731
    year_of = lambda d: d.dt.year + (d.dt.month >= 4)  # noqa: E731
    # population at the latest 31 March
    date = ret.end
    open_now = _in_care_on(ep, date).to_numpy()
    population = _population_at(ret, ep[open_now], period_start[open_now], date)
    # entries: periods begun in the window
    first_of_period = ep["decom"].to_numpy() == period_start
    starts = ep[first_of_period & in_window(ep["decom"]).to_numpy()]
    start_age = age_band(age_in_years(dob[starts.index.to_numpy()], starts["decom"]))
    entries = pd.crosstab(year_of(starts["decom"]).to_numpy(), start_age, rownames=["year"],
                          colnames=["age at entry"], dropna=False).reindex(
        index=ret.years, columns=codes.AGE_BAND_NAMES, fill_value=0)
    # exits: periods ended in the window
    ended = ep[ep["dec"].notna() & (ep["rec"] != "X1") & in_window(ep["dec"])]
    end_age = age_in_years(dob[ended.index.to_numpy()], ended["dec"])
    exit_cause = [codes.exit_group(r, a) for r, a in zip(ended["rec"], end_age)]
    exits = pd.crosstab(year_of(ended["dec"]).to_numpy(), pd.Categorical(exit_cause, codes.EXIT_GROUPS),
                        rownames=["year"], colnames=["exit"], dropna=False)
    exits = exits.reindex(index=ret.years, columns=codes.EXIT_GROUPS, fill_value=0)
    panel = _panel(ret, ep, period_start)
    months_in = _month_index(ended["dec"]) - _month_index(pd.Series(period_start[ended.index.to_numpy()]))
    exit_events = pd.DataFrame({"state": ended["state"].to_numpy(), "age_band": age_band(end_age),
                                "time_band": _time_band(months_in), "cause": exit_cause})
    # moves: the next episode of the same period in another placement (RNE P, B; T and U merged)
    nxt = ep.shift(-1)
    moved = ((nxt["child"] == ep["child"]) & (ep["rec"] == "X1") & (nxt["decom"] == ep["dec"])
             & nxt["rne"].isin(["P", "B", "T", "U"]) & in_window(ep["dec"]))
    mv = ep[moved]
    move_age = age_in_years(dob[mv.index.to_numpy()], mv["dec"])
    moves = pd.crosstab(mv["state"], nxt.loc[mv.index, "state"]).rename_axis(index="from", columns="to")
    move_events = pd.DataFrame({"state": mv["state"].to_numpy(), "age_band": age_band(move_age),
                                "time_band": _time_band(_month_index(mv["dec"]) - _month_index(
                                    pd.Series(period_start[mv.index.to_numpy()]))), "cause": "move"})
    # mixes at each 31 March
    placement_mix, provider_mix = {}, {}
    for year in ret.years:
        d = collection_end(year)
        open_then = ep[(ep["decom"] <= d) & (ep["dec"].isna() | (ep["dec"] > d))]
        placement_mix[year] = open_then["state"].value_counts()
        provider_mix[year] = open_then["provider"].replace("", "none").value_counts()
    england = england_figures(date.year)
    scale = len(population) / england["n_in_care"][1]
    sources = {"scale": f"children in care at 31 March {date.year} over England's {england['n_in_care'][1]:,.0f} "
                        f"({england['n_in_care'][0]})"}
    if social_workers is None:
        social_workers = england["n_social_workers"][1] * scale
        sources["social_workers"] = (f"England's {england['n_social_workers'][1]:,.0f} FTE "
                                     f"({england['n_social_workers'][0]}) x scale: 903 holds no workforce")
    else:
        sources["social_workers"] = "given (--social-workers)"
    if foster_households is None:
        foster_households = england["n_foster_households"][1] * scale
        sources["foster_households"] = (f"England's {england['n_foster_households'][1]:,.0f} "
                                        f"({england['n_foster_households'][0]}) x scale: 903 holds no carers")
    else:
        sources["foster_households"] = "given (--foster-households)"
    sources["unit_costs"] = ("England's unit costs (sim/parameters.py)" + (f" x {cost_factor:g} (--cost-factor)"
                             if cost_factor != 1 else ": 903 holds no costs"))
    states = [s for s in STATE_ORDER if s in set(ep["state"])]
    return LocalEstimates(
        date=date, years=list(ret.years), population=population, entries=entries, exits=exits,
        exit_rates_by_state=_hazards(exit_events, panel, ["state"], codes.EXIT_GROUPS),
        exit_rates_by_age_time=_hazards(exit_events, panel, ["age_band", "time_band"], codes.EXIT_GROUPS),
        moves=moves, move_rates=_hazards(move_events, panel, ["state", "age_band", "time_band"], ("move",)),
        placement_mix=pd.DataFrame(placement_mix).T.reindex(columns=states).fillna(0).astype(int),
        provider_mix=pd.DataFrame(provider_mix).T.fillna(0).astype(int).sort_index(axis=1),
        scale=scale, social_workers=float(social_workers), foster_households=float(foster_households),
        cost_factor=float(cost_factor), sources=sources)


STATE_ORDER = ("KINSHIP", "FOSTER_IN_HOUSE", "FOSTER_AGENCY", "HOME_LA", "HOME_PRIVATE", "SEMI_INDEPENDENT",
               "PLACED_WITH_PARENTS", "PLACED_FOR_ADOPTION", "OTHER_PLACEMENT")


def _states(ep: pd.DataFrame) -> np.ndarray:
    """The model state of every episode, from its (PLACE, PLACE_PROVIDER) pair, computed once per pair."""
    pairs = ep["place"] + "|" + ep["provider"]
    lookup = {pair: codes.model_state(*pair.split("|")) for pair in pairs.unique()}
    return pairs.map(lookup).to_numpy()
