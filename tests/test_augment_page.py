"""AppTest runs of the augmentation page: with a tiny synthetic data folder it
draws the grid and records the chosen settings for the training page; without
data it says what to do."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.config import AugmentSettings

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "augment.py")
KAGGLE_LABELS = [v for v in range(25) if v != 9]  # A..Y without J
HEADER = "label," + ",".join(f"pixel{i}" for i in range(1, 785))


def write_csv(path, rows_per_letter: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lines = [HEADER]
    for label in KAGGLE_LABELS * rows_per_letter:
        pixels = rng.integers(0, 256, 784)
        lines.append(f"{label}," + ",".join(map(str, pixels)))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def data_folder(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    write_csv(folder / "sign_mnist_train.csv", rows_per_letter=2, seed=0)
    write_csv(folder / "sign_mnist_test.csv", rows_per_letter=1, seed=1)
    monkeypatch.setenv("ASL_DATA_DIR", str(folder))
    monkeypatch.setenv("ASL_CACHE_DIR", str(tmp_path / "cache"))
    return folder


def run_page(**state) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in state.items():
        app.session_state[key] = value
    return app.run()


def test_page_draws_the_grid_with_the_course_defaults(data_folder):
    app = run_page()
    assert not app.exception
    assert app.slider(key="augment_rotation").value == 10
    assert app.slider(key="augment_zoom").value == pytest.approx(0.1)
    assert app.slider(key="augment_width_shift").value == pytest.approx(0.1)
    assert app.slider(key="augment_height_shift").value == pytest.approx(0.1)
    assert app.toggle(key="augment_horizontal_flip").value is True
    assert app.toggle(key="augment_vertical_flip").value is False
    assert app.session_state["augment_settings"] == AugmentSettings()
    captions = " ".join(c.value for c in app.caption)
    assert "Left-handed" in captions and "upside down" in captions
    images = app.get("image")
    assert len(images) == 2  # the original and ONE composed grid
    assert images[0].captions[0].startswith("Original: row 0")


def test_moving_sliders_updates_the_settings_the_training_page_reads(data_folder):
    app = run_page()
    app.slider(key="augment_rotation").set_value(30)
    app.slider(key="augment_zoom").set_value(0.2)
    app.toggle(key="augment_vertical_flip").set_value(True)
    app.selectbox(key="augment_fill_mode").set_value("reflect")
    app.run()
    assert not app.exception
    settings = app.session_state["augment_settings"]
    assert settings.rotation == 30 and settings.zoom == pytest.approx(0.2)
    assert settings.vertical_flip and settings.fill_mode == "reflect"


def test_reset_button_brings_back_the_course_settings(data_folder):
    app = run_page()
    app.slider(key="augment_rotation").set_value(40)
    app.toggle(key="augment_vertical_flip").set_value(True).run()
    assert app.session_state["augment_settings"].rotation == 40
    app.button(key="augment_reset").click().run()
    assert not app.exception
    assert app.slider(key="augment_rotation").value == 10
    assert app.session_state["augment_settings"] == AugmentSettings()


def test_stored_settings_seed_the_widgets_when_the_page_is_revisited(data_folder):
    kept = AugmentSettings(rotation=20, zoom=0.05, horizontal_flip=False)
    app = run_page(augment_settings=kept)
    assert not app.exception
    assert app.slider(key="augment_rotation").value == 20
    assert app.toggle(key="augment_horizontal_flip").value is False
    assert app.session_state["augment_settings"] == kept


def test_random_batch_pick_by_index_and_identity_settings_all_run(data_folder):
    app = run_page()
    app.radio(key="augment_source").set_value("A random batch").run()
    assert not app.exception
    assert any("Letters, row by row" in c.value for c in app.caption)
    assert len(app.get("image")) == 2  # the batch's grid and its originals

    app.radio(key="augment_source").set_value("One image").run()
    app.radio(key="augment_pick_by").set_value("Row index").run()
    app.number_input(key="augment_index").set_value(47).run()
    assert not app.exception
    assert app.get("image")[0].captions == ["Original: row 47, Y"]  # 2nd A..Y run

    for key in ("augment_rotation", "augment_zoom"):
        app.slider(key=key).set_value(0)
    for key in ("augment_width_shift", "augment_height_shift"):
        app.slider(key=key).set_value(0.0)
    app.toggle(key="augment_horizontal_flip").set_value(False)
    app.run()
    assert not app.exception
    assert any("unchanged" in i.value for i in app.info)


def test_page_without_data_says_what_to_do(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("ASL_DATA_DIR", str(empty))
    monkeypatch.setenv("ASL_CACHE_DIR", str(tmp_path / "cache"))
    app = run_page()
    assert not app.exception
    assert app.info and "Data" in app.info[0].value
    assert not app.slider  # stopped before any control
