"""The mix of levers the page's controls show, and the scenario file it reads and writes.

A `Mix` holds every lever of `sim.levers.LEVERS`, switched on or off, with its arguments; it
becomes a `Scenario` through the scenario loader itself (`experiments.scenarios.parse_scenario`),
so a mix the page accepts is one `caresim compare` accepts, and a file dropped on the page is
read by the same code. Typed values are checked against each argument's `ParamSpec`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from experiments.scenarios import Scenario, ScenarioError, load_scenario, parse_scenario
from sim.levers import LEVERS
from sim.policy import DEFAULT_START, SHARE_REALISED, LeverError, ParamSpec


@dataclass
class Mix:
    """What the controls show: the scenario being built. Every lever is present, on or off."""

    name: str = "my-mix"
    description: str = ""
    share_realised: float = SHARE_REALISED.default
    enabled: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(LEVERS, False))
    args: dict[str, dict] = field(default_factory=lambda: {k: default_args(k) for k in LEVERS})
    order: list[str] = field(default_factory=lambda: list(LEVERS))  # a loaded file's order is kept


def default_args(kind: str) -> dict:
    """Every argument of lever `kind` at its default, `start` included."""
    return {"start": DEFAULT_START, **{name: spec.default for name, spec in LEVERS[kind].specs().items()}}


def mix_tables(mix: Mix) -> list[dict]:
    """The lever tables of the switched-on levers, as a scenario file holds them."""
    return [{"type": kind, **mix.args[kind]} for kind in mix.order if mix.enabled[kind]]


def to_scenario(mix: Mix) -> Scenario:
    """The mix as a Scenario, checked by the scenario loader itself (ScenarioError if unusable)."""
    doc = {"name": mix.name, "description": mix.description, "share_realised": mix.share_realised,
           "levers": mix_tables(mix)}
    return parse_scenario(doc, source="the page")


def from_scenario(scenario: Scenario) -> Mix:
    """The controls for a scenario: its levers switched on with its arguments, the rest off.

    A scenario with two levers of one type shows the last (the page holds one of each type).
    """
    mix = Mix(name=scenario.name, description=scenario.description, share_realised=scenario.share_realised)
    for lever in scenario.levers:
        kind = lever.to_dict()["type"]
        mix.enabled[kind] = True
        mix.args[kind] = {**default_args(kind), **{k: v for k, v in lever.to_dict().items() if k != "type"}}
    kinds = [lever.to_dict()["type"] for lever in scenario.levers]
    mix.order = list(dict.fromkeys(kinds + list(LEVERS)))
    return mix


def save_scenario(mix: Mix, path: Path) -> Scenario:
    """Write the mix as a scenario file and check that `load_scenario` reads back the same scenario."""
    scenario = to_scenario(mix)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(scenario.to_toml(), encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot write ({exc.strerror})") from None
    if load_scenario(path).to_dict() != scenario.to_dict():  # pragma: no cover - a bug, not a user error
        raise ScenarioError(f"{path}: the file written does not read back as the same scenario")
    return scenario


def scenario_text(mix: Mix) -> str:
    """The mix as the text of a scenario file (what the page offers to download)."""
    return to_scenario(mix).to_toml()


MAX_UPLOAD_BYTES = 256 * 1024  # a scenario file is well under 1 kB


def scenario_from_upload(name: str, data: bytes) -> Scenario:
    """A scenario file sent from the browser, read by the scenario loader itself (ScenarioError if unusable)."""
    import tomllib

    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioError(f"{name}: {len(data):,} bytes is too large for a scenario file")
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{name}: not a TOML scenario file ({exc})") from None
    return parse_scenario(doc, source=name)


def parse_value(spec: ParamSpec, kind: str, name: str, text: str) -> float | int:
    """A typed value checked against its spec; LeverError (one line) if it is not usable."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise LeverError(f"{name}: {text.strip()!r} is not a number") from None
    if spec.integer:
        if not value.is_integer():
            raise LeverError(f"{name}: {text.strip()!r} is not a whole number")
        value = int(value)
    try:
        spec.check(kind, name, value)
    except LeverError:
        raise LeverError(f"{name}: {format_value(value)} is outside {format_value(spec.lo)} to "
                         f"{format_value(spec.hi)} {spec.unit}") from None
    return value


def format_value(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) >= 1 else f"{value:.4g}"


def slider_range(spec: ParamSpec) -> tuple[float, float]:
    """The slider's span: the whole range, or up to 4x the default where the range is vast."""
    hi = spec.hi if spec.default <= 0 or spec.hi <= 20 * spec.default else 4 * spec.default
    return float(spec.lo), float(hi)


def pretty(name: str) -> str:
    words = name.replace("gbp_", "spending_").replace("_", " ")
    return words[:1].upper() + words[1:]
