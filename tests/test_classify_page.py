"""AppTest runs of the classify and spell pages: no model, a model with no input
yet, each input source's empty state, and a model file changed behind its card.

AppTest (Streamlit 1.67) drives ``st.file_uploader`` and ``st.camera_input``
(``set_value``), but not the drawing canvas (a custom component): drawing is
covered by tests/browser/test_classify.py in real Chromium, and every kind of
image by tests/test_images.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import paths, predict
from core.config import TrainConfig

PAGES = Path(__file__).resolve().parent.parent / "pages"
TIMEOUT = 120  # the first run imports TensorFlow and traces the model


def _write_default(folder: Path, model_bytes: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.keras").write_bytes(model_bytes)
    card = {
        "command": "python -m core.train",
        "data_fingerprint": "test",
        "val_accuracy": 0.5,
        "sha256": predict.sha256_file(folder / "model.keras"),
        "config": TrainConfig().to_dict(),
    }
    (folder / "card.json").write_text(json.dumps(card))
    return folder


@pytest.fixture(scope="module")
def shared_default(tmp_path_factory):
    """One untrained default model for the module: tests that only read it
    share it, so the page's once-per-server model cache answers them."""
    import keras

    from core.model import build_model

    keras.utils.set_random_seed(0)
    folder = tmp_path_factory.mktemp("default")
    build_model(TrainConfig()).save(folder / "built.keras")
    return _write_default(folder, (folder / "built.keras").read_bytes())


@pytest.fixture
def no_models(tmp_path, monkeypatch):
    monkeypatch.setenv("ASL_STORE_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("ASL_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setattr(paths, "DEFAULT_MODEL_DIR", tmp_path / "no-default")
    return tmp_path


@pytest.fixture
def default_model(no_models, shared_default, monkeypatch):
    monkeypatch.setattr(paths, "DEFAULT_MODEL_DIR", shared_default)
    return shared_default


@pytest.fixture
def own_default_model(no_models, shared_default, monkeypatch):
    """A default model of this test's own, for tests that change its file."""
    model_bytes = (shared_default / "model.keras").read_bytes()
    folder = _write_default(no_models / "default", model_bytes)
    monkeypatch.setattr(paths, "DEFAULT_MODEL_DIR", folder)
    return folder


def _run(page: str) -> AppTest:
    app = AppTest.from_file(str(PAGES / page), default_timeout=TIMEOUT)
    return app.run()


def _texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


@pytest.mark.parametrize("page", ["classify.py", "spell.py"])
def test_without_any_model_the_page_says_what_to_do(no_models, page):
    app = _run(page)
    assert not app.exception
    assert "no model to classify with" in _texts(app.info)
    assert "Training" in _texts(app.info)


def test_with_the_default_model_and_no_input_the_page_asks_for_one(default_model):
    app = _run("classify.py")
    assert not app.exception
    assert "shipped default model" in _texts(app.caption)
    assert "Upload an image" in _texts(app.info)


def test_draw_and_camera_without_input_predict_nothing(default_model):
    app = _run("classify.py")
    app.button_group(key="classify_source").set_value("Draw").run()
    assert not app.exception
    assert "Draw a sign first" in _texts(app.info)
    assert "model reads" not in _texts(app.subheader)

    app.button_group(key="classify_source").set_value("Camera").run()
    assert not app.exception
    assert "Turn the camera on" in _texts(app.info)


def test_a_default_model_changed_behind_its_card_is_refused(own_default_model):
    (own_default_model / "model.keras").write_bytes(b"not a model any more")
    app = _run("classify.py")
    assert not app.exception
    assert "checksum" in _texts(app.error)


def test_spell_page_with_a_model_and_no_signs(default_model):
    app = _run("spell.py")
    assert not app.exception
    assert "Add signs" in _texts(app.info)


def _row_png(seed: int) -> bytes:
    import numpy as np

    from core import images

    rng = np.random.default_rng(seed)
    return images.to_png(rng.integers(0, 256, size=(28, 28)).astype(np.uint8))


def _upload(app: AppTest, key: str, files) -> AppTest:
    """Give the page's uploader files, as a browser would, and rerun."""
    return app.file_uploader(key=key).set_value(files).run()


def test_an_uploaded_image_is_shown_step_by_step(default_model):
    app = _run("classify.py")
    _upload(app, "classify_upload", ("row.png", _row_png(0), "image/png"))
    assert not app.exception
    assert "The model reads" in _texts(app.subheader)
    assert "Assumed a photo" in _texts(app.caption)
    assert len(app.get("plotly_chart")) == 1
    assert len(app.get("image")) >= 7  # overlay, input, five steps (no data set)
    assert "Load the data set" in _texts(app.info)  # for the reference image


def test_a_camera_photo_is_classified(default_model):
    app = _run("classify.py")
    app.button_group(key="classify_source").set_value("Camera").run()
    app.toggle(key="classify_camera_on").set_value(True).run()
    import io

    from PIL import Image

    photo = io.BytesIO()
    Image.open(io.BytesIO(_row_png(4))).resize((320, 240)).save(photo, "JPEG")
    app.camera_input(key="classify_camera").set_value(
        ("shot.jpg", photo.getvalue(), "image/jpeg")
    ).run()
    assert not app.exception
    assert "The model reads" in _texts(app.subheader)


def test_a_broken_upload_gets_one_sentence_naming_the_file(default_model):
    app = _run("classify.py")
    _upload(app, "classify_upload", ("notes*.png", b"not an image", "image/png"))
    assert not app.exception
    (error,) = app.error
    assert "notes" in error.value and "is not an image" in error.value
    assert "\\*" in error.value  # markdown escaped: shown as text
    assert "model reads" not in _texts(app.subheader)


def test_spell_page_reads_uploads_in_order_and_reorders(default_model):
    app = _run("spell.py")
    files = [(f"{seed}.png", _row_png(seed), "image/png") for seed in (1, 2, 3)]
    _upload(app, "spell_upload", files)
    assert not app.exception
    word = _texts(app.subheader).removeprefix("Reads: ")
    assert len(word) == 3
    app.button(key="spell_down_0").click().run()  # first sign one place down
    assert _texts(app.subheader).removeprefix("Reads: ") == word[1] + word[0] + word[2]
    app.button(key="spell_remove_0").click().run()  # drop the (now second) sign
    assert _texts(app.subheader).removeprefix("Reads: ") == word[1] + word[2]


def test_an_image_above_the_cap_is_refused_in_one_sentence(default_model):
    from core import images

    app = _run("classify.py")
    huge = b"\x89PNG\r\n\x1a\n" + bytes(images.MAX_FILE_BYTES)
    _upload(app, "classify_upload", ("huge.png", huge, "image/png"))
    assert not app.exception
    assert "limited to 20 MB" in _texts(app.error)


def test_the_model_is_loaded_once_not_per_rerun(own_default_model, monkeypatch):
    loads = []
    real_load = predict.load_choice

    def counting_load(choice):
        loads.append(choice.key)
        return real_load(choice)

    monkeypatch.setattr(predict, "load_choice", counting_load)
    # A model file of its own, so no earlier test's cache entry answers.
    app = _run("classify.py")
    app.button_group(key="classify_source").set_value("Draw").run()
    app.button_group(key="classify_source").set_value("Upload").run()
    _run("classify.py")  # a second session
    assert not app.exception
    assert loads == ["default"]
