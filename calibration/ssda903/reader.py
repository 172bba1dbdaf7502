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
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.ssda903 import codes
from calibration.ssda903.quick import needs_tidying, plain_codes, plain_dates
from runner.errors import UserError
from sim import allocator

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
    to its collection year; `children` is `child_keys` of the three tables (header, episodes,
    UASC rows in turn), read once for the header check and the cleaning's child numbers.
    """

    header: pd.DataFrame
    episodes: pd.DataFrame
    uasc: pd.DataFrame
    batch_year: dict[str, int]
    children: tuple[np.ndarray, np.ndarray, np.ndarray]
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
    """The files of each table under `folder`, in path order (as sorted(folder.rglob("*")) finds
    them; os.walk lists a folder ~5x quicker, which counts for a region's 150 folders)."""
    found: dict[str, list[Path]] = {}
    names = [Path(top, name) for top, _, files in os.walk(folder) for name in files]
    for path in sorted(names):
        if path.suffix.lower() in (".csv", ".xlsx", ".txt") and not path.name.startswith("~$") and path.is_file():
            table = table_of(path)
            if table is not None:
                found.setdefault(table, []).append(path)
    return found


def _read_bytes(path: Path, name: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ReturnError(f"{name}: cannot read ({exc.strerror})") from None


def _checked_text(raw: bytes, name: str) -> str:
    """The file's text, once it is known to be CSV in UTF-8 with a row of column names."""
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
    return text


def _read_text_table(text: str, name: str) -> tuple[pd.DataFrame, bool]:
    """The file's cells as text, and whether any may need tidying (`quick.needs_tidying`)."""
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


def _read_file(path: Path, name: str, table: str, repairs: Counter, text: str | None = None) -> pd.DataFrame:
    """One file's rows as stripped text with column names in upper case, its `line` numbers, and
    blank rows dropped (counted in `repairs`). `text`: the file's text, when already read."""
    if path.suffix.lower() == ".xlsx":
        frame, tidy = _read_excel(path, name), True
    else:
        frame, tidy = _read_text_table(_checked_text(_read_bytes(path, name), name) if text is None else text, name)
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


@dataclass(frozen=True)
class _Source:
    """A file to read: its path, its name in messages (relative to the folder read), its folder
    (the first part of its batch) and the authority its rows belong to without an LA column
    ("" in one authority's return)."""

    path: Path
    name: str
    folder: str
    authority: str


def _plain_csv(text: str, table: str) -> bool:
    """Whether `text` can be read with the files like it in one pass (`_read_plain`): ASCII CSV
    with no quote, nothing to tidy, at least one row, distinct column names holding the required
    ones. Any other file is read on its own, the careful way, which also says what is wrong."""
    if '"' in text or needs_tidying(text):
        return False
    first, _, body = text.partition("\n")
    columns = [c.strip().upper() for c in first.rstrip("\r").split(",")]
    return (bool(body.strip()) and len(set(columns)) == len(columns)
            and all(c in columns for c in REQUIRED_COLUMNS.get(table, ())))


def _read_plain(texts: list[str], table: str) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Plain files (`_plain_csv`) with the same row of column names, parsed as one CSV by
    pyarrow: their rows in file order with the columns the table keeps (and LA, YEAR) and their
    `line` numbers, and each file's number of rows; None when the parse does not give exactly
    each file's rows (then each is read on its own)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    first = texts[0].partition("\n")[0].rstrip("\r")
    bodies = [t.partition("\n")[2] for t in texts]
    lengths = np.array([b.count("\n") + (not b.endswith("\n")) for b in bodies])
    blob = "\n".join([first] + [b if b.endswith("\n") else b + "\n" for b in bodies]).encode("ascii")
    columns = first.split(",")
    wanted = set(KEPT_COLUMNS.get(table, ())) | {"LA", "YEAR"}
    kept = [c for c in columns if c.strip().upper() in wanted] or columns[:1]
    try:
        parsed = pacsv.read_csv(  # on one thread: a worker has one core
            io.BytesIO(blob), read_options=pacsv.ReadOptions(use_threads=False),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.large_string() for c in columns},
                                                 strings_can_be_null=False, include_columns=kept))
    except pa.ArrowInvalid:  # a row with more or fewer cells than names, say
        return None
    if parsed.num_rows != lengths.sum():
        return None
    frame = parsed.to_pandas(types_mapper={pa.large_string(): pd.StringDtype("pyarrow", na_value=np.nan)}.get)
    frame.columns = [c.strip().upper() for c in kept]
    starts = np.cumsum(lengths) - lengths
    frame["line"] = np.arange(lengths.sum()) - np.repeat(starts, lengths) + 2
    return frame, lengths


