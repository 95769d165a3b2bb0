"""The course CNN: shapes, contrast invariance of its first layer, safe-mode
loading, and batch-norm statistics that settle within a short demo training."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from core.config import TrainConfig  # noqa: E402
from core.labels import NUM_CLASSES  # noqa: E402
from core.model import MinMaxNormalize, build_model  # noqa: E402


def _images(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, size=(n, 28, 28, 1)).astype("float32")


def test_course_cnn_maps_images_to_24_probabilities():
    model = build_model(TrainConfig())

    probabilities = model(_images(3), training=False).numpy()

    assert probabilities.shape == (3, NUM_CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_min_max_normalize_ignores_brightness_and_contrast():
    x = _images(4)
    layer = MinMaxNormalize()

    plain = layer(x).numpy()
    shifted = layer(0.3 * x + 40).numpy()

    assert plain.min() == pytest.approx(0) and plain.max() == pytest.approx(1)
    np.testing.assert_allclose(plain, shifted, atol=1e-5)
    assert np.all(layer(np.full((1, 28, 28, 1), 7.0, "float32")).numpy() == 0)


def test_saved_model_loads_in_safe_mode(tmp_path):
    model = build_model(TrainConfig())
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = keras.saving.load_model(path, safe_mode=True)

    x = _images(2)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)


def test_batch_norm_statistics_settle_within_a_short_training():
    """Non-regression: with Keras's default momentum (0.99), 64 steps of a
    two-epoch demo left the moving statistics half-way from their start values,
    and the stored model read every validation image as the same letter."""
    keras.utils.set_random_seed(0)
    model = build_model(TrainConfig())
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = _images(64 * 40, seed=1)
    y = np.random.default_rng(2).integers(0, NUM_CLASSES, len(x))

    model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)

    norm = next(
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    )
    before = keras.Model(model.input, norm.input)
    activations = before.predict(x[-640:], verbose=0)
    true_mean = activations.mean(axis=(0, 1, 2))
    moving_mean = keras.ops.convert_to_numpy(norm.moving_mean)
    relative_error = np.abs(moving_mean - true_mean).sum() / np.abs(true_mean).sum()
    assert relative_error < 0.1
