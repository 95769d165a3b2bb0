"""The app as a person meets it: seconds from ``streamlit run`` to the first
page served, and memory (RSS) while a training runs.

Everything is started here, on 127.0.0.1 and a free port, and stopped here by
the process ids this module started; nothing else is touched. RSS is read from
``/proc`` (Linux only) for a process and all its descendants, sampled by a
thread. The browser step (time to the page's title rendered in headless
Chromium) runs only where Playwright and ``/usr/bin/chromium`` are present.

Not measured here: anything across machines, or memory of processes the
benchmark did not start.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Headless Debian Chromium on a machine with no outside network; the browser
# tests use the same flags.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_TITLE_SELECTOR = "h1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- memory


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants alive now."""
    children, tree, todo = _children_map(), [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def rss_bytes(pid: int) -> int:
    """Resident memory of one process in bytes (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss_bytes(pid: int) -> int:
    return sum(rss_bytes(p) for p in process_tree(pid))


class RssSampler:
    """Samples the tree RSS of named root pids every ``interval`` seconds in a
    thread; ``peaks`` holds the largest sum seen for each name."""

    def __init__(self, roots: dict[str, int], interval: float = 0.25):
        self.roots, self.interval = dict(roots), interval
        self.peaks = {name: 0 for name in roots}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.roots.items():
                self.peaks[name] = max(self.peaks[name], tree_rss_bytes(pid))
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------- server


def _get(url: str, timeout: float = 2.0) -> int | None:
    """HTTP status of a GET on our own local server, or None if it refuses."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return None


def start_server(port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``streamlit run streamlit_app.py`` on 127.0.0.1:``port``, headless."""
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_server(server: subprocess.Popen) -> None:
    """Stop the server we started and any child it started, by pid."""
    for pid in reversed(process_tree(server.pid)[1:]):
        try:
            os.kill(pid, 15)
        except OSError:
            pass
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def wait_until_served(
    server: subprocess.Popen, port: int, started: float, timeout: float = 120
) -> dict:
    """Poll ``/_stcore/health`` and ``/`` until both answer 200; seconds from
    ``started`` (just before the launch) to each."""
    base = f"http://127.0.0.1:{port}"
    out: dict = {"health_s": None, "page_s": None}
    while time.perf_counter() - started < timeout:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {server.returncode}")
        if out["health_s"] is None and _get(f"{base}/_stcore/health") == 200:
            out["health_s"] = time.perf_counter() - started
        if out["page_s"] is None and _get(f"{base}/") == 200:
            out["page_s"] = time.perf_counter() - started
        if out["health_s"] is not None and out["page_s"] is not None:
            return out
        time.sleep(0.05)
    raise TimeoutError(f"streamlit did not answer within {timeout:.0f} s")


def browser_available() -> bool:
    if not Path(CHROMIUM).exists():
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def _time_render(browser, port: int, started: float, keep_open: bool = False) -> dict:
    """Open the start page; seconds from ``started`` to its title drawn, or the
    page's text when it shows an error instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
    try:
        page.wait_for_selector(PAGE_TITLE_SELECTOR, timeout=60_000)
    except PlaywrightTimeout:
        text = " ".join(page.inner_text("body").split())[:160]
        return {"rendered_s": None, "render_error": text or "no title in 60 s"}
    out = {"rendered_s": time.perf_counter() - started}
    time.sleep(1.0)  # let the script run end before anyone reads the RSS
    if not keep_open:
        page.close()
    return out


def measure_startup(repeats: int = 3, env: dict[str, str] | None = None) -> dict:
    """Launch the server ``repeats`` times; each time seconds to health, to the
    page's HTML, and (with a browser) to the start page's title rendered."""
    use_browser = browser_available()
    runs = []
    playwright = browser = None
    try:
        if use_browser:
            from playwright.sync_api import sync_playwright

            playwright = sync_playwright().start()
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
        for _ in range(repeats):
            port = free_port()
            started = time.perf_counter()
            server = start_server(port, env)
            try:
                run = wait_until_served(server, port, started)
                if browser is not None:
                    run.update(_time_render(browser, port, started))
                run["server_rss_mb"] = tree_rss_bytes(server.pid) / 2**20
                runs.append(run)
            finally:
                stop_server(server)
    finally:
        if browser is not None:
            browser.close()
        if playwright is not None:
            playwright.stop()
    return {"runs": runs, "browser": use_browser}


def measure_training_memory(
    train_command: list[str], env: dict[str, str] | None = None, timeout: float = 900
) -> dict:
    """Peak RSS of a running server (start page open in a browser where one
    is available) and of a training process started beside it with
    ``train_command``, sampled every 0.25 s while the training runs."""
    port = free_port()
    started = time.perf_counter()
    server = start_server(port, env)
    playwright = browser = None
    try:
        wait_until_served(server, port, started)
        if browser_available():
            from playwright.sync_api import sync_playwright

            playwright = sync_playwright().start()
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            _time_render(browser, port, started, keep_open=True)
        idle_rss = tree_rss_bytes(server.pid)
        trainer = subprocess.Popen(
            train_command,
            cwd=PROJECT_ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with RssSampler({"server": server.pid, "training": trainer.pid}) as sampler:
            try:
                code = trainer.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                trainer.kill()
                code = trainer.wait()
        return {
            "server_idle_rss_mb": idle_rss / 2**20,
            "server_peak_rss_mb": sampler.peaks["server"] / 2**20,
            "training_peak_rss_mb": sampler.peaks["training"] / 2**20,
            "samples": sampler.samples,
            "training_exit_status": code,
        }
    finally:
        if browser is not None:
            browser.close()
        if playwright is not None:
            playwright.stop()
        stop_server(server)


def measure_training_memory_via_page(
    env: dict[str, str],
    store_root: Path,
    epochs: int = 1,
    rows: int = 3000,
    timeout: float = 900,
) -> dict:
    """Peak RSS of the server's process tree while a training launched from its
    own training page runs (``core.jobs`` starts it as a child of the server).

    In headless Chromium: open the training page, set epochs and training rows,
    press Train, then sample until a ``summary.json`` appears in the server's
    (fresh) run store. Needs Playwright and Chromium; raises when the page
    cannot be driven, so the caller can fall back and say so."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    started = time.perf_counter()
    server = start_server(port, {**env, "ASL_STORE_DIR": str(store_root)})
    try:
        wait_until_served(server, port, started)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/train", timeout=120_000)
                train_button = page.get_by_role("button", name="Train", exact=True)
                train_button.wait_for(timeout=180_000)
                time.sleep(2.0)  # the page's script run ends; TensorFlow is loaded
                idle_rss = tree_rss_bytes(server.pid)
                for label, value in (
                    ("Epochs", epochs),
                    ("Training rows (0 = all)", rows),
                ):
                    field = page.get_by_label(label, exact=True)
                    field.fill(str(value))
                    field.press("Enter")
                    time.sleep(1.5)  # each change reruns the page
                with RssSampler({"server": server.pid}) as sampler:
                    launched = time.perf_counter()
                    train_button.click()
                    deadline = launched + timeout
                    while time.perf_counter() < deadline:
                        if list(store_root.glob("*/summary.json")):
                            break
                        if server.poll() is not None:
                            raise RuntimeError("the server exited during the training")
                        time.sleep(0.5)
                    else:
                        raise TimeoutError(f"no finished run within {timeout:.0f} s")
                    time.sleep(1.0)
                    finished = time.perf_counter() - launched
            finally:
                browser.close()
        runs = [p.parent.name for p in store_root.glob("*/summary.json")]
        return {
            "driven_by": "the training page in headless Chromium",
            "server_idle_rss_mb": idle_rss / 2**20,
            "server_peak_rss_mb": sampler.peaks["server"] / 2**20,
            "training_seconds": finished,
            "samples": sampler.samples,
            "run_ids": ", ".join(runs),
        }
    finally:
        stop_server(server)
