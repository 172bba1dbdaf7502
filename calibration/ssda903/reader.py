"""Reading an authority's SSDA903 files into three tables: header, episodes, UASC.

A return is a folder. Either one sub-folder per collection year, each holding a file per table
(`header.csv`, `episodes.csv`, `uasc.csv`, ...), or pooled files per table with `LA` and `YEAR`
columns (as regional collections keep them). Tables are recognised by file name in any case
(`Episodes_2019.csv`, `SSDA903_header.csv`); column names may be in any case; dates may be
dd/mm/YYYY or ISO; CSV must be UTF-8, and .xlsx is read when openpyxl is installed.

The collection year of each batch of rows (a file, or a file's rows with one `YEAR` value) is
taken from its dates, not from the file name or `YEAR`: it is the year (ending 31 March) in which
most of its episodes ended.

A file that cannot be read answers with one line naming the file, the line, the column and the
value - never a child's identifier or date of birth (`ReturnError`, exit 2). What can be repaired
is repaired and counted in `RawReturn.repairs`.
"""
from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.ssda903 import codes
from calibration.ssda903.quick import needs_tidying, plain_codes, plain_dates
from runner.errors import UserError

REQUIRED_COLUMNS = {
    "header": ("CHILD", "DOB"),
    "episodes": ("CHILD", "DECOM", "RNE", "LS", "PLACE", "DEC", "REC"),
    "uasc": ("CHILD", "DUC"),
}
KEPT_COLUMNS = {
    "header": ("CHILD", "SEX", "DOB"),
    "episodes": ("CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC"),
    "uasc": ("CHILD", "DUC"),
}
OPTIONAL_TABLES = ("missing", "reviews", "oc2", "oc3", "ad1", "placedadoption", "prevperm", "swepisodes")
# what a table's file name contains (lower case, letters and digits only), most specific first
NAME_PATTERNS = (("swepisodes", "swepisode"), ("episodes", "episode"), ("header", "header"), ("uasc", "uasc"),
                 ("missing", "missing"), ("reviews", "review"), ("oc2", "oc2"), ("oc3", "oc3"), ("ad1", "ad1"),
                 ("placedadoption", "placedadoption"), ("placedadoption", "placedforadoption"),
                 ("prevperm", "prevperm"))
IDENTIFIER_COLUMNS = frozenset({"CHILD", "UPN", "DOB", "MC_DOB", "HOME_POST", "PL_POST", "URN", "MOTHER"})
CODE_COLUMNS = {"RNE": codes.RNE, "LS": codes.LEGAL_STATUS, "PLACE": codes.PLACE, "PLACE_PROVIDER": codes.PROVIDER,
                "REC": codes.REC, "CIN": codes.CIN, "SEX": codes.SEX}
NON_BLANK = {"header": ("CHILD", "DOB"), "episodes": ("CHILD", "DECOM", "RNE", "LS", "PLACE"), "uasc": ("CHILD",)}
FIRST_PLAUSIBLE_YEAR, LAST_PLAUSIBLE_YEAR = 1980, 2100
MAX_CODE_LENGTH = 5


class ReturnError(UserError):
    """A 903 file that cannot be read: one line naming the file, line, column and value."""


@dataclass
class RawReturn:
    """The rows of a return as read, before cleaning (identifiers are still present: never print them).

    Each table has the columns it needs plus `la`, `source` (the file, relative to the folder),
    `line` (its line in the file) and `batch` (file and YEAR value); `batch_year` maps each batch
    to its collection year.
    """

    header: pd.DataFrame
    episodes: pd.DataFrame
    uasc: pd.DataFrame
    batch_year: dict[str, int]
    optional_rows: dict[str, int] = field(default_factory=dict)
    repairs: Counter = field(default_factory=Counter)


def collection_year(dates: pd.Series) -> pd.Series:
    """The collection year (ending 31 March) of each date: 1 April 2016 to 31 March 2017 is 2017."""
    return dates.dt.year + (dates.dt.month >= 4)


