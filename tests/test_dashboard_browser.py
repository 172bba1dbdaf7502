"""The dashboard in a real browser: `caresim dashboard` on a free localhost port, driven by Playwright.

What a new user meets: the baseline forecast drawn with nothing pressed (its 2025 value read from
the first chart's labels, and on hover), the time from opening the page to that chart with a cold
result cache and then a warm one (written to tests/artifacts/first-chart-seconds.json), a second
tab with its own state, optimised-high run with its waterfall by lever and a changed 2025 table,
the results CSV and the scenario file downloaded through the browser, a run cancelled, and the
single run in the Mesa style. Screenshots go to tests/artifacts/.

Headless Chromium is Debian's (`apt-get install chromium`, at /usr/bin/chromium; Playwright's own
browser download does not work on these machines; CARESIM_CHROMIUM overrides the path). A
missing browser fails the test with that instruction. The page's screenshot is written to
tests/artifacts/dashboard.png (CARESIM_ARTIFACTS overrides the folder) and its path printed.
The server is stopped whatever happens.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect

from benchmarks.bench_page import CHROMIUM, CHROMIUM_ARGS, caresim, free_port  # one browser set-up for benchmark and test
from experiments.scenarios import load_scenario

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("CARESIM_ARTIFACTS", REPO / "tests" / "artifacts"))
START_TIMEOUT_S = 120  # the first start fetches the page's front-end packages with npm
RUN_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """The URL of a dashboard server started for these tests; the server is stopped afterwards."""
    yield from serve(tmp_path_factory.mktemp("dashboard"))


def serve(workdir: Path, *options: str):
    """Start `caresim dashboard` (with `options`) in `workdir` with a cold result cache; yield
    (url, process, workdir) once it answers; stop it afterwards."""
    port = free_port()
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env = {**os.environ, "PYTHONPATH": path, "CARESIM_CACHE": str(workdir / "cache"),  # a cold cache
           "XDG_CACHE_HOME": str(workdir / "xdg")}  # and the local model's fits kept here
    log = open(workdir / "server.log", "w+")
    proc = subprocess.Popen([*caresim(), "dashboard", "--port", str(port), *options], cwd=workdir, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"caresim dashboard exited with {proc.returncode}:\n{log.read()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"caresim dashboard did not answer on {url} within {START_TIMEOUT_S} s")
            time.sleep(0.3)
        log.seek(0)
        assert f"http://127.0.0.1:{port}/" in log.read(), "the command prints the address it serves"
        yield url, proc, workdir
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's browser with `apt-get install -y chromium` "
                    "(or set CARESIM_CHROMIUM to its path)")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - after the check for the browser

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)  # pages of one browser: separate tabs
        try:
            yield b
        finally:
            b.close()


def type_into(page, css: str, text: str) -> None:
    box = page.locator(f"{css} input")
    box.fill(text)
    box.press("Enter")


def table_text(page) -> str:
    return page.locator(".results-table").inner_text()


def number(text: str) -> float:
    return float(text.replace(",", "").replace("£", ""))


def first_chart_labels(page, timeout_ms: float) -> list[float]:
    """The values written beside the first chart's lines (its 2025 labels), once it is drawn."""
    labels = page.locator(".chart-care g.mark-text.role-mark text")
    labels.first.wait_for(timeout=timeout_ms)
    return [number(t) for t in labels.all_text_contents() if t.strip()]


def wait_for_results(page, before: str | None) -> None:
    """Until the 2025 table shows (other than `before`) or the run fails (then the test fails)."""
    page.wait_for_function("""([before]) => {
        const t = document.querySelector('.results-table');
        return document.querySelector('.run-failed') || (t && t.innerText !== before); }""",
                           arg=[before], timeout=RUN_TIMEOUT_MS)
    failed = page.locator(".run-failed")
    assert failed.count() == 0, failed.first.inner_text()
    page.wait_for_function("() => !document.querySelector('.run-progress')", timeout=RUN_TIMEOUT_MS)


def open_and_time_first_chart(browser, url: str) -> tuple[object, float, list[float]]:
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    page.set_default_timeout(60_000)
    started = time.perf_counter()
    page.goto(url)
    labels = first_chart_labels(page, RUN_TIMEOUT_MS)
    return page, time.perf_counter() - started, labels


