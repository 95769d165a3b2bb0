"""Augmentation alone, no training: seconds for one epoch of augmented batches
(batch 32) from the project's ``core.augment``, from the course's
ImageDataGenerator, and from Keras's preprocessing layers, on the same images.

Each figure is the median of ``repeats`` full passes after one untimed pass
(which builds the ``tf.data`` graph). The project's figure is the training
stream of ``core.train.make_train_dataset`` with augmentation minus the same
stream without it, so that gathering and casting the batches, which training
does either way, is not charged to augmentation; both streams are reported.

Used when ``bench/augment_speed.py`` (the augmentation engineer's) offers no
function this command can call; ``bench.__main__`` decides.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from bench import stats

BATCH_SIZE = 32


def _drain(dataset) -> None:
    for _ in dataset:
        pass


def time_project_stream(config, x: np.ndarray, y: np.ndarray, repeats: int) -> dict:
    """Seconds an epoch of the training stream with and without augmentation."""
    from core.train import make_train_dataset

    one_epoch = dataclasses.replace(config, epochs=1, batch_size=BATCH_SIZE)
    augmented = make_train_dataset(one_epoch, x, y, 0)
    plain = make_train_dataset(dataclasses.replace(one_epoch, augment=False), x, y, 0)
    with_aug = stats.repeat_timed(lambda: _drain(augmented), repeats, warmup=1)
    without = stats.repeat_timed(lambda: _drain(plain), repeats, warmup=1)
    return {"augmented_stream": with_aug, "plain_stream": without}


def time_keras_layers(x: np.ndarray, y: np.ndarray, repeats: int) -> list[float]:
    """Keras 3 preprocessing layers with the course's settings, mapped over
    batches in ``tf.data`` (parallel calls), raw 0..255 float32 images."""
    import keras
    import tensorflow as tf

    layers = keras.Sequential(
        [
            keras.layers.RandomRotation(10 / 360, fill_mode="nearest", seed=0),
            keras.layers.RandomZoom(0.1, 0.1, fill_mode="nearest", seed=1),
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=2),
            keras.layers.RandomFlip("horizontal", seed=3),
        ]
    )
    images = x.reshape(len(x), 28, 28, 1).astype(np.float32)
    dataset = (
        tf.data.Dataset.from_tensor_slices((images, y.astype(np.int32)))
        .batch(BATCH_SIZE)
        .map(
            lambda a, b: (layers(a, training=True), b),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(tf.data.AUTOTUNE)
    )
    return stats.repeat_timed(lambda: _drain(dataset), repeats, warmup=1)


def time_image_data_generator(x: np.ndarray, y: np.ndarray, repeats: int) -> list[float]:
    """ImageDataGenerator with the course's settings on ``x / 255``, as the
    course fed it (``bench.course.time_generator_epoch``)."""
    from bench import course

    images = (x.reshape(len(x), 28, 28, 1) / 255).astype(np.float32)
    onehot = np.eye(24, dtype=np.float32)[y]
    return course.time_generator_epoch(images, onehot, repeats)


def measure(config, x: np.ndarray, y: np.ndarray, repeats: int) -> dict:
    """All three, as seconds lists and medians an epoch."""
    project = time_project_stream(config, x, y, repeats)
    keras_layers = time_keras_layers(x, y, repeats)
    generator = time_image_data_generator(x, y, max(1, repeats // 2))
    project_s = max(
        0.0,
        stats.median(project["augmented_stream"]) - stats.median(project["plain_stream"]),
    )
    return {
        "rows": int(len(x)),
        "batch_size": BATCH_SIZE,
        "seconds_per_epoch": {
            "project": project_s,
            "project_stream_with_augmentation": stats.median(project["augmented_stream"]),
            "project_stream_without": stats.median(project["plain_stream"]),
            "keras_layers": stats.median(keras_layers),
            "imagedatagenerator": stats.median(generator),
        },
        "repeats": {
            "project": len(project["augmented_stream"]),
            "keras_layers": len(keras_layers),
            "imagedatagenerator": len(generator),
        },
    }
