"""Fixtures for the browser tests: one Streamlit server for the whole session,
started on 127.0.0.1 at a free port and always stopped afterwards, and a fresh
headless Chromium page per test that saves a screenshot when the test fails.

Screenshots of failures go to ``test-artifacts/screenshots/`` (gitignored).
The server's start-up time (process start to first page usable) is printed at
the end of the run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.app import CHROMIUM_ARGS, free_port  # shared with the app benchmark
from core import paths

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT_DIR = paths.PROJECT_ROOT / "test-artifacts" / "screenshots"
TIMINGS: dict[str, float] = {}
FIRST_VISIT: dict[str, str] = {}


def pytest_collection_modifyitems(config, items):
    """Every test in this folder drives a browser: mark it so `-m "not browser"`
    leaves it out (a module-level pytestmark in a conftest would not apply)."""
    folder = Path(__file__).parent
    for item in items:
        if folder in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


def _require_browser() -> None:
    """Skip where no Chromium or Playwright is installed; in CI that is a failure."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("Debian's chromium package")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package")
    if missing:
        reason = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI must install them: see .ci/run)")
        pytest.skip(reason)


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s")


@pytest.fixture(scope="session")
def app_dirs(tmp_path_factory):
    """Data and store folders for the server: the real data where it exists."""
    root = tmp_path_factory.mktemp("browser")
    store = root / "runs"
    store.mkdir()
    if not (paths.SHARED_DATA_DIR / "sign_mnist_train.csv.gz").exists():
        pytest.skip(f"the real data is not at {paths.SHARED_DATA_DIR}")
    return {"data": paths.SHARED_DATA_DIR, "store": store, "root": root}


@pytest.fixture(scope="session")
def app_url(app_dirs):
    """The running dashboard's base URL; the server stops when the session ends."""
    _require_browser()
    port = free_port()
    env = dict(os.environ)
    env.update(
        ASL_DATA_DIR=str(app_dirs["data"]),
        ASL_DATA_ROOTS=str(app_dirs["data"]),
        ASL_STORE_DIR=str(app_dirs["store"]),
        PYTHONUNBUFFERED="1",
    )
    log = open(app_dirs["root"] / "streamlit.log", "wb")
    command = [
        sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
        "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=paths.PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, timeout=120)
        TIMINGS["server_healthy_s"] = time.monotonic() - started
        TIMINGS["_started"] = started
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def new_page(browser, request):
    """A page in its own browser context (its own Streamlit session)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    request.node._open_pages = getattr(request.node, "_open_pages", []) + [page]
    return page


@pytest.fixture(scope="session")
def ready_app(app_url, browser):
    """The server, once its first page has rendered in a browser (timed once)."""
    context = browser.new_context()
    first = context.new_page()
    # Land on a sub-page first, as a bookmark would: Streamlit must still route
    # it through the entry point's navigation (see ui/__init__.py).
    first.goto(app_url + "/augment")
    wait_idle(first, timeout=120_000)
    first.locator("[data-testid='stMain'] h1").wait_for()
    TIMINGS["first_page_usable_s"] = time.monotonic() - TIMINGS["_started"]
    FIRST_VISIT["sidebar"] = first.locator("[data-testid='stSidebar']").inner_text()
    context.close()
    return app_url


@pytest.fixture
def page(browser, ready_app, request):
    """A fresh Chromium page; on failure every open page is screenshotted."""
    first = new_page(browser, request)
    yield first
    report = getattr(request.node, "report_call", None)
    for index, opened in enumerate(request.node._open_pages):
        if report is not None and report.failed:
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            name = f"{request.node.name}-{index}.png"
            try:
                screenshot(opened, SCREENSHOT_DIR / name)
            except Exception as error:  # a crashed page must not hide the failure
                print(f"could not save screenshot {name}: {error}")
        opened.context.close()


@pytest.fixture
def open_page(page, browser, app_url, request):
    """Open a dashboard path (e.g. "data") and wait until the script is idle."""

    def opener(path: str = "", target=None):
        target = target or page
        target.goto(f"{app_url}/{path}")
        wait_idle(target)
        return target

    return opener


def wait_idle(page, timeout: float = 90_000) -> None:
    """Wait until the app has drawn its title and no script run is in progress.

    Streamlit marks its root element with the script state; "notRunning" means
    the last run (and any rerun it asked for) has finished.
    """
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=timeout)
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout
    )
    page.wait_for_timeout(200)


def screenshot(page, path: Path, max_height: int = 6000) -> None:
    """Save the whole page as a PNG at ``path``.

    Streamlit scrolls inside its main block, not the document, so Playwright's
    ``full_page`` gives only the viewport: the viewport is stretched to the
    content's height for the shot and then put back.
    """
    size = page.viewport_size
    height = page.evaluate(
        "() => (document.querySelector(\"[data-testid='stMain']\") || "
        "document.body).scrollHeight"
    )
    page.set_viewport_size(
        {"width": size["width"], "height": max(size["height"], min(height, max_height))}
    )
    try:
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)


def error_texts(page) -> list[str]:
    """Texts of exceptions and error boxes currently on screen."""
    selectors = "[data-testid='stException'], [data-testid='stAlertContentError']"
    return [element.inner_text() for element in page.query_selector_all(selectors)]


def pytest_terminal_summary(terminalreporter):
    if "first_page_usable_s" in TIMINGS:
        terminalreporter.write_line(
            "browser tests: server start to health "
            f"{TIMINGS['server_healthy_s']:.1f} s, to first page usable "
            f"{TIMINGS['first_page_usable_s']:.1f} s"
        )
