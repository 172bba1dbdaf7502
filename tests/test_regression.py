"""Seeded regression (not validation): the output of a fixed run has not changed by accident.

If a change is meant to alter results, run `python tests/regression/update.py` and commit
the new baseline with the reason.
"""
from __future__ import annotations

import json
from pathlib import Path

from tests.regression.update import regression_output

BASELINE = Path(__file__).parent / "regression" / "baseline.json"


def test_output_matches_the_regression_baseline():
    assert regression_output() == json.loads(BASELINE.read_text())
