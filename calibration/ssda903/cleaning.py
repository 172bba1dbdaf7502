"""Cleaning a return as the demand models do, counting how many rows each step changed.

The steps, in order (the Data to Insight and Social Finance demand models clean the same way):

1. rows starting after their collection's end are dropped; a DEC after it is cleared (the
   episode was open at the end of that collection);
2. duplicate rows are dropped; the same episode (child and start date) in several years' files
   is kept once, from the latest file;
3. an episode left open in one year's file that is missing from its authority's next year's
   file ended after that year: it is closed on 1 April with reason E8 ("any other reason");
4. overlapping episodes are cut at the next episode's start (the earlier one then ends X1);
5. redundant episodes - a new row because only the legal status (L) or the placement with the
   same carer (T, U) changed, with no gap - are merged into the episode before them.

After cleaning, children are numbered 0..n-1: the authority's identifiers (CHILD, UPN) stay
behind in the raw tables and reach no output.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from calibration.ssda903 import codes
from calibration.ssda903.reader import RawReturn, ReturnError

EPISODE_COLUMNS = ("child", "decom", "dec", "rne", "ls", "cin", "place", "provider", "rec", "year")


@dataclass
class CleanReturn:
    """A cleaned return: episodes keyed by an anonymous child number, and one row per child.

    `episodes`: child, decom, dec (NaT while open), rne, ls, cin, place, provider, rec, year
    (the collection year of the file the row came from), sorted by child and start.
    `children`: indexed by child number: dob, sex, uasc_until (NaT while still UASC; only for
    children in a UASC file), uasc (in a UASC file at all).
    """

    episodes: pd.DataFrame
    children: pd.DataFrame
    years: list[int]
    n_authorities: int
    steps: dict[str, int] = field(default_factory=dict)
    optional_rows: dict[str, int] = field(default_factory=dict)
    # each child's authority (the `la` of its rows: the LA column, else its folder in a region;
    # "" in one authority's return without an LA column), by child number
    child_la: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))

    @property
    def start(self) -> pd.Timestamp:
        """The first day covered: 1 April before the first collection year."""
        return pd.Timestamp(self.years[0] - 1, 4, 1)

    @property
    def end(self) -> pd.Timestamp:
        return collection_end(self.years[-1])


def collection_end(year: int) -> pd.Timestamp:
    return pd.Timestamp(year, 3, 31)


def _march_31(years: np.ndarray, index: pd.Index) -> pd.Series:
    """31 March of each year (the day before 1 April), as dates."""
    april = ((np.asarray(years, dtype=np.int64) - 1970) * 12 + 3).astype("datetime64[M]").astype("datetime64[D]")
    return pd.Series((april - np.timedelta64(1, "D")).astype("datetime64[us]"), index=index)


def _child_numbers(raw: RawReturn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's child number in the header, episodes and UASC tables (a child is its LA and
    CHILD, numbered in order of first appearance), and each number's LA."""
    key, la, las = raw.children  # reader.child_keys of the three tables
    numbers, _ = pd.factorize(key)
    child_la = np.zeros(int(numbers.max()) + 1 if len(numbers) else 0, dtype=np.int64)
    child_la[numbers] = la
    a, b = len(raw.header), len(raw.header) + len(raw.episodes)
    return numbers[:a], numbers[a:b], numbers[b:], las[child_la]