def _read_files(sources: list[_Source], table: str, repairs: Counter) -> list[tuple[int, pd.DataFrame, np.ndarray]]:
    """Every file of `sources` read (as `_read_file` reads one), in pieces: (its first file's index
    in `sources`, the frame, each row's file index), ordered by the first file. Plain files with one
    row of column names are parsed together as one piece (a region has hundreds of small files,
    and a parse costs about a millisecond whatever its size)."""
    pieces: list[tuple[int, pd.DataFrame, np.ndarray]] = []
    plain: dict[str, list[tuple[int, str]]] = {}
    for k, source in enumerate(sources):
        text = None
        if source.path.suffix.lower() != ".xlsx":
            text = _checked_text(_read_bytes(source.path, source.name), source.name)
            if _plain_csv(text, table):
                plain.setdefault(text.partition("\n")[0].rstrip("\r"), []).append((k, text))
                continue
        frame = _read_file(source.path, source.name, table, repairs, text)
        pieces.append((k, frame, np.full(len(frame), k)))
    for group in plain.values():
        parsed = _read_plain([text for _, text in group], table) if len(group) > 1 else None
        if parsed is None:
            for k, text in group:
                frame = _read_file(sources[k].path, sources[k].name, table, repairs, text)
                pieces.append((k, frame, np.full(len(frame), k)))
        else:
            pieces.append((group[0][0], parsed[0], np.repeat([k for k, _ in group], parsed[1])))
    return sorted(pieces, key=lambda piece: piece[0])


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


