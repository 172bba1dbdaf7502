"""Reading and cleaning 903 files in the layouts other teams' tools write (tests/ssda903_fixtures.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from calibration.ssda903.cleaning import clean
from calibration.ssda903.counts import flow_table, stock_table
from calibration.ssda903.privacy import hidden_cells, suppress_table
from calibration.ssda903.reader import read_return
from experiments.cli import main
from tests import ssda903_fixtures as fx


def test_per_year_layout_counts_as_worked_by_hand(tmp_path):
    ret = clean(read_return(fx.write_years(tmp_path)))
    assert ret.years == [2019, 2020]
    stock = stock_table(ret)
    columns = ["total", "foster", "residential", "KINSHIP", "FOSTER_IN_HOUSE", "HOME_PRIVATE"]
    assert stock.loc[2019, columns].tolist() == [3, 2, 1, 1, 1, 1]
    assert stock.loc[2019, ["under 1", "1-4", "5-9", "10-15", "16+"]].tolist() == [0, 1, 1, 1, 0]
    assert stock.loc[2020, ["total", "KINSHIP", "FOSTER_AGENCY"]].tolist() == [2, 1, 1]
    flows = flow_table(ret)
    assert flows["started"].tolist() == [3, 1]
    assert flows["ceased"].tolist() == [0, 2]


def test_each_cleaning_step_counts_the_rows_it_changed(tmp_path):
    steps = clean(read_return(fx.write_years(tmp_path))).steps
    assert steps["duplicate rows dropped"] == 1
    assert steps["episodes repeated in several years' files (the latest kept)"] == 2
    assert steps["open episodes missing from the next year's file (closed on 1 April, E8)"] == 1
    assert steps["overlapping episodes cut at the next start"] == 1
    assert steps["redundant episodes (RNE L, T, U with no gap) merged"] == 1


def test_cleaned_episodes_hold_no_identifier(tmp_path):
    ret = clean(read_return(fx.write_years(tmp_path)))
    text = ret.episodes.to_csv() + ret.children.drop(columns=["dob"]).to_csv()
    assert not [i for i in fx.identifiers() if i in text]
    assert set(ret.episodes.columns) == {"child", "decom", "dec", "rne", "ls", "cin", "place", "provider", "rec",
                                         "year"}


def test_rows_beyond_their_collection_end_are_repaired_and_counted(tmp_path):
    fx.write_years(tmp_path)
    path = tmp_path / "2019" / "episodes.csv"
    text = path.read_text()
    e_row = next(line for line in text.splitlines() if line.startswith(fx.CHILD_IDS["E"]))
    late = e_row.replace("01/06/2018,S", "10/04/2019,S")  # starts after 31 March 2019: not this return's
    path.write_text(text.replace(e_row, e_row.replace(",,,,", ",15/04/2019,E4A,,", 1)) + late + "\n")
    ret = clean(read_return(tmp_path))
    assert ret.steps["episodes starting after their collection's end dropped"] == 1
    assert ret.steps["episodes open past their collection's end (DEC cleared)"] == 1
    # E's episode, cleared to open at 31 March 2019 and absent from 2020's file, is then closed
    assert ret.steps["open episodes missing from the next year's file (closed on 1 April, E8)"] == 1
    assert stock_table(ret)["total"].tolist() == [3, 2]


def test_pooled_layout_with_iso_dates_counts_the_same(tmp_path):
    years = clean(read_return(fx.write_years(tmp_path / "years")))
    pooled = clean(read_return(fx.write_pooled(tmp_path / "pooled")))
    pd.testing.assert_frame_equal(stock_table(years), stock_table(pooled))
    pd.testing.assert_frame_equal(flow_table(years), flow_table(pooled))


def test_two_authorities_in_pooled_files_keep_their_children_apart(tmp_path):
    # the same CHILD identifiers in two authorities are different children
    ret = clean(read_return(fx.write_pooled(tmp_path, authorities=("201", "202"))))
    assert ret.n_authorities == 2
    assert stock_table(ret)["total"].tolist() == [6, 4]


def test_collection_year_comes_from_the_dates_not_the_folder_name(tmp_path):
    fx.write_years(tmp_path)
    (tmp_path / "2019").rename(tmp_path / "first-return")
    (tmp_path / "2020").rename(tmp_path / "Return 2023 (copy)")
    assert clean(read_return(tmp_path)).years == [2019, 2020]


def test_upper_case_columns_and_a_byte_order_mark_and_blank_rows_are_read(tmp_path):
    fx.write_years(tmp_path)
    path = tmp_path / "2020" / "episodes.csv"
    text = path.read_text()
    lines = text.splitlines()
    path.write_bytes(b"\xef\xbb\xbf" + (lines[0].upper() + "\n" + "\n".join(lines[1:]) + "\n,,,,,,,,,,,,\n\n").encode())
    ret = clean(read_return(tmp_path))
    assert stock_table(ret)["total"].tolist() == [3, 2]
    assert ret.steps["blank rows dropped"] == 2  # the row of commas and the empty line


def test_check_command_prints_the_summary(tmp_path, capsys):
    assert main(["data", "check", str(fx.write_years(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "2018-19 to 2019-20 (2 collection years)" in out
    assert "Cleaning (rows changed" in out


def test_primary_and_secondary_suppression():
    table = pd.DataFrame({"total": [20, 4, 100], "a": [3, 4, 50], "b": [10, 0, 30], "c": [7, 0, 20]})
    out = suppress_table(table, [("total", ["a", "b", "c"])])
    assert out.loc[0].tolist() == ["20", "c", "10", "c"]  # 3 is small; 7, the smallest other part, hidden too
    assert out.loc[1].tolist() == ["c", "c", "0", "0"]  # the total is small itself: nothing else to hide
    assert out.loc[2].tolist() == ["100", "50", "30", "20"]


def test_secondary_suppression_leaves_no_line_with_one_hidden_cell():
    rng = np.random.default_rng(4)
    parts = pd.DataFrame(rng.integers(0, 12, size=(200, 4)), columns=list("abcd"))
    table = pd.concat([parts.sum(axis=1).rename("total"), parts], axis=1)
    hide = hidden_cells(table, [("total", list("abcd"))])
    assert (hide.sum(axis=1) != 1).all()
    small = ((table >= 1) & (table <= 5)).to_numpy()
    assert (hide | ~small).all()  # every small count is hidden
