"""Every page of the dashboard opens in real Chromium with no error on screen."""

import pytest

from tests.browser.conftest import FIRST_VISIT, error_texts

PAGES = ["", "data", "augment", "train", "runs", "classify", "spell"]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "home")
def test_page_opens_without_error_text(open_page, path):
    page = open_page(path)

    assert page.query_selector("h1") is not None, "the page shows no title"
    assert error_texts(page) == []


def test_first_visit_to_a_sub_page_uses_the_apps_navigation(ready_app):
    """Non-regression: a fresh server's first visit to /augment ran the page file
    alone, with Streamlit's old file-list sidebar instead of ours."""
    sidebar = FIRST_VISIT["sidebar"]

    assert "Start here" in sidebar
    assert "streamlit app" not in sidebar.lower()
