"""Unit tests of core.augment on tiny synthetic images: each parameter moves a
lone bright pixel or line where ImageDataGenerator would, identity is exact,
sampling stays in range with fair coins, seeds reproduce, fill modes fill, and
the pixels agree with ImageDataGenerator's own ``apply_transform``."""

import numpy as np
import pytest
import tensorflow as tf

from core import augment
from core.config import AugmentSettings

OFF = AugmentSettings(
    rotation=0, zoom=0, width_shift=0, height_shift=0, horizontal_flip=False
)
CENTRE = 13.5  # (28 - 1) / 2: transforms turn about the pixel grid's centre


def one_pixel(row: int, col: int, value: float = 255.0) -> np.ndarray:
    image = np.zeros((1, 28, 28, 1), np.float32)
    image[0, row, col, 0] = value
    return image


def explicit(**values) -> dict[str, np.ndarray]:
    """Parameters for one image: identity except for ``values``."""
    params = {"angle": 0.0, "zoom_x": 1.0, "zoom_y": 1.0, "shift_x": 0.0}
    params.update({"shift_y": 0.0, "flip_h": 0.0, "flip_v": 0.0})
    params.update(values)
    return {name: np.array([value], np.float32) for name, value in params.items()}


def warp_one(image: np.ndarray, fill_mode="nearest", fill_value=0.0, **values):
    matrices = augment.affine_matrices(explicit(**values))
    return augment.warp(image, matrices, fill_mode, fill_value).numpy()


