"""Shared fixtures (the shipped parameters, small fast models) and the test settings of CI.

Tiers: tests marked `slow` (many simulations, calibration, benchmarks' smoke runs), `cluster`
(real Dask processes) or `browser` (headless Chromium) are the slow tiers; `pytest -m "not slow"`
runs the fast tier (every test marked cluster or browser is also marked slow). CI runs all.

With the environment variable CI set (CI=true), Hypothesis is derandomised: its examples are
derived from each test's name, so CI draws the same examples every run and a failure reproduces.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import settings

from sim.model import CareModel
from sim.parameter_file import load_params

# registered here, before the test modules are imported, so that their @settings inherit it
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def params():
    return load_params()


def small_model(params=None, seed: int = 1, scale: float = 0.02, **overrides) -> CareModel:
    """A model of 2% of England (about 3,000 active children): fast enough for many runs."""
    base = params or load_params()
    return CareModel(base.replace(**overrides) if overrides else base, seed=seed, scale=scale)
