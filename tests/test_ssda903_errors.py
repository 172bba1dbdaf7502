"""Bad 903 files: one line naming the file, line, column and value (never an identifier), exit 2."""
from __future__ import annotations

from pathlib import Path

import pytest

from experiments.cli import main
from tests import ssda903_fixtures as fx


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def missing_column(root):
    path = root / "2020" / "episodes.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(",".join(line.split(",")[:8] + line.split(",")[9:]) for line in lines) + "\n")


def unreadable_date(root):
    _replace(root / "2020" / "episodes.csv", "10/10/2019", "10/13/2019")


def unreadable_date_of_birth(root):
    _replace(root / "2020" / "header.csv", fx.DOBS["D"], "31/02/2003")


def unknown_code(root):
    _replace(root / "2020" / "episodes.csv", ",U4,", ",Q9,")


def dec_before_decom(root):
    _replace(root / "2020" / "episodes.csv", "20/08/2019", "20/04/2019")


def child_without_header(root):
    path = root / "2020" / "header.csv"
    path.write_text("\n".join(line for line in path.read_text().splitlines() if fx.CHILD_IDS["C"] not in line) + "\n")


def empty_file(root):
    (root / "2019" / "uasc.csv").write_text("")


def not_csv(root):
    (root / "2019" / "header.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))


def excel_saved_as_csv(root):
    (root / "2019" / "episodes.csv").write_bytes(b"PK\x03\x04" + bytes(100))


def not_utf8(root):
    path = root / "2020" / "header.csv"
    path.write_bytes(path.read_bytes().replace(b"WBRI", b"WBR\xc9", 1))


def no_uasc_table(root):
    for year in ("2019", "2020"):
        (root / year / "uasc.csv").unlink()


def xlsx_without_openpyxl(root):
    (root / "2019" / "uasc.csv").unlink()
    (root / "2019" / "uasc.xlsx").write_bytes(b"PK\x03\x04" + bytes(100))


def identifier_in_a_code_column(root):  # a misaligned row: the UPN under PLACE
    _replace(root / "2020" / "episodes.csv", ",U4,", f",{fx.UPNS['D']},")


def identifier_in_a_date_column(root):
    _replace(root / "2020" / "episodes.csv", "20/08/2019", fx.CHILD_IDS["D"])


def blank_legal_status(root):
    _replace(root / "2020" / "episodes.csv", ",V3,", ",,")


CASES = [  # (how the file is broken, what the one line must say)
    (missing_column, ["2020/episodes.csv", "missing column REC"]),
    (unreadable_date, ["2020/episodes.csv", "line 2", "column DEC", "not a date", "'10/13/2019'"]),
    (unreadable_date_of_birth, ["2020/header.csv", "column DOB", "not a date", "withheld"]),
    (unknown_code, ["2020/episodes.csv", "line 6", "column PLACE", "unknown code", "'Q9'"]),
    (dec_before_decom, ["2020/episodes.csv", "line 6", "column DEC", "DEC before DECOM", "'20/04/2019'"]),
    (child_without_header, ["2020/episodes.csv", "line 5", "column CHILD", "no row in any header file", "withheld"]),
    (empty_file, ["2019/uasc.csv", "empty"]),
    (not_csv, ["2019/header.csv", "not a CSV file"]),
    (excel_saved_as_csv, ["2019/episodes.csv", "not a CSV file", "Excel"]),
    (not_utf8, ["2020/header.csv", "line", "not UTF-8", "0xc9"]),
    (no_uasc_table, ["no uasc file found"]),
    (xlsx_without_openpyxl, ["2019/uasc.xlsx", "openpyxl"]),
    (identifier_in_a_code_column, ["2020/episodes.csv", "line 6", "column PLACE", "unknown code", "withheld"]),
    (identifier_in_a_date_column, ["2020/episodes.csv", "line 6", "column DEC", "not a date", "withheld"]),
    (blank_legal_status, ["2020/episodes.csv", "line 5", "column LS", "blank"]),
]


@pytest.mark.parametrize("breaks, expected", CASES, ids=[c[0].__name__ for c in CASES])
def test_bad_file_is_one_line_and_exit_2(tmp_path, capsys, breaks, expected):
    root = fx.write_years(tmp_path)
    breaks(root)
    assert main(["data", "check", str(root)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    for part in expected:
        assert part in lines[0], (part, lines[0])
    assert not [i for i in fx.identifiers() if i in captured.err + captured.out]


def test_a_folder_that_does_not_exist(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("argv, expected", [
    (["data", "synth", "--out", "X", "--years", "2015-2020"], "years must run from 2016"),
    (["data", "synth", "--out", "X", "--years", "2020-2017"], "first <= last"),
    (["data", "synth", "--out", "X", "--children", "0"], "at least 1"),
    (["data", "check", "D", "--social-workers", "-3"], "above 0"),
])
def test_bad_options(capsys, argv, expected):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and expected in err


def test_synth_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("x")
    assert main(["data", "synth", "--out", str(tmp_path)]) == 2
    assert "not an empty folder" in capsys.readouterr().err
