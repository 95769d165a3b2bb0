"""The training page in real Chromium, on the real data: a short training
launched in one tab grows its curves live in that tab and in a second browser
context that never launched anything, ends with a validation accuracy in
both, and the same launch again comes back from the store without a new job.

The training is deliberately tiny (2,000 rows, 2 epochs, batch 64) so the
whole file costs one training. The cache test reuses that run when the first
test ran before it in the same session, and trains it itself otherwise.

"Grows" means: while the job ran, the page's curves gained an epoch or its
progress text moved on. On a loaded machine the one-epoch curve can be on
screen for only a few seconds (epoch 2 is quick after epoch 1's tracing), so
the progress text is the dependable signal; the printed steps say which was
seen. Deliberate screenshots (progress bar, growing curves, finished, cached)
go to test-artifacts/screenshots/training-*.png.

Deliberately not here: the maths of training, the job manager's queueing and
resume (tests/test_jobs.py), anything timed (elapsed times are only printed).
"""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.conftest import (
    SCREENSHOT_DIR,
    error_texts,
    new_page,
    screenshot,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROWS, EPOCHS, BATCH = 2000, 2, 64
# A whole tiny training (child start, TensorFlow import, two epochs, the
# confusion matrix) takes well under this even on a loaded two-core machine.
TRAINING_DEADLINE_S = 540
TALL = {"width": 1400, "height": 1500}
RUN_ID = re.compile(r"Run id of these settings on this data:\s*([0-9a-f]{16})")
PERCENT = re.compile(r"(\d{1,3}(?:\.\d)?)%")


def _main(page):
    return page.locator("[data-testid='stMain']")


def _run_id(page) -> str | None:
    found = RUN_ID.search(_main(page).inner_text())
    return found.group(1) if found else None


def _wait_run_id_change(page, before: str | None, timeout_s: float = 60) -> str:
    """Wait until the page has rerun with new settings (its run id changed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = _run_id(page)
        if now and now != before:
            wait_idle(page)
            return now
        page.wait_for_timeout(200)
    raise AssertionError(f"the run id stayed {before} after changing a setting")


def _set_number(page, key: str, value: int) -> str:
    """Type a value into a number input and commit it with Enter."""
    before = _run_id(page)
    field = page.locator(f".st-key-{key} input")
    if field.input_value() == str(value):
        return before
    field.fill(str(value))
    field.press("Enter")
    return _wait_run_id_change(page, before)


def _set_batch_size(page, value: int) -> str:
    """Step the batch-size select slider with the keyboard until it shows value
    (one rerun a step; the page's default may change, so read it first)."""
    thumb = page.locator(".st-key-train_batch_size input[type='range']")
    rid = _run_id(page)
    for _ in range(8):
        shown = int(thumb.get_attribute("aria-valuetext"))
        if shown == value:
            return rid
        thumb.focus()
        page.keyboard.press("ArrowRight" if value > shown else "ArrowLeft")
        rid = _wait_run_id_change(page, rid)
    raise AssertionError(f"the batch size slider never showed {value}")


def _configure(page, seed: int = 0) -> str:
    """Set the tiny training's settings on an open training page; its run id."""
    page.locator(".st-key-train_launch button").wait_for()
    _set_number(page, "train_epochs", EPOCHS)
    _set_batch_size(page, BATCH)
    _set_number(page, "train_rows", ROWS)
    _set_number(page, "train_seed", seed)
    rid = _run_id(page)
    assert rid is not None, "the page shows no run id for its settings"
    return rid


def _final_metric(page):
    metrics = page.locator("[data-testid='stMetric']")
    return metrics.filter(has_text="Final validation accuracy")


def _observe(page, rid: str) -> dict:
    """What the page shows of run ``rid`` right now: plotted epochs, the
    progress bar's text, the status word, and the final accuracy if shown."""
    chart = page.locator(f".st-key-train_current_curves_{rid} .js-plotly-plot")
    points = 0
    if chart.count():
        # Plotly keeps the drawn traces on its div; the first trace is the
        # training loss, one x value an epoch.
        points = chart.first.evaluate("el => (el.data && el.data[0].x.length) || 0")
    progress = page.locator("[data-testid='stMain'] [data-testid='stProgress']")
    text = _main(page).inner_text()
    status = re.search(rf"Run\s+{rid}\s+·\s+(\w+)", text)
    final = None
    metric = _final_metric(page)
    if metric.count():
        value = metric.first.locator("[data-testid='stMetricValue']").inner_text()
        found = PERCENT.search(value)
        final = float(found.group(1)) if found else value
    return {
        "points": points,
        "skeletons": page.locator("[data-testid='stMain'] [data-testid='stSkeleton']")
        .count(),
        "progress": progress.first.inner_text().strip() if progress.count() else None,
        "status": status.group(1) if status else None,
        "final": final,
        "text": text,
    }


def _watch_until_finished(pages: dict, rid: str) -> dict[str, list[dict]]:
    """Poll every page until each shows the final accuracy; every sample."""
    seen: dict[str, list[dict]] = {name: [] for name in pages}
    shots: set[str] = set()
    deadline = time.monotonic() + TRAINING_DEADLINE_S
    while time.monotonic() < deadline:
        for name, page in pages.items():
            sample = _observe(page, rid)
            seen[name].append(sample)
            # Deliberate screenshots for the report: the progress bar before
            # the first epoch ends, and the curves with one epoch of two.
            moment = "growing" if 0 < sample["points"] < EPOCHS else "no-curves-yet"
            running = sample["status"] == "running" and sample["progress"]
            if running and f"{name}-{moment}" not in shots:
                shots.add(f"{name}-{moment}")
                _shot(page, f"{name}-{moment}", whole=False)
        if all(samples[-1]["final"] is not None for samples in seen.values()):
            return seen
        if any(s[-1]["status"] in ("failed", "cancelled") for s in seen.values()):
            break
        next(iter(pages.values())).wait_for_timeout(400)
    last = {name: {k: v for k, v in s[-1].items() if k != "text"}
            for name, s in seen.items()}
    raise AssertionError(f"the training did not finish on every page: {last}")


def _shot(page, name: str, whole: bool = True) -> None:
    """A deliberate screenshot for the report, in test-artifacts/screenshots/.
    ``whole=False`` keeps the viewport as it is: resizing it mid-training makes
    the page redraw its chart, which would hide the very update being watched.
    """
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"training-{name}.png"
    if whole:
        screenshot(page, path)
    else:
        page.screenshot(path=str(path))


def _settled(page, rid: str, timeout_s: float = 90) -> dict:
    """The finished run as the page shows it once its last rerun is drawn.

    The fragment that watched the run asks for one full rerun when it ends;
    while that redraws, the chart can be a placeholder for a moment.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        wait_idle(page)
        sample = _observe(page, rid)
        done = sample["status"] == "finished" and sample["final"] is not None
        if (done and sample["points"] == EPOCHS) or time.monotonic() > deadline:
            return sample
        page.wait_for_timeout(300)


def _grew(samples: list[dict]) -> bool:
    """The curves gained an epoch, or the progress text moved on, while the
    page was watching (not just a finished result seen once)."""
    points = [s["points"] for s in samples]
    texts = {s["progress"] for s in samples if s["progress"]}
    gained = any(later > earlier for earlier, later in zip(points, points[1:]))
    return gained or len(texts) >= 2


def _steps(samples: list[dict]) -> list[tuple]:
    """The distinct successive (epochs plotted, placeholders, progress text)
    a page showed."""
    steps: list[tuple] = []
    for sample in samples:
        step = (sample["points"], sample["skeletons"], sample["progress"])
        if not steps or steps[-1] != step:
            steps.append(step)
    return steps


def _run_dirs(app_dirs) -> set[str]:
    return {p.name for p in app_dirs["store"].iterdir() if not p.name.startswith("_")}


def test_short_training_grows_live_in_two_tabs(open_page, browser, request, app_dirs):
    launcher = open_page("train")
    # Tall enough to show the progress bar and the curves without scrolling.
    launcher.set_viewport_size(TALL)
    rid = _configure(launcher)
    if rid in _run_dirs(app_dirs):
        pytest.skip("this run is already in the store; the live test needs a new one")
    assert "have not been trained on this data yet" in _main(launcher).inner_text()

    # The watcher is a separate browser context (its own Streamlit session). It
    # waits one seed away from the launcher's settings, then steps onto them
    # once the job exists, so it sees the job from the start of the training.
    watcher = new_page(browser, request)
    watcher.set_viewport_size(TALL)
    open_page("train", target=watcher)
    assert _configure(watcher, seed=1) != rid

    launcher.locator(".st-key-train_launch button").click()
    launcher.get_by_text(f"Run {rid}").wait_for()
    assert _set_number(watcher, "train_seed", 0) == rid

    pages = {"launcher": launcher, "watcher": watcher}
    seen = _watch_until_finished(pages, rid)
    for name, samples in seen.items():
        active = [s for s in samples if s["status"] in ("queued", "running")]
        assert active, f"the {name} tab never showed the job queued or running"
        assert _grew(samples), (
            f"the {name} tab never saw the curves or the progress move: "
            f"{[(s['points'], s['progress']) for s in samples]}"
        )
        final = _settled(pages[name], rid)
        samples.append(final)
        assert final["points"] == EPOCHS, f"{name}: the finished curves lack epochs"
        assert isinstance(final["final"], float) and 0 <= final["final"] <= 100
        assert final["status"] == "finished"
        assert "Confusion matrix" in final["text"]
    # The watcher saw the launcher's job, not one of its own.
    assert "started by you" in seen["launcher"][-1]["text"]
    assert "started by someone else" in seen["watcher"][-1]["text"]
    assert seen["launcher"][-1]["final"] == seen["watcher"][-1]["final"]
    for name, samples in seen.items():
        print(f"\n{name} saw (epochs plotted, placeholders, progress): "
              f"{_steps(samples)}")
    _shot(launcher, "launcher-finished")
    _shot(watcher, "watcher-finished")
    for page in pages.values():
        assert error_texts(page) == []


def test_same_launch_again_comes_from_the_cache(open_page, app_dirs):
    page = open_page("train")
    rid = _configure(page)
    if rid not in _run_dirs(app_dirs):  # run alone: train it once first
        page.locator(".st-key-train_launch button").click()
        _watch_until_finished({"page": page}, rid)
    runs_before = _run_dirs(app_dirs)
    before = _settled(page, rid)
    assert before["status"] == "finished" and before["final"] is not None

    # Record whether a progress bar or a queued/running status ever appears
    # after the click, however briefly (a poll could miss a short flash).
    page.evaluate(
        """() => {
            window.__sawProgress = false;
            const main = document.querySelector("[data-testid='stMain']");
            const look = () => {
                if (main.querySelector("[data-testid='stProgress']")
                    || /· (queued|running) ·/.test(main.innerText)) {
                    window.__sawProgress = true;
                }
            };
            new MutationObserver(look).observe(
                main, {childList: true, subtree: true, characterData: true});
        }"""
    )
    # The finished result is fully drawn before the click, so the time printed
    # below is the rerun's, not the browser's first plotting of the page.
    confusion = page.locator(f".st-key-train_current_confusion_{rid} .js-plotly-plot")
    confusion.wait_for()
    clicked = time.monotonic()
    page.locator(".st-key-train_launch button").click()
    toast = page.locator("[data-testid='stToast']", has_text="already trained")
    toast.wait_for()
    elapsed = time.monotonic() - clicked
    after = _settled(page, rid)

    assert "here is the stored result" in toast.inner_text()
    assert page.evaluate("() => window.__sawProgress") is False
    assert after["status"] == "finished"
    assert after["final"] == before["final"]
    assert after["points"] == EPOCHS
    assert "Nothing is training or waiting right now." in after["text"]
    assert confusion.count() == 1
    assert _run_dirs(app_dirs) == runs_before, "the cached launch made a new run"
    assert error_texts(page) == []
    _shot(page, "cached")
    print(f"\ncached launch of {rid}: toast {elapsed:.2f} s after the click")
