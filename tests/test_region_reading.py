"""A region's returns read in one pass (calibration/ssda903/reader.py `read_region`, used by
calibration/region.py `prepare_unfitted`) give each authority exactly what reading it alone gives.

The region mixes what real returns hold: messy files (read one by one, the careful way), plain
files read together, a file whose columns come in another order and case (a second group of
plain files, interleaved with the first), the pooled layout with an LA column, two authorities
whose children share CHILD identifiers (they are different children), and an authority whose
return ends a year before the others (an episode open at its last 31 March stays open: its
authority has no next file, whatever the others have)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibration.region import authority_folders, prepare, prepare_unfitted, run_region
from calibration.ssda903.cleaning import clean
from calibration.ssda903.reader import ReturnError, read_region, read_return
from runner.errors import UserError
from tests import ssda903_fixtures as fx
from tests.test_ssda903_unchanged import write_random_return


def _reordered(folder: Path) -> Path:
    """The fixture, its 2020 episodes file with columns reversed and names in upper case."""
    fx.write_years(folder)
    path = folder / "2020" / "episodes.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table = table[table.columns[::-1]]
    table.columns = [c.upper() for c in table.columns]
    table.to_csv(path, index=False)
    return folder


def _ends_early(folder: Path) -> Path:
    write_random_return(folder, 4, children=120)
    shutil.rmtree(folder / "2021")
    return folder


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("region")
    write_random_return(root / "north", 1)  # messy: lower-case codes, spaces, blank rows, CRLF
    write_random_return(root / "south", 2, children=150)
    fx.write_years(root / "east")
    _reordered(root / "east2")  # the fixture's CHILD identifiers again: other children
    write_random_return(root / "west", 3, pooled=True)  # LA column: the authority "301"
    _ends_early(root / "early")
    return root


LA = {"west": "301"}  # an authority's name where its files have an LA column


def test_each_authority_cleaned_in_the_region_is_the_authority_cleaned_alone(region):
    folders = authority_folders(region)
    together = clean(read_region(region, folders))
    for folder in folders:
        alone = clean(read_return(folder))
        mine = np.flatnonzero(together.child_la == LA.get(folder.name, folder.name))
        assert len(mine) == len(alone.children), folder.name
        episodes = together.episodes[together.episodes["child"].isin(mine)].reset_index(drop=True)
        episodes["child"] = np.searchsorted(mine, episodes["child"].to_numpy())
        pd.testing.assert_frame_equal(_us(episodes), _us(alone.episodes), check_exact=True, obj=folder.name)
        pd.testing.assert_frame_equal(_us(together.children.loc[mine]), _us(alone.children), check_exact=True,
                                      check_names=False, obj=folder.name)


def _us(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates in microseconds: a column read as ISO dates alone, or with no date at all, is in
    seconds (quick.plain_dates), and in a region it may mix forms or gain dates; values are equal."""
    dates = {c: "datetime64[us]" for c in frame.columns if str(frame[c].dtype).startswith("datetime64")}
    return frame.reset_index(drop=True).astype(dates)


def test_the_early_authoritys_open_episodes_stay_open(region):
    """Read with the others (who have 2021), the early authority's episodes open at 31 March
    2020 are not closed as missing from a 2021 file it never had."""
    together = clean(read_region(region, authority_folders(region)))
    early = np.flatnonzero(together.child_la == "early")
    mine = together.episodes[together.episodes["child"].isin(early)]
    assert mine["dec"].isna().sum() > 0
    assert mine["dec"].max() <= pd.Timestamp(2020, 3, 31)


def test_prepared_in_one_pass_or_one_by_one_the_starts_are_the_same(region):
    folders = [f for f in authority_folders(region) if f.name != "early"]
    batch = {p.name: p for p in prepare_unfitted(str(region), [str(f) for f in folders])}
    assert sorted(batch) == sorted(LA.get(f.name, f.name) for f in folders)
    for folder in folders:
        alone = prepare(str(folder), None, None, fit=False)
        got = batch[alone.name].start
        assert (got.year, got.size, got.name) == (alone.start.year, alone.start.size, alone.start.name)
        pd.testing.assert_frame_equal(got.children, alone.start.children, check_exact=True)


def test_a_bad_file_in_one_authority_is_named_within_the_region(region, tmp_path):
    root = tmp_path / "bad"
    shutil.copytree(region / "east", root / "east")
    shutil.copytree(region / "south", root / "south")
    path = root / "south" / "2020" / "episodes.csv"
    lines = path.read_text().splitlines()
    cells = lines[5].split(",")
    cells[5] = "ZZ9"  # PLACE
    lines[5] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReturnError) as caught:
        read_region(root, authority_folders(root))
    message = str(caught.value)
    assert message == "south/2020/episodes.csv: line 6: column PLACE: unknown code: 'ZZ9'", message
    assert cells[0] not in message


def test_sub_folders_must_be_one_authority_each(region, tmp_path):
    twice = tmp_path / "twice"
    write_random_return(twice / "a", 3, pooled=True)
    write_random_return(twice / "b", 5, children=60, pooled=True)  # also LA 301
    with pytest.raises(UserError, match="two authorities have the same name.*: a, b"):
        run_region(twice, tmp_path / "out1", [1], fit=False)
    both = tmp_path / "both"
    fx.write_pooled(both / "ab", authorities=("201", "202"))
    fx.write_years(both / "c")
    with pytest.raises(UserError, match="ab holds 2 authorities"):
        run_region(both, tmp_path / "out2", [1], fit=False)


@pytest.mark.slow  # starts a local cluster of two worker processes
def test_a_bad_file_on_local_workers_is_one_line_and_exit_2(region, tmp_path, capfd):
    """On `--workers 2` the failing task is reported once, as one line: no worker's log or
    traceback reaches the terminal."""
    from experiments.cli import main

    root = tmp_path / "bad"
    shutil.copytree(region / "east", root / "east")
    path = root / "east" / "2020" / "episodes.csv"
    path.write_text(path.read_text().replace(",U6,", ",ZZ9,", 1))
    rc = main(["region", str(root), "--out", str(tmp_path / "out"), "--no-fit", "--workers", "2", "--no-progress"])
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("caresim: error")]
    assert rc == 2 and len(lines) == 1 and "east/2020/episodes.csv: line" in lines[0], err
    assert "Traceback" not in err and "Compute Failed" not in err, err
