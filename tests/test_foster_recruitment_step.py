"""The step in fostering households' recruitment capacity from April 2020 (`foster_recruitment_from_2020`).

The stock was flat to 2019-20 and approved carers fell 15% from 2020 to 2024; the step is the
declared assumption (a fitted parameter with a prior) that carries that break (sim/market.py).
"""
from __future__ import annotations

import numpy as np

from tests.conftest import small_model

APRIL_2020 = 61  # month index: month 0 is 31 March 2015, the step acts from the month ending 30 April 2020
NO_RESPONSE = dict(agency_response_households_per_child=0.0)


def test_the_step_changes_nothing_before_april_2020_and_stops_recruitment_after_it():
    """Degenerate case, exact: runs with the step at 0 and at 1 are identical to March 2020; from
    April 2020 a step of 0 (no agencies' response) recruits no household at all."""
    runs = [small_model(seed=21, foster_recruitment_from_2020=s, **NO_RESPONSE) for s in (0.0, 1.0)]
    for m in runs:
        m.run_until(2021)
    tables = [m.monthly_table() for m in runs]
    before = [t.loc[: APRIL_2020 - 1].to_numpy() for t in tables]
    np.testing.assert_array_equal(before[0], before[1])
    after = tables[0].loc[APRIL_2020:, "new_foster_households_recruited"]
    assert after.size == 12 and (after == 0).all()
    assert tables[1].loc[APRIL_2020:, "new_foster_households_recruited"].sum() > 0  # the step does act


def test_a_lower_step_makes_households_fall_more_from_2020_to_2024_on_paired_seeds():
    """Directional, paired seeds: with recruitment halved from April 2020, fostering households
    (Ofsted's count) fall more from 2020 to 2024 than without a step, on every seed; before the
    step the runs are the same. The agencies' response is off: once places run out it recruits
    for unmet demand, which would blur the step's own effect on a small model."""
    for seed in (31, 32, 33):
        ratios, at_2019 = [], []
        for step in (1.0, 0.5):
            m = small_model(seed=seed, foster_recruitment_from_2020=step, **NO_RESPONSE)
            m.run_until(2024)
            t = m.yearly_table()
            ratios.append(t.at[2024, "n_foster_households"] / t.at[2020, "n_foster_households"])
            at_2019.append(t.at[2019, "n_foster_households"])
        assert at_2019[0] == at_2019[1]
        assert ratios[1] < ratios[0] - 0.02, (seed, ratios)