def _read_table(sources: list[_Source], table: str, repairs: Counter) -> pd.DataFrame:
    """Every file of `table` as one frame: the kept columns (blank where a file lacks one), `la`
    (the LA column, else the file's authority), `batch` (the file's folder, LA and YEAR), `source`
    and `line`, rows in file order; codes checked and upper-cased. The files are joined first and
    labelled after, so that the passes run once per table."""
    pieces = _read_files(sources, table, repairs)
    if not pieces:
        return pd.DataFrame(columns=list(KEPT_COLUMNS[table]) + ["la", "batch", "source", "line"])
    order = []
    for _, frame, _ in pieces:
        for column in [c for c in KEPT_COLUMNS[table] if c in frame.columns] + ["la", "batch", "source", "line"]:
            if column not in order:  # the column order the tables have always had
                order.append(column)
    combined = pd.concat([frame for _, frame, _ in pieces], ignore_index=True)
    owner = np.concatenate([owners for _, _, owners in pieces])
    # blank for the rows of a file without the column
    has = {c: np.concatenate([np.full(len(f), c in f.columns) for _, f, _ in pieces]) for c in ("LA", "YEAR")}
    if (np.diff(owner) < 0).any():  # a piece of plain files read together, interleaved with others
        rows = np.argsort(owner, kind="stable")
        combined, owner = combined.take(rows).reset_index(drop=True), owner[rows]
        has = {c: h[rows] for c, h in has.items()}

    def of_file(values: list[str]) -> pd.Series:  # each row's value of its file (an arrow take, not per row)
        return pd.Series(pd.array(values, dtype="str").take(owner), index=combined.index)

    combined["source"] = of_file([s.name for s in sources])
    if has["LA"].any() or has["YEAR"].any():
        labels = {c: (combined[c].where(h, "") if c in combined.columns else of_file([""] * len(sources)))
                  for c, h in has.items()}
        combined["la"] = labels["LA"].where(has["LA"], of_file([s.authority for s in sources]))
        combined["batch"] = of_file([s.folder for s in sources]) + "|" + labels["LA"] + "|" + labels["YEAR"]
    else:
        combined["la"] = of_file([s.authority for s in sources])
        combined["batch"] = of_file([f"{s.folder}||" for s in sources])
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
        # the (batch, year) pairs counted as one integer each (np.unique of rows, axis=0, is ~10x slower)
        first, span = end_year.min(), end_year.max() - end_year.min() + 1
        pair_keys, counts = np.unique(batch[ended].astype(np.int64) * span + (end_year - first), return_counts=True)
        pairs = np.c_[pair_keys // span, pair_keys % span + first]
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


def child_keys(tables: Sequence[pd.DataFrame]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's child (LA and CHILD) of `tables` joined, as an integer key (equal keys, the
    same child), each row's LA number and the LAs numbered: both numbered by one factorisation
    each and combined as integers (a string key, `isin` or MultiIndex is 10-50x slower)."""
    la, las = pd.factorize(pd.concat([t["la"] for t in tables], ignore_index=True))
    child, uniques = pd.factorize(pd.concat([t["CHILD"] for t in tables], ignore_index=True))
    return la.astype(np.int64) * (len(uniques) + 1) + child, la, np.asarray(las, dtype=object)


def _has_header(key: np.ndarray, n_header: int, n_episodes: int) -> np.ndarray:
    """Whether each episode's child has a header row, from `child_keys` of the header rows and
    then the episodes (and any rows after them)."""
    # pandas' isin looks each key up in a hash table: ~10x quicker than np.isin's sort here
    return pd.Series(key[n_header:n_header + n_episodes]).isin(key[:n_header]).to_numpy()


def read_return(folder: Path) -> RawReturn:
    """Read the 903 files under `folder` (see the module docstring for the layouts accepted)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReturnError(f"{folder}: not a folder of SSDA903 files")
    return _read(folder, {"": folder})


def read_region(folder: Path, authorities: Sequence[Path]) -> RawReturn:
    """Several authorities' returns (sub-folders of `folder`) read as one: a file without an LA
    column belongs to the authority of its sub-folder (`la` is the sub-folder's name), files are
    named relative to `folder`. Cleaning it gives each authority's return, children numbered
    across them (calibration/region.py splits it); reading one pass for all is what makes a
    region of 150 small returns quick."""
    return _read(Path(folder), {Path(f).name: Path(f) for f in authorities})


def _read(root: Path, authorities: dict[str, Path]) -> RawReturn:
    """The files of each authority's folder (by the name its rows take without an LA column),
    named relative to `root`."""
    # parsing and cleaning make many short-lived arrays, as a model's months do: under Dask's
    # nanny (MALLOC_TRIM_THRESHOLD_=65536) a worker reading half the 150-authority benchmark
    # region took 0.82-0.90 s of CPU, 0.55-0.58 s with the model's allocator settings
    allocator.tune()
    found: dict[str, list[_Source]] = {}
    for authority, folder in authorities.items():
        files = _find_files(folder)
        for table in REQUIRED_COLUMNS:
            if table not in files:
                raise ReturnError(f"{folder}: no {table} file found (expected a .csv or .xlsx file with "
                                  f"'{table}' in its name)")
        for table, paths in files.items():
            found.setdefault(table, []).extend(
                _Source(path, str(path.relative_to(root)), str(path.parent.relative_to(root)), authority)
                for path in paths)
    repairs: Counter = Counter()
    header = _read_table(found["header"], "header", repairs)
    episodes = _read_table(found["episodes"], "episodes", repairs)
    uasc = _read_table(found["uasc"], "uasc", repairs)
    if episodes.empty:
        raise ReturnError(f"{root}: the episodes files have no rows")
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
    children = child_keys([header, episodes, uasc])
    has_header = _has_header(children[0], len(header), len(episodes))
    _fail_at(episodes, pd.Series(~has_header, index=episodes.index), "CHILD",
             "no row in any header file for this child")
    optional_rows = {}
    for table in OPTIONAL_TABLES:
        if table in found:
            optional_rows[table] = sum(len(frame) for _, frame, _ in _read_files(found[table], table, repairs))
    return RawReturn(header=header, episodes=episodes, uasc=uasc, batch_year=_batch_years(episodes),
                     children=children,
                     optional_rows=optional_rows, repairs=repairs)
