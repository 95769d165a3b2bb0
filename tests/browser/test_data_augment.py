"""Browser scenarios for the data and augmentation pages, on the real data."""

import pytest

from tests.browser.conftest import error_texts, wait_idle


def test_data_page_shows_per_letter_chart(open_page):
    page = open_page("data")

    chart = page.locator(".st-key-data_counts_chart .js-plotly-plot")
    chart.wait_for(state="visible")
    bars = chart.locator("g.point")
    # 24 letters, for the training and the validation split
    assert bars.count() >= 24
    assert error_texts(page) == []


def _grid_source(page) -> str:
    image = page.locator("[data-testid='stMain'] [data-testid='stImage'] img").last
    image.wait_for(state="visible")
    return image.get_attribute("src")


def test_moving_augmentation_slider_redraws_grid(open_page):
    page = open_page("augment")
    before = _grid_source(page)

    thumb = page.locator(".st-key-augment_rotation input[type='range']")
    thumb.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_timeout(500)
    wait_idle(page)

    after = _grid_source(page)
    assert after != before, "the grid did not change when the rotation slider moved"
    assert thumb.input_value() == "15"
    assert error_texts(page) == []
