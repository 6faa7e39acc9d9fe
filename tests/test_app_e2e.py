"""End to end: the app served by `streamlit run` on 127.0.0.1, driven in Debian's chromium through Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import mining
from ingest import ImportOptions, connect, import_file

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[1]
LOGS = ["helpdesk.xes.gz", "receipt_wabo.csv.gz"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# `make browser` may still be installing chromium when the tests start.
CHROMIUM_WAIT = 180
SERVER_WAIT = 60
UI_WAIT_MS = 30_000
SCREENSHOT = Path("/tmp/twinflow_e2e.png")
UPLOAD_CSV = """case_id,activity,timestamp,resource
u1,Open,2024-05-01 08:00:00,ann
u1,Close,2024-05-02 09:00:00,ben
u2,Open,2024-05-03 10:00:00,ann
u2,Close,not a time,ben
"""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium() -> str:
    """Return the chromium executable, waiting for an install in progress; fail if there is none."""
    deadline = time.monotonic() + CHROMIUM_WAIT
    while not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        if time.monotonic() > deadline:
            pytest.fail(f"chromium is not installed ({CHROMIUM} missing after {CHROMIUM_WAIT} s): run `make browser` "
                        "(apt-get install chromium); the end-to-end test never downloads a browser")
        time.sleep(2)
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding two of the shipped real logs."""
    path = tmp_path_factory.mktemp("e2e") / "workspace.duckdb"
    for log in LOGS:
        import_file(ROOT / "data" / "real" / log, ImportOptions(process=log.split(".")[0]), workspace=path)
    return path


@pytest.fixture(scope="module")
def server(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the app on the workspace and return its URL; the server is stopped afterwards."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    env = {**os.environ, "TWINFLOW_WORKSPACE": str(workspace)}
    command = [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.address", "127.0.0.1",
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    """Return once the server answers its health check; fail with its log if it dies or stays silent."""
    deadline = time.monotonic() + SERVER_WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"streamlit did not answer within {SERVER_WAIT} s:\n{log.read_text(errors='replace')}")


def idle(page) -> None:
    """Return once the app's script has finished running (Streamlit marks its root with the script's state)."""
    from playwright.sync_api import expect

    expect(page.locator("[data-testid=stApp][data-test-script-state=notRunning]")).to_be_attached(
        timeout=UI_WAIT_MS * 2)


def grid_rows(grid) -> list[list[str]]:
    """Return the texts of the cells of a table's rows (its accessible cells, attached but visually hidden)."""
    rows = grid.locator("[role=row]").evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('[role=gridcell]')].map(c => c.innerText.trim()))")
    return [cells for cells in rows if cells]


def processes_grid(page) -> dict[str, list[str]]:
    """Return the rows of the processes table (the page's first table) by process name."""
    grid = page.locator("[data-testid=stDataFrame]").first
    # The data grid draws on a canvas; its accessible twin holds the raw cell values.
    rows = grid.locator("[role=row]").evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('[role=gridcell]')].map(c => c.innerText.trim()))")
    return {cells[0]: cells for cells in rows if cells}


def expected_events(workspace: Path) -> dict[str, int]:
    """Return the events per process in the workspace."""
    con = connect(workspace)
    try:
        procs = mining.processes(con)
        return {p: int(n) for p, n in zip(procs["process"], procs["events"], strict=True)}
    finally:
        con.close()


def screenshot(page, *paths: Path) -> None:
    """Save a screenshot of the whole page (the app scrolls inside its main area, so grow the viewport)."""
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": height + 100})
    page.wait_for_timeout(1500)
    for path in paths:
        page.screenshot(path=str(path), full_page=True)


