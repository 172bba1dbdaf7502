"""A parameter file: read, checked whole, and laid over the fixed values of sim/parameters.py.

A parameter file's `[parameters]` table gives every free parameter and may override fixed ones
(a what-if copy); `ParameterSet` lays it over the fixed values and checks the whole file when it
is read: unknown or missing names, values of the wrong type, out of range or not finite, and a
damaged `[meta]`, `[intervals]` or `[posterior]` (every draw is checked, so a file cannot run with
one seed and fail with another). The shipped file is `calibration/params/calibrated.toml`,
which `caresim calibrate` writes (the free values, 90% intervals and posterior draws).
"""
from __future__ import annotations

import functools
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np

from sim.files import read_text, short_repr
from sim.parameters import ParameterError, Params, finite_number

DEFAULT_PARAMS_FILE = "calibrated.toml"
MAX_PARAMS_FILE_BYTES = 16 * 2**20  # the shipped file is about 80 kB; a larger one is not a parameter file
TABLES = ("meta", "parameters", "intervals", "posterior")


def default_params_path() -> Path:
    """The shipped calibrated parameter file (free parameters and posterior) that the model loads by default."""
    return Path(str(resources.files("calibration") / "params" / DEFAULT_PARAMS_FILE))


class ParameterSet:
    """A parameter file, checked whole: the point estimate and, if present, posterior draws.

    The file's `[posterior]` table has `names` (free parameters), `draws` (one list of values
    per draw) and `fitted` (the point estimate the draws belong to, as calibration wrote it).
    Replication-level parameter uncertainty: `for_replication(seed)` picks a draw by the
    replication's seed (the same draw for every scenario with that seed, so scenario differences
    stay paired); without draws it returns the point estimate. A free parameter whose value in
    `[parameters]` differs from `fitted` was edited by hand: the edit counts, and every
    replication holds it at that value (`held`), while the others still vary by draw.
    """

    def __init__(self, point: Params, names: list[str] | None = None, draws: list[list[float]] | None = None,
                 meta: dict | None = None, source: str = "", *, fitted: list[float] | None = None,
                 intervals: dict | None = None):
        self.point = point
        self.names = list(names or [])
        self.draws = [list(d) for d in (draws or [])]
        self.meta = dict(meta or {})
        self.intervals = dict(intervals or {})
        self.source = source
        self._fitted = list(fitted) if fitted is not None else None
        self._check_names()
        self.held = {n: getattr(point, n) for n, v in zip(self.names, fitted or []) if getattr(point, n) != v}
        self._check_draws()

    def _check_names(self) -> None:
        where = f"{self.source}: [posterior]"
        for i, n in enumerate(self.names):
            if not isinstance(n, str) or n not in Params.names():
                raise ParameterError(f"{where} names[{i}] = {short_repr(n)} is not a parameter")
            if not Params.meta(n)["free"]:
                raise ParameterError(f"{where} names[{i}] = {n!r} is a fixed parameter (its value is set in sim/parameters.py)")
            if n in self.names[:i]:
                raise ParameterError(f"{where} names[{i}] = {n!r} is given twice")

    def _check_draws(self) -> None:
        """Every draw as `_draw` would build it, checked without building it (200 Params objects
        cost ~0.07 s of every start-up)."""
        where = f"{self.source}: [posterior]"
        point = vars(self.point)
        drawn = [n for n in self.names if n not in self.held]
        for k, draw in enumerate(self.draws):
            if len(draw) != len(self.names):
                raise ParameterError(f"{where} draws[{k}] has {len(draw)} values for {len(self.names)} names")
            values = {**point, **{n: v for n, v in zip(self.names, draw) if n not in self.held}}
            try:
                Params.check(values, drawn)
            except ParameterError as exc:
                raise ParameterError(f"{where} draws[{k}]: {exc}") from None

    def _draw(self, k: int) -> Params:
        return self.point.replace(**{n: v for n, v in zip(self.names, self.draws[k]) if n not in self.held})

    @classmethod
    def load(cls, path: str | Path | None = None) -> "ParameterSet":
        """Read and check a parameter file (default: the shipped calibrated file)."""
        path = Path(path) if path is not None else default_params_path()
        return _parse_params_text(read_text(path, "parameter file", MAX_PARAMS_FILE_BYTES, ParameterError), str(path))

    @classmethod
    def from_document(cls, doc: dict, source: str) -> "ParameterSet":
        """A ParameterSet from a parsed parameter file; ParameterError names `source`, table, key and value."""
        unknown = [k for k in doc if k not in TABLES]
        if unknown:
            raise ParameterError(f"{source}: unknown table or key {unknown[0]!r} (known: {', '.join(TABLES)})")
        for name in TABLES:
            if name in doc and not isinstance(doc[name], dict):
                raise ParameterError(f"{source}: {name} = {short_repr(doc[name])} is not a [{name}] table")
        values = doc.get("parameters")
        if values is None:
            raise ParameterError(f"{source}: no [parameters] table")
        unknown = [n for n in values if n not in Params.names()]
        if unknown:
            raise ParameterError(f"{source}: unknown parameter {unknown[0]!r} = {short_repr(values[unknown[0]])}")
        missing = [n for n in Params.free_names() if n not in values]
        if missing:
            raise ParameterError(f"{source}: missing free parameter {missing[0]!r} (a parameter file gives every "
                                 "free parameter: copy calibration/params/calibrated.toml and edit the copy)")
        try:
            point = Params(**{**Params.fixed_values(), **values})
        except ParameterError as exc:
            raise ParameterError(f"{source}: {exc}") from None
        intervals = doc.get("intervals", {})
        for n, pair in intervals.items():
            ok = (n in Params.names() and isinstance(pair, list) and len(pair) == 2
                  and all(finite_number(v) is not None for v in pair) and pair[0] <= pair[1])
            if not ok:
                raise ParameterError(f"{source}: [intervals] {n} = {short_repr(pair)} is not a parameter's [low, high]")
        post = doc.get("posterior", {})
        unknown = [k for k in post if k not in ("names", "fitted", "draws")]
        if unknown:
            raise ParameterError(f"{source}: [posterior] unknown key {unknown[0]!r} (known: names, fitted, draws)")
        names, draws, fitted = post.get("names", []), post.get("draws", []), post.get("fitted")
        if not isinstance(names, list):
            raise ParameterError(f"{source}: [posterior] names = {short_repr(names)} is not a list of parameter names")
        if not isinstance(draws, list) or not all(isinstance(d, list) for d in draws):
            raise ParameterError(f"{source}: [posterior] draws = {short_repr(draws)} is not a list of lists of numbers")
        if fitted is not None:
            if not isinstance(fitted, list) or len(fitted) != len(names) or any(finite_number(v) is None for v in fitted):
                raise ParameterError(f"{source}: [posterior] fitted = {short_repr(fitted)} is not one number per name")
        return cls(point, names, draws, doc.get("meta", {}), source, fitted=fitted, intervals=intervals)

    def for_replication(self, seed: int, uncertainty: bool = True) -> Params:
        """The parameters of the replication with this seed: its posterior draw, or the point estimate."""
        if not uncertainty or not self.draws:
            return self.point
        k = int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 7]).generate_state(1)[0]) % len(self.draws)
        return self._draw(k)

    def draw(self, index: int) -> Params:
        """Posterior draw number `index` (modulo the number of draws), or the point estimate without
        draws: an explicit draw, separate from any replication's seed (variance by source)."""
        return self._draw(int(index) % len(self.draws)) if self.draws else self.point

    def notes(self) -> list[str]:
        """One line per hand-edited free parameter: the value every replication uses."""
        return [f"{self.source}: {n} = {v!r} differs from the fitted {self.fitted_value(n)!r}: every replication "
                f"uses {v!r} (the other free parameters vary by posterior draw)" for n, v in self.held.items()]

    def fitted_value(self, name: str) -> float:
        return self._fitted[self.names.index(name)] if self._fitted else getattr(self.point, name)


@functools.lru_cache(maxsize=8)
def _parse_params_text(text: str, source: str) -> ParameterSet:
    """Parse and check a parameter file's text (cached: every model built without parameters reads
    the shipped file, and checking its 200 draws takes as long as the parse)."""
    try:
        doc = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4,300 digits
        raise ParameterError(f"{source}: not valid TOML ({exc})") from None
    return ParameterSet.from_document(doc, source)


def read_params_file(path: str | Path) -> tuple[Params, dict]:
    """Load and check a parameter file: the parameters and the file's other tables (meta, intervals, posterior)."""
    pset = ParameterSet.load(path)
    extra = {"meta": pset.meta, "intervals": pset.intervals}
    if pset.names:
        extra["posterior"] = {"names": pset.names, "draws": pset.draws}
    return pset.point, extra


def load_params(path: str | Path | None = None) -> Params:
    """The point estimate of the parameter file `path`, or of the shipped calibrated file."""
    return ParameterSet.load(path).point
