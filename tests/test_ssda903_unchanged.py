"""Reading and cleaning a return gives exactly what it gave before it was made quicker (issue 12).

A region reads 150 returns, so reading and cleaning one got faster (calibration/ssda903:
quick paths in the reader, array arithmetic in cleaning and estimates). This pins what they
produce: digests of the cleaned return (episodes and children, values and dtypes), the cleaning
steps, the summary `data check` prints, the estimates and the `LocalStart` at every 31 March,
for the hand-made fixture in both layouts, a messy copy of it, and seeded returns written here
without the model (so that a change to sim/ does not move them) with what real files hold:
lower-case codes, spaces around cells, exact duplicates, the same episode in two years' files,
episodes starting after the collection's end, overlaps, redundant rows, short breaks, blank
rows, CRLF line ends, ISO dates in the pooled layout.

The digests were computed with the code before the change (main at b6dd0ff). A deliberate change
to how a return is read or cleaned moves them: print the new ones with
`python -m tests.test_ssda903_unchanged` and say in the commit why they changed.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests import ssda903_fixtures as fx

YEARS = (2019, 2021)
PLACES = ("U1", "U3", "U4", "U5", "U6", "K2", "R1", "P1", "A3", "H5", "S1", "T0", "Z1")
EXITS = ("E4A", "E11", "E45", "E8", "E13", "E5")


def _episodes(rng: np.random.Generator, children: int) -> pd.DataFrame:
    """Every child's episodes over the years, as dates and codes (no file's view of them yet)."""
    rows = []
    first = pd.Timestamp(YEARS[0] - 3, 4, 1)
    span = (pd.Timestamp(YEARS[1], 3, 31) - first).days
    for k in range(children):
        day = first + pd.Timedelta(days=int(rng.integers(0, span)))
        dob = day - pd.Timedelta(days=int(rng.integers(0, 17 * 365)))
        ls = "V3" if rng.random() < 0.04 else str(rng.choice(["C2", "V2", "E1", "D1"]))
        n = 1 + int(rng.poisson(1.5))
        for j in range(n):
            end = day + pd.Timedelta(days=int(rng.integers(5, 500)))
            last = j == n - 1
            gap = not last and rng.random() < 0.1  # the next episode starts a new period
            rows.append({"k": k, "dob": dob, "decom": day, "dec": None if last and rng.random() < 0.3 else end,
                         "rne": "S" if j == 0 or rows[-1]["rec"] != "X1" else str(rng.choice(list("PPBTLU"))),
                         "ls": ls if rng.random() < 0.8 else str(rng.choice(["C2", "V2", "E1"])),
                         "place": str(rng.choice(PLACES)), "provider": f"PR{int(rng.integers(0, 6))}",
                         "rec": "X1" if not last and not gap else str(rng.choice(EXITS))})
            day = end + pd.Timedelta(days=int(rng.integers(20, 200))) if gap else end
    ep = pd.DataFrame(rows)
    return ep[ep["decom"] <= pd.Timestamp(YEARS[1], 3, 31)]


def write_random_return(folder: Path, seed: int, children: int = 400, pooled: bool = False) -> Path:
    """A seeded return with the mess real files hold (module docstring), without the model."""
    rng = np.random.default_rng(seed)
    ep = _episodes(rng, children)
    ids = {k: f"RT{seed:02d}{k:05d}" for k in ep["k"].unique()}
    dobs = ep.groupby("k")["dob"].first()
    fmt = (lambda d: "" if d is None or pd.isna(d) else f"{d:%Y-%m-%d}") if pooled else (
        lambda d: "" if d is None or pd.isna(d) else f"{d:%d/%m/%Y}")
    tables = {"header": [], "episodes": [], "uasc": []}
    uasc = {k for k in ids if rng.random() < 0.06}
    for year in range(YEARS[0], YEARS[1] + 1):
        start, end = pd.Timestamp(year - 1, 4, 1), pd.Timestamp(year, 3, 31)
        dec = ep["dec"].fillna(pd.Timestamp(2100, 1, 1))
        now = ep[(ep["decom"] <= end) & (dec >= start)]
        late = ep[(ep["decom"] > end) & (ep["decom"] <= end + pd.Timedelta(days=40))]
        now = pd.concat([now, late.sample(frac=0.3, random_state=seed)])  # rows after the end: dropped
        for _, e in now.iterrows():
            if e["decom"] < start and rng.random() < 0.02:
                continue  # open at the end of last year's file and missing from this one: closed on 1 April
            ended = e["dec"] is not None and not pd.isna(e["dec"])
            closed = ended and (e["dec"] <= end or rng.random() < 0.02)  # a DEC after the end: cleared
            if rng.random() < 0.03 and closed:
                closed_on = e["dec"] + pd.Timedelta(days=15)  # overlaps the next episode: cut
            else:
                closed_on = e["dec"] if closed else None
            place = e["place"].lower() if rng.random() < 0.02 else (f" {e['place']} " if rng.random() < 0.02
                                                                      else e["place"])
            row = [ids[e["k"]], fmt(e["decom"]), e["rne"], e["ls"], "N1", place, e["provider"], fmt(closed_on),
                   e["rec"] if closed else "", "", "QX9 7ZW", "QX9 7ZW", ""]
            tables["episodes"].append((year, row))
            if rng.random() < 0.02:
                tables["episodes"].append((year, list(row)))  # an exact duplicate
        for k in sorted(set(now["k"])):
            tables["header"].append((year, [ids[k], str(1 + k % 2), fmt(dobs[k]), "WBRI", f"X{k:012d}", "", ""]))
            if k in uasc:
                tables["uasc"].append((year, [ids[k], str(1 + k % 2), fmt(dobs[k]),
                                              fmt(dobs[k] + pd.Timedelta(days=18 * 365)) if k % 3 else ""]))
    columns = {"header": fx.HEADER, "episodes": fx.EPISODES, "uasc": fx.UASC}
    for table, rows in tables.items():
        if pooled:
            lines = [",".join(c.upper() for c in columns[table]) + ",LA,YEAR"]
            lines += [",".join(r) + f",301,{y}" for y, r in rows]
            (folder / f"SSDA903_{table}.csv").parent.mkdir(parents=True, exist_ok=True)
            (folder / f"SSDA903_{table}.csv").write_text("\n".join(lines) + "\n")
            continue
        for year in range(YEARS[0], YEARS[1] + 1):
            lines = [",".join(columns[table])] + [",".join(r) for y, r in rows if y == year]
            end = "\r\n" if year == YEARS[0] else "\n"
            blank = ",,,\n" if year == YEARS[1] else ""
            path = folder / str(year) / f"{table}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes((end.join(lines) + end + blank).encode())
    return folder


def _messy(folder: Path) -> Path:
    fx.write_years(folder)
    path = folder / "2020" / "episodes.csv"
    lines = path.read_text().splitlines()
    body = [line.replace(",U6,", ", u6 ,") if i == 3 else line for i, line in enumerate(lines[1:])]
    path.write_bytes(b"\xef\xbb\xbf" + (lines[0].upper() + "\n" + "\n".join(body) + "\n,,,,,,,,,,,,\n\n").encode())
    return folder


RETURNS = {
    "fixture_years": fx.write_years,
    "fixture_pooled": fx.write_pooled,
    "fixture_messy": _messy,
    "random_years_1": lambda f: write_random_return(f, 1),
    "random_years_2": lambda f: write_random_return(f, 2, children=150),
    "random_pooled_3": lambda f: write_random_return(f, 3, pooled=True),
}


def _frame_text(frame: pd.DataFrame) -> str:
    return frame.to_csv() + repr(list(frame.dtypes.astype(str))) + str(frame.index.dtype) + str(frame.index.name)


def fingerprint(folder: Path) -> dict[str, str]:
    """Digests of everything read and derived from the return at `folder`."""
    from calibration.local import history, load_authority, start_at
    from calibration.ssda903.estimates import estimate
    from calibration.ssda903.summary import estimates_text, summary_text

    authority = load_authority(folder)
    ret = authority.ret
    parts = {"episodes": _frame_text(ret.episodes), "children": _frame_text(ret.children),
             "steps": json.dumps([ret.steps, ret.optional_rows, ret.years, ret.n_authorities, authority.name]),
             "summary": summary_text(ret), "estimates": estimates_text(estimate(ret)),
             "history": _frame_text(history(ret))}
    for year in ret.years:
        start = start_at(ret, year, authority.name)
        parts[f"start {year}"] = _frame_text(start.children) + repr((start.year, start.size, start.name))
    return {k: hashlib.sha256(v.encode()).hexdigest()[:16] for k, v in parts.items()}


PINNED = {  # computed with the code before the change (module docstring)
    "fixture_messy": {
        "episodes": "587068999b92211e", "children": "285603f73a529dea", "steps": "2ca7d2c008f6085f",
        "summary": "c04580603a6a30b9", "estimates": "79d24ff9d6100dc9", "history": "6c185bd7e6f64736",
        "start 2019": "636113da62add55a", "start 2020": "c82937786bbbf619",
    },
    "fixture_pooled": {
        "episodes": "607ead0dc8120d0a", "children": "7a841e6abaf8956a", "steps": "ab8272ed35d0479d",
        "summary": "04b212f272cdd9d7", "estimates": "79d24ff9d6100dc9", "history": "6c185bd7e6f64736",
        "start 2019": "1501bdf50e855b0d", "start 2020": "8753617ed6f0f951",
    },
    "fixture_years": {
        "episodes": "587068999b92211e", "children": "285603f73a529dea", "steps": "af221945c6f99eca",
        "summary": "04b212f272cdd9d7", "estimates": "79d24ff9d6100dc9", "history": "6c185bd7e6f64736",
        "start 2019": "8f1f423a174875a6", "start 2020": "d30afe6c101eae8e",
    },
    "random_pooled_3": {
        "episodes": "a6af6a6aa808ac90", "children": "0808cbc8271801ba", "steps": "70db3a55d46febf4",
        "summary": "24327bbefda4b949", "estimates": "4156f3622cda2261", "history": "795730eecff10258",
        "start 2019": "b515829cd9de3adf", "start 2020": "1fe0f7744fb05480", "start 2021": "1475d8c8c6e5267e",
    },
    "random_years_1": {
        "episodes": "7b258d9158692711", "children": "7ccfded3283e5cc2", "steps": "2ff8ef807b59abad",
        "summary": "f2addb819ee6445a", "estimates": "30ef36503addcb42", "history": "528833bec4f4be82",
        "start 2019": "0c34496853a38093", "start 2020": "83a51745060f3de4", "start 2021": "7d9488a66afbe5da",
    },
    "random_years_2": {
        "episodes": "49cad939e39240a4", "children": "746658350a607729", "steps": "b65c62c6d8b0896e",
        "summary": "3b3df2d1dfcf59e6", "estimates": "60d402505b02db7e", "history": "a4960a0e12290108",
        "start 2019": "f2ed7391c2102040", "start 2020": "fd1ceb3b6754876d", "start 2021": "c08216623983f004",
    },
}


@pytest.mark.parametrize("name", sorted(RETURNS))
def test_reading_and_cleaning_give_what_they_gave(tmp_path, name):
    got = fingerprint(RETURNS[name](tmp_path / name))
    changed = {k: v for k, v in got.items() if PINNED[name].get(k) != v}
    assert got.keys() == PINNED[name].keys() and not changed, f"{name}: changed {sorted(changed)}"


def test_the_random_returns_hold_the_mess_they_are_for(tmp_path):
    """The seeded returns exercise every cleaning step and repair (a test of the test data)."""
    from calibration.local import load_authority

    steps = load_authority(write_random_return(tmp_path / "r", 1)).ret.steps
    for step in ("codes in lower case", "blank rows dropped", "duplicate rows dropped",
                 "episodes starting after their collection's end dropped",
                 "episodes open past their collection's end (DEC cleared)",
                 "episodes repeated in several years' files (the latest kept)",
                 "open episodes missing from the next year's file (closed on 1 April, E8)",
                 "overlapping episodes cut at the next start", "redundant episodes (RNE L, T, U with no gap) merged"):
        assert steps.get(step, 0) > 0, step


if __name__ == "__main__":  # print the digests of the code on sys.path, to paste into PINNED
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps({name: fingerprint(make(Path(tmp) / name)) for name, make in sorted(RETURNS.items())},
                         indent=1))
