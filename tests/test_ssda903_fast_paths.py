"""The reader's quick paths (calibration/ssda903/quick.py) give exactly what the passes they skip give.

Reading a return got quicker (issue 12: a region reads 150 of them) by skipping work whose result
is known: stripping cells and looking for blank rows when the file's text shows neither can
change anything (`needs_tidying`), checking a code column on its distinct values, and reading a
column of plain dates with array arithmetic (`plain_dates`). Each is checked here against the
pass it replaces on seeded random inputs built to hit the edges (leap days, 31 April, time parts,
unpadded days, spaces at cell edges, blank rows, CRLF). tests/test_ssda903_unchanged.py pins
whole returns read and cleaned.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from calibration.ssda903 import quick, reader
from calibration.ssda903.reader import ReturnError

DATE_KINDS = ("dmy", "iso", "blank", "leap", "bad_day", "time", "unpadded", "garbage", "month13", "old")


def _date_cell(kind: str, rng: np.random.Generator) -> str:
    day = pd.Timestamp("1988-01-01") + pd.Timedelta(days=int(rng.integers(0, 16_000)))
    return {"dmy": f"{day:%d/%m/%Y}", "iso": f"{day:%Y-%m-%d}", "blank": "",
            "leap": str(rng.choice(["29/02/2020", "29/02/2019", "29/02/2000", "29/02/1900", "2020-02-29",
                                    "2019-02-29"])),
            "bad_day": str(rng.choice(["31/04/2019", "00/05/2019", "32/01/2019", "2019-04-31"])),
            "time": f"{day:%d/%m/%Y} 00:00:00", "unpadded": f"{day.day}/{day.month}/{day.year}",
            "garbage": str(rng.choice(["ZQA90417", "01-02-2019", "2019/02/01", "O1/02/2019"])),
            "month13": "01/13/2019", "old": str(rng.choice(["01/01/1650", "01/01/2300", "01/01/1979"]))}[kind]


def _cell_by_cell(text: pd.Series) -> pd.Series | None:
    """What the cell-by-cell reading gives, or None where it refuses the column."""
    try:
        return reader._dates_cell_by_cell(pd.DataFrame({"D": text, "source": "f.csv", "line": 2}), "D")
    except ReturnError:
        return None


@pytest.mark.parametrize("seed", range(6))
def test_plain_dates_equal_the_cell_by_cell_reading(seed):
    rng = np.random.default_rng(seed)
    taken = 0
    for _ in range(60):
        kinds = rng.choice(DATE_KINDS, size=int(rng.integers(1, 4)), replace=False)
        if rng.random() < 0.5:  # half the columns plain: blank and one form, the quick path's case
            plain = (["dmy"], ["iso"], ["blank"], ["dmy", "blank"], ["iso", "blank"], ["leap"])
            kinds = plain[int(rng.integers(len(plain)))]
        text = pd.Series([_date_cell(str(rng.choice(kinds)), rng) for _ in range(int(rng.integers(1, 40)))],
                         dtype="str")
        fast, slow = quick.plain_dates(text), _cell_by_cell(text)
        if fast is None:
            continue
        taken += 1
        assert slow is not None, list(text)  # never quick where the careful reading refuses
        pd.testing.assert_series_equal(fast, slow, check_exact=True, check_names=False)
        assert fast.dtype == slow.dtype
    assert taken >= 20  # the quick path was exercised, not only skipped


def test_plain_dates_read_any_arrow_layout_and_plain_python_strings():
    """Dates read from the arrow buffers: several chunks, a slice (an offset into the buffers),
    and a column of Python strings give what one plain column gives; a cell of 10 bytes that
    is not 10 ASCII characters is never quick."""
    cells = ["01/02/2019", "", "29/02/2020", "31/12/2018", ""] * 3
    whole = quick.plain_dates(pd.Series(cells, dtype="str"))
    chunks = pd.concat([pd.Series(cells[:7], dtype="str"), pd.Series(cells[7:], dtype="str")], ignore_index=True)
    sliced = pd.Series(["junk"] + cells, dtype="str").iloc[1:].reset_index(drop=True)
    for column in (chunks, sliced, pd.Series(cells, dtype=object)):
        pd.testing.assert_series_equal(quick.plain_dates(column), whole, check_exact=True, check_names=False)
    assert quick.plain_dates(pd.Series(["01/02/2019", "01/02/20\u00e9"], dtype="str")) is None
    assert quick.plain_dates(pd.Series(["01/02/2019", "1/2/2019\u00e9"], dtype="str")) is None


@pytest.mark.parametrize("cells, fast", [
    (["01/02/2019", "", "29/02/2020"], True), (["2019-02-01", ""], True), (["", ""], True),
    (["31/04/2019"], False), (["29/02/2019"], False), (["01/02/2019", "2019-02-01"], False),
    (["01/02/2019 00:00:00"], False), (["1/2/2019"], False), (["01/01/1650"], False), (["ZQA90417"], False)])
def test_which_columns_take_the_quick_path(cells, fast):
    assert (quick.plain_dates(pd.Series(cells, dtype="str")) is not None) == fast


CELLS = ("x", "U6", "QX9 7ZW", " x", "x ", "", "\tx", '"x, y"', '" x"', '"x "', "é", "x\xa0")


@pytest.mark.parametrize("seed", range(4))
def test_untidy_text_is_always_noticed(seed):
    """Where `needs_tidying` says a file needs no stripping and has no blank row, the passes it lets
    the reader skip would have changed nothing."""
    rng = np.random.default_rng(seed)
    skipped = 0
    for _ in range(150):
        pool = CELLS[:3] if rng.random() < 0.5 else CELLS
        rows = []
        for _ in range(int(rng.integers(1, 8))):
            r = rng.random()
            rows.append("" if r < 0.03 else ",," if r < 0.06 else ",".join(rng.choice(pool, size=3)))
        end = "\r\n" if rng.random() < 0.3 else "\n"
        text = end.join(["A,B,C"] + rows) + (end if rng.random() < 0.8 else "")
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
        tidied = frame.astype(str).apply(lambda s: s.str.strip())
        blank = (tidied == "").all(axis=1)
        if not quick.needs_tidying(text):
            skipped += 1
            pd.testing.assert_frame_equal(tidied, frame)
            assert not blank.any(), text
    assert skipped >= 30


def test_plain_codes_only_for_valid_upper_case_codes():
    valid = frozenset({"U6", "PR1"})
    assert quick.plain_codes(pd.Series(["U6", "", "PR1"], dtype="str"), valid)
    for bad in (["u6"], ["Q9"], ["U6", " U6"]):
        assert not quick.plain_codes(pd.Series(bad, dtype="str"), valid)


def _batch_years_by_mode(episodes: pd.DataFrame) -> dict[str, int]:
    """The batch years as they were computed before (a groupby with each group's mode)."""
    ended = reader.collection_year(episodes["DEC"].dropna()).groupby(episodes["batch"]).agg(
        lambda s: int(s.mode().max()))
    started = reader.collection_year(episodes["DECOM"]).groupby(episodes["batch"]).max()
    years = started.astype(int).to_dict()
    years.update({k: int(v) for k, v in ended.items()})
    return years


@pytest.mark.parametrize("seed", range(5))
def test_batch_years_equal_the_mode_of_each_batch(seed):
    """Ties between years (the latest wins), batches with no episode ended, one episode each."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(1, 30))
        decom = pd.Timestamp("2017-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
        dec = pd.Series(decom + pd.to_timedelta(rng.integers(0, 700, n), unit="D"))
        dec[rng.random(n) < rng.random()] = pd.NaT
        frame = pd.DataFrame({"DECOM": decom, "DEC": dec,
                              "batch": pd.Series(rng.choice(["2019||", "2020||", "x|201|2021"], n), dtype="str")})
        assert reader._batch_years(frame) == _batch_years_by_mode(frame)


def test_has_header_by_child_and_authority():
    header = pd.DataFrame({"la": ["201", "201", "202"], "CHILD": ["A", "B", "A"]}, dtype="str")
    episodes = pd.DataFrame({"la": ["201", "202", "202", "201"], "CHILD": ["A", "A", "B", "C"]}, dtype="str")
    def has_header(header, episodes):
        return reader._has_header(reader.child_keys([header, episodes])[0], len(header), len(episodes))

    assert has_header(header, episodes).tolist() == [True, True, False, False]
    one = header[header["la"] == "201"]
    assert has_header(one, episodes[episodes["la"] == "201"]).tolist() == [True, False]
