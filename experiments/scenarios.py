"""Scenario files: a named mix of policy levers (sim/levers.py), written in TOML.

A scenario file looks like::

    name = "optimised-low"
    description = "The report's optimised model, low end"
    share_realised = 0.5          # share of each unknown-strength opportunity realised

    [[levers]]
    type = "investment"           # a key of sim.levers.LEVERS
    start = "2020-04"             # first month the lever acts
    ramp_months = 12              # linear ramp to full strength
    gbp_per_year = 205000000.0

The shipped files are in experiments/scenarios/; `load_scenario` takes one of their names or
a path. Anything the loader cannot use (malformed TOML, an unknown key or lever type, a value
of the wrong type or out of range) is refused with one line naming the file, the key and the
value, as a `ScenarioError` (a `UserError`: the CLI exits 2 without a traceback). So is what
would be accepted but mean something else: two levers of the same type (each checked alone, they
would together pass the single-lever limits), a name too long for the file names an experiment
stores runs under, and a scenario named `baseline` with levers (it would replace the reference
that savings are measured against). A file is read through sim/files.py (a path that is a
directory, a device, too large or not UTF-8 is one line too).
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import tomli_w

from runner.errors import UserError
from sim.files import read_text, short_repr
from sim.levers import lever_from_dict
from sim.policy import SHARE_REALISED, LeverError, PolicyLever

TOP_KEYS = ("name", "description", "share_realised", "levers")
BASELINE = "baseline"  # the reference without levers that comparisons measure savings against
MAX_NAME_LENGTH = 64  # runs are stored as <name>--seed<seed>.parquet: well inside a file name's 255 bytes
MAX_SCENARIO_FILE_BYTES = 2**20  # shipped files are under 1 kB
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ScenarioError(UserError):
    """A scenario file or value that cannot be used; one line naming file, key and value."""


@dataclass
class Scenario:
    """A named mix of levers.

    Attributes:
        name: short name (letters, digits, `-`, `_`, `.`), used in outputs and file names.
        description: one or two sentences for people.
        levers: the levers, each built with this scenario's `share_realised`.
        share_realised: share of each unknown-strength opportunity realised (sim/levers.py).
    """

    name: str
    description: str = ""
    levers: list[PolicyLever] = field(default_factory=list)
    share_realised: float = 1.0
    source: str = field(default="", compare=False)  # the file it came from, for messages

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "share_realised": self.share_realised,
                "levers": [lever.to_dict() for lever in self.levers]}

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    def check_params(self, params) -> None:
        """Check the levers against a parameter set, as `init(model)` will (those checks read
        only `model.params`); ScenarioError names the scenario, lever, key and value."""
        model = SimpleNamespace(params=params)
        for i, lever in enumerate(self.levers):
            try:
                lever.check_model(model)
            except LeverError as exc:
                where = f"{self.source}: scenario {self.name}" if self.source else f"scenario {self.name}"
                raise ScenarioError(f"{where}: levers[{i}]: {exc}") from None

    def fresh_levers(self) -> list[PolicyLever]:
        """New lever objects (levers keep per-run state after `init`): one set per model."""
        return [lever_from_dict(lever.to_dict(), self.share_realised) for lever in self.levers]


def scenario_dir() -> Path:
    """The folder of the shipped scenario files."""
    return Path(str(resources.files("experiments") / "scenarios"))


def scenario_names() -> list[str]:
    """Names of the shipped scenarios."""
    return sorted(p.stem for p in scenario_dir().glob("*.toml"))


def parse_scenario(doc: dict, source: str = "<scenario>") -> Scenario:
    """A Scenario from a parsed TOML document; ScenarioError names `source`, key and value."""
    if not isinstance(doc, dict):
        raise ScenarioError(f"{source}: expected a table of keys, got {doc!r}")
    for key, value in doc.items():
        if key not in TOP_KEYS:
            raise ScenarioError(f"{source}: unknown key {key!r} = {value!r} (known: {', '.join(TOP_KEYS)})")
    name = doc.get("name", Path(source).stem)
    if not isinstance(name, str) or not _NAME.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        raise ScenarioError(f"{source}: name = {short_repr(name)} must be 1 to {MAX_NAME_LENGTH} letters, digits, "
                            "'-', '_' or '.'")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(f"{source}: description = {short_repr(description)} is not a string")
    share = doc.get("share_realised", SHARE_REALISED.default)
    try:
        SHARE_REALISED.check("scenario", "share_realised", share)
    except LeverError as exc:
        raise ScenarioError(f"{source}: {str(exc).removeprefix('scenario: ')}") from None
    tables = doc.get("levers", [])
    if not isinstance(tables, list):
        raise ScenarioError(f"{source}: levers = {short_repr(tables)} is not a list of [[levers]] tables")
    levers = []
    for i, table in enumerate(tables):
        try:
            lever = lever_from_dict(table, share)
        except LeverError as exc:
            raise ScenarioError(f"{source}: levers[{i}]: {exc}") from None
        first = next((j for j, other in enumerate(levers) if other.TYPE == lever.TYPE), None)
        if first is not None:
            raise ScenarioError(f"{source}: levers[{i}]: a second {lever.TYPE} lever (levers[{first}] is one); "
                                "give each type once, with its full strength")
        levers.append(lever)
    if name == BASELINE and levers:
        raise ScenarioError(f"{source}: name = {BASELINE!r} is the reference without levers that savings are "
                            "measured against; give this scenario another name")
    return Scenario(name=name, description=description, levers=levers, share_realised=share, source=source)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name (see `scenario_names`) or a scenario file by path."""
    text = str(name_or_path)
    if not text.strip() or "\0" in text:
        raise ScenarioError(f"scenario {text!r}: not a scenario name or file")
    path = Path(text)
    if not (path.suffix == ".toml" or os.path.lexists(path) or "/" in text):
        path = scenario_dir() / f"{text}.toml"
        if not path.is_file():
            raise ScenarioError(f"scenario {short_repr(text)}: no such scenario (shipped: {', '.join(scenario_names())}; "
                                "or give a path to a .toml file)")
    content = read_text(path, "scenario file", MAX_SCENARIO_FILE_BYTES, ScenarioError)
    try:
        doc = tomllib.loads(content)
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4,300 digits
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    return parse_scenario(doc, str(path))


def load_scenarios(names_or_paths) -> list[Scenario]:
    """Scenarios given on a command line, each once (ScenarioError for one named twice)."""
    scenarios = [load_scenario(s) for s in names_or_paths]
    names = [s.name for s in scenarios]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ScenarioError(f"scenario {repeated[0]!r} is given twice")
    return scenarios
