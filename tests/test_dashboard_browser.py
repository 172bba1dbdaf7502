"""The dashboard in a real browser: `caresim dashboard` on a free localhost port, driven by Playwright.

Headless Chromium is Debian's (`apt-get install chromium`, at /usr/bin/chromium; Playwright's own
browser download does not work on these machines; CARESIM_CHROMIUM overrides the path). A
missing browser fails the test with that instruction. The page's screenshot is written to
tests/artifacts/dashboard.png (CARESIM_ARTIFACTS overrides the folder) and its path printed.
The server is stopped whatever happens.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from experiments.scenarios import load_scenario

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CARESIM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("CARESIM_ARTIFACTS", REPO / "tests" / "artifacts"))
START_TIMEOUT_S = 120  # the first start fetches the page's front-end packages with npm
RUN_TIMEOUT_MS = 120_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def caresim_command() -> list[str]:
    """`caresim` of the interpreter running the tests (its venv's script, else the same entry point)."""
    script = Path(sys.executable).parent / "caresim"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from experiments.cli import main; sys.exit(main())"]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """The URL of a dashboard server started for these tests; the server is stopped afterwards."""
    port = free_port()
    workdir = tmp_path_factory.mktemp("dashboard")
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env = {**os.environ, "PYTHONPATH": path}
    log = open(workdir / "server.log", "w+")
    proc = subprocess.Popen([*caresim_command(), "dashboard", "--port", str(port)], cwd=workdir, env=env,
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
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
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


def chart_pixels(page, css: str) -> bytes:
    """The chart as the browser shows it (PNG of the element)."""
    image = page.locator(f"{css} img")
    image.wait_for()
    assert image.evaluate("img => img.complete && img.naturalWidth > 400"), f"{css}: the chart is drawn"
    return image.screenshot()


def wait_for_results(page, before: str | None) -> None:
    """Until the 2025 table shows (other than `before`) or the run fails (then the test fails)."""
    page.wait_for_function("""([before]) => {
        const t = document.querySelector('.results-table');
        return document.querySelector('.run-failed') || (t && t.innerText !== before); }""",
                           arg=[before], timeout=RUN_TIMEOUT_MS)
    failed = page.locator(".run-failed")
    assert failed.count() == 0, failed.first.inner_text()
    page.wait_for_function("() => !document.querySelector('.run-progress')", timeout=RUN_TIMEOUT_MS)


def test_dashboard_in_browser(dashboard, browser):
    url, proc, workdir = dashboard
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.set_default_timeout(60_000)
    page.goto(url)
    run = page.locator(".run-button")
    run.wait_for()

    # fewer replications by keyboard on the slider: 2 pairs of runs
    page.locator(".slider-replications [role=slider]").focus()
    page.keyboard.press("ArrowLeft")
    page.get_by_text("Replications: 2").wait_for()

    # the baseline mix (no levers): the charts and the 2025 table appear; the page answers meanwhile
    run.click()
    page.locator(".run-progress").wait_for()
    page.get_by_role("button", name="Watch one run").click()
    page.get_by_text("Press Reset").wait_for(timeout=10_000)  # the server serves while the runs go on
    page.get_by_role("button", name="Futures: a mix of levers").click()
    wait_for_results(page, None)
    before = table_text(page)
    care_before, spend_before = chart_pixels(page, ".chart-care"), chart_pixels(page, ".chart-spend")
    assert "Saving net of investment" in before and "Foster care" in before

    # change a lever: switch on the investment; an out-of-range typed value is a message, not a crash
    page.locator(".lever-investment").get_by_text("Include this lever").click()
    field = ".input-investment-gbp_per_year"
    page.locator(f"{field} input").wait_for()
    type_into(page, field, "-5")
    message = page.locator(".lever-investment").get_by_text(re.compile(r"gbp_per_year: -5 is outside 0 to"))
    message.wait_for()
    expect(run).to_be_disabled()
    assert proc.poll() is None, "the server survives invalid input"
    type_into(page, field, "400,000,000")
    message.wait_for(state="detached")
    expect(run).to_be_enabled()
    name = ".input-mix-name"
    type_into(page, name, "more-investment")

    run.click()
    wait_for_results(page, before)
    after = table_text(page)
    edge = [line for line in after.splitlines() if line.startswith("Edge-of-care spend")][0]
    assert re.search(r"\+\d", edge), f"the investment adds edge-of-care spend: {edge}"
    assert chart_pixels(page, ".chart-care") != care_before and chart_pixels(page, ".chart-spend") != spend_before

    # save the mix: the file is what `caresim compare` reads, unchanged
    saved = workdir / "saved" / "more-investment.toml"
    type_into(page, ".input-file-path", str(saved))
    page.locator(".save-button").click()
    page.get_by_text(f"Saved {saved}").wait_for()
    doc = tomllib.loads(saved.read_text())
    assert load_scenario(saved).to_dict() == doc
    assert doc["name"] == "more-investment"
    assert doc["levers"] == [{"type": "investment", "start": "2020-04", "gbp_per_year": 400_000_000, "ramp_months": 12}]

    # the artefact: the page as a policy team sees it after a run of its mix
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    page.set_viewport_size({"width": 1500, "height": 1250})
    page.evaluate("() => document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
    page.screenshot(path=str(shot))
    print(f"dashboard screenshot: {shot}")

    # load a scenario file: the controls show what it says
    other = workdir / "other.toml"
    other.write_text(saved.read_text().replace("400000000", "123000000").replace("more-investment", "loaded-mix"))
    type_into(page, ".input-file-path", str(other))
    page.locator(".load-button").click()
    page.get_by_text(f"Loaded {other}").wait_for()
    expect(page.locator(f"{field} input")).to_have_value("123,000,000")
    expect(page.locator(f"{name} input")).to_have_value("loaded-mix")

    # start from a shipped scenario: its levers are switched on with its values
    page.locator(".select-scenario").click()
    page.get_by_role("option", name="optimised-low").click()
    page.locator(".input-right_care-step_down_rate_per_year input").wait_for()
    expect(page.locator(f"{name} input")).to_have_value("optimised-low")
    expect(page.locator(f"{field} input")).to_have_value("205,000,000")


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


def test_port_in_use_is_one_line_and_exit_2():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = subprocess.run([*caresim_command(), "dashboard", "--port", str(port)], capture_output=True, text=True,
                              timeout=60, cwd=REPO)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--port {port}" in lines[0] and "in use" in lines[0], done.stderr