def test_data_page_in_a_browser(server: str, workspace: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    expected = expected_events(workspace)
    upload = tmp_path / "e2e_upload.csv"
    upload.write_text(UPLOAD_CSV, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server)
            expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible(timeout=UI_WAIT_MS)
            # The grid's accessible cells are attached but visually hidden.
            expect(page.locator("[data-testid=stDataFrame] [role=gridcell]").first).to_be_attached(
                timeout=UI_WAIT_MS)
            grid = processes_grid(page)
            for process, events in expected.items():
                assert process in grid, f"{process} missing from the processes table: {grid}"
                assert str(events) in grid[process], f"{process}: expected {events} events, row {grid[process]}"
            expect(page.get_by_text("Switch to a workspace in this folder")).to_be_visible()
            expect(page.get_by_text(f"{sum(expected.values()):,}", exact=True)).to_be_visible()
            expect(page.get_by_role("heading", name="Data quality")).to_be_visible()

            page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(upload)
            form = page.locator("[data-testid=stForm]")
            expect(form.get_by_text("e2e_upload.csv")).to_be_visible(timeout=UI_WAIT_MS)
            form.get_by_role("button", name="Import").click()
            success = page.locator("[data-testid=stAlertContentSuccess]")
            expect(success).to_contain_text("4 rows read, 3 accepted, 1 rejected", timeout=UI_WAIT_MS)
            expect(success).to_contain_text("3 events added")
            expect(page.locator("[data-testid=stException]")).to_have_count(0)
            expect(page.locator("[data-testid=stDataFrame] [role=gridcell]", has_text="e2e_upload").first
                   ).to_be_attached(timeout=UI_WAIT_MS)
            grid = processes_grid(page)
            assert "3" in grid["e2e_upload"], grid["e2e_upload"]
            assert set(expected) < set(grid)
            screenshot(page, tmp_path / "data_page.png", SCREENSHOT)
        finally:
            browser.close()
    assert expected_events(workspace)["e2e_upload"] == 3


def test_the_as_is_model_is_edited_in_its_table_in_a_browser(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server}/scenarios")
            idle(page)
            page.get_by_role("combobox", name="Process").click()
            page.get_by_role("option", name="helpdesk", exact=True).click()
            # The roles table is the first grid of the Roles tab; helpdesk's roles are the pools discovery names.
            grid = page.get_by_role("tabpanel", name="Roles").locator("[data-testid=stDataFrame]").first
            expect(grid.locator("[role=gridcell]", has_text="Take in charge ticket").first).to_be_attached(
                timeout=UI_WAIT_MS * 2)
            idle(page)
            people = page.locator("[data-testid=stMetric]", has_text="People").locator("[data-testid=stMetricValue]")
            before = int(people.inner_text())
            first = grid_rows(grid)[0]
            banner = page.get_by_text("The as-is model with 1 edit")
            # The grid is drawn on a canvas: a person clicks the first row's role cell, moves to the people cell on
            # its right and types. A click that lands before the canvas has settled does nothing, so a person
            # would try again: up to three times, each checked by the banner the edit brings.
            for _ in range(3):
                grid.scroll_into_view_if_needed()
                page.wait_for_timeout(1000)
                box = grid.bounding_box()
                page.keyboard.press("Escape")
                page.mouse.click(box["x"] + 30, box["y"] + 35 + 17)
                page.wait_for_timeout(300)
                page.keyboard.press("ArrowRight")
                page.wait_for_timeout(300)
                page.keyboard.type("25", delay=100)
                page.wait_for_timeout(300)
                page.keyboard.press("Enter")
                try:
                    expect(banner).to_be_visible(timeout=10_000)
                    break
                except AssertionError:
                    continue
            expect(banner).to_be_visible()
            expect(page.get_by_text(f"role {first[0]}: headcount {first[1]} → 25", exact=True)).to_be_visible()
            expect(people).to_have_text(str(before - int(first[1]) + 25), timeout=UI_WAIT_MS)
            expect(page.locator("[data-testid=stException]")).to_have_count(0)
            page.get_by_role("tab", name="Routing").click()
            expect(page.locator("[data-testid=stGraphVizChart] svg")).to_be_visible(timeout=UI_WAIT_MS)
            screenshot(page, tmp_path / "lab_edit.png")
        finally:
            browser.close()
    assert not errors, errors
