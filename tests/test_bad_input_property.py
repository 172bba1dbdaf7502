"""Property: any scenario file, parameter file and options either run or are refused in one line.

Hypothesis generates scenario files, parameter files and option values, each valid or invalid by
construction, and runs `caresim run` or `caresim compare` in-process on tiny runs. The oracle:
if every part is valid, the command exits 0 with valid output (the JSON contract, the readable
table, yearly.csv, or summary.csv); if any part is invalid, it exits 2 with exactly one line on
stderr, nothing on stdout, no traceback and no output folder. An unexpected exception is not
caught here, so it fails the test with its traceback: genuine bugs stay visible.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from experiments.cli import main as caresim
from sim.levers import LEVERS
from sim.parameters import Params
from sim.parameter_file import default_params_path, load_params

SHIPPED = load_params()
with open(default_params_path(), "rb") as _fh:
    SHIPPED_DOC = tomllib.load(_fh)

# Values that are wrong wherever a number is expected.
NOT_NUMBERS = [math.nan, math.inf, -math.inf, 10**400, "text", [1.0], {"a": 1}, True]


def lever_range(kind: str, key: str) -> tuple[float, float]:
    """The valid range of a lever argument, including the checks against the shipped parameters."""
    spec = LEVERS[kind].specs()[key]
    lo, hi = spec.lo, spec.hi
    if (kind, key) == ("keeping_families_together", "effectiveness"):
        lo = 1 - SHIPPED.edge_support_relative_risk
    if (kind, key) == ("practitioner_time", "direct_time_increase"):
        hi = (1 - SHIPPED.direct_share) / SHIPPED.direct_share  # at most every non-direct hour
    return lo, hi


@st.composite
def lever_value(draw, kind: str, key: str, only_valid: bool) -> tuple[object, bool]:
    spec = LEVERS[kind].specs()[key]
    lo, hi = lever_range(kind, key)
    if only_valid or draw(st.booleans()):
        if spec.integer:
            return draw(st.integers(int(lo), int(hi))), True
        return draw(st.floats(lo, hi)), True
    bad = draw(st.sampled_from(NOT_NUMBERS + ["below", "above"]))
    if bad == "below":
        return (lo - 1 if spec.integer else lo - 0.5 - abs(lo)), False
    if bad == "above":
        return (int(hi) + 1 if spec.integer else hi * 2 + 1), False
    return bad, False


@st.composite
def start_value(draw, only_valid: bool) -> tuple[object, bool]:
    if only_valid or draw(st.booleans()):
        year = draw(st.integers(2015, 2050))
        month = draw(st.integers(4 if year == 2015 else 1, 12))
        return f"{year}-{month:02d}", True
    return draw(st.sampled_from(["2015-03", "2051-01", "2020-13", "2020-4", "April 2020", 202004, ["2020-04"]])), False


@st.composite
def lever_table(draw, only_valid: bool, kind: str | None = None) -> tuple[dict, bool]:
    kind = kind or draw(st.sampled_from(sorted(LEVERS)))
    table, valid = {"type": kind}, True
    for key in draw(st.lists(st.sampled_from(sorted(LEVERS[kind].specs())), unique=True, max_size=3)):
        table[key], ok = draw(lever_value(kind, key, only_valid))
        valid &= ok
    if draw(st.booleans()):
        table["start"], ok = draw(start_value(only_valid))
        valid &= ok
    valid &= _arguments_agree(kind, table)
    corruption = None if only_valid else \
        draw(st.sampled_from([None] * 6 + ["unknown key", "list type", "unknown type", "share"]))
    if corruption == "unknown key":
        table["strength"] = 1.0
    elif corruption == "list type":
        table["type"] = [kind]
    elif corruption == "unknown type":
        table["type"] = "nope"
    elif corruption == "share":
        table["share_realised"] = 0.5
    return table, valid and corruption is None


def _arguments_agree(kind: str, table: dict) -> bool:
    """Rules between a lever's arguments (each in its own range): an age band must not be empty."""
    if kind != "locally_tailored_delivery":
        return True
    specs = LEVERS[kind].specs()
    lo, hi = (table.get(k, specs[k].default) for k in ("min_age_years", "max_age_years"))
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi))
    return not numbers or lo < hi