def centroid(image: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted (row, col) of a (1, 28, 28, 1) image."""
    plane = image[0, :, :, 0]
    rows, cols = np.indices(plane.shape)
    total = plane.sum()
    return float((rows * plane).sum() / total), float((cols * plane).sum() / total)


def random_images(n: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (n, 28, 28, 1)).astype(np.float32)


# Identity


def test_all_settings_off_return_the_input_exactly():
    images = random_images()
    out = augment.augment_batch(images, OFF, seed=1).numpy()
    np.testing.assert_array_equal(out, images)


def test_identity_matrix_path_is_exact_without_the_shortcut():
    images = random_images(3)
    identity = {name: np.repeat(value, 3) for name, value in explicit().items()}
    matrices = augment.affine_matrices(identity).numpy()
    np.testing.assert_array_equal(matrices, np.tile([1, 0, 0, 0, 1, 0, 0, 0], (3, 1)))
    for mode in ("nearest", "constant", "reflect", "wrap"):
        out = augment.warp(images, matrices, mode, 99.0).numpy()
        np.testing.assert_array_equal(out, images, err_msg=mode)


def test_augment_dataset_with_identity_settings_returns_the_dataset_itself():
    ds = tf.data.Dataset.from_tensor_slices((random_images(4), np.arange(4))).batch(2)
    assert augment.augment_dataset(ds, OFF, seed=0) is ds


# Geometry: where a lone pixel goes. Positive shift_x moves content right
# (higher columns), positive shift_y moves it down (higher rows).


def test_width_shift_moves_columns_and_height_shift_moves_rows():
    image = one_pixel(10, 12)
    moved_right = warp_one(image, shift_x=3.0)
    assert moved_right[0, 10, 15, 0] == pytest.approx(255.0)
    moved_up = warp_one(image, shift_y=-2.0)
    assert moved_up[0, 8, 12, 0] == pytest.approx(255.0)
    both = warp_one(image, shift_x=-4.0, shift_y=5.0)
    assert both[0, 15, 8, 0] == pytest.approx(255.0)


def test_random_width_shift_keeps_a_bright_row_in_its_row():
    settings = AugmentSettings(
        rotation=0, zoom=0, width_shift=0.2, height_shift=0, horizontal_flip=False
    )
    images = np.zeros((16, 28, 28, 1), np.float32)
    images[:, 9, :, 0] = 255.0  # a full bright row: column shifts leave it be
    out = augment.augment_batch(images, settings, seed=5).numpy()
    np.testing.assert_allclose(out, images, atol=1e-3)


def test_random_height_shift_moves_a_bright_row_by_at_most_its_range():
    settings = AugmentSettings(
        rotation=0, zoom=0, width_shift=0, height_shift=0.1, horizontal_flip=False
    )
    images = np.zeros((64, 28, 28, 1), np.float32)
    images[:, 14, :, 0] = 255.0
    out = augment.augment_batch(images, settings, seed=6).numpy()
    rows = np.array([centroid(out[i : i + 1])[0] for i in range(len(out))])
    assert np.all(np.abs(rows - 14) <= 2.8 + 1e-3)  # 0.1 * 28 pixels at most
    assert rows.std() > 0.8  # and it really moves (uniform on +-2.8: std 1.6)
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), 28 * 255.0, rtol=1e-4)


def test_rotation_by_90_degrees_turns_counter_clockwise_about_the_centre():
    # (row 10, col 20) is 6.5 right of and 3.5 above the centre; a quarter turn
    # counter-clockwise puts it 3.5 left of and 6.5 above: (row 7, col 10).
    out = warp_one(one_pixel(10, 20), angle=90.0)
    assert out[0, 7, 10, 0] == pytest.approx(255.0, abs=1e-2)


def test_rotation_by_30_degrees_moves_a_pixel_to_the_rotated_position():
    angle = np.deg2rad(30.0)
    x, y_up = 20 - CENTRE, CENTRE - 8  # pixel (row 8, col 20), y pointing up
    expected_col = CENTRE + x * np.cos(angle) - y_up * np.sin(angle)
    expected_row = CENTRE - (x * np.sin(angle) + y_up * np.cos(angle))
    row, col = centroid(warp_one(one_pixel(8, 20), angle=30.0))
    assert row == pytest.approx(expected_row, abs=0.5)
    assert col == pytest.approx(expected_col, abs=0.5)


def test_zoom_below_one_magnifies_and_above_one_shrinks_as_in_the_generator():
    # ImageDataGenerator scales the sampling grid: factor 0.5 doubles the
    # distance from the centre (zoom in), factor 2 halves it (zoom out).
    image = one_pixel(10, 20)  # 6.5 right of the centre
    row, col = centroid(warp_one(image, zoom_x=0.5))
    assert (row, col) == (pytest.approx(10.0, abs=1e-3), pytest.approx(26.5, abs=0.5))
    _, col = centroid(warp_one(image, zoom_x=2.0))
    assert col == pytest.approx(CENTRE + 6.5 / 2, abs=0.5)
    row, _ = centroid(warp_one(image, zoom_y=0.5))  # 3.5 above the centre
    assert row == pytest.approx(CENTRE - 7.0, abs=0.5)


def test_flips_mirror_exactly():
    images = random_images(2)
    np.testing.assert_array_equal(warp_one(images[:1], flip_h=1.0), images[:1, :, ::-1])
    np.testing.assert_array_equal(warp_one(images[:1], flip_v=1.0), images[:1, ::-1])


def test_flip_is_applied_after_the_shift_as_in_the_generator():
    # Shift right by 3, then mirror: column 12 -> 15 -> 27 - 15 = 12.
    out = warp_one(one_pixel(10, 12), shift_x=3.0, flip_h=1.0)
    assert out[0, 10, 12, 0] == pytest.approx(255.0)


# Sampling


def test_sampled_parameters_stay_within_their_ranges():
    settings = AugmentSettings(
        rotation=15, zoom=0.2, width_shift=0.1, height_shift=0.05
    )
    params = {
        k: v.numpy() for k, v in augment.transform_params(4000, settings, 3).items()
    }
    assert set(params) == set(augment.PARAM_NAMES)
    assert all(v.shape == (4000,) for v in params.values())
    assert np.abs(params["angle"]).max() <= 15
    assert np.abs(params["angle"]).max() > 14.5  # the whole range is used
    for axis in ("zoom_x", "zoom_y"):
        assert params[axis].min() >= 0.8 and params[axis].max() <= 1.2
        assert params[axis].min() < 0.81 and params[axis].max() > 1.19
    assert np.abs(params["shift_x"]).max() <= 2.8 + 1e-5
    assert np.abs(params["shift_y"]).max() <= 1.4 + 1e-5
    assert np.abs(params["shift_y"]).max() > 1.35
    # one factor per axis, drawn independently
    assert abs(np.corrcoef(params["zoom_x"], params["zoom_y"])[0, 1]) < 0.1


def test_flips_happen_with_probability_one_half_and_never_when_off():
    on = AugmentSettings(horizontal_flip=True, vertical_flip=True)
    params = augment.transform_params(4000, on, 11)
    for name in ("flip_h", "flip_v"):
        rate = params[name].numpy().mean()
        assert 0.46 < rate < 0.54, (name, rate)  # 4000 coins: sd 0.008
    off = augment.transform_params(4000, AugmentSettings(), 11)  # no vertical flip
    assert off["flip_v"].numpy().max() == 0.0


def test_same_seed_same_output_and_different_seed_different():
    images = random_images()
    settings = AugmentSettings()
    first = augment.augment_batch(images, settings, seed=7).numpy()
    again = augment.augment_batch(images, settings, seed=7).numpy()
    other = augment.augment_batch(images, settings, seed=8).numpy()
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).mean() > 1.0


def test_a_seed_pair_is_accepted_like_an_int():
    images = random_images(2)
    pair = augment.augment_batch(images, AugmentSettings(), seed=[4, 0]).numpy()
    plain = augment.augment_batch(images, AugmentSettings(), seed=4).numpy()
    np.testing.assert_array_equal(pair, plain)


# Fill modes


def test_constant_fill_uses_the_fill_value():
    image = np.full((1, 28, 28, 1), 10.0, np.float32)
    out = warp_one(image, "constant", 200.0, shift_x=5.0)
    np.testing.assert_allclose(out[0, :, :5, 0], 200.0)  # the vacated columns
    np.testing.assert_allclose(out[0, :, 5:, 0], 10.0)


def test_nearest_fill_repeats_the_edge_pixel():
    image = random_images(1)
    out = warp_one(image, "nearest", shift_x=4.0)
    np.testing.assert_allclose(out[0, :, :4, 0], np.repeat(image[0, :, :1, 0], 4, 1))


def test_reflect_fill_mirrors_about_the_edge():
    image = random_images(1)
    out = warp_one(image, "reflect", shift_x=3.0)
    # (c b a | a b c): vacated columns 0, 1, 2 show source columns 2, 1, 0
    np.testing.assert_allclose(out[0, :, :3, 0], image[0, :, 2::-1, 0], atol=1e-3)


def test_wrap_fill_tiles_the_picture_like_numpy_roll():
    image = random_images(1)
    out = warp_one(image, "wrap", shift_x=5.0, shift_y=-3.0)
    rolled = np.roll(image, (-3, 5), axis=(1, 2))
    np.testing.assert_allclose(out, rolled, atol=1e-3)


def test_fill_modes_differ_where_the_picture_has_moved_away():
    image = random_images(1)
    outs = {
        mode: warp_one(image, mode, 0.0, angle=20.0, shift_x=6.0)
        for mode in ("nearest", "constant", "reflect", "wrap")
    }
    for a in outs:
        for b in outs:
            if a < b:
                assert np.abs(outs[a] - outs[b]).max() > 10, (a, b)


# Inside tf.data and tf.function (how training uses it)


def make_batches(n: int = 50, batch: int = 16) -> tf.data.Dataset:
    """Three full batches and a partial one of 2, as ``.batch`` leaves it."""
    labels = np.arange(n) % 24
    return tf.data.Dataset.from_tensor_slices((random_images(n), labels)).batch(batch)


def epoch(ds: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def test_augment_dataset_in_a_pipeline_keeps_labels_and_varies_by_epoch():
    ds = make_batches()
    augmented = augment.augment_dataset(ds, AugmentSettings(), seed=2)
    x1, y1 = epoch(augmented)
    x2, y2 = epoch(augmented)
    x0, y0 = epoch(ds)
    assert x1.shape == (50, 28, 28, 1) and x1.dtype == np.float32
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(y2, y0)
    assert np.abs(x1 - x0).mean() > 1.0  # augmented at all
    assert np.abs(x1 - x2).mean() > 1.0  # a new draw each epoch
    batches = [x for x, _ in augmented.take(2)]
    assert np.abs(batches[0].numpy() - batches[1].numpy()).mean() > 1.0


def test_augment_dataset_is_reproducible_from_its_seed():
    first = augment.augment_dataset(make_batches(), AugmentSettings(), seed=9)
    second = augment.augment_dataset(make_batches(), AugmentSettings(), seed=9)
    other = augment.augment_dataset(make_batches(), AugmentSettings(), seed=10)
    run_a = [epoch(first)[0], epoch(first)[0]]
    run_b = [epoch(second)[0], epoch(second)[0]]
    np.testing.assert_array_equal(run_a[0], run_b[0])
    np.testing.assert_array_equal(run_a[1], run_b[1])
    assert np.abs(run_a[0] - epoch(other)[0]).mean() > 1.0


def test_augment_batch_runs_in_a_tf_function_with_unknown_batch_size():
    spec = tf.TensorSpec([None, 28, 28, 1], tf.float32)
    graph = tf.function(
        lambda x: augment.augment_batch(x, AugmentSettings(), 3), input_signature=[spec]
    )
    images = random_images(5)
    out = graph(images).numpy()
    eager = augment.augment_batch(images, AugmentSettings(), 3).numpy()
    assert out.shape == images.shape
    np.testing.assert_allclose(out, eager, atol=1e-3)


def test_uint8_input_is_accepted_and_comes_back_float32():
    images = random_images(2).astype(np.uint8)
    out = augment.augment_batch(images, AugmentSettings(), 1)
    assert out.dtype == tf.float32 and out.shape == (2, 28, 28, 1)


# Against ImageDataGenerator itself


def generator_class():
    pytest.importorskip("scipy", reason="ImageDataGenerator's warp needs scipy")
    try:
        from keras.src.legacy.preprocessing.image import ImageDataGenerator
    except ImportError:  # pragma: no cover - depends on the Keras version
        pytest.skip("this Keras has no legacy ImageDataGenerator to compare with")
    return ImageDataGenerator


CASES = [
    {"angle": 17.0, "zoom_x": 1.08, "zoom_y": 0.93, "shift_x": 2.3, "shift_y": -1.7},
    {"angle": -8.0, "zoom_x": 0.91, "zoom_y": 1.1, "shift_x": -2.8, "flip_v": 1.0},
    {"angle": 9.5, "zoom_x": 1.0, "zoom_y": 1.05, "shift_y": 2.5, "flip_h": 1.0},
    # the far corner of what AugmentSettings allows: zoom and shifts near 1
    {"angle": 45.0, "zoom_x": 1.98, "zoom_y": 1.98, "shift_x": 27.5, "shift_y": -27.5},
]


# Our constant and wrap are scipy's grid-constant and grid-wrap (see warp()).
@pytest.mark.parametrize(
    "mode, scipy_mode",
    [
        ("nearest", "nearest"),
        ("reflect", "reflect"),
        ("constant", "grid-constant"),
        ("wrap", "grid-wrap"),
    ],
)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.filterwarnings("ignore:Please import `affine_transform`")
def test_pixels_match_image_data_generator_apply_transform(mode, scipy_mode, case):
    generator = generator_class()(fill_mode="nearest", cval=7.0)
    generator.fill_mode = scipy_mode  # passed straight on to scipy.ndimage
    image = random_images(1, seed=3)
    params = explicit(**case)
    expected = generator.apply_transform(
        image[0],
        {
            "theta": float(params["angle"][0]),
            "zx": float(params["zoom_x"][0]),
            "zy": float(params["zoom_y"][0]),
            "tx": -float(params["shift_x"][0]),
            "ty": -float(params["shift_y"][0]),
            "flip_horizontal": bool(params["flip_h"][0]),
            "flip_vertical": bool(params["flip_v"][0]),
        },
    )
    matrices = augment.affine_matrices(params)
    out = augment.warp(image, matrices, mode, 7.0).numpy()[0]
    np.testing.assert_allclose(out, expected, atol=0.01)  # of 0..255


def test_augment_grid_source_repeats_one_image_and_tiles_a_batch():
    one = np.arange(784, dtype=np.uint8).reshape(1, 28, 28)
    repeated = augment.augment_grid_source(one, 32)
    assert repeated.shape == (32, 28, 28, 1) and repeated.dtype == np.float32
    np.testing.assert_array_equal(repeated[31, :, :, 0], one[0])
    batch = np.stack([one[0], one[0] // 2, one[0] // 3])
    tiled = augment.augment_grid_source(batch, 5)
    np.testing.assert_array_equal(tiled[3, :, :, 0], batch[0])
    np.testing.assert_array_equal(tiled[4, :, :, 0], batch[1])


def test_preview_grid_cells_follow_the_parameters_it_reports():
    # Rotation only, on a lone pixel: each cell's bright spot must sit where
    # the reported angle puts it, so the page's table describes its grid.
    settings = AugmentSettings(
        rotation=40, zoom=0, width_shift=0, height_shift=0, horizontal_flip=False
    )
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 8, 20] = 255
    grid, drawn = augment.preview(image, settings, seed=3, rows=2, columns=4, scale=1)
    assert grid.shape == (2 * 29 - 1, 4 * 29 - 1) and grid.dtype == np.uint8
    assert np.ptp(drawn["angle"]) > 10  # the cells really differ
    x, y_up = 20 - CENTRE, CENTRE - 8
    for cell, angle in enumerate(np.deg2rad(drawn["angle"])):
        top, left = (cell // 4) * 29, (cell % 4) * 29
        picture = grid[top : top + 28, left : left + 28].astype(np.float32)
        row, col = centroid(picture[np.newaxis, :, :, np.newaxis])
        expected_col = CENTRE + x * np.cos(angle) - y_up * np.sin(angle)
        expected_row = CENTRE - (x * np.sin(angle) + y_up * np.cos(angle))
        assert row == pytest.approx(expected_row, abs=0.6), cell
        assert col == pytest.approx(expected_col, abs=0.6), cell