def table_of(path: Path) -> str | None:
    stem = re.sub(r"[^a-z0-9]", "", path.stem.lower())
    for table, pattern in NAME_PATTERNS:
        if pattern in stem:
            return table
    return None


def _find_files(folder: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in (".csv", ".xlsx", ".txt") and not path.name.startswith("~$"):
            table = table_of(path)
            if table is not None:
                found.setdefault(table, []).append(path)
    return found


def _read_text_table(path: Path, name: str) -> tuple[pd.DataFrame, bool]:
    """The file's cells as text, and whether any may need tidying (`quick.needs_tidying`)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReturnError(f"{name}: cannot read ({exc.strerror})") from None
    if not raw.strip():
        raise ReturnError(f"{name}: the file is empty (not even a row of column names)")
    if raw[:2] == b"PK" or raw[:4] == b"\xd0\xcf\x11\xe0":
        raise ReturnError(f"{name}: not a CSV file (it is an Excel workbook or another archive); save it as CSV UTF-8")
    if b"\x00" in raw[:65536]:
        raise ReturnError(f"{name}: not a CSV file (binary content); save it as CSV UTF-8")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ReturnError(f"{name}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                          f"save the file as CSV UTF-8") from None
    if "," not in text.split("\n", 1)[0]:
        raise ReturnError(f"{name}: line 1: not a CSV file (no comma in the row of column names)")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (pd.errors.ParserError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[-1]
        raise ReturnError(f"{name}: not a readable CSV file ({reason})") from None
    return frame, needs_tidying(text)


def _read_excel(path: Path, name: str) -> pd.DataFrame:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise ReturnError(f"{name}: reading .xlsx needs the openpyxl package, which is not installed; "
                          f"save the sheet as CSV UTF-8") from None
    try:
        frame = pd.read_excel(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise ReturnError(f"{name}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    return frame


def _read_file(path: Path, name: str, table: str, repairs: Counter) -> pd.DataFrame:
    """One file's rows as stripped text with column names in upper case, its `line` numbers, and
    blank rows dropped (counted in `repairs`)."""
    if path.suffix.lower() == ".xlsx":
        frame, tidy = _read_excel(path, name), True
    else:
        frame, tidy = _read_text_table(path, name)
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    if tidy or len(frame) == 0 or any(str(dt) != "str" for dt in frame.dtypes):
        frame = frame.astype(str).apply(lambda s: s.str.strip())
    data_cols = list(frame.columns)
    frame["line"] = np.arange(2, len(frame) + 2)
    if tidy:
        blank = (frame[data_cols] == "").all(axis=1)
        if blank.any():
            repairs["blank rows dropped"] += int(blank.sum())
            frame = frame[~blank]
    if table in REQUIRED_COLUMNS:
        for column in REQUIRED_COLUMNS[table]:
            if column not in frame.columns:
                raise ReturnError(f"{name}: missing column {column} (columns found: {', '.join(data_cols)})")
    return frame


def _fail_at(frame: pd.DataFrame, mask: pd.Series, column: str, problem: str) -> None:
    """Raise a ReturnError for the first row where `mask` holds; identifiers' values are withheld."""
    if not mask.any():
        return
    row = frame[mask.to_numpy()].iloc[0]
    value = _shown(row[column], column)
    raise ReturnError(f"{row['source']}: line {row['line']}: column {column}: {problem}: {value}")


def _shown(value, column: str) -> str:
    """A value as an error message may show it: never an identifier, nor what could be one (a
    misaligned row can put a CHILD or UPN under another column)."""
    if isinstance(value, pd.Timestamp):
        return repr(f"{value:%d/%m/%Y}")
    text = str(value)
    if column in IDENTIFIER_COLUMNS:
        return "(value withheld: personal data)"
    if column in CODE_COLUMNS and len(text) > MAX_CODE_LENGTH:
        return "(value withheld: too long for a code)"
    if column not in CODE_COLUMNS and not re.fullmatch(r"[0-9]{1,4}[/-][0-9]{1,2}[/-][0-9]{1,4}.{0,9}", text):
        return "(value withheld: not shaped like a date)"
    return repr(text)


def parse_dates(frame: pd.DataFrame, column: str) -> pd.Series:
    """dd/mm/YYYY or ISO dates (a time part, as Excel writes it, is ignored); blank is NaT."""
    parsed = plain_dates(frame[column])
    if parsed is None:
        parsed = _dates_cell_by_cell(frame, column)
    years = parsed.dt.year
    _fail_at(frame, (years < FIRST_PLAUSIBLE_YEAR) | (years > LAST_PLAUSIBLE_YEAR), column, "implausible date")
    return parsed


def _dates_cell_by_cell(frame: pd.DataFrame, column: str) -> pd.Series:
    """Each cell read as dd/mm/YYYY, else as ISO; a cell that is neither is refused."""
    text = frame[column]
    day = text.str.slice(0, 10)
    tail_ok = (text.str.len() <= 10) | text.str.slice(10, 11).isin([" ", "T"])
    parsed = pd.to_datetime(day, format="%d/%m/%Y", errors="coerce")
    iso = parsed.isna() & (day != "")
    if iso.any():
        parsed[iso] = pd.to_datetime(day[iso], format="%Y-%m-%d", errors="coerce")
    bad = (parsed.isna() & (text != "")) | ~tail_ok
    _fail_at(frame, bad, column, "not a date (dd/mm/YYYY or YYYY-MM-DD)")
    return parsed


def _normalise_codes(frame: pd.DataFrame, table: str, repairs: Counter) -> None:
    for column in NON_BLANK[table]:
        if column in frame.columns:
            _fail_at(frame, frame[column] == "", column, "blank")
    for column, valid in CODE_COLUMNS.items():
        if column not in frame.columns or plain_codes(frame[column], valid):
            continue
        upper = frame[column].str.upper()
        changed = upper != frame[column]
        if changed.any():
            repairs["codes in lower case"] += int(changed.sum())
            frame[column] = upper
        _fail_at(frame, ~upper.isin(valid) & (upper != ""), column, "unknown code")


def _read_table(folder: Path, files: list[Path], table: str, repairs: Counter) -> pd.DataFrame:
    """Every file of `table` as one frame: the kept columns (blank where a file lacks one), `la`,
    `batch` (the file's folder, LA and YEAR), `source` and `line`; codes checked and upper-cased.
    The files are joined first and labelled after, so that the passes run once per table."""
    frames, names, folders, order = [], [], [], []
    for path in files:
        name = str(path.relative_to(folder))
        frame = _read_file(path, name, table, repairs)
        frames.append(frame)
        names.append(name)
        folders.append(str(path.parent.relative_to(folder)))
        for column in [c for c in KEPT_COLUMNS[table] if c in frame.columns] + ["la", "batch", "source", "line"]:
            if column not in order:  # the column order the tables have always had
                order.append(column)
    if not frames:
        return pd.DataFrame(columns=list(KEPT_COLUMNS[table]) + ["la", "batch", "source", "line"])
    lengths = [len(f) for f in frames]
    combined = pd.concat(frames, ignore_index=True)
    combined["source"] = pd.Series(np.repeat(np.array(names, dtype=object), lengths), dtype="str")
    labels = {}
    for column in ("LA", "YEAR"):  # blank for the rows of a file without the column
        has = np.repeat([column in f.columns for f in frames], lengths)
        labels[column] = (combined[column].where(has, "") if column in combined.columns
                          else pd.Series("", index=combined.index, dtype="str"))
    combined["la"] = labels["LA"]
    combined["batch"] = (pd.Series(np.repeat(np.array(folders, dtype=object), lengths), dtype="str")
                         + "|" + labels["LA"] + "|" + labels["YEAR"])
    combined = combined[order]
    for column in KEPT_COLUMNS[table]:
        if column not in combined.columns:
            combined[column] = ""
    combined = combined.fillna("")
    _normalise_codes(combined, table, repairs)
    return combined


def _batch_years(episodes: pd.DataFrame) -> dict[str, int]:
    """Each batch's collection year: where most of its episodes ended, the latest year of a tie
    (else, with none ended, its latest start)."""
    batch, names = pd.factorize(episodes["batch"], sort=True)
    years = {names[b]: int(y) for b, y in zip(*_group_max(batch, collection_year(episodes["DECOM"]).to_numpy()))}
    ended = episodes["DEC"].notna().to_numpy()
    if ended.any():
        end_year = collection_year(episodes["DEC"][ended]).to_numpy().astype(np.int64)
        pairs, counts = np.unique(np.c_[batch[ended], end_year], axis=0, return_counts=True)
        # per batch, the pair with the most episodes, the latest year among equals: sort by (batch, count, year)
        order = np.lexsort([pairs[:, 1], counts, pairs[:, 0]])
        best = order[np.r_[pairs[order, 0][1:] != pairs[order, 0][:-1], True]]
        years.update({names[b]: int(y) for b, y in pairs[best]})
    return years


def _group_max(group: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each group present, its largest value), groups in order."""
    order = np.lexsort([values, group])
    last = order[np.r_[group[order][1:] != group[order][:-1], True]] if len(order) else order
    return group[last], values[last]


def _has_header(header: pd.DataFrame, episodes: pd.DataFrame) -> np.ndarray:
    """Whether each episode's child (LA and CHILD) has a header row: both numbered by one
    factorisation and compared as integers (a string `isin` or MultiIndex is 10-50x slower)."""
    n = len(header)
    la, _ = pd.factorize(pd.concat([header["la"], episodes["la"]], ignore_index=True))
    child, uniques = pd.factorize(pd.concat([header["CHILD"], episodes["CHILD"]], ignore_index=True))
    key = la.astype(np.int64) * (len(uniques) + 1) + child
    return np.isin(key[n:], key[:n])


def read_return(folder: Path) -> RawReturn:
    """Read the 903 files under `folder` (see the module docstring for the layouts accepted)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReturnError(f"{folder}: not a folder of SSDA903 files")
    found = _find_files(folder)
    for table in REQUIRED_COLUMNS:
        if table not in found:
            raise ReturnError(f"{folder}: no {table} file found (expected a .csv or .xlsx file with "
                              f"'{table}' in its name)")
    repairs: Counter = Counter()
    header = _read_table(folder, found["header"], "header", repairs)
    episodes = _read_table(folder, found["episodes"], "episodes", repairs)
    uasc = _read_table(folder, found["uasc"], "uasc", repairs)
    if episodes.empty:
        raise ReturnError(f"{folder}: the episodes files have no rows")
    header["DOB"] = parse_dates(header, "DOB")
    for column in ("DECOM", "DEC"):
        episodes[column] = parse_dates(episodes, column)
    uasc["DUC"] = parse_dates(uasc, "DUC")
    _fail_at(episodes, episodes["DEC"] < episodes["DECOM"], "DEC", "DEC before DECOM")
    closed = episodes["DEC"].notna()
    _fail_at(episodes, closed & (episodes["REC"] == ""), "REC", "blank for an episode with a DEC")
    open_with_reason = ~closed & (episodes["REC"] != "")
    if open_with_reason.any():
        repairs["REC of an open episode cleared"] += int(open_with_reason.sum())
        episodes.loc[open_with_reason, "REC"] = ""
    has_header = _has_header(header, episodes)
    _fail_at(episodes, pd.Series(~has_header, index=episodes.index), "CHILD",
             "no row in any header file for this child")
    optional_rows = {}
    for table in OPTIONAL_TABLES:
        for path in found.get(table, []):
            frame = _read_file(path, str(path.relative_to(folder)), table, repairs)
            optional_rows[table] = optional_rows.get(table, 0) + len(frame)
    return RawReturn(header=header, episodes=episodes, uasc=uasc, batch_year=_batch_years(episodes),
                     optional_rows=optional_rows, repairs=repairs)
