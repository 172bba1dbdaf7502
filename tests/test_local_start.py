"""A local start's legal statuses reach the model: a child who starts with a placement order is
waiting for adopters, as in the national stock (sim/local_start.py, sim/hazards.py's pipeline)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from agents.children import LegalStatus
from sim.local_start import LocalStart
from sim.model import CareModel
from sim.parameter_file import load_params
from sim.states import State

N = 400  # children of each legal status


def start(legal: str) -> LocalStart:
    """N fostered two-year-olds, a year in care, all with the legal status `legal`."""
    children = pd.DataFrame({"age_months": 24, "state": State.FOSTER_IN_HOUSE.name, "legal_status": legal,
                             "months_in_care": 12, "uasc": False}, index=range(N))
    return LocalStart(2021, children, size=0.005, name="test")


def placed_for_adoption(legal: str, **overrides) -> tuple[int, int]:
    """(children of the start holding a placement order at the start, of them placed for adoption by
    31 March 2022); the same seed for both statuses, so the draws are paired."""
    model = CareModel(load_params().replace(**overrides), seed=4, start=start(legal), journeys=True)
    try:
        rows = model.active_rows[model.children.state[model.active_rows] == State.FOSTER_IN_HOUSE][:N]
        held = int((model.children.legal_status[rows] == LegalStatus.PLACEMENT_ORDER).sum())
        model.run_until(2022)
        log = model.journeys.arrays()
        moved = np.unique(log["child"][(log["to_state"] == State.PLACED_FOR_ADOPTION) & np.isin(log["child"], rows)]).size
    finally:
        model.release()
    return held, moved


def test_a_placement_order_in_the_return_is_one_in_the_model():
    held, moved = placed_for_adoption("placement order")
    assert held == N
    held_without, moved_without = placed_for_adoption("care order")
    assert held_without == 0
    # with an order a child waits only for a match (about 1.7 a year: most within the year); without
    # one it must first be granted an order: far fewer are placed (paired seeds)
    assert moved > 0.5 * N
    assert moved > 2 * moved_without


def test_without_matches_nobody_is_placed_for_adoption():
    assert placed_for_adoption("placement order", placed_for_adoption_rate_per_year=0.0)[1] == 0
