"""Bad uploads in real Chromium: a text file renamed ``.png`` on the classify
page gives one clear red sentence naming the file, shown as plain text, and
no exception or traceback.

Deliberately not here: good uploads and drawing (tests/browser/test_classify.py),
the decoding rules themselves (tests/test_images.py).
"""

from __future__ import annotations

import re

import pytest

from core import paths
from tests.browser.conftest import error_texts, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Markdown-special characters in the name: they must show as typed, not as
# emphasis or a link.
FAKE_NAME = "notes_*v2* [draft].png"


@pytest.fixture(autouse=True)
def _needs_a_model(app_dirs):
    has_default = (paths.DEFAULT_MODEL_DIR / "model.keras").is_file()
    has_run = any(app_dirs["store"].glob("*/summary.json"))
    if not (has_default or has_run):
        pytest.skip("no model to classify with: the page stops before its uploader")


def test_text_file_renamed_png_gives_one_sentence(open_page):
    page = open_page("classify")
    page.get_by_text("Upload an image of a sign").wait_for()

    page.set_input_files(
        "[data-testid='stFileUploaderDropzoneInput']",
        files=[{"name": FAKE_NAME, "mimeType": "image/png",
                "buffer": b"label,pixel1\nthis is not an image\n"}],
    )
    alert = page.locator("[data-testid='stMain'] [data-testid='stAlertContentError']")
    alert.first.wait_for()
    wait_idle(page)

    texts = error_texts(page)
    assert len(texts) == 1, f"expected one error, got {texts}"
    # the page breaks autolinks with zero-width spaces; they are invisible
    sentence = texts[0].replace("\u200b", "").strip()
    assert FAKE_NAME in sentence, f"the error does not name the file: {sentence!r}"
    rest = sentence.replace(FAKE_NAME, "FILE")
    assert "\n" not in rest and rest.endswith(".")
    assert len(re.findall(r"[.!?](?:\s|$)", rest)) == 1, f"not one sentence: {rest!r}"
    assert "Traceback" not in rest and "Error" not in rest
    # shown as text: the asterisks and brackets made no emphasis and no link
    assert alert.first.locator("em, strong, a").count() == 0
    assert page.locator("[data-testid='stException']").count() == 0
    assert "The model reads" not in page.locator("[data-testid='stMain']").inner_text()
