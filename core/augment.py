"""Random augmentation with the semantics of Keras's ImageDataGenerator, done as
ONE affine warp per batch.

The augmentation page and training both call this module, so what a person
sees on the page is exactly what the network trains on.

How a batch is augmented:

1. ``transform_params`` draws, per image, from one stateless uniform draw (so a
   seed reproduces it on any machine and inside ``tf.data`` graphs):

   - ``angle``: degrees, uniform in ``[-rotation, +rotation]``; positive turns
     the content counter-clockwise as displayed (as ImageDataGenerator does in
     Keras 3);
   - ``zoom_x`` (columns) and ``zoom_y`` (rows): independent, uniform in
     ``[1 - zoom, 1 + zoom]``. As in ImageDataGenerator the factor scales the
     *sampling grid*: a factor above 1 shows more of the picture (the hand gets
     smaller, "zoom out"), below 1 magnifies it ("zoom in");
   - ``shift_x`` (columns) and ``shift_y`` (rows): pixels, uniform in
     ``[-width_shift * width, +width_shift * width]`` and
     ``[-height_shift * height, +height_shift * height]``. Positive moves the
     content right (``shift_x``) or down (``shift_y``); at zoom 1 it moves by
     exactly that many pixels (under zoom by ``shift / zoom``, as in
     ImageDataGenerator, which shifts before it zooms);
   - ``flip_h`` and ``flip_v``: 1.0 with probability 1/2 when that flip is
     switched on, else 0.0; a flip mirrors the warped image (applied last).

2. ``affine_matrices`` composes rotation, zoom, shift and flips about the
   image centre ``((w - 1) / 2, (h - 1) / 2)`` into one output-to-input map per
   image, the 8-number projective form TensorFlow's ``ImageProjectiveTransformV3``
   takes, composed in ImageDataGenerator's ``apply_transform`` order (in
   centred coordinates ``input = R (Z F output + t)``: the flips ``F``
   mirror the warped picture, ``Z`` zooms the grid, ``t`` shifts it and ``R``
   rotates it).

3. ``augment_batch`` warps the whole batch at once, bilinear, with the fill
   mode for pixels that come from outside the picture: nearest and reflect as
   scipy's (ImageDataGenerator's); constant with ``fill_value`` as scipy's
   ``grid-constant``, which differs from the plain ``constant`` that
   ImageDataGenerator passes on only within a pixel of the border; wrap as
   ``grid-wrap``, a period of exactly the picture's size (scipy's plain
   ``wrap`` overlaps the first and last pixel, a period one pixel short, so
   ImageDataGenerator's wrapped-in content sits one pixel off). See ``warp``.

Mapping to ImageDataGenerator's ``apply_transform`` parameters in Keras 3:
``theta = angle``, ``zx = zoom_x``, ``zy = zoom_y``, ``tx = -shift_x``,
``ty = -shift_y`` (``tests/test_augment.py`` checks that the pixels agree).
Note that Keras 3's ImageDataGenerator draws ``tx`` from ``height_shift_range``
yet applies it to columns (and ``ty`` from ``width_shift_range`` to rows); on
the square 28x28 images with equal shift ranges, as in the course, the two are
the same distribution. This module does what the names say: the width shift
moves columns, the height shift moves rows.

Not done here on purpose: shear, brightness and channel shifts (the course did
not use them); sampling with NumPy's global RNG (ImageDataGenerator's), because
a stateless seed is what makes a page grid and a training run reproducible.

Array contract: images ``(b, h, w, c)`` float32, raw pixel values (the data
set's are 0..255); the output has the same shape and dtype.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import tensorflow as tf

from core.config import AugmentSettings
from core.data import montage

logger = logging.getLogger(__name__)

PARAM_NAMES = ("angle", "zoom_x", "zoom_y", "shift_x", "shift_y", "flip_h", "flip_v")

# ImageProjectiveTransformV3 spells the fill modes in upper case.
_TF_FILL_MODES = {
    "nearest": "NEAREST",
    "constant": "CONSTANT",
    "reflect": "REFLECT",
    "wrap": "WRAP",
}
_WRAP_TILES = 7  # odd: the picture itself is the centre tile (see warp)


def _seed_pair(seed) -> tf.Tensor:
    """Any seed (a Python int, or a shape-(2,) tensor/array) -> int64 ``(2,)``.

    A stateless random op needs a pair; a plain int ``s`` becomes ``(s, 0)``.
    """
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
    if seed.shape.rank == 0:
        seed = tf.stack([seed, tf.constant(0, tf.int64)])
    return tf.reshape(seed, [2])


def transform_params(
    n, settings: AugmentSettings, seed, height: int = 28, width: int = 28
) -> dict[str, tf.Tensor]:
    """Draw the random parameters of ``n`` transforms: a dict of ``(n,)`` float32
    tensors named as in ``PARAM_NAMES`` (see the module docstring for their
    ranges and directions).

    ``seed``: int or ``(2,)`` integer pair; the same seed gives the same draw.
    Works eagerly (call ``.numpy()`` on the values) and inside a ``tf.function``.
    """
    u = tf.random.stateless_uniform(
        tf.stack([tf.cast(n, tf.int32), len(PARAM_NAMES)]),
        seed=_seed_pair(seed),
        dtype=tf.float32,
    )

    def symmetric(column: int, half_width) -> tf.Tensor:
        return (2.0 * u[:, column] - 1.0) * tf.cast(half_width, tf.float32)

    def coin(column: int, enabled: bool) -> tf.Tensor:
        heads = tf.cast(u[:, column] < 0.5, tf.float32)
        return heads if enabled else tf.zeros_like(heads)

    return {
        "angle": symmetric(0, settings.rotation),
        "zoom_x": 1.0 + symmetric(1, settings.zoom),
        "zoom_y": 1.0 + symmetric(2, settings.zoom),
        "shift_x": symmetric(3, settings.width_shift * tf.cast(width, tf.float32)),
        "shift_y": symmetric(4, settings.height_shift * tf.cast(height, tf.float32)),
        "flip_h": coin(5, settings.horizontal_flip),
        "flip_v": coin(6, settings.vertical_flip),
    }


def affine_matrices(params, height: int = 28, width: int = 28) -> tf.Tensor:
    """The ``(n, 8)`` float32 output-to-input maps for ``params`` (as from
    ``transform_params``; numpy arrays or tensors of shape ``(n,)``).

    Row ``[a0, a1, a2, b0, b1, b2, 0, 0]`` sends output pixel ``(x, y)``
    (column, row) to input point ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``.
    With centred coordinates ``p = (x - cx, y - cy)``:
    ``q = F p`` (flips), ``input = R(angle) (Z q - shift) + c``, where
    ``R = [[cos, -sin], [sin, cos]]`` and ``Z = diag(zoom_x, zoom_y)``.
    Zero angle, unit zoom, no shift and no flips give exactly
    ``[1, 0, 0, 0, 1, 0, 0, 0]``.
    """

    def get(name: str) -> tf.Tensor:
        return tf.cast(tf.convert_to_tensor(params[name]), tf.float32)

    theta = get("angle") * (math.pi / 180.0)
    cos, sin = tf.cos(theta), tf.sin(theta)
    zx, zy = get("zoom_x"), get("zoom_y")
    sx, sy = get("shift_x"), get("shift_y")
    fx = 1.0 - 2.0 * get("flip_h")  # -1 mirrors columns about the centre
    fy = 1.0 - 2.0 * get("flip_v")
    cx = (tf.cast(width, tf.float32) - 1.0) / 2.0
    cy = (tf.cast(height, tf.float32) - 1.0) / 2.0

    # input - c = R (Z F (out - c) - s): the linear part is R Z F, the offset
    # follows. Each product keeps exact 0/1 entries at the identity.
    a0, a1 = cos * zx * fx, -sin * zy * fy
    b0, b1 = sin * zx * fx, cos * zy * fy
    a2 = cx - (a0 * cx + a1 * cy) - (cos * sx - sin * sy)
    b2 = cy - (b0 * cx + b1 * cy) - (sin * sx + cos * sy)
    zeros = tf.zeros_like(a0)
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def warp(images, matrices, fill_mode: str = "nearest", fill_value: float = 0.0):
    """Apply one ``(n, 8)`` transform per image of ``(n, h, w, c)`` float32
    ``images`` in a single batched op, bilinear. Returns ``(n, h, w, c)``
    float32.

    Fill modes as in ``scipy.ndimage``: ``nearest`` and ``reflect`` as their
    namesakes (what ImageDataGenerator passes on), ``constant`` as
    ``grid-constant`` (it blends toward ``fill_value`` across the one-pixel band
    past the border, where scipy's ``constant`` jumps), and ``wrap`` as
    ``grid-wrap``, the plain periodic tiling ``a b c d | a b c d``.
    """
    images = tf.cast(tf.convert_to_tensor(images), tf.float32)
    matrices = tf.cast(matrices, tf.float32)
    output_shape = tf.shape(images)[1:3]
    mode = _TF_FILL_MODES[fill_mode]
    if fill_mode == "wrap":
        # TensorFlow's WRAP blends the last column with fill_value instead of
        # the first one. Tile the picture 7x7 and sample the centre tile's
        # coordinates instead: with zoom factors < 2 and shifts < 1 picture a
        # sample lies under sqrt(2) * 2 = 2.9 picture sizes from the centre at
        # any angle (78 pixels at 28), inside the three tiles on each side, so
        # the periodic extension is exact.
        height, width = output_shape[0], output_shape[1]
        images = tf.tile(images, [1, _WRAP_TILES, _WRAP_TILES, 1])
        offset = tf.cast(tf.stack([width, height]), tf.float32) * (
            _WRAP_TILES // 2
        )
        matrices = matrices + tf.stack(
            [0.0, 0.0, offset[0], 0.0, 0.0, offset[1], 0.0, 0.0]
        )
        mode = "CONSTANT"
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=matrices,
        output_shape=output_shape,
        fill_value=tf.constant(fill_value, tf.float32),
        interpolation="BILINEAR",
        fill_mode=mode,
    )


def augment_batch(images, settings: AugmentSettings, seed):
    """Randomly augment a batch: ``(b, h, w, c)`` float32 (numpy or tensor) in,
    the same shape float32 ``tf.Tensor`` out.

    ``seed``: int or ``(2,)`` integer pair; same seed, same output. With
    ``settings.is_identity`` the input comes back unchanged (as float32).
    Usable eagerly and inside ``tf.data`` / ``tf.function``.
    """
    images = tf.cast(tf.convert_to_tensor(images), tf.float32)
    if settings.is_identity:
        return images
    shape = tf.shape(images)
    height, width = images.shape[1], images.shape[2]
    if height is None or width is None:  # unknown static size: use dynamic
        height, width = shape[1], shape[2]
    params = transform_params(shape[0], settings, seed, height=height, width=width)
    matrices = affine_matrices(params, height=height, width=width)
    return warp(images, matrices, settings.fill_mode, settings.fill_value)


def augment_dataset(ds: tf.data.Dataset, settings: AugmentSettings, seed: int):
    """Augment a BATCHED dataset of ``(x, y)``: ``x`` ``(b, h, w, c)`` float32,
    ``y`` passed through untouched.

    Each batch gets its own seed from ``tf.data.Dataset.random(seed)`` with
    ``rerandomize_each_iteration=True``: every epoch (every new iterator) sees
    new transforms, and the whole sequence of epochs is reproducible from
    ``seed``. Identity settings return ``ds`` itself.

    Like every seeded TensorFlow random op, the batch seeds also depend on
    TensorFlow's global seed when one is set (``tf.random.set_seed``,
    ``keras.utils.set_random_seed``): the same ``seed`` under the same global
    seed gives the same stream, in any process, whatever ran before. It works
    under ``tf.distribute`` strategies and ``model.fit`` alike.
    """
    if settings.is_identity:
        return ds
    batch_seeds = tf.data.Dataset.random(
        seed=int(seed), rerandomize_each_iteration=True
    )

    def augment(element, batch_seed):
        x, y = element
        pair = tf.stack([tf.constant(int(seed), tf.int64), batch_seed])
        return augment_batch(x, settings, pair), y

    logger.info("augmenting batches with %s, seed %d", settings, seed)
    return tf.data.Dataset.zip((ds, batch_seeds)).map(
        augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )


# --- the augmentation page's pictures ---------------------------------------


def augment_grid_source(images: np.ndarray, count: int) -> np.ndarray:
    """Repeat or tile ``(k, h, w)`` uint8 images to ``(count, h, w, 1)`` float32,
    the batch the augmentation page warps (one image repeated, or a batch)."""
    images = np.asarray(images)
    reps = -(-count // len(images))  # ceil
    tiled = np.concatenate([images] * reps)[:count]
    return tiled.astype(np.float32)[..., np.newaxis]


def random_rows(n: int, count: int, seed: int) -> np.ndarray:
    """``count`` distinct row indices in ``0..n-1`` (all of them, shuffled, when
    ``n < count``), the same for the same seed: ``(min(n, count),)`` int64."""
    rng = np.random.default_rng(seed)
    return rng.permutation(n)[:count].astype(np.int64)


def rows_of_class(y: np.ndarray, class_index: int) -> np.ndarray:
    """The row indices of ``y`` ((n,) class indices) holding ``class_index``."""
    return np.flatnonzero(np.asarray(y) == class_index).astype(np.int64)


def preview(
    images: np.ndarray,
    settings: AugmentSettings,
    seed: int,
    rows: int = 4,
    columns: int = 8,
    scale: int = 3,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One picture of ``rows * columns`` augmented versions of ``images``.

    ``images``: ``(k, 28, 28)`` uint8, repeated to fill the grid (one image
    gives that many versions of it). Returns the grid, ``(h, w)`` uint8 with
    each pixel ``scale`` x ``scale`` and a 1-pixel gap between cells, and the
    parameters each cell was drawn with (``(rows * columns,)`` numpy arrays,
    row by row), from the same seed and so the same draw as the warp.
    """
    count = rows * columns
    batch = augment_grid_source(images, count)
    height, width = batch.shape[1:3]
    warped = augment_batch(batch, settings, seed).numpy()
    cells = np.clip(np.rint(warped[..., 0]), 0, 255).astype(np.uint8)
    params = transform_params(count, settings, seed, height=height, width=width)
    drawn = {name: value.numpy() for name, value in params.items()}
    if settings.is_identity:  # nothing was drawn: show it as identity
        drawn = {name: np.zeros(count, np.float32) for name in PARAM_NAMES}
        drawn["zoom_x"][:] = drawn["zoom_y"][:] = 1.0
    return grid_of(cells, columns, scale), drawn


def grid_of(images: np.ndarray, columns: int = 8, scale: int = 3) -> np.ndarray:
    """``(k, 28, 28)`` uint8 images as one ``(h, w)`` uint8 picture, ``columns``
    wide, each pixel ``scale`` x ``scale``, 1-pixel gaps (``core.data.montage``)."""
    return montage(np.asarray(images), np.arange(len(images)), columns, scale=scale)