@st.composite
def scenario_file(draw, folder: Path, only_valid: bool) -> tuple[str, bool]:
    """A shipped scenario's name, or a path to a generated file (valid or not)."""
    if draw(st.integers(0, 5)) == 0:
        name = draw(st.sampled_from(["baseline", "optimised-low", "right-care"] + ([] if only_valid else ["nope"])))
        return name, name != "nope"
    doc, valid = {}, True
    names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True).filter(lambda n: n != "baseline")
    if not only_valid:
        names = st.one_of(names, st.sampled_from(["", "has space", "x" * 65, "baseline", "é"]))
    name = draw(names)
    name_ok = bool(name) and name not in ("has space", "x" * 65, "é")
    if draw(st.booleans()):
        doc["name"] = name
        valid &= name_ok
    else:
        name = "scenario"
    if draw(st.booleans()):
        doc["share_realised"], ok = (draw(st.floats(0, 1)), True) if only_valid or draw(st.booleans()) else \
            (draw(st.sampled_from(NOT_NUMBERS + [1.5, -0.1])), False)
        valid &= ok
    if only_valid:  # one lever of each type
        kinds = draw(st.lists(st.sampled_from(sorted(LEVERS)), unique=True, max_size=3))
        tables = [draw(lever_table(True, kind)) for kind in kinds]
    else:
        tables = draw(st.lists(lever_table(False), max_size=3))
    doc["levers"] = [t for t, _ in tables]
    valid &= all(ok for _, ok in tables)
    kinds = [t["type"] for t, _ in tables if isinstance(t["type"], str)]
    valid &= len(kinds) == len(set(kinds))  # one lever of each type
    valid &= not (name == "baseline" and tables)  # the reference has no levers
    path = folder / "scenario.toml"
    damage = None if only_valid else draw(st.sampled_from([None] * 8 + ["not toml", "latin-1", "unknown key"]))
    if damage == "unknown key":
        doc["colour"] = "red"
    text = tomli_w.dumps(doc)
    if damage == "not toml":
        text = text + "\n[[levers]\n"
    path.write_bytes(text.encode("latin-1" if damage == "latin-1" else "utf-8") +
                     (b"\xe9" if damage == "latin-1" else b""))
    return str(path), valid and damage is None


# Fixed parameters without cross-field checks, and ranges where a tiny run is meaningful.
EDITABLE_FIXED = {"weekly_hours": (20.0, 45.0), "kinship_weekly_cost_gbp": (0.0, 5e3), "cost_dispersion": (0.0, 1.0),
                  "home_closure_rate_per_year": (0.0, 2.0), "foster_breakdown_rate_per_year": (0.0, 2.0)}