def downloaded(page, css: str):
    with page.expect_download() as info:
        page.locator(f"{css} .solara-file-download-container").click()
    return Path(info.value.path()), info.value.suggested_filename


def test_dashboard_in_browser(dashboard, browser):
    url, proc, workdir = dashboard
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # first sight: the baseline forecast with nothing pressed; the first visit may find the cache cold
    page, cold_s, labels = open_and_time_first_chart(browser, url)
    assert labels and all(value > 0 for value in labels), labels
    csv_path, name = downloaded(page, ".download-results")
    results = pd.read_csv(csv_path)
    baseline_2025 = results[(results["scenario"] == "baseline") & (results["year"] == 2025)]
    assert round(float(baseline_2025["children_in_care_median"].iloc[0])) in [round(v) for v in labels], \
        "the first chart's 2025 label is the baseline's median children in care in 2025"
    # values on hover: the tooltip of a point
    page.locator('.chart-care path[aria-roledescription="circle"][aria-label*="year: 2025"]').first.hover()
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible", timeout=10_000)
    assert "2025" in tooltip.inner_text() and f"{labels[0]:,.0f}" in tooltip.inner_text(), tooltip.inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard-first-sight.png"))
    before = table_text(page)
    assert "Saving net of investment" in before and "Foster care" in before

    # a second tab: the cache is warm, and the tab has its own state
    other, warm_s, warm_labels = open_and_time_first_chart(browser, url)
    assert warm_labels == labels
    timing = {"cold_s": round(cold_s, 2), "warm_s": round(warm_s, 2)}
    (ARTIFACTS / "first-chart-seconds.json").write_text(json.dumps(timing))
    print(f"time from opening to first chart: {timing}")

    # choose optimised-high, 1 replication at scale 0.02, and run it
    page.locator(".select-scenario").click()
    page.get_by_role("option", name="optimised-high").click()
    expect(page.locator(".input-mix-name input")).to_have_value("optimised-high")
    slider = page.locator(".slider-replications [role=slider]")
    slider.focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.get_by_text("Replications: 1").wait_for()
    page.locator(".select-scale").click()
    page.get_by_role("option", name="0.02", exact=True).click()
    page.locator(".run-button").click()
    page.locator(".run-progress").wait_for()
    wait_for_results(page, before)
    heading = page.locator(".by-lever-heading")
    heading.wait_for()
    assert "by lever" in heading.inner_text()
    page.locator(".chart-waterfall g.mark-rect.role-mark path").first.wait_for()
    after = table_text(page)
    assert after != before
    edge = [line for line in after.splitlines() if line.startswith("Edge-of-care spend")][0]
    assert re.search(r"\+\d", edge), f"the mix adds edge-of-care spend: {edge}"
    expect(other.locator(".input-mix-name input")).to_have_value("baseline")  # the other tab is untouched
    assert other.locator(".by-lever-heading").count() == 0

    # the CSV of the results and the scenario file come through the browser
    csv_path, name = downloaded(page, ".download-results")
    assert name == "optimised-high-results.csv"
    results = pd.read_csv(csv_path)
    assert set(results["scenario"]) == {"optimised-high", "baseline"}
    for column in ("year", "replications", "children_in_care_median", "children_in_care_p05", "children_in_care_p95",
                   "foster_median", "residential_median", "spend_gbp_median", "edge_spend_gbp_median",
                   "savings_net_gbp_median", "savings_net_gbp_p05", "savings_net_gbp_p95"):
        assert column in results.columns, column
    page.locator(".chart-waterfall details summary").click()  # the chart's own menu: PNG from the browser
    with page.expect_download() as info:
        page.locator(".chart-waterfall .vega-actions a", has_text="PNG").click()
    png = Path(info.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
    page.keyboard.press("Escape")
    toml_path, toml_name = downloaded(page, ".download-scenario")
    assert toml_name == "optimised-high.toml"
    got, shipped = load_scenario(toml_path), load_scenario("optimised-high")  # defaults written out; same values
    assert (got.name, got.share_realised) == (shipped.name, shipped.share_realised)
    assert [(type(a), a.start, {k: a.value(k) for k in a.specs()}) for a in got.levers] == \
        [(type(b), b.start, {k: b.value(k) for k in b.specs()}) for b in shipped.levers]

    page.set_viewport_size({"width": 1500, "height": 2200})
    page.evaluate("() => document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    print(f"dashboard screenshots: {ARTIFACTS}")

    # a run can be cancelled: the results stay those of the last finished run
    page.locator(".input-right_care-step_down_rate_per_year input").wait_for()
    type_into(page, ".input-mix-name", "cancelled-mix")
    page.locator(".run-button").click()
    page.locator(".cancel-button").click()
    page.wait_for_function("() => !document.querySelector('.run-progress')", timeout=RUN_TIMEOUT_MS)
    assert table_text(page) == after
    assert proc.poll() is None

    # the single run in the Mesa style: reset, step, play
    page.set_viewport_size({"width": 1500, "height": 900})
    page.get_by_role("button", name="Watch one run").click()
    page.locator(".single-reset").click()
    page.get_by_text("31 March 2015 (month 0)").wait_for()
    page.locator(".single-step").click()
    page.get_by_text("30 April 2015 (month 1)").wait_for()
    page.locator(".single-play").click()
    page.get_by_text(re.compile(r"\(month ([4-9]|\d\d+)\)")).wait_for(timeout=30_000)
    page.locator(".single-play").click()  # pause
    page.screenshot(path=str(ARTIFACTS / "dashboard-single-run.png"))
    assert proc.poll() is None
    other.close()
    page.close()


@pytest.fixture(scope="module")
def authority_dashboard(tmp_path_factory):
    """A dashboard whose data root holds one small synthetic authority (`caresim data synth`, its
    identifiers replaced by distinctive planted ones); yields (url, planted identifiers)."""
    from calibration.ssda903.synth import synthesise
    from tests.test_ssda903_privacy import _plant

    workdir = tmp_path_factory.mktemp("authority")
    synthesise(workdir / "returns" / "northshire", children=25, years=(2019, 2021), seed=5)
    planted = _plant(workdir / "returns" / "northshire")
    for url, _, _ in serve(workdir, "--data-root", str(workdir / "returns")):
        yield url, planted


def test_authority_view_in_browser(authority_dashboard, browser):
    """Choose an authority from the data root (no path typed), run it, see its futures: children in
    care by placement with the band, a table by year with small counts as c, no identifier."""
    url, planted = authority_dashboard
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    page.set_default_timeout(60_000)
    page.goto(url)
    page.get_by_role("button", name="Authorities").click()
    page.locator(".select-authority").click()
    page.get_by_role("option", name="northshire").click()
    page.locator(".authority-run").click()
    page.wait_for_function("() => document.querySelector('.authority-table') || document.querySelector('.authority-error')",
                           timeout=4 * RUN_TIMEOUT_MS)
    assert page.locator(".authority-error").count() == 0, page.locator(".authority-error").all_inner_texts()
    table = page.locator(".authority-table")
    table.wait_for(timeout=30_000)
    labels = page.locator(".authority-chart g.mark-text.role-mark text")
    labels.first.wait_for(timeout=30_000)
    rows = [r.split("\t") for r in table.inner_text().strip().splitlines()]
    assert rows[0][0] == "Year" and "All children in care" in rows[0]
    cells = [c.strip() for r in rows[1:] for c in r[1:] if c.strip()]
    assert "c" in cells, rows  # an authority of 25 children has small counts
    for c in cells:
        assert c == "c" or number(c) == 0 or number(c) >= 6, c
    text = page.locator("body").inner_text() + page.content()
    assert [v for v in planted if v in text] == []
    page.screenshot(path=str(ARTIFACTS / "dashboard-authority.png"), full_page=True)
    page.close()


def test_port_in_use_is_one_line_and_exit_2():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = subprocess.run([*caresim(), "dashboard", "--port", str(port)], capture_output=True, text=True,
                              timeout=60, cwd=REPO)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--port {port}" in lines[0] and "in use" in lines[0], done.stderr
