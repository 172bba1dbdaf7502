"""Common random numbers are complete: a lever acting on children's homes leaves kinship care alone.

`right_care` raises the step-down hazard of children in children's homes. Stepping down takes
foster places, so it changes the journeys of children in homes and of foster-route entrants
who then find no foster place; it must not change any kinship placement. Before every draw
was counter-based, provider choice was a sequential permutation whose size changed with the
lever: with `right_care` against the baseline (scale 0.02, to 2019) only 48% of the children
in kinship care in both runs, in the same months, had the same provider.

One coupling is deliberate: social workers' time. A lever that changes who is in care changes
caseloads, so every child's worker time, which scales the return-home hazard, moves a little.
With that channel held (every worker's time effect 1), every kinship placement must be
identical; with it open, the carer must still be identical and the timing almost always.
"""
from __future__ import annotations

import numpy as np

from sim.levers import lever_from_dict
from sim.model import CareModel
from sim.parameter_file import load_params
from sim.states import State
from sim.workforce import WorkerTime, Workforce

RIGHT_CARE = {"type": "right_care", "start": "2016-04", "ramp_months": 0, "step_down_rate_per_year": 4.0}


def _lockstep(params, months: int):
    """The baseline and right_care from the same seed, stepped together; yields both each month."""
    base = CareModel(params, seed=3, scale=0.02)
    lever = CareModel(params, seed=3, scale=0.02, levers=[lever_from_dict(RIGHT_CARE)])
    for _ in range(months):
        base.step()
        lever.step()
        yield base, lever
    base.release()
    lever.release()


def _kinship_spells(log: dict, child: int) -> list[tuple[int, int | None]]:
    """(entry month, exit month or None) of each kinship spell of `child`."""
    mine = np.flatnonzero(log["child"] == child)
    spells = []
    for i, k in enumerate(mine):
        if log["to_state"][k] == State.KINSHIP:
            out = next((j for j in mine[i + 1:] if log["to_state"][j] != State.KINSHIP), None)
            spells.append((int(log["month"][k]), None if out is None else int(log["month"][out])))
    return spells


def _compare_kinship(params) -> tuple[int, int, int]:
    """Carers checked month by month (asserted equal); then (kinship children, children whose
    journeys before kinship care are identical, of those the ones with an identical first spell)."""
    checked = steps_down = 0
    for base, lever in _lockstep(params, months=48):
        n = base.children.n
        assert lever.children.n == n  # referrals do not depend on levers: the same children
        both = (base.children.state[:n] == State.KINSHIP) & (lever.children.state[:n] == State.KINSHIP)
        carers = [m.providers.family[m.children.provider[:n][both]] for m in (base, lever)]
        assert np.array_equal(carers[0], carers[1])
        assert np.array_equal(carers[0], base.children.family[:n][both])
        checked += int(both.sum())
        steps_down += lever.current["new_step_downs"] - base.current["new_step_downs"]
    assert steps_down > 0, "the lever must act for the test to mean anything"
    assert checked > 1000
    logs = base.journeys.arrays(), lever.journeys.arrays()
    kin_children = np.unique(logs[0]["child"][logs[0]["to_state"] == State.KINSHIP])
    comparable = identical = 0
    for child in kin_children:
        events = [np.stack([log["month"][log["child"] == child], log["to_state"][log["child"] == child]])
                  for log in logs]
        first_kin = int(np.flatnonzero(events[0][1] == State.KINSHIP)[0])
        prefix = events[0][:, : first_kin + 1]
        if events[1].shape[1] <= first_kin or not np.array_equal(events[1][:, : first_kin + 1], prefix):
            continue  # the lever changed this child's journey before kinship care
        comparable += 1
        identical += _kinship_spells(logs[0], child)[0] == _kinship_spells(logs[1], child)[0]
    return kin_children.size, comparable, identical


def test_right_care_changes_no_kinship_placement_provider_or_timing(monkeypatch):
    """Worker time held: every month, a child in kinship care in both runs is with the same
    carer (its family's), and every child whose journey is identical up to entering kinship
    care has the same kinship spell (entry and exit month). Where a child goes after a kinship
    breakdown may differ: that placement competes for the foster places step-downs take."""
    allocate = Workforce.allocate

    def time_held(self, rows):
        time = allocate(self, rows)
        return WorkerTime(time.direct_per_case, np.ones_like(time.effect))

    monkeypatch.setattr(Workforce, "allocate", time_held)
    n_kin, comparable, identical = _compare_kinship(load_params())
    assert comparable > 0.9 * n_kin
    assert identical == comparable


def test_with_worker_time_open_the_carer_is_the_same_and_the_timing_almost_always():
    """The issue's measure with the shipped parameters: children in kinship care in both runs in
    the same month share a carer (100%, asserted month by month); at least 98% of comparable
    kinship spells are identical (worker time moves a few return-home draws across the line)."""
    n_kin, comparable, identical = _compare_kinship(load_params())
    assert comparable > 0.9 * n_kin
    assert identical >= 0.98 * comparable
