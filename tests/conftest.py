"""Shared fixtures: the shipped parameters, and small fast models."""
from __future__ import annotations

import pytest

from sim.model import CareModel
from sim.parameters import load_params


@pytest.fixture(scope="session")
def params():
    return load_params()


def small_model(params=None, seed: int = 1, scale: float = 0.02, **overrides) -> CareModel:
    """A model of 2% of England (about 3,000 active children): fast enough for many runs."""
    base = params or load_params()
    return CareModel(base.replace(**overrides) if overrides else base, seed=seed, scale=scale)
