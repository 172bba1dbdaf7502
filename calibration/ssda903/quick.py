"""Quick paths of reading a return: tests that let the reader skip work whose result is known.

A region reads a return per authority (issue 12), most of them small, so the fixed cost of each
pandas pass over each file counted more than the rows. Each function here answers, cheaply,
whether a pass would change anything, or does the pass by array arithmetic where the input has
one plain form; anything else goes the careful way (calibration/ssda903/reader.py), so that what
is read is exactly what it was (tests/test_ssda903_fast_paths.py checks each against the pass it
replaces; tests/test_ssda903_unchanged.py pins whole returns).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd


# a cell with whitespace at an edge shows in the text as one of these (or a space at its start or end)
EDGE_SPACE = (" ,", ", ", ' "', '" ', " \n", "\n ", " \r")
ODD_SPACE = "\t\x0b\x0c\x1c\x1d\x1e\x1f"  # whitespace to str.strip other than space and line ends
MAYBE_BLANK_ROW = re.compile(r'^[\s,"]*$', re.MULTILINE)
# where a row that may be blank begins; one regular-expression pass finds any of them in ~40% of
# the time of two `in` searches (each a whole pass over the text)
BLANK_ROW_START = re.compile('\n[\n,"\r]')


def needs_tidying(text: str) -> bool:
    """False only when no cell of CSV `text` can start or end with whitespace and no row can be
    blank, so that stripping cells and looking for blank rows would change nothing (a quick test
    on the text: most files pass it, and their per-cell passes are skipped). Single-character
    searches come first: a region reads hundreds of files, and most have no space at all."""
    if (not text.isascii() or any(c in text for c in ODD_SPACE)
            or ("\r" in text and text.count("\r") != text.count("\r\n"))):
        return True
    if " " in text and (text[:1] == " " or text[-1:] == " " or any(p in text for p in EDGE_SPACE)):
        return True
    body = text[:-1] if text.endswith("\n") else text  # the last row's line end is not a blank row
    if (body[:1] not in ("", ",", '"', "\r", "\n") and body[-1:] != "\n"
            and BLANK_ROW_START.search(body) is None):
        return False  # a blank row is empty or starts with a comma or a quote (spaces are ruled out)
    return MAYBE_BLANK_ROW.search(body) is not None


def plain_codes(values: pd.Series, valid: frozenset) -> bool:
    """Whether every value is blank or a valid code in upper case (ASCII): nothing to repair or
    refuse. Checked on the distinct values, a handful, instead of every row."""
    return all(isinstance(v, str) and (v == "" or (v in valid and v.isascii() and v == v.upper()))
               for v in values.unique())


DATE_FORMS = {"dd/mm/YYYY": ((6, 7, 8, 9), (3, 4), (0, 1), (2, 5), ord("/")),  # year, month, day digits;
              "YYYY-MM-DD": ((0, 1, 2, 3), (5, 6), (8, 9), (4, 7), ord("-"))}  # separators, character
DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _ten_byte_cells(text: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """The bytes of the cells that are not blank (rows x 10, uint8) and which cells are blank,
    when every cell is blank or 10 bytes; else None. Read from the arrow buffers where the
    column has them (no Python string per cell: ~10x quicker on a region's 360,000 rows)."""
    if len(text) == 0:
        return None
    try:
        import pyarrow as pa

        cells = pa.array(text)
        if isinstance(cells, pa.ChunkedArray):
            cells = cells.combine_chunks()
        if cells.type != pa.large_string() or cells.null_count:
            raise TypeError("not plain arrow strings")
        offsets = np.frombuffer(cells.buffers()[1], dtype=np.int64)[cells.offset: cells.offset + len(cells) + 1]
        lengths = np.diff(offsets)
        if not np.isin(lengths, (0, 10)).all():
            return None
        # blank cells take no bytes: the others' are the buffer's bytes in order, 10 each
        return np.frombuffer(cells.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]].reshape(-1, 10), lengths == 0
    except (TypeError, ValueError, pa.ArrowException):
        pass
    try:  # any other column: through Python strings
        lengths = text.str.len().to_numpy()
        if not np.isin(lengths, (0, 10)).all():
            return None
        b = np.asarray(text.to_numpy(dtype=object), dtype="S10").view(np.uint8).reshape(-1, 10)
    except (UnicodeEncodeError, ValueError, TypeError):
        return None
    return b[lengths != 0], lengths == 0


def plain_dates(text: pd.Series) -> pd.Series | None:
    """The dates of a column whose every cell is blank or a valid date in one form of `DATE_FORMS`
    (zero-padded, no time part), read with array arithmetic; None for any other column, which
    `reader.parse_dates` reads cell by cell (same values: NaT for a blank)."""
    cells = _ten_byte_cells(text)
    if cells is None:
        return None
    b, blank = cells  # b: the cells that are not blank
    number = lambda cols: sum((b[:, c].astype(np.int64) - 48) * 10 ** (len(cols) - 1 - k)  # noqa: E731
                              for k, c in enumerate(cols))
    for form, (year_at, month_at, day_at, seps, sep) in DATE_FORMS.items():
        if not ((b[:, list(year_at + month_at + day_at)] - np.uint8(48) <= 9).all()
                and (b[:, list(seps)] == sep).all()):
            continue
        year, month, day = number(year_at), number(month_at), number(day_at)
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        month_length = DAYS_IN_MONTH[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)
        # years outside 1678-2261 (pandas' nanosecond range) are left to the careful reading
        if not ((year >= 1678) & (year <= 2261) & (month >= 1) & (month <= 12) & (day >= 1)
                & (day <= month_length)).all():
            return None
        # the unit pandas gives the cell-by-cell reading: us from dd/mm/YYYY dates, s when none parsed so
        unit = "us" if form == "dd/mm/YYYY" and not blank.all() else "s"
        values = np.full(len(blank), np.datetime64("NaT"), dtype=f"datetime64[{unit}]")
        values[~blank] = (((year - 1970) * 12 + month - 1).astype("datetime64[M]").astype("datetime64[D]")
                          + (day - 1)).astype(f"datetime64[{unit}]")
        return pd.Series(values, index=text.index, name=text.name)
    return None
