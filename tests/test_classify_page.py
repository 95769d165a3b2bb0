"""AppTest runs of the classify and spell pages: no model, a model with no input
yet, each input source's empty state, and a model file changed behind its card.

AppTest (Streamlit 1.67) cannot drive ``st.file_uploader`` or the drawing
canvas, so what happens to an uploaded or drawn image is covered at the core
level (tests/test_images.py, tests/test_predict.py, tests/test_spell.py) and in
the browser check described in the report.
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


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    import keras

    from core.model import build_model

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    build_model(TrainConfig()).save(path)
    return path


@pytest.fixture
def no_models(tmp_path, monkeypatch):
    monkeypatch.setenv("ASL_STORE_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("ASL_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setattr(paths, "DEFAULT_MODEL_DIR", tmp_path / "no-default")
    return tmp_path


@pytest.fixture
def default_model(no_models, model_file, monkeypatch):
    folder = no_models / "default"
    folder.mkdir()
    (folder / "model.keras").write_bytes(model_file.read_bytes())
    card = {
        "command": "python -m core.train",
        "data_fingerprint": "test",
        "val_accuracy": 0.5,
        "sha256": predict.sha256_file(folder / "model.keras"),
        "config": TrainConfig().to_dict(),
    }
    (folder / "card.json").write_text(json.dumps(card))
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


def test_a_default_model_changed_behind_its_card_is_refused(default_model):
    (default_model / "model.keras").write_bytes(b"not a model any more")
    app = _run("classify.py")
    assert not app.exception
    assert "checksum" in _texts(app.error)


def test_spell_page_with_a_model_and_no_signs(default_model):
    app = _run("spell.py")
    assert not app.exception
    assert "Add signs" in _texts(app.info)
