"""Regenerate the seeded regression baseline, deliberately, after a change that is meant to
alter results. Usage, from the repository root: python tests/regression/update.py (then commit
the JSON with the reason). It imports the model of the checkout it lives in.

This is regression, not validation: it only says "the output has not changed by accident".
It pins the WHOLE yearly table (every column, every year) of two runs: the baseline, and the
shipped `optimised-high` scenario (every lever acting from April 2020). The parameters are
frozen in params.toml here, so recalibrating the shipped file does not move it.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).parent
BASELINE = HERE / "baseline.json"
SETTINGS = dict(seed=1, scale=0.02, end_year=2022)
SCENARIOS = ("baseline", "optimised-high")


def _table(scenario: str) -> dict:
    from experiments.scenarios import load_scenario
    from sim.model import CareModel
    from sim.parameter_file import load_params

    levers = load_scenario(scenario).fresh_levers()
    model = CareModel(load_params(HERE / "params.toml"), seed=SETTINGS["seed"], scale=SETTINGS["scale"],
                      levers=levers, journeys=False)
    try:
        model.run_until(SETTINGS["end_year"])
        table = model.yearly_table()
        out = {"years": [int(y) for y in table.index], "child_months": int(model.child_months)}
        out["columns"] = {col: [None if math.isnan(v) else float(v) for v in table[col].to_numpy(dtype=float)]
                          for col in table.columns}
    finally:
        model.release()
    return out


def regression_output() -> dict:
    """The yearly tables of the pinned runs, as plain JSON (NaN as null; floats round-trip exactly)."""
    return {"settings": SETTINGS, "runs": {name: _table(name) for name in SCENARIOS}}


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))  # this checkout's model, not an installed copy
    BASELINE.write_text(json.dumps(regression_output(), indent=1) + "\n")
    print(f"wrote {BASELINE}")
