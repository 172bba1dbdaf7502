"""A small hand-made 903 return in the layouts other teams' tools write, for the ssda903 tests.

`write_years` writes the Data to Insight / Social Finance per-year layout: a folder per
collection year holding header.csv, episodes.csv and uasc.csv with lower-case column names and
dd/mm/YYYY dates. `write_pooled` writes the same rows as one file per table with LA and YEAR
columns and ISO dates. Every identifier is distinctive so that tests can search outputs for it.

What the rows hold, and what the tests expect from them (worked by hand):
- A: S 01/05/2018 foster in-house, then P 01/09/2018 private children's home; in both years'
  files (repeated once); returned home 10/10/2019 (E4A).
- B: S 01/02/2019 kinship, then L 01/03/2019 (legal status only: merged); the L row repeated
  in 2020 and duplicated exactly inside the 2020 file.
- C: a short break (V3) from 01/01/2020: left out of every count.
- D: S 01/05/2019 foster in-house to 20/08/2019, overlapping P 01/08/2019 agency foster (cut);
  UASC in 2019-20.
- E: S 01/06/2018, open in the 2019 file, absent from 2020's: closed 1 April 2019 (E8).
31 March 2019: A (private home, 8), B (kinship, 14), E (in-house, 3) = 3. 31 March 2020: B, D = 2.
Started 2019: A, B, E; 2020: D. Ceased 2019: none; 2020: A (E4A), E (E8).
"""
from __future__ import annotations

from pathlib import Path

CHILD_IDS = {"A": "ZQA90417", "B": "ZQB90428", "C": "ZQC90439", "D": "ZQD90440", "E": "ZQE90451"}
UPNS = {k: f"X9{n:011d}" for n, k in enumerate(CHILD_IDS, start=73_000_000_001)}
DOBS = {"A": "15/06/2010", "B": "13/01/2005", "C": "27/11/2012", "D": "19/07/2003", "E": "23/02/2016"}
POSTCODE, URN = "QX9 7ZW", "SC771993"

HEADER = ("child", "sex", "dob", "ethnic", "upn", "mother", "mc_dob")
EPISODES = ("child", "decom", "rne", "ls", "cin", "place", "place_provider", "dec", "rec", "reason_place_change",
            "home_post", "pl_post", "urn")
UASC = ("child", "sex", "dob", "duc")

# (child, decom, rne, ls, place, provider, dec, rec) per collection year
EPISODE_ROWS = {
    2019: [("A", "01/05/2018", "S", "C2", "U6", "PR1", "01/09/2018", "X1"),
           ("A", "01/09/2018", "P", "C2", "K2", "PR4", "", ""),
           ("B", "01/02/2019", "S", "V2", "U3", "PR1", "01/03/2019", "X1"),
           ("B", "01/03/2019", "L", "C2", "U3", "PR1", "", ""),
           ("E", "01/06/2018", "S", "V2", "U6", "PR1", "", "")],
    2020: [("A", "01/09/2018", "P", "C2", "K2", "PR4", "10/10/2019", "E4A"),
           ("B", "01/03/2019", "L", "C2", "U3", "PR1", "", ""),
           ("B", "01/03/2019", "L", "C2", "U3", "PR1", "", ""),
           ("C", "01/01/2020", "S", "V3", "U6", "PR1", "", ""),
           ("D", "01/05/2019", "S", "V2", "U4", "PR1", "20/08/2019", "X1"),
           ("D", "01/08/2019", "P", "V2", "U6", "PR4", "", "")],
}
UASC_ROWS = {2019: [], 2020: [("D", "")]}


def _csv(path: Path, columns, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(columns)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _iso(date: str) -> str:
    return f"{date[6:]}-{date[3:5]}-{date[:2]}" if date else ""


def year_tables(year: int, iso: bool = False) -> dict[str, list[tuple[str, ...]]]:
    d = _iso if iso else (lambda s: s)
    episodes = [(CHILD_IDS[c], d(a), rne, ls, "N1", place, pr, d(b), rec, "PLACE" if rne == "P" else "",
                 POSTCODE, POSTCODE, URN if place == "K2" else "")
                for c, a, rne, ls, place, pr, b, rec in EPISODE_ROWS[year]]
    children = sorted({r[0] for r in EPISODE_ROWS[year]})
    header = [(CHILD_IDS[c], "1", d(DOBS[c]), "WBRI", UPNS[c], "", "") for c in children]
    uasc = [(CHILD_IDS[c], "1", d(DOBS[c]), d(duc)) for c, duc in UASC_ROWS[year]]
    return {"header": header, "episodes": episodes, "uasc": uasc}


COLUMNS = {"header": HEADER, "episodes": EPISODES, "uasc": UASC}


def write_years(folder: Path) -> Path:
    """The per-year layout: folder/2019/header.csv, ... (lower-case columns, dd/mm/YYYY)."""
    for year in EPISODE_ROWS:
        for table, rows in year_tables(year).items():
            _csv(folder / str(year) / f"{table}.csv", COLUMNS[table], rows)
    return folder


def write_pooled(folder: Path, authorities: tuple[str, ...] = ("201",)) -> Path:
    """The pooled layout: folder/SSDA903_Header.csv, ... with LA and YEAR columns and ISO dates."""
    for table in COLUMNS:
        rows = [r + (la, str(year)) for la in authorities for year in EPISODE_ROWS
                for r in year_tables(year, iso=True)[table]]
        _csv(folder / f"SSDA903_{table.capitalize()}.csv", tuple(c.upper() for c in COLUMNS[table]) + ("LA", "YEAR"),
             rows)
    return folder


def identifiers() -> list[str]:
    """Every identifier the fixture holds, in each form a date of birth could be written."""
    return (list(CHILD_IDS.values()) + list(UPNS.values()) + list(DOBS.values()) + [_iso(d) for d in DOBS.values()]
            + [POSTCODE, URN])
