"""The allocator settings (sim/allocator.py) reach every process that builds a model or reads a return."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from sim import allocator

MONTHS_OF_A_SMALL_RUN = r"""
import json, resource
from sim import allocator
from sim.model import CareModel
m = CareModel(seed=1, scale=0.1, journeys=False)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
m.run_until(2017)
print(json.dumps({"faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults,
                  "tuned_again": allocator.tune()}))
"""


def small_run(**env) -> dict:
    out = subprocess.run([sys.executable, "-c", MONTHS_OF_A_SMALL_RUN], env={**os.environ, **env},
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_model_memory_is_reused_even_under_dasks_nanny_setting():
    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536: glibc then hands freed
    # arrays back to the kernel and faults them in again the next month (measured: ~100x the
    # page faults); the model's own settings keep them for reuse.
    nanny = {"MALLOC_TRIM_THRESHOLD_": "65536"}
    tuned = small_run(**nanny)
    untuned = small_run(**nanny, CARESIM_ALLOCATOR="default")
    assert tuned["faults"] * 10 < untuned["faults"], (tuned, untuned)
    assert tuned["tuned_again"] is False  # once per process


def test_opting_out_leaves_the_allocator_alone(monkeypatch):
    monkeypatch.setattr(allocator, "_done", False)
    monkeypatch.setenv("CARESIM_ALLOCATOR", "default")
    assert allocator.tune() is False
    assert allocator.tune() is False  # and it does not try again


def test_reading_a_return_tunes_the_allocator_first(tmp_path):
    # a region's reading tasks run before any model in their worker: under the nanny's setting
    # a worker reading half the benchmark region took ~50% more CPU untuned (README)
    from tests import ssda903_fixtures as fx

    folder = fx.write_years(tmp_path / "return")
    script = ("import json, sys\nfrom sim import allocator\nfrom calibration.ssda903.reader import read_return\n"
              "read_return(sys.argv[1])\nprint(json.dumps({'tuned_again': allocator.tune()}))")
    nanny = {"MALLOC_TRIM_THRESHOLD_": "65536"}
    out = subprocess.run([sys.executable, "-c", script, str(folder)], env={**os.environ, **nanny},
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {"tuned_again": False}  # reading had tuned it already


def test_a_full_collection_is_due_only_after_a_model_was_released(monkeypatch):
    from tests.conftest import small_model

    monkeypatch.setattr(allocator, "_last_full_collection", -float("inf"))
    monkeypatch.setattr(allocator, "_released", False)
    assert allocator.collect_if_due() is False  # nothing released: nothing to collect (a reading task)
    model = small_model(scale=0.002)
    model.release()
    assert allocator.collect_if_due() is True  # its cycles are collected
    assert allocator.collect_if_due() is False  # and not again: none released since
    allocator.note_release()
    assert allocator.collect_if_due() is False  # within a second of the last full collection
    monkeypatch.setattr(allocator, "_last_full_collection", -float("inf"))
    assert allocator.collect_if_due() is True
