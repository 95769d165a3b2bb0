"""The course CNN, built from a ``TrainConfig``, with contrast normalisation as
its first layer so every saved model carries its own preprocessing.

Input contract: ``(n, 28, 28, 1)`` float32 raw pixel values (any range; the
data set's are 0..255). Output: ``(n, 24)`` softmax probabilities over
``core.labels.LETTERS``.

Only layers that Keras can load in safe mode are used: the one custom layer is
registered by name, so ``keras.saving.load_model(path, safe_mode=True)`` works
once this module is imported.
"""

from __future__ import annotations

import keras
from keras import layers

from core.config import TrainConfig
from core.labels import NUM_CLASSES

INPUT_SHAPE = (28, 28, 1)
# Batch norm's moving statistics follow the batches at this rate. Keras's 0.99
# needs several hundred steps to forget its start values (mean 0, variance 1):
# a two-epoch demo on 2,000 rows (64 steps) ended with statistics half-way
# there and a model that read every letter as the same one at inference. 0.9
# settles within ~50 steps and changes nothing measurable on full trainings.
BN_MOMENTUM = 0.9


@keras.saving.register_keras_serializable(package="asl")
class MinMaxNormalize(layers.Layer):
    """Per-image contrast stretch: ``(x - min) / (max - min)`` to 0..1.

    Makes the model indifferent to brightness and contrast (``a * x + b`` with
    ``a > 0`` gives the same output), which is what differs most between the
    Kaggle CSVs, contrast-stretched copies, photos and drawings. A flat image
    (max == min) maps to all zeros instead of dividing by zero.
    """

    def call(self, inputs):
        ops = keras.ops
        low = ops.min(inputs, axis=(1, 2, 3), keepdims=True)
        high = ops.max(inputs, axis=(1, 2, 3), keepdims=True)
        span = ops.maximum(high - low, 1e-6)
        return (inputs - low) / span


def build_course_cnn(normalize: bool = True) -> keras.Model:
    """The course's network: Conv 75-50-25 with batch norm, pooling, dropout,
    Dense 512 and a 24-way softmax."""
    inputs = keras.Input(shape=INPUT_SHAPE, name="pixels")
    if normalize:
        x = MinMaxNormalize(name="contrast_normalize")(inputs)
    else:
        x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = layers.Conv2D(75, 3, padding="same", activation="relu")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.MaxPool2D(2, strides=2, padding="same")(x)
    x = layers.Conv2D(50, 3, padding="same", activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.MaxPool2D(2, strides=2, padding="same")(x)
    x = layers.Conv2D(25, 3, padding="same", activation="relu")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.MaxPool2D(2, strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(512, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="letters")(x)
    return keras.Model(inputs, outputs, name="course_cnn")


NETWORKS = {"course_cnn": build_course_cnn}


def build_model(config: TrainConfig) -> keras.Model:
    """The network named by ``config.network``, not yet compiled."""
    try:
        builder = NETWORKS[config.network]
    except KeyError:
        raise ValueError(f"unknown network {config.network!r}") from None
    return builder(normalize=config.normalize)
