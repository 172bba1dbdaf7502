"""The import order of the packages: nothing low imports anything high.

    sim, agents  ->  runner  ->  calibration | experiments  ->  experiments.cli  ->  benchmarks  ->  tests

Every import in every module (at the top or inside a function) is read with `ast`. A module
may import its own group or a lower layer; `calibration` and `experiments` are siblings and do
not import each other (only the command line joins them); nothing outside tests/ imports tests/.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "agents", "runner", "calibration", "experiments", "benchmarks", "tests")
# group -> layer; a module may import its own group or any group of a lower layer
LAYERS = {"model": 0, "runner": 1, "calibration": 2, "experiments": 2, "cli": 3, "benchmarks": 4, "tests": 5}


def group(module: str) -> str:
    """The layer group of a project module name."""
    if module == "experiments.cli" or module.startswith("experiments.cli."):
        return "cli"
    top = module.split(".")[0]
    return "model" if top in ("sim", "agents") else top


def imported(source: str, module: str) -> list[tuple[int, str]]:
    """(line, module) of every import of a project module in `source` (the module `module`)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = module.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            # `from experiments import cli` imports the module experiments.cli
            out += [(node.lineno, f"{name}.{alias.name}" if f"{name}.{alias.name}" == "experiments.cli" else name)
                    for alias in node.names]
    return [(line, name) for line, name in out if name.split(".")[0] in PACKAGES]


def violations(source: str, module: str) -> list[str]:
    """Upward or sideways imports in `source`, one line each."""
    mine = group(module)
    bad = []
    for line, name in imported(source, module):
        theirs = group(name)
        if theirs == mine:
            continue
        if LAYERS[theirs] >= LAYERS[mine]:
            bad.append(f"{module} line {line} imports {name} ({theirs} is not below {mine})")
    return bad


def project_modules() -> list[tuple[str, Path]]:
    modules = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            modules.append((".".join(p for p in parts if p != "__init__"), path))
    return modules


def test_no_module_imports_a_higher_layer():
    found = [v for module, path in project_modules() for v in violations(path.read_text(), module)]
    assert not found, "\n".join(found)
    assert len(project_modules()) > 40  # the walk found the project


@pytest.mark.parametrize("module, source", [
    ("sim.model", "from experiments.compare import read_runs"),
    ("runner.executor", "def f():\n    import calibration.fit\n"),
    ("calibration.fit", "from experiments import scenarios"),
    ("experiments.compare", "from calibration.targets import load_targets"),
    ("experiments.report", "from experiments import cli"),
    ("benchmarks.bench_core", "from tests.conftest import small_model"),
    ("sim.levers", "from ..runner import errors"),
])
def test_the_check_finds_an_upward_or_sideways_import(module, source):
    assert len(violations(source, module)) == 1
