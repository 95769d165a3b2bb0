"""The classify page in real Chromium: an uploaded validation row reads as its
own letter; strokes drawn with the mouse give a prediction; Clear brings back
"draw a sign first". Uses the shipped default model (the server's store is
empty), and skips where it is missing."""

from __future__ import annotations

import pytest

from core import paths
from core.labels import letter, to_class_indices
from tests.browser.conftest import wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _needs_default_model():
    if not (paths.DEFAULT_MODEL_DIR / "model.keras").is_file():
        pytest.skip("no default model in models/default to classify with")


def _canvas_box(page, timeout_ms: int = 60_000) -> dict:
    """The drawing canvas's box, once the component has mounted it."""
    canvases = page.locator("canvas")
    for _ in range(timeout_ms // 500):
        boxes = [canvases.nth(i).bounding_box() for i in range(canvases.count())]
        sized = [b for b in boxes if b and b["width"] >= 200]
        if sized:
            return sized[-1]
        page.wait_for_timeout(500)
    raise AssertionError("the drawing canvas never appeared")


def _main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def test_uploaded_validation_row_reads_as_its_letter(open_page, tmp_path):
    import pandas as pd

    from core import images

    frame = pd.read_csv(paths.SHARED_DATA_DIR / "sign_mnist_test.csv.gz", nrows=1)
    row = frame.iloc[0, 1:].to_numpy("uint8").reshape(28, 28)
    expected = letter(to_class_indices(frame["label"].to_numpy(), "kaggle")[0])
    png = tmp_path / "row0.png"
    png.write_bytes(images.to_png(row))

    page = open_page("classify")
    page.get_by_text("Upload an image of a sign").wait_for()
    page.set_input_files("[data-testid='stFileUploaderDropzoneInput']", str(png))
    page.get_by_text("The model reads").wait_for(timeout=90_000)
    wait_idle(page)
    text = _main_text(page)
    assert f"The model reads {expected}" in text
    assert "Grad-CAM" in text and "28×28 input" in text
    assert "Assumed a photo" in text


@pytest.mark.parametrize("ink", ["dark", "light"])
def test_drawing_gives_a_prediction_and_clear_empties_it(open_page, ink):
    page = open_page("classify")
    page.get_by_text("Draw", exact=True).click()
    page.get_by_text("Draw a sign first").wait_for()
    if ink == "light":
        page.get_by_text("White ink on black", exact=True).first.click()
        wait_idle(page)
    box = _canvas_box(page)
    left, top = box["x"], box["y"]

    page.mouse.move(left + 140, top + 40)
    page.mouse.down()
    for step in range(30):
        page.mouse.move(left + 140, top + 40 + step * 7, steps=2)
    page.mouse.up()
    page.get_by_text("The model reads").wait_for(timeout=90_000)
    assert f"Assumed a drawing with {ink} strokes" in _main_text(page)

    page.get_by_text("Clear the drawing").click()
    page.get_by_text("Draw a sign first").wait_for()
    wait_idle(page)
    assert "The model reads" not in _main_text(page)
