"""Evaluation of a finished run and its export: per-letter accuracy from the
confusion matrix, which validation rows fall in a cell, and TFLite.

The confusion matrix and every validation prediction are computed once, in
the training process, and stored with the run (``summary.json`` and
``predictions.npz``), so a page shows them without loading TensorFlow. Only
the TFLite export and its check load the model.

Deliberately not here: drawing (the pages build the plotly figures).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from core import store
from core.labels import LETTERS, NUM_CLASSES

log = logging.getLogger(__name__)


def confusion(summary: dict) -> np.ndarray:
    """``(24, 24)`` int64 counts from a run summary: row = true letter,
    column = predicted letter."""
    matrix = np.asarray(summary.get("confusion", []), dtype=np.int64)
    if matrix.shape != (NUM_CLASSES, NUM_CLASSES):
        raise store.StoreError("This run's summary has no confusion matrix.")
    return matrix


def per_letter_accuracy(matrix: np.ndarray) -> np.ndarray:
    """``(24,)`` float: correct / total per true letter; NaN for a letter
    without validation rows."""
    totals = matrix.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / totals, np.nan)


def cell_rows(
    true: np.ndarray, pred: np.ndarray, true_class: int, predicted_class: int
) -> np.ndarray:
    """Indices of the validation rows of ``true_class`` read as
    ``predicted_class``: ``(k,)`` int64, in row order."""
    true, pred = np.asarray(true), np.asarray(pred)
    return np.flatnonzero((true == true_class) & (pred == predicted_class))


def most_confused(matrix: np.ndarray, k: int = 5) -> list[tuple[str, str, int]]:
    """The ``k`` largest off-diagonal cells as (true letter, read as, count)."""
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:k]
    cells = [np.unravel_index(i, off.shape) for i in order]
    return [(LETTERS[t], LETTERS[p], int(off[t, p])) for t, p in cells if off[t, p]]


def export_tflite(run_dir: Path) -> bytes:
    """The run's model (checksum-verified, safe mode) as a TFLite flatbuffer.
    Input ``(1, 28, 28, 1)`` float32 raw pixels, output ``(1, 24)``; the
    contrast normalisation layer is part of it."""
    import tensorflow as tf

    model = store.load_model(run_dir)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    flatbuffer = converter.convert()
    log.info("exported run %s to TFLite: %d bytes", Path(run_dir).name, len(flatbuffer))
    return flatbuffer


def tflite_probabilities(flatbuffer: bytes, images: np.ndarray) -> np.ndarray:
    """Run a TFLite model on ``images`` ``(n, 28, 28)`` or ``(n, 28, 28, 1)``
    raw pixels; returns ``(n, 24)`` float32 probabilities."""
    import warnings

    import tensorflow as tf

    x = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    entry = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(entry["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(entry["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def export_tflite_checked(run_dir: Path, images: np.ndarray) -> tuple[bytes, float]:
    """:func:`export_tflite` plus the share of ``images`` ``(n, 28, 28)`` on
    which the TFLite model reads the same letter as the Keras model."""
    flatbuffer = export_tflite(run_dir)
    model = store.load_model(run_dir)
    x = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28, 1)
    keras_letters = model.predict(x, verbose=0).argmax(axis=1)
    lite_letters = tflite_probabilities(flatbuffer, x).argmax(axis=1)
    return flatbuffer, float((keras_letters == lite_letters).mean())


def validation_images(fingerprint: str, dataset=None, store_root: Path | None = None):
    """The validation images ``(m, 28, 28)`` uint8 a run was evaluated on: from
    ``dataset`` when its fingerprint matches, else from the store's copy of
    that data; None when neither has them."""
    if dataset is not None and getattr(dataset, "fingerprint", None) == fingerprint:
        return np.asarray(dataset.valid_x)
    path = store.data_cache_path(fingerprint, store_root)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return arrays["valid_x"]
    except (OSError, KeyError, ValueError):
        log.warning("unreadable data copy %s", path.name)
        return None
