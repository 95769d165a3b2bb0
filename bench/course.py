"""The course's own pipeline, ported only as far as TensorFlow 2.21 needs, as
the baseline every project figure is compared with.

What the course did (NVIDIA DLI "Getting started with deep learning", the ASL
augmentation notebook): read both CSVs with pandas, one-hot the labels
(``to_categorical``, 24 classes), divide the pixels by 255, reshape to
``(n, 28, 28, 1)``, build a ``Sequential`` CNN, augment with
``ImageDataGenerator(rotation_range=10, zoom_range=0.1, width_shift_range=0.1,
height_shift_range=0.1, horizontal_flip=True, vertical_flip=False)``, compile
with only a loss and a metric (so the default optimizer, RMSprop), and fit
``datagen.flow(x_train, y_train, batch_size=32)`` for 10 epochs with
``steps_per_epoch=len(x_train)/batch_size`` and the validation file.

The port changes exactly two things, both forced by Keras 3 (``bench.probe``
runs the unchanged code and records what breaks):

- ``img_iter.next()`` (the preview of one batch) becomes ``next(img_iter)``,
  which only affects the preview, not the training;
- ``steps_per_epoch`` must be an integer. ``len(x_train) // 32`` (857 here)
  is one step short of the iterator's 858 batches, and Keras 3 then does not
  restart the iterator between epochs: every second epoch gets the one batch
  left over and stops ("Your input ran out of data"). ``math.ceil(len /
  32)``, which is what the course's comment asks for ("the same number of
  steps we would if we were not using a generator"), trains every epoch on
  all the data. The default is ``ceil``; ``floor`` is kept to show the fault.

Also outside the course's code: labels in these files use Kaggle's numbering
(0..24 without 9), the course's copy used 0..23, so ``core.labels`` maps them
first (``to_categorical(y, 24)`` would fail on label 24); and the seeds are
fixed so that runs repeat, which the course did not do.

Array contract: ``x`` ``(n, 28, 28, 1)`` float64 in [0, 1] (pandas ``.values``
divided by 255), ``y`` ``(n, 24)`` float one-hot, as the course had them.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from core import labels

logger = logging.getLogger(__name__)

BATCH_SIZE = 32
NUM_CLASSES = 24
TRAIN_FILE = "sign_mnist_train.csv.gz"
VALID_FILE = "sign_mnist_test.csv.gz"  # the course calls it sign_mnist_valid.csv
DATAGEN_SETTINGS = dict(
    rotation_range=10,  # randomly rotate images in the range (degrees, 0 to 180)
    zoom_range=0.1,  # randomly zoom image
    width_shift_range=0.1,  # randomly shift images horizontally
    height_shift_range=0.1,  # randomly shift images vertically
    horizontal_flip=True,  # randomly flip images horizontally
    vertical_flip=False,  # don't randomly flip images vertically
)
RAN_OUT = "ran out of data"


def read_course_frames(folder: Path, rows: int = 0) -> tuple[pd.DataFrame, ...]:
    """Both CSVs as pandas frames, the way the course read them
    (``rows`` > 0 keeps the first rows of the training file only)."""
    from core.data import find_csvs

    train_file, valid_file = find_csvs(folder)  # either naming, plain or .gz
    train_df = pd.read_csv(train_file, nrows=rows or None)
    valid_df = pd.read_csv(valid_file)
    return train_df, valid_df


def course_arrays(train_df: pd.DataFrame, valid_df: pd.DataFrame) -> dict:
    """The course's preprocessing: labels out, one-hot, /255, reshape."""
    import keras

    out = {}
    for split, frame in (("train", train_df), ("valid", valid_df)):
        raw = frame["label"].to_numpy()
        # Kaggle numbering -> 0..23, which is what the course's copy had
        # (a course copy is already 0..23; the first fitting scheme is used).
        y = labels.to_class_indices(raw, labels.fitting_schemes(raw)[0])
        x = frame.drop(columns=["label"]).values
        out[f"y_{split}"] = keras.utils.to_categorical(y, NUM_CLASSES)
        out[f"x_{split}"] = (x / 255).reshape(-1, 28, 28, 1)
    return out


def image_data_generator_class():
    """Where ImageDataGenerator lives with TensorFlow 2.21 / Keras 3 (the
    course's import path still works and resolves to Keras's legacy module)."""
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    return ImageDataGenerator


def build_course_model():
    """The course's ``Sequential`` network, layer for layer as it wrote it
    (``input_shape`` on the first layer draws a Keras 3 warning, nothing more).

    Same layers as ``core.model.build_course_cnn`` without its first
    (rescaling) layer, since the course divided by 255 beforehand.
    """
    from tensorflow.keras.layers import (
        BatchNormalization,
        Conv2D,
        Dense,
        Dropout,
        Flatten,
        MaxPool2D,
    )
    from tensorflow.keras.models import Sequential

    model = Sequential()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.add(
            Conv2D(
                75,
                (3, 3),
                strides=1,
                padding="same",
                activation="relu",
                input_shape=(28, 28, 1),
            )
        )
    model.add(BatchNormalization())
    model.add(MaxPool2D((2, 2), strides=2, padding="same"))
    model.add(Conv2D(50, (3, 3), strides=1, padding="same", activation="relu"))
    model.add(Dropout(0.2))
    model.add(BatchNormalization())
    model.add(MaxPool2D((2, 2), strides=2, padding="same"))
    model.add(Conv2D(25, (3, 3), strides=1, padding="same", activation="relu"))
    model.add(BatchNormalization())
    model.add(MaxPool2D((2, 2), strides=2, padding="same"))
    model.add(Flatten())
    model.add(Dense(units=512, activation="relu"))
    model.add(Dropout(0.3))
    model.add(Dense(units=NUM_CLASSES, activation="softmax"))
    return model


