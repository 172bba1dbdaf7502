"""`caresim sensitivity --quick` and `caresim discover --quick` end to end through the model."""
from __future__ import annotations

import pandas as pd
import pytest

from experiments.cli import main
from runner.sensitivity import DUMMY, dummy_checks


@pytest.mark.slow
def test_sensitivity_quick_writes_indices_of_at_least_25_inputs_and_passes_the_dummy_check(tmp_path):
    out = tmp_path / "sens"
    assert main(["sensitivity", "--quick", "--out", str(out), "--no-progress"]) == 0
    indices = pd.read_csv(out / "indices.csv")
    assert list(indices.columns) == ["output", "input", "method", "index", "value", "lo", "hi"]
    inputs = set(indices["input"]) - {DUMMY}
    assert len(inputs) >= 25
    assert DUMMY in set(indices["input"])
    assert {"children_in_care", "spend_gbp", "residential", "net_saving_gbp"} <= set(indices["output"])
    assert "keeping_families_together__effectiveness" in inputs and "reunifiable_share" in inputs
    checks = dummy_checks(indices)
    assert checks and all(check.passed for check in checks)
    for name in ("tornado.png", "sobol.png", "report.md"):
        assert (out / name).stat().st_size > 0
    # resumable: a rerun evaluates nothing new and gives the same table
    assert main(["sensitivity", "--quick", "--out", str(out), "--no-progress"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "indices.csv"), indices)


def test_sensitivity_refuses_a_sobol_size_that_is_not_a_power_of_two(tmp_path, capsys):
    assert main(["sensitivity", "--out", str(tmp_path / "s"), "--sobol-samples", "100"]) == 2
    assert "power of 2" in capsys.readouterr().err