@st.composite
def params_file(draw, folder: Path, only_valid: bool) -> tuple[str | None, bool]:
    """None (the shipped file), or a copy of it with one change (valid or not)."""
    changes = [None, "edit free", "edit fixed"]
    if not only_valid:
        changes += ["bad value", "missing", "unknown", "bad draw", "bad posterior", "bad meta"]
    change = draw(st.sampled_from(changes))
    if change is None:
        return None, True
    doc = json.loads(json.dumps(SHIPPED_DOC))  # a deep copy
    valid = change in ("edit free", "edit fixed")
    if change == "edit free":
        name = draw(st.sampled_from(Params.free_names()))
        doc["parameters"][name] = draw(st.floats(*Params.prior_range(name)))
    elif change == "edit fixed":
        name = draw(st.sampled_from(sorted(EDITABLE_FIXED)))
        doc["parameters"][name] = draw(st.floats(*EDITABLE_FIXED[name]))
    elif change == "bad value":
        name = draw(st.sampled_from(Params.names()))
        meta = Params.meta(name)
        doc["parameters"][name] = draw(st.sampled_from(NOT_NUMBERS + [meta["hi"] * 2 + 1, meta["lo"] - 1]))
    elif change == "missing":
        del doc["parameters"][draw(st.sampled_from(Params.free_names()))]
    elif change == "unknown":
        doc["parameters"]["no_such_parameter"] = 1.0
    elif change == "bad draw":
        k, i = draw(st.integers(0, len(doc["posterior"]["draws"]) - 1)), draw(st.integers(0, 23))
        doc["posterior"]["draws"][k][i] = draw(st.sampled_from(NOT_NUMBERS + [-1e9]))
    elif change == "bad posterior":
        doc["posterior"][draw(st.sampled_from(["names", "draws", "fitted"]))] = draw(st.sampled_from([5, "x", [[1]]]))
    elif change == "bad meta":
        doc["meta"] = draw(st.sampled_from([5, "x", [1]]))
    path = folder / "params.toml"
    path.write_text(tomli_w.dumps(doc))
    return str(path), valid


# option: (valid values, invalid values)
OPTIONS = {
    "--seed": (st.integers(0, 1000), st.sampled_from([-1, 2**32, "x", "", "1.5"])),
    "--scale": (st.floats(0.001, 0.004), st.sampled_from([1e-5, 0, -1, "nan", "inf", 2, "x", ""])),
    "--replications": (st.integers(1, 2), st.sampled_from([0, 10_001, 10**9, "x", ""])),
    "--end-year": (st.just(2016), st.sampled_from([2015, 2051, "x", ""])),
}


def run_in_process(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = caresim(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_input_runs_or_is_refused_in_one_line(data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        only_valid = data.draw(st.booleans(), label="every part valid")
        command = data.draw(st.sampled_from(["run"] * 3 + ["compare"]), label="command")
        scenario, valid = data.draw(scenario_file(folder, only_valid), label="scenario")
        argv = [command] + ([scenario] if command == "compare" else ["--scenario", scenario])
        params, ok = data.draw(params_file(folder, only_valid), label="params")
        valid &= ok
        if params is not None:
            argv += ["--params", params]
        for name, (good, bad) in OPTIONS.items():
            ok = only_valid or data.draw(st.booleans(), label=f"{name} valid")
            argv += [name, str(data.draw(good if ok else bad, label=name))]
            valid &= ok
        (folder / "a-file").write_text("x")
        choices = ["new"] + ([] if only_valid else ["a file", "under a file", "empty"])
        out_choice = data.draw(st.sampled_from(choices + (["none"] if command == "run" else [])), label="--out")
        out = {"new": folder / "out", "a file": folder / "a-file", "under a file": folder / "a-file" / "out",
               "empty": "", "none": None}[out_choice]
        if out is not None:
            argv += ["--out", str(out)]
            valid &= out_choice == "new"
        as_json = command == "run" and data.draw(st.booleans(), label="--json")
        argv += ["--json"] if as_json else []
        argv += ["--no-progress"] if command == "compare" else []

        code, stdout, stderr = run_in_process(argv)
        event("ran" if valid else "refused")

        if valid:
            assert code == 0, (argv, stderr)
            assert "Traceback" not in stderr
            if command == "compare":
                assert (folder / "out" / "summary.csv").exists()
            elif as_json:
                doc = json.loads(stdout)
                assert doc["years"] == [2015, 2016] and all(v >= 0 for v in doc["children_in_care"])
            else:
                assert "31 March" in stdout and "2016" in stdout
            if command == "run" and out is not None:
                assert (folder / "out" / "yearly.csv").exists()
        else:
            lines = stderr.strip().splitlines()
            assert code == 2, (argv, stdout, stderr)
            assert len(lines) == 1 and "Traceback" not in stderr, (argv, stderr)
            assert stdout == "", (argv, stdout)
            assert not (folder / "out").exists(), argv  # refused before anything was written