def epoch_clock_callback(on_epoch=None):
    """A Keras callback recording, per epoch, wall seconds (training plus the
    validation pass), CPU seconds of this process (all threads), batches run
    and the logs; ``on_epoch(epoch, record)``
    is called after each epoch, e.g. to print progress."""
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.records = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()
            self._start_cpu = time.process_time()
            self._batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self._batches += 1

        def on_epoch_end(self, epoch, logs=None):
            now, cpu = time.perf_counter(), time.process_time()
            record = {
                "epoch": epoch + 1,
                "seconds": now - self._start,
                "cpu_seconds": cpu - self._start_cpu,
                "ended_at": now,
                "cpu_ended_at": cpu,
                "batches": self._batches,
                **{k: float(v) for k, v in (logs or {}).items()},
            }
            self.records.append(record)
            if on_epoch is not None:
                on_epoch(epoch + 1, record)

    return EpochClock()


def steps_for(rows: int, steps: str) -> int:
    """``steps_per_epoch`` as an integer: ``ceil`` (the course's intent, every
    image once an epoch) or ``floor`` (``len // 32``, which runs dry on Keras 3)."""
    if steps == "ceil":
        return math.ceil(rows / BATCH_SIZE)
    if steps == "floor":
        return rows // BATCH_SIZE
    raise ValueError(f"steps must be 'ceil' or 'floor', not {steps!r}")


def fit_counting_ran_out(model, img_iter, arrays, epochs, steps_per_epoch, clock):
    """``model.fit`` as the course called it; returns how many times Keras
    warned that the generator ran out of data."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(
            img_iter,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            validation_data=(arrays["x_valid"], arrays["y_valid"]),
            callbacks=[clock],
            verbose=0,
        )
    return sum(RAN_OUT in str(w.message) for w in caught)


def run_course_pipeline(
    arrays: dict, epochs: int, steps: str = "ceil", seed: int = 0, on_epoch=None
) -> dict:
    """Train the course network the course's way; per-epoch seconds and
    validation accuracy, plus the batches each epoch actually ran."""
    import keras

    started, started_cpu = time.perf_counter(), time.process_time()
    keras.utils.set_random_seed(seed)  # also seeds NumPy, which the generator uses
    ImageDataGenerator = image_data_generator_class()
    model = build_course_model()
    datagen = ImageDataGenerator(**DATAGEN_SETTINGS)
    x_train, y_train = arrays["x_train"], arrays["y_train"]
    img_iter = datagen.flow(x_train, y_train, batch_size=BATCH_SIZE)
    next(img_iter)  # the course previewed one batch here (img_iter.next())
    datagen.fit(x_train)
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    clock = epoch_clock_callback(on_epoch)
    steps_per_epoch = steps_for(len(x_train), steps)
    ran_out = fit_counting_ran_out(
        model, img_iter, arrays, epochs, steps_per_epoch, clock
    )
    return {
        "imagedatagenerator": f"{ImageDataGenerator.__module__}.ImageDataGenerator",
        "optimizer": type(model.optimizer).__name__,
        "parameters": int(model.count_params()),
        "train_rows": int(len(x_train)),
        "valid_rows": int(len(arrays["x_valid"])),
        "batch_size": BATCH_SIZE,
        "steps_per_epoch": steps_per_epoch,
        "steps": steps,
        "iterator_batches": len(img_iter),
        "ran_out_warnings": ran_out,
        "epoch_seconds": [r["seconds"] for r in clock.records],
        "elapsed": [r["ended_at"] - started for r in clock.records],
        "epoch_cpu_seconds": [r["cpu_seconds"] for r in clock.records],
        "cpu_elapsed": [r["cpu_ended_at"] - started_cpu for r in clock.records],
        "batches_per_epoch": [r["batches"] for r in clock.records],
        "val_accuracy": [r.get("val_accuracy") for r in clock.records],
        "accuracy": [r.get("accuracy") for r in clock.records],
    }


def time_generator_epoch(x: np.ndarray, y: np.ndarray, repeats: int) -> list[float]:
    """Seconds to draw one epoch of augmented batches from ImageDataGenerator
    with the course's settings, no training: ``repeats`` timed passes."""
    ImageDataGenerator = image_data_generator_class()
    datagen = ImageDataGenerator(**DATAGEN_SETTINGS)
    img_iter = datagen.flow(x, y, batch_size=BATCH_SIZE, seed=0)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for index in range(len(img_iter)):
            img_iter[index]
        seconds.append(time.perf_counter() - start)
    return seconds
