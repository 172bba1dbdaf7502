"""Regenerate the seeded regression baseline, deliberately, after a change that is meant to
alter results. Usage: python tests/regression/update.py (then commit the JSON with the reason).

This is regression, not validation: it only says "the output has not changed by accident".
The parameters are frozen in params.toml here, so recalibrating the shipped file does not move it.
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
SETTINGS = dict(seed=1, scale=0.02, end_year=2019)


def regression_output() -> dict:
    from sim.parameters import load_params
    from sim.run import run_replication, summarise

    table = run_replication(load_params(HERE / "params.toml"), **SETTINGS)
    return summarise([table], scenario="baseline", seed=SETTINGS["seed"])


if __name__ == "__main__":
    (HERE / "baseline.json").write_text(json.dumps(regression_output(), indent=1) + "\n")
    print(f"wrote {HERE / 'baseline.json'}")
