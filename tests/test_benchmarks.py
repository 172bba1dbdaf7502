"""Smoke runs of the benchmark scripts: each runs briefly (tiny scale, one or two replications),
exits 0 and prints what it promises; the parallel benchmark's modes agree bit for bit."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def bench(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_bench_core_runs():
    out = bench("bench_core.py", "--scale", "0.01", "--end-year", "2016", "--repeats", "1")
    assert "child-months" in out and "model / floor throughput" in out and "peak memory" in out


@pytest.mark.slow
@pytest.mark.cluster
def test_bench_parallel_runs_every_mode_with_identical_results():
    out = bench("bench_parallel.py", "--replications", "2", "--scale", "0.01", "--end-year", "2016",
                "--modes", "serial,local,cluster", "--memory", "2", "--memory-scale", "0.01")
    result = json.loads(out.strip().splitlines()[-1])
    assert set(result["modes"]) >= {"serial", "local", "cluster", "memory_one_worker_mib"}
    for mode in ("serial", "local", "cluster"):
        assert result["modes"][mode]["identical_to_first_mode"] is True, mode


@pytest.mark.slow
@pytest.mark.cluster
def test_bench_region_runs(tmp_path):
    out = bench("bench_region.py", "--authorities", "3", "--workers", "1", "--years", "1", "--national-scale", "0.01",
                "--cache", str(tmp_path), "--build-processes", "1", "--repeats", "2")
    result = json.loads(out.strip().splitlines()[-1])
    assert result["authorities"] == 3 and len(result["region_s"]) == len(result["national_s"]) == 2
    assert result["ratio_median"] == round(sum(result["ratio"]) / 2, 2) or abs(
        result["ratio_median"] - sum(result["ratio"]) / 2) <= 0.01  # the median of two pairs
    assert "pair 2 (national then region)" in out  # the order alternates
    assert result["rss_last_mib"]  # the workers' memory was sampled
