"""Mesa's `Agent` and `Model`, imported without the rest of the `mesa` package.

`import mesa` runs Mesa's package `__init__`, which imports its grids, continuous space,
experimental features, batch runner and data collector, and with them scipy.spatial and more:
about 0.35 s of a `caresim run` that needs only `mesa.agent` and `mesa.model` (which import
nothing but numpy). Here the package is registered without running its `__init__`, its two core
modules are imported, and the first use of anything else (`mesa.DataCollector`,
`from mesa import batch_run`, ...) runs the package's `__init__` as usual, so other code sees the
whole of Mesa. If `mesa` was imported already, it is used as it is.
"""
from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def _core_of_mesa() -> ModuleType:
    if "mesa" in sys.modules:
        return sys.modules["mesa"]
    spec = importlib.util.find_spec("mesa")
    package = importlib.util.module_from_spec(spec)  # the package object; its __init__ not yet run
    sys.modules["mesa"] = package

    def complete(name: str):  # PEP 562: an attribute the core does not have imports the rest
        del package.__getattr__
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = complete
    from mesa.agent import Agent
    from mesa.model import Model
    package.Agent, package.Model = Agent, Model
    return package


mesa = _core_of_mesa()
Agent = mesa.Agent
Model = mesa.Model
