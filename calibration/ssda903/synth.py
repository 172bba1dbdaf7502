"""Synthetic SSDA903 returns written from the model's own journey log.

`synthesise` runs `CareModel` at the scale of an authority (its children in care over England's
at 31 March 2015), turns every child's moves into and out of care into 903 episodes, and writes
the Header, Episodes and UASC tables of each collection year with the DfE's codes and dd/mm/YYYY
dates. Nothing comes from a real child: CHILD and UPN are random numbers, dates of birth are the
model's ages with a random day, and the day of each event within its month is drawn.

What the model does not hold is drawn, seeded: the legal status of periods that had ended by the
last 31 March (section 20 at the model's share for the year, else a full care order), the
provider sector within a placement kind (PR4 or PR5), returns home planned or not (E4A, E4B),
the reason an 18-year-old left. What is read back - stocks at 31 March, starts, ceased, exits by
model group, placement states - is the model's own, exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.dates import START_YEAR
from sim.states import IS_IN_CARE, State

FIRST_YEAR = START_YEAR + 1  # the first whole collection year the model covers (2015-16)
LEGAL_CODES = {1: "V2", 2: "C2", 3: "E1"}  # agents.children.LegalStatus values
EXIT_REC = {State.RETURNED_HOME: "E4A", State.SPECIAL_GUARDIANSHIP: "E45", State.ADOPTED: "E11",
            State.AGED_OUT: "E8", State.LEFT_OTHER: "E5"}
ETHNIC = ("WBRI", "WOTH", "MWBC", "MWBA", "MOTH", "APKN", "AOTH", "BAFR", "BCRB", "BOTH", "OOTH", "NOBT")
ETHNIC_WEIGHTS = (0.66, 0.05, 0.04, 0.02, 0.04, 0.02, 0.03, 0.04, 0.02, 0.02, 0.04, 0.02)
HEADER_COLUMNS = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB")
EPISODE_COLUMNS = ("CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                   "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN")
UASC_COLUMNS = ("CHILD", "SEX", "DOB", "DUC")


@dataclass
class SynthResult:
    """What was written, and the model that wrote it (for checks against its own counts)."""

    model: object
    scale: float
    years: list[int]
    episodes: pd.DataFrame  # every episode, with dates, codes and the synthetic CHILD
    header: pd.DataFrame
    paths: list[Path]


def _month_start(months: np.ndarray) -> pd.DatetimeIndex:
    """First day of model month m (month 0 = March 2015)."""
    total = (START_YEAR * 12 + 2) + np.asarray(months, dtype=np.int64)
    return pd.DatetimeIndex(pd.to_datetime(pd.DataFrame({"year": total // 12, "month": total % 12 + 1, "day": 1})))


def _event_dates(child: np.ndarray, month: np.ndarray, to: np.ndarray, birth_month: np.ndarray,
                 dob_day: np.ndarray, gen: np.random.Generator) -> pd.DatetimeIndex:
    """A day within its month for each event, a child's events in one month on distinct days in order.

    The model's birthdays fall at the end of a month (after every other event of that month), so
    in a child's birthday month the events come before its birthday and an 18th birthday's exit
    on it: whole years of age read from the dates are then the model's age in months // 12.
    """
    key = child.astype(np.int64) * 10_000 + (month.astype(np.int64) + 1_000)
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sizes = np.diff(np.r_[starts, key.size])
    rank = np.arange(key.size) - np.repeat(starts, sizes)
    first = _month_start(month)
    days = first.days_in_month.to_numpy()
    birthday = (month - birth_month[child]) % 12 == 0
    born = month == birth_month[child]  # in the month of birth itself: on or after the birth
    offset = np.where(born, dob_day[child] - 1, 0)
    days = np.where(born, days - offset, np.where(birthday, dob_day[child] - 1, days))  # else before the birthday
    u = np.repeat(gen.random(starts.size), sizes)
    day = offset + np.floor((rank + u) * days / np.repeat(sizes, sizes)).astype(np.int64)
    aged_out = to == State.AGED_OUT
    day[aged_out] = dob_day[child[aged_out]] - 1  # on the 18th birthday
    return first + pd.to_timedelta(day, unit="D")


def _episodes(model, months_in_care_0: np.ndarray, birth_month: np.ndarray, dob_day: np.ndarray,
              gen: np.random.Generator) -> pd.DataFrame:
    """One row per episode in care: child row, state, start and end month, dates, exit state."""
    log = model.journeys.arrays()
    care_related = IS_IN_CARE[log["from_state"]] | IS_IN_CARE[log["to_state"]]
    order = np.argsort(log["child"][care_related], kind="stable")
    child = log["child"][care_related][order].astype(np.int64)
    month = log["month"][care_related][order].astype(np.int64)
    frm = log["from_state"][care_related][order]
    to = log["to_state"][care_related][order]
    # the initial stock's episodes began before the run: months_in_care ago (after birth)
    initial = (month == 0) & IS_IN_CARE[to] & ~IS_IN_CARE[frm]
    month = month.copy()
    month[initial] = np.minimum(np.maximum(-months_in_care_0[child[initial]], birth_month[child[initial]]), 0)
    dates = _event_dates(child, month, to, birth_month, dob_day, gen).to_numpy()
    starts = np.flatnonzero(IS_IN_CARE[to])
    nxt = starts + 1
    has_next = (nxt < child.size)
    has_next[has_next] = child[nxt[has_next]] == child[starts[has_next]]
    end_idx = np.where(has_next, nxt, 0)
    ep = pd.DataFrame({
        "child": child[starts], "state": to[starts], "from_state": frm[starts], "decom": dates[starts],
        "dec": np.where(has_next, dates[end_idx], np.datetime64("NaT")),
        "end_state": np.where(has_next, to[end_idx], -1),
    })
    ep["new_period"] = ~IS_IN_CARE[ep["from_state"].to_numpy()]
    return ep


def _codes(ep: pd.DataFrame, model, gen: np.random.Generator) -> pd.DataFrame:
    c = model.children
    n = len(ep)
    state = ep["state"].to_numpy()
    period = np.cumsum(ep["new_period"].to_numpy())
    open_now = ep["dec"].isna().to_numpy()
    period_open = pd.Series(open_now).groupby(period).transform("max").to_numpy()
    # legal status: the model's own for periods still open at the end, else drawn
    p = model.params
    years = ep["decom"].dt.year.to_numpy()
    towards_2020 = np.clip((years - 2015) / 5, 0, 1)
    share = p.section_20_share_2015 + (p.section_20_share_2020 - p.section_20_share_2015) * towards_2020
    period_first = np.r_[0, np.flatnonzero(np.diff(period)) + 1]
    drawn = np.where(gen.random(period_first.size) < share[period_first], "V2", "C2")[period - 1]
    now = np.array([LEGAL_CODES.get(int(v), "C2") for v in range(4)])[c.legal_status[ep["child"].to_numpy()]]
    now = np.where(now == "E1", "C2", now)
    uasc = c.uasc[ep["child"].to_numpy()]
    ls = np.where(period_open, now, drawn)
    ls = np.where(state == State.PLACED_WITH_PARENTS, "C2", ls)
    ls = np.where(state == State.PLACED_FOR_ADOPTION, "E1", ls)
    ep["ls"] = ls
    prev_ls = np.concatenate([[""], ls[:-1]])
    ep["rne"] = np.where(ep["new_period"], "S", np.where(prev_ls != ls, "B", "P"))
    # placement and provider
    age = ep["age_at_start"].to_numpy()
    independent = np.where(gen.random(n) < 0.85, "PR4", "PR5")
    semi = np.where(ep["decom"] >= pd.Timestamp(2024, 4, 1), "K3", "H5")
    place = {State.KINSHIP: ("U3", "PR1"), State.FOSTER_IN_HOUSE: ("U6", "PR1"), State.FOSTER_AGENCY: ("U6", ""),
             State.HOME_LA: ("K2", "PR1"), State.HOME_PRIVATE: ("K2", ""), State.SEMI_INDEPENDENT: ("", ""),
             State.PLACED_WITH_PARENTS: ("P1", "PR0"), State.PLACED_FOR_ADOPTION: ("A6", "PR1"),
             State.OTHER_PLACEMENT: ("", "PR1")}
    codes = np.array([place.get(State(s), ("Z1", "PR1")) for s in range(len(State))], dtype=object)
    ep["place"] = codes[state, 0]
    ep["provider"] = codes[state, 1]
    ep.loc[state == State.SEMI_INDEPENDENT, "place"] = semi[state == State.SEMI_INDEPENDENT]
    other = state == State.OTHER_PLACEMENT
    ep.loc[other, "place"] = np.where(age[other] >= 16, "P2", "Z1")
    blank_provider = ep["provider"] == ""
    ep.loc[blank_provider, "provider"] = independent[blank_provider.to_numpy()]
    # why the episode ended
    end_state = ep["end_state"].to_numpy()
    rec = np.full(n, "", dtype=object)
    rec[(end_state >= 0) & IS_IN_CARE[np.clip(end_state, 0, None)]] = "X1"
    for st, code in EXIT_REC.items():
        rec[end_state == st] = code
    home = end_state == State.RETURNED_HOME
    rec[home & (gen.random(n) < 0.25)] = "E4B"
    rec[(end_state == State.SPECIAL_GUARDIANSHIP) & (state == State.KINSHIP)] = "E46"
    aged = end_state == State.AGED_OUT
    rec[aged] = np.where(np.isin(state[aged], [State.KINSHIP, State.FOSTER_IN_HOUSE, State.FOSTER_AGENCY])
                         & (gen.random(aged.sum()) < 0.5), "E17", np.where(gen.random(aged.sum()) < 0.6, "E5", "E8"))
    left = end_state == State.LEFT_OTHER
    rec[left] = np.array(["E5", "E6", "E9", "E8"])[gen.choice(4, size=left.sum(), p=[0.5, 0.25, 0.1, 0.15])]
    ep["rec"] = rec
    ep["cin"] = np.where(uasc, "N8", np.array(["N1", "N2", "N3", "N4", "N5", "N6", "N7"])[
        gen.choice(7, size=n, p=[0.64, 0.03, 0.04, 0.16, 0.08, 0.02, 0.03])])
    ep["reason_place_change"] = np.where(ep["rne"] == "S", "", np.array(["CARPL", "PLACE", "CREQB", "OTHER"])[
        gen.choice(4, size=n, p=[0.3, 0.45, 0.1, 0.15])])
    ep["urn"] = np.where(np.isin(state, [State.HOME_LA, State.HOME_PRIVATE]),
                         "SC" + pd.Series(gen.integers(100_000, 999_999, n)).astype(str).to_numpy(), "")
    return ep


def _split_redundant(ep: pd.DataFrame, per_episode: float, last_day: pd.Timestamp,
                     gen: np.random.Generator) -> pd.DataFrame:
    """Split episodes by redundant rows (RNE T: same carer, same placement state), as real returns
    hold them; cleaning merges them back, so every count is unchanged."""
    n = len(ep)
    k = gen.poisson(per_episode, n)
    ends = ep["dec"].fillna(last_day + pd.Timedelta(days=1))
    span = ((ends - ep["decom"]).dt.days.to_numpy() - 1).clip(0)
    k = np.minimum(k, span)
    owner = np.repeat(np.arange(n), k)
    offset = 1 + np.floor(gen.random(owner.size) * span[owner]).astype(np.int64)
    pieces = pd.DataFrame({"owner": owner, "decom": ep["decom"].to_numpy()[owner] + offset.astype("timedelta64[D]")})
    pieces = pieces.drop_duplicates()
    pieces = pieces[pieces["decom"] <= last_day]
    starts = pd.concat([pd.DataFrame({"owner": np.arange(n), "decom": ep["decom"].to_numpy(), "first": True}),
                        pieces.assign(first=False)]).sort_values(["owner", "decom"], kind="stable")
    out = ep.iloc[starts["owner"].to_numpy()].reset_index(drop=True)
    out["decom"] = starts["decom"].to_numpy()
    first = starts["first"].to_numpy()
    last = np.r_[starts["owner"].to_numpy()[1:] != starts["owner"].to_numpy()[:-1], True]
    out.loc[~first, "rne"] = "T"
    out.loc[~first, "reason_place_change"] = ""
    out.loc[~last, "dec"] = out["decom"].shift(-1)[~last]
    out.loc[~last, "rec"] = "X1"
    return out


def synthesise(out: Path, *, children: int, years: tuple[int, int], seed: int, params=None,
               layout: str = "years", redundant_per_episode: float = 0.0) -> SynthResult:
    """Write a synthetic return of an authority with about `children` in care at 31 March 2015.

    Args:
        out: folder to write (one sub-folder per collection year, or pooled files).
        children: children in care at the model's start (sets the scale).
        years: first and last collection year (each ending 31 March), first >= 2016.
        seed: model seed; the synthetic details are drawn from a stream derived from it.
        layout: "years" (a folder per year, dd/mm/YYYY) or "pooled" (one file per table with LA
            and YEAR columns, ISO dates).
        redundant_per_episode: mean number of redundant rows (RNE T) splitting each episode.
    """
    from sim.model import CareModel
    from sim.parameter_file import load_params

    first, last = years
    params = params if params is not None else load_params()
    scale = children / params.children_in_care_2015
    model = CareModel(params, seed=seed, scale=scale, journeys=True)
    months_in_care_0 = model.children.months_in_care[: model.children.n].astype(np.int64).copy()
    model.run_until(last)
    gen = np.random.default_rng([seed, 903])
    c = model.children
    n_children = c.n
    birth_month = model.month - c.age_months[:n_children].astype(np.int64)
    dob_day = gen.integers(5, 29, n_children)  # from the 5th: room for a few events before a birthday
    ep = _episodes(model, months_in_care_0, birth_month, dob_day, gen)
    dob = _month_start(birth_month) + pd.to_timedelta(dob_day - 1, unit="D")
    ep["age_at_start"] = (ep["decom"].dt.year - dob.year[ep["child"]]).to_numpy()  # approximate: codes only
    ep = _codes(ep, model, gen)
    ids = (gen.choice(9_000_000, size=n_children, replace=False) + 1_000_000).astype(str)
    upn = np.char.add("A", (gen.choice(10**11, size=n_children, replace=False) + 8 * 10**11).astype(str))
    header = pd.DataFrame({"CHILD": ids, "SEX": np.where(gen.random(n_children) < 0.56, "1", "2"),
                           "DOB": dob,
                           "ETHNIC": np.array(ETHNIC)[gen.choice(len(ETHNIC), n_children, p=ETHNIC_WEIGHTS)],
                           "UPN": upn, "MOTHER": "", "MC_DOB": ""})
    ep["CHILD"] = ids[ep["child"].to_numpy()]
    if redundant_per_episode > 0:
        ep = _split_redundant(ep, redundant_per_episode, pd.Timestamp(last, 3, 31), gen)
    header = header.iloc[np.unique(ep["child"].to_numpy())]
    paths = _write(out, ep, header, c.uasc[:n_children], list(range(first, last + 1)), layout)
    return SynthResult(model=model, scale=scale, years=list(range(first, last + 1)), episodes=ep, header=header,
                       paths=paths)


def _write(out: Path, ep: pd.DataFrame, header: pd.DataFrame, uasc: np.ndarray, years: list[int],
           layout: str) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fmt = "%Y-%m-%d" if layout == "pooled" else "%d/%m/%Y"
    tables: dict[str, list[pd.DataFrame]] = {"header": [], "episodes": [], "uasc": []}
    for year in years:
        start, end = pd.Timestamp(year - 1, 4, 1), pd.Timestamp(year, 3, 31)
        rows = ep[(ep["decom"] <= end) & (ep["dec"].isna() | (ep["dec"] >= start))]
        after = rows["dec"] > end
        episodes = pd.DataFrame({
            "CHILD": rows["CHILD"], "DECOM": rows["decom"].dt.strftime(fmt), "RNE": rows["rne"], "LS": rows["ls"],
            "CIN": rows["cin"], "PLACE": rows["place"], "PLACE_PROVIDER": rows["provider"],
            "DEC": rows["dec"].dt.strftime(fmt).where(~after & rows["dec"].notna(), ""),
            "REC": rows["rec"].where(~after, ""), "REASON_PLACE_CHANGE": rows["reason_place_change"],
            "HOME_POST": "", "PL_POST": "", "URN": rows["urn"]})
        children = np.unique(rows["child"].to_numpy())
        h = header.loc[children].copy()
        birthday_18 = h["DOB"] + pd.DateOffset(years=18)
        h["DOB"] = h["DOB"].dt.strftime(fmt)
        u = h[uasc[children]][["CHILD", "SEX", "DOB"]].copy()
        duc = birthday_18[uasc[children]]
        u["DUC"] = duc.dt.strftime(fmt).where(duc <= end, "")
        for name, frame in (("header", h[list(HEADER_COLUMNS)]), ("episodes", episodes), ("uasc", u)):
            if layout == "pooled":
                frame = frame.assign(LA="999", YEAR=str(year))
            tables[name].append(frame)
    paths = []
    for name, frames in tables.items():
        if layout == "pooled":
            path = out / f"{name}.csv"
            pd.concat(frames).to_csv(path, index=False)
            paths.append(path)
        else:
            for year, frame in zip(years, frames):
                folder = out / str(year)
                folder.mkdir(exist_ok=True)
                path = folder / f"{name}.csv"
                frame.to_csv(path, index=False)
                paths.append(path)
    return paths