def clean(raw: RawReturn) -> CleanReturn:
    """Clean `raw` (see the module docstring); `steps` says how many rows each step changed."""
    steps: Counter = Counter(raw.repairs)
    header_child, episode_child, uasc_child, child_la = _child_numbers(raw)
    e = raw.episodes
    years = pd.Series(_batch_year_of(e["batch"], raw.batch_year), index=e.index)
    ep = pd.DataFrame({"child": episode_child, "decom": e["DECOM"], "dec": e["DEC"], "rne": e["RNE"],
                       "ls": e["LS"], "cin": e["CIN"], "place": e["PLACE"], "provider": e["PLACE_PROVIDER"],
                       "rec": e["REC"], "year": years, "line": e["line"], "source": e["source"],
                       "la": pd.factorize(e["la"])[0]})
    years_of_la = np.unique(ep["la"].to_numpy() * 10_000 + ep["year"].to_numpy())  # each authority's years
    # 1. the collection's window
    end = _march_31(ep["year"].to_numpy(), ep.index)
    late_start = ep["decom"] > end
    steps["episodes starting after their collection's end dropped"] = int(late_start.sum())
    ep = ep[~late_start]
    end = end[~late_start]
    late_end = ep["dec"] > end
    steps["episodes open past their collection's end (DEC cleared)"] = int(late_end.sum())
    if late_end.any():
        ep.loc[late_end, "dec"] = pd.NaT
        ep.loc[late_end, "rec"] = ""
    # 2. duplicates, and the same episode in several years' files
    ep = ep.iloc[np.lexsort([ep[c].to_numpy() for c in ("line", "year", "decom", "child")])]  # a stable sort
    content = ["child", "decom", "dec", "rne", "ls", "cin", "place", "provider", "rec", "year"]
    dup = ep.duplicated(content)
    steps["duplicate rows dropped"] = int(dup.sum())
    ep = ep[~dup]
    same_file = ep.duplicated(["child", "decom", "year"], keep="last")
    steps["two episodes of a child starting the same day in one file (the later row kept)"] = int(same_file.sum())
    ep = ep[~same_file]
    repeated = ep.duplicated(["child", "decom"], keep="last")
    steps["episodes repeated in several years' files (the latest kept)"] = int(repeated.sum())
    ep = ep[~repeated].reset_index(drop=True)
    # 3. open at the end of one year, missing from the next year's file
    covered = sorted(set(raw.batch_year.values()))
    la_year = ep["la"].to_numpy() * 10_000 + ep["year"].to_numpy()
    vanished = ep["dec"].isna() & pd.Series(la_year + 1, index=ep.index).isin(years_of_la)  # (hashed: np.isin sorts)
    steps["open episodes missing from the next year's file (closed on 1 April, E8)"] = int(vanished.sum())
    if vanished.any():
        ep.loc[vanished, "dec"] = pd.to_datetime(ep.loc[vanished, "year"].astype(str) + "-04-01")
        ep.loc[vanished, "rec"] = "E8"
    # 4. overlaps
    same_child_next = ep["child"].shift(-1) == ep["child"]
    next_decom = ep["decom"].shift(-1)
    overlap = same_child_next & (ep["dec"].isna() | (ep["dec"] > next_decom))
    steps["overlapping episodes cut at the next start"] = int(overlap.sum())
    if overlap.any():
        ep.loc[overlap, "dec"] = next_decom[overlap]
        ep.loc[overlap, "rec"] = "X1"
    # 5. redundant episodes (no change of carer) merged into the one before
    same_child_prev = ep["child"].shift(1) == ep["child"]
    redundant = same_child_prev & ep["rne"].isin(codes.REDUNDANT_RNE) & (ep["dec"].shift(1) == ep["decom"])
    steps["redundant episodes (RNE L, T, U with no gap) merged"] = int(redundant.sum())
    if redundant.any():
        group = (~redundant).cumsum().to_numpy()
        last_row = np.r_[group[1:] != group[:-1], True]  # the last row of each merged run (a blank DEC too)
        dec, rec = ep["dec"].to_numpy()[last_row], ep["rec"].to_numpy()[last_row]
        ep = ep[~redundant].copy()
        ep["dec"], ep["rec"] = dec, rec
    children = _children(raw, header_child, uasc_child, int(ep["child"].max()) + 1 if len(ep) else 0)
    dob = children["dob"].reindex(ep["child"]).to_numpy()
    before_birth = ep["decom"].to_numpy() < dob
    if before_birth.any():
        row = ep[before_birth].iloc[0]
        raise ReturnError(f"{row['source']}: line {row['line']}: column DECOM: before the child's date of birth: "
                          f"{row['decom']:%d/%m/%Y}")
    episodes = ep[list(EPISODE_COLUMNS)].reset_index(drop=True)
    return CleanReturn(episodes=episodes, children=children, years=covered,
                       n_authorities=int(raw.episodes["la"].nunique()),
                       steps={k: int(v) for k, v in steps.items()}, optional_rows=dict(raw.optional_rows),
                       child_la=child_la)


def _children(raw: RawReturn, header_child: np.ndarray, uasc_child: np.ndarray, n: int) -> pd.DataFrame:
    """One row per child: the latest header row's DOB and SEX; UASC status from the UASC files."""
    h = _latest_rows(header_child, _batch_year_of(raw.header["batch"], raw.batch_year),
                     {"dob": raw.header["DOB"], "sex": raw.header["SEX"]})
    u = _latest_rows(uasc_child, _batch_year_of(raw.uasc["batch"], raw.batch_year),
                     {"duc": raw.uasc["DUC"]})
    children = h.reindex(range(max(n, len(h) and int(h.index.max()) + 1)))[["dob", "sex"]]
    children["uasc"] = children.index.isin(u.index)
    children["uasc_until"] = u["duc"].reindex(children.index)
    return children


def _batch_year_of(batch: pd.Series, batch_year: dict[str, int]) -> np.ndarray:
    """Each row's collection year from its batch (0 for a batch without episodes): looked up
    once per batch, not per row."""
    codes, batches = pd.factorize(batch)
    return np.array([batch_year.get(b, 0) for b in batches] + [0], dtype=np.int64)[codes]


def _latest_rows(child: np.ndarray, year: np.ndarray, columns: dict[str, pd.Series]) -> pd.DataFrame:
    """`columns` at each child's row from its latest year (of rows of one year, the last), indexed
    by child number in order."""
    order = np.lexsort([year, child])  # stable: by child, then year, then row
    last = np.r_[child[order][1:] != child[order][:-1], True] if len(order) else np.zeros(0, dtype=bool)
    rows = order[last]
    return pd.DataFrame({name: col.to_numpy()[rows] for name, col in columns.items()},
                        index=pd.Index(child[rows], name="child"))
