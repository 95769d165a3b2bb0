"""core.predict: probabilities, top letters, Grad-CAM, reference images, the
overlay, and model choice (stored runs and the default model)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core import predict
from core.config import TrainConfig
from core.labels import LETTERS, NUM_CLASSES


def _block_images(per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A toy task: class c is a bright 7x7 block in cell c of a 6x4 grid, on a
    noisy dark background. ``(n, 28, 28)`` uint8 and ``(n,)`` classes."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 60, size=(NUM_CLASSES * per_class, 28, 28)).astype(np.uint8)
    y = np.repeat(np.arange(NUM_CLASSES), per_class)
    for i, cls in enumerate(y):
        row, col = divmod(int(cls), 6)
        x[i, row * 7 : row * 7 + 7, col * 4 + 2 : col * 4 + 6] = 230
    return x, y


@pytest.fixture(scope="module")
def untrained():
    import keras

    from core.model import build_model

    keras.utils.set_random_seed(0)
    return predict.Predictor(build_model(TrainConfig()), name="untrained")


@pytest.fixture(scope="module")
def trained():
    """The course CNN after a few epochs on the toy task (seconds)."""
    import keras

    from core.model import build_model

    keras.utils.set_random_seed(0)
    model = build_model(TrainConfig())
    for layer in model.layers:  # settle batch-norm statistics in few steps
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.5
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    x, y = _block_images(12)
    model.fit(x[..., None].astype("float32"), y, epochs=6, batch_size=32, verbose=0)
    return predict.Predictor(model, name="toy")


def test_probabilities_for_one_and_many_agree(untrained):
    x, _ = _block_images(1, seed=1)
    many = untrained.probabilities(x)
    assert many.shape == (NUM_CLASSES, NUM_CLASSES) and many.dtype == np.float32
    np.testing.assert_allclose(many.sum(axis=1), 1.0, atol=1e-5)
    one = untrained.probabilities(x[5])
    np.testing.assert_allclose(one[0], many[5], atol=1e-5)
    reference = untrained.model.predict(x[..., None].astype("float32"), verbose=0)
    np.testing.assert_allclose(many, reference, atol=1e-5)


def test_input_shapes_are_checked(untrained):
    assert untrained.probabilities(np.zeros((0, 28, 28))).shape == (0, NUM_CLASSES)
    assert predict.as_batch(np.zeros((3, 28, 28, 1), np.uint8)).shape == (3, 28, 28, 1)
    with pytest.raises(ValueError, match="28x28"):
        untrained.probabilities(np.zeros((27, 28)))


def test_top_letters_are_sorted_and_named():
    probabilities = np.zeros(NUM_CLASSES, np.float32)
    probabilities[[3, 7, 1, 20, 0, 5]] = [0.4, 0.3, 0.1, 0.1, 0.06, 0.04]
    top = predict.top_letters(probabilities)
    assert [letter for letter, _ in top] == [LETTERS[i] for i in (3, 7, 1, 20, 0)]
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)


@pytest.mark.slow
def test_trained_model_reads_the_toy_classes(trained):
    x, y = _block_images(2, seed=5)
    accuracy = (trained.probabilities(x).argmax(axis=1) == y).mean()
    assert accuracy >= 0.9


@pytest.mark.slow
def test_grad_cam_points_at_the_block_that_decides(trained):
    x, y = _block_images(1, seed=6)
    inside_wins = 0
    for image, cls in zip(x, y):
        prediction = trained.predict(image)
        heat = prediction.saliency
        assert heat.shape == (28, 28) and 0 <= heat.min() and heat.max() <= 1
        row, col = divmod(int(cls), 6)
        mask = np.zeros((28, 28), bool)
        mask[row * 7 : row * 7 + 7, col * 4 + 2 : col * 4 + 6] = True
        inside_wins += heat[mask].mean() > heat[~mask].mean()
    assert inside_wins >= 0.75 * NUM_CLASSES


def test_prediction_has_top_five_and_saliency(untrained):
    x, _ = _block_images(1, seed=2)
    prediction = untrained.predict(x[0])
    assert len(prediction.top) == 5
    assert prediction.letter == LETTERS[prediction.class_index]
    assert prediction.saliency is None or prediction.saliency.shape == (28, 28)
    assert untrained.predict(x[0], explain=False).saliency is None


def test_reference_image_is_the_member_nearest_the_class_mean():
    rng = np.random.default_rng(3)
    x = rng.integers(50, 200, size=(6, 28, 28)).astype(np.uint8)
    y = np.array([0, 0, 0, 2, 2, 2])
    # In class 0, image 1 is exactly the mean of the three.
    x[0] = x[1] - 40
    x[2] = x[1] + 40
    references = predict.reference_images(x, y)
    assert references.shape == (NUM_CLASSES, 28, 28) and references.dtype == np.uint8
    np.testing.assert_array_equal(references[0], x[1])
    assert references[1].max() == 0  # no image of B: an empty picture
    assert any((references[2] == x[i]).all() for i in (3, 4, 5))


def test_overlay_lands_on_the_square_that_became_the_input():
    preview = np.full((250, 500, 3), 128, np.uint8)
    heat = np.zeros((28, 28), np.float32)
    heat[:7, :7] = 1.0  # the input's top-left corner drove the letter
    square = (125.0, 0.0, 250.0)  # the input was cut from columns 125..375
    shown = predict.overlay(preview, heat, square)
    assert shown.shape == preview.shape and shown.dtype == np.uint8
    hot = shown[..., 0].astype(int) - shown[..., 2].astype(int)  # red minus blue
    assert hot[10:50, 135:175].mean() > 60  # top-left of the square is hot
    assert np.abs(hot[150:, 250:]).max() < 5  # elsewhere stays grey
    assert np.abs(hot[:, :115]).max() < 5  # outside the square untouched


def test_overlay_enlarges_a_tiny_image_with_square_pixels():
    preview = np.zeros((28, 28, 3), np.uint8)
    preview[0, 0] = 255
    shown = predict.overlay(preview, np.zeros((28, 28), np.float32), (0, 0, 28))
    assert shown.shape == (224, 224, 3)
    assert shown[:8, :8].min() > 150 and shown[8:, 8:].max() < 5


# -- choosing a model --------------------------------------------------------


def _write_default(folder, model, accuracy=0.5, sha=None):
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    card = {
        "command": "python -m core.train --epochs 1",
        "data_fingerprint": "test",
        "val_accuracy": accuracy,
        "sha256": sha or predict.sha256_file(folder / "model.keras"),
        "config": TrainConfig().to_dict(),
    }
    (folder / "card.json").write_text(json.dumps(card))


def test_no_model_at_all_gives_no_choices(tmp_path):
    choices = predict.list_model_choices(tmp_path / "runs", tmp_path / "default")
    assert choices == []
    assert "Training" in predict.NO_MODEL_ADVICE


def test_default_model_is_listed_verified_and_loaded(tmp_path, untrained):
    folder = tmp_path / "default"
    _write_default(folder, untrained.model, accuracy=0.9)
    choices = predict.list_model_choices(tmp_path / "runs", folder)
    assert [c.key for c in choices] == ["default"]
    assert "90.0%" in choices[0].label
    loaded = predict.load_choice(choices[0])
    x, _ = _block_images(1, seed=4)
    np.testing.assert_allclose(
        loaded.probabilities(x), untrained.probabilities(x), atol=1e-5
    )


def test_default_model_changed_behind_its_card_is_refused(tmp_path, untrained):
    folder = tmp_path / "default"
    _write_default(folder, untrained.model, sha="0" * 64)
    with pytest.raises(predict.ModelError, match="checksum"):
        predict.load_default_model(folder)


@pytest.mark.slow
def test_a_finished_run_is_offered_first_and_loads(tmp_path, untrained):
    from core import store, train

    x, y = _block_images(4)
    config = TrainConfig(epochs=1, batch_size=32, augment=False)
    run_dir = store.create_run(config, "toy", store=tmp_path / "runs")
    train.train(config, x, y, x[:48], y[:48], run_dir, data_fingerprint="toy")
    _write_default(tmp_path / "default", untrained.model)
    choices = predict.list_model_choices(tmp_path / "runs", tmp_path / "default")
    assert [c.source for c in choices] == ["run", "default"]
    assert choices[0].key == f"run:{run_dir.name}"
    assert predict.load_choice(choices[0]).probabilities(x[:2]).shape == (2, 24)

    (run_dir / "model.keras").write_bytes(b"tampered")
    with pytest.raises(predict.ModelError, match="checksum"):
        predict.load_choice(choices[0])


@pytest.mark.slow
def test_validation_rows_as_png_files_get_the_rows_own_letters(real_data_dir):
    """The round trip of issue 4: a validation row saved as PNG and decoded
    gives the same input and the same letter as the row itself."""
    import pandas as pd

    from core import images

    choices = predict.list_model_choices()
    if not choices:
        pytest.skip("no trained model: neither models/default nor a finished run")
    default = [c for c in choices if c.source == "default"]
    predictor = predict.load_choice((default or choices)[0])
    frame = pd.read_csv(real_data_dir / "sign_mnist_test.csv.gz", nrows=200)
    rows = frame.iloc[:, 1:].to_numpy(np.uint8).reshape(-1, 28, 28)
    decoded = np.stack(
        [
            images.prepare_bytes(images.to_png(row), f"row {i}").pixels
            for i, row in enumerate(rows)
        ]
    )
    assert np.abs(decoded - rows).max() <= 1.0
    np.testing.assert_array_equal(
        predictor.probabilities(decoded).argmax(axis=1),
        predictor.probabilities(rows).argmax(axis=1),
    )


def _choice(key: str, accuracy: float | None) -> predict.ModelChoice:
    source = "default" if key == predict.DEFAULT_KEY else "run"
    return predict.ModelChoice(key, key, source, Path("."), accuracy)


def test_preferred_choice_is_the_run_just_trained_even_if_weaker():
    choices = [_choice("run:new", 0.34), _choice(predict.DEFAULT_KEY, 0.994)]

    assert predict.preferred_choice(choices, just_trained="new") == 0


def test_preferred_choice_otherwise_is_the_most_accurate_model():
    """Non-regression: the newest run (a two-epoch demo at chance level) was
    preselected over the shipped model at 99%."""
    choices = [
        _choice("run:demo", 0.078),
        _choice("run:older", None),
        _choice(predict.DEFAULT_KEY, 0.994),
    ]

    assert predict.preferred_choice(choices) == 2
    assert predict.preferred_choice(choices, just_trained="elsewhere") == 2
    tied = [_choice("run:a", 0.9), _choice("run:b", 0.9)]
    assert predict.preferred_choice(tied) == 0
