"""Counting a cleaned return as the DfE's national tables do.

- looked after at 31 March: an episode open then (DEC blank or after it), leaving out children
  whose status then is a short break (V3, V4);
- started in the year (1 April to 31 March): episodes with RNE S beginning in it;
- ceased in the year: episodes ending in it with REC other than X1.
Short breaks are left out of starts and ceased as well, as the national tables do. Ages are at
31 March for stocks and at the event for flows, in whole years from DOB.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from calibration.ssda903 import codes
from calibration.ssda903.cleaning import CleanReturn, collection_end


def age_in_years(dob: pd.Series | np.ndarray, at: pd.Series | pd.Timestamp) -> np.ndarray:
    """Whole years of age at `at` (one date, or one per row)."""
    dob = pd.DatetimeIndex(dob)
    at = pd.DatetimeIndex(np.broadcast_to(np.asarray(at, dtype="datetime64[ns]"), (len(dob),)))
    before_birthday = (at.month * 100 + at.day) < (dob.month * 100 + dob.day)
    return np.asarray(at.year - dob.year - before_birthday, dtype=int)


def age_band(age_years: np.ndarray) -> pd.Categorical:
    index = np.searchsorted(codes.AGE_BAND_EDGES, age_years, side="right") - 1
    return pd.Categorical.from_codes(np.clip(index, 0, len(codes.AGE_BAND_NAMES) - 1), codes.AGE_BAND_NAMES)


def counted(episodes: pd.DataFrame) -> pd.DataFrame:
    """Episodes the national figures count: not short breaks."""
    return episodes[~episodes["ls"].isin(codes.SHORT_BREAK)]


def open_at(episodes: pd.DataFrame, date: pd.Timestamp) -> pd.DataFrame:
    """Episodes open on `date` (started on or before it; DEC blank or after it)."""
    mask = (episodes["decom"] <= date) & (episodes["dec"].isna() | (episodes["dec"] > date))
    return episodes[mask]


def stock_at(ret: CleanReturn, date: pd.Timestamp) -> pd.DataFrame:
    """The children looked after on `date`: one row each with group and age band."""
    ep = open_at(counted(ret.episodes), date)
    ep = ep.drop_duplicates("child", keep="last")
    ages = age_in_years(ret.children["dob"].reindex(ep["child"]).to_numpy(), date)
    pairs = ep["place"] + "|" + ep["provider"]
    state = pairs.map({p: codes.model_state(*p.split("|")) for p in pairs.unique()})
    return pd.DataFrame({"child": ep["child"].to_numpy(), "group": ep["place"].map(codes.placement_group).to_numpy(),
                         "state": state.to_numpy(), "age_band": age_band(ages), "age_years": ages})


def stock_partitions() -> list[tuple[str, tuple[str, ...]]]:
    """How the columns of `stock_table` add up (for secondary suppression)."""
    parts = [("total", codes.GROUPS), ("total", tuple(codes.AGE_BAND_NAMES))]
    return parts + [(group, states) for group, states in codes.GROUP_STATES.items() if len(states) > 1]


def stock_table(ret: CleanReturn) -> pd.DataFrame:
    """Children looked after at each covered 31 March: total; by placement group, and within the
    foster and residential groups by the model's placement state; by age band."""
    rows = {}
    for year in ret.years:
        s = stock_at(ret, collection_end(year))
        states = s["state"].value_counts().reindex(codes.STATES, fill_value=0)
        row = {"total": len(s)}
        for group, members in codes.GROUP_STATES.items():
            row[group] = int(states[list(members)].sum())
            if len(members) > 1:
                row.update({m: int(states[m]) for m in members})
        row.update(s["age_band"].value_counts().reindex(codes.AGE_BAND_NAMES, fill_value=0).to_dict())
        rows[year] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("31 March")


def flow_table(ret: CleanReturn) -> pd.DataFrame:
    """Started and ceased to be looked after in each covered year."""
    ep = counted(ret.episodes)
    start_year = ep["decom"].dt.year + (ep["decom"].dt.month >= 4)
    end_year = ep["dec"].dt.year + (ep["dec"].dt.month >= 4)
    started = start_year[ep["rne"] == "S"].value_counts()
    ceased = end_year[ep["dec"].notna() & (ep["rec"] != "X1")].value_counts()
    table = pd.DataFrame({"started": started, "ceased": ceased}).reindex(ret.years).fillna(0).astype(int)
    return table.rename_axis("year")
