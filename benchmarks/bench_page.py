"""Time from opening the page to its first chart (issue 14: within 5 s), in Debian's Chromium.

Starts `caresim dashboard` on a free localhost port and opens the page in headless Chromium
(Playwright), timing `page.goto` to the first chart's 2025 labels being drawn (what a user sees
as the forecast), over several openings:

* **cold**: a fresh server for each opening, with the result cache on disk present (filled once
  beforehand); the clock starts when the server first answers HTTP (its start-up before that is
  reported apart, as `server_s`);
* **warm**: further openings (new tabs) on a server that has already served the page once;
* **absent** (`--absent`): a fresh server with an empty cache: the first-ever opening, which
  runs the baseline forecast itself (what the page shows meanwhile is reported);
* `--load`: each measurement again with one busy process (a spinning Python) taking a core.

Each opening also reports the browser's own milestones (HTML received, the Solara page's
widgets up) so that the time can be split between the server, the front end and the chart.
Prints a table and one JSON line; no figure is asserted.

    python benchmarks/bench_page.py [--cold 3] [--warm 5] [--absent] [--load]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CARESIM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
CHART_LABELS = ".chart-care g.mark-text.role-mark text"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def caresim() -> list[str]:
    script = Path(sys.executable).parent / "caresim"
    return [str(script)] if script.exists() else [sys.executable, "-m", "experiments.cli"]


@contextmanager
def server(cache: Path, log_path: Path):
    """A `caresim dashboard` answering HTTP; yields (url, seconds from start to the first answer)."""
    port = free_port()
    env = {**os.environ, "CARESIM_CACHE": str(cache),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    with open(log_path, "w") as log:
        started = time.perf_counter()
        proc = subprocess.Popen([*caresim(), "dashboard", "--port", str(port)], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd=cache.parent)
        url = f"http://127.0.0.1:{port}/"
        try:
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"caresim dashboard exited: {log_path.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(url, timeout=5) as response:
                        if response.status == 200:
                            break
                except OSError:
                    time.sleep(0.05)
            yield url, time.perf_counter() - started
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def open_page(browser, url: str, timeout_s: float = 300) -> dict:
    """Open a tab and time it to the first chart; the page's milestones in seconds from the start."""
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    shown_meanwhile = ""
    try:
        started = time.perf_counter()
        page.goto(url)
        html_s = time.perf_counter() - started
        page.locator(".view-choice").first.wait_for(timeout=timeout_s * 1000)
        widgets_s = time.perf_counter() - started
        shown_meanwhile = page.evaluate("() => (document.querySelector('.v-alert') || {}).innerText || ''")[:120]
        page.locator(CHART_LABELS).first.wait_for(timeout=timeout_s * 1000)
        chart_s = time.perf_counter() - started
    finally:
        page.close()
    return {"html_s": html_s, "widgets_s": widgets_s, "chart_s": chart_s, "meanwhile": shown_meanwhile}


@contextmanager
def busy_core(on: bool):
    """One process spinning on a core (another user of the machine), while the block runs."""
    if not on:
        yield
        return
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


def describe(name: str, runs: list[dict]) -> dict:
    charts = [r["chart_s"] for r in runs]
    row = {"openings": len(runs), "median_s": round(statistics.median(charts), 2), "max_s": round(max(charts), 2),
           "min_s": round(min(charts), 2), "all_s": [round(c, 2) for c in charts],
           "html_median_s": round(statistics.median(r["html_s"] for r in runs), 2),
           "widgets_median_s": round(statistics.median(r["widgets_s"] for r in runs), 2)}
    if "server_s" in runs[0]:
        row["server_start_median_s"] = round(statistics.median(r["server_s"] for r in runs), 2)
    print(f"{name:<14} {row['openings']:>3} openings: first chart median {row['median_s']:.2f} s "
          f"(min {row['min_s']:.2f}, max {row['max_s']:.2f}); HTML {row['html_median_s']:.2f} s, widgets "
          f"{row['widgets_median_s']:.2f} s" + (f"; server start {row['server_start_median_s']:.2f} s"
                                                 if "server_start_median_s" in row else ""), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=3, help="fresh servers, cache present (default 3)")
    parser.add_argument("--warm", type=int, default=5, help="openings on a served server (default 5)")
    parser.add_argument("--absent", action="store_true", help="also the first-ever opening (empty cache)")
    parser.add_argument("--load", action="store_true", help="also each measure with a busy core")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        work = Path(tmp) / "work"
        work.mkdir()
        cache = Path(tmp) / "cache"
        if args.absent:
            with server(cache, work / "absent.log") as (url, server_s):
                run = open_page(browser, url) | {"server_s": server_s}
            results["absent"] = describe("absent cache", [run])
            results["absent"]["meanwhile"] = run["meanwhile"]
        else:  # fill the cache once
            with server(cache, work / "fill.log") as (url, _):
                open_page(browser, url)
        for loaded in ([False, True] if args.load else [False]):
            suffix = " + busy core" if loaded else ""
            with busy_core(loaded):
                cold = []
                for i in range(args.cold):
                    with server(cache, work / f"cold{i}.log") as (url, server_s):
                        cold.append(open_page(browser, url) | {"server_s": server_s})
                results["cold" + suffix] = describe("cold" + suffix, cold)
                with server(cache, work / "warm.log") as (url, _):
                    open_page(browser, url)
                    warm = [open_page(browser, url) for _ in range(args.warm)]
                results["warm" + suffix] = describe("warm" + suffix, warm)
        browser.close()
    print(json.dumps({"cpus": os.cpu_count(), **results}))


if __name__ == "__main__":
    main()
