"""A loaded model + 28x28 inputs -> letters, probabilities, and why.

- :class:`Predictor` wraps one Keras model: probabilities for one or many
  inputs in a single compiled call (a ``tf.function``; ``model.predict`` costs
  tens of milliseconds of set-up per call), the top letters, and a saliency
  map.
- The saliency map is **Grad-CAM** on the last convolution (7x7 for the course
  CNN), upsampled and drawn over the user's own image. Chosen over raw input
  gradients because those are speckled pixel by pixel and, through the
  model's per-image min-max first layer, spike at the darkest and brightest
  pixel (on 50 validation rows, those two of 784 pixels carried a median 5.5 %
  of the gradient's magnitude, some 20 times their share). Grad-CAM is
  class-specific, smooth, costs one forward and one backward pass, and reads
  well over a photo; its limit is the coarse 4-pixel cells of a 7x7 grid.
- Model choice: every finished run of the store (newest first), then the
  shipped default model (``models/default``, checked against its card's
  sha256 and loaded in Keras safe mode).
- Reference images: for each letter, the training image closest to that
  letter's mean image, so a person can compare their hand with a typical one.

Input contract everywhere: ``(28, 28)``, ``(n, 28, 28)`` or ``(n, 28, 28, 1)``
raw pixel values (float or uint8, 0..255); probabilities come back ``(n, 24)``
float32 over ``core.labels.LETTERS``.

TensorFlow is imported only when a model is loaded or wrapped, so listing the
available models is instant. Caching a loaded model per server is the page
layer's job (``ui.classify_ui``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core import paths
from core.labels import LETTERS, NUM_CLASSES
from core.store import sha256_file  # the one checksum for runs and the default

log = logging.getLogger(__name__)

TOP_K = 5
OVERLAY_MIN_SIZE = 224  # smaller images are enlarged (square pixels) to overlay
MODEL_FILE = "model.keras"
CARD_FILE = "card.json"
DEFAULT_KEY = "default"
NO_MODEL_ADVICE = (
    "There is no model to classify with yet: train one on the **Training** page "
    "(a few epochs take a few minutes), or restore the shipped default model "
    "`models/default/model.keras` with `git checkout models/default`."
)


class ModelError(Exception):
    """A model that cannot be used; the message is one sentence for the user."""


# -- which models exist ------------------------------------------------------


@dataclass(frozen=True)
class ModelChoice:
    """One model the classify page can offer."""

    key: str  # "default" or "run:<run id>": stable across reruns, for widgets
    label: str  # what the page lists
    source: str  # "run" or "default"
    path: Path  # the run folder, or the default model's folder
    val_accuracy: float | None = None
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def default_model_dir() -> Path:
    return Path(paths.DEFAULT_MODEL_DIR)


def read_card(model_dir: Path | None = None) -> dict[str, Any] | None:
    """The default model's card, or None when there is no card or no model."""
    folder = Path(model_dir or default_model_dir())
    if not (folder / MODEL_FILE).is_file() or not (folder / CARD_FILE).is_file():
        return None
    try:
        card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        log.warning("the default model card in %s is unreadable", folder)
        return None
    return card if isinstance(card, dict) else None


def _accuracy_text(value: float | None) -> str:
    return "validation accuracy unknown" if value is None else (
        f"validation accuracy {value:.1%}"
    )


def _run_label(run) -> str:
    config = run.config
    accuracy = run.best_val_accuracy
    if accuracy is None:
        accuracy = run.final_val_accuracy
    parts = [f"run {run.run_id}", _accuracy_text(accuracy)]
    if config is not None:
        parts.append(
            f"{config.epochs} epochs, {config.optimizer} {config.learning_rate:g}, "
            f"augmentation {'on' if config.augment else 'off'}"
        )
    return " · ".join(parts)


def list_model_choices(
    store: Path | None = None, default_dir: Path | None = None
) -> list[ModelChoice]:
    """Finished runs of the store, newest first, then the default model."""
    from core import store as run_store

    choices: list[ModelChoice] = []
    for run in run_store.finished_runs(store):
        accuracy = run.best_val_accuracy
        if accuracy is None:
            accuracy = run.final_val_accuracy
        choices.append(
            ModelChoice(
                key=f"run:{run.run_id}",
                label=_run_label(run),
                source="run",
                path=run.path,
                val_accuracy=accuracy,
                details={"created": run.created},
            )
        )
    folder = Path(default_dir or default_model_dir())
    card = read_card(folder)
    if card is not None:
        accuracy = card.get("val_accuracy")
        accuracy = float(accuracy) if isinstance(accuracy, (int, float)) else None
        choices.append(
            ModelChoice(
                key=DEFAULT_KEY,
                label=f"shipped default model · {_accuracy_text(accuracy)}",
                source="default",
                path=folder,
                val_accuracy=accuracy,
                details={"command": str(card.get("command", ""))},
            )
        )
    return choices


def preferred_choice(
    choices: list[ModelChoice], just_trained: str | None = None
) -> int:
    """Index of the model to offer first: the run this person just trained, if
    it is among ``choices``; otherwise the most accurate one (on ties, the
    earlier: newest run first, the shipped model last).

    Picking the newest run blindly once made a two-epoch demo at chance level
    the classify page's model, in place of the shipped one at 99%.
    """
    if not choices:
        raise ValueError("no model to choose from")
    for index, choice in enumerate(choices):
        if just_trained is not None and choice.key == f"run:{just_trained}":
            return index
    accuracies = [
        -1.0 if choice.val_accuracy is None else choice.val_accuracy
        for choice in choices
    ]
    return max(range(len(choices)), key=lambda i: (accuracies[i], -i))


def load_default_model(model_dir: Path | None = None):
    """The shipped default model, after checking the file against the card's
    sha256; loaded in Keras safe mode. Raises ModelError (one sentence)."""
    folder = Path(model_dir or default_model_dir())
    card = read_card(folder)
    if card is None:
        raise ModelError("The default model or its card is missing.")
    path = folder / MODEL_FILE
    if sha256_file(path) != card.get("sha256"):
        raise ModelError(
            "The default model file does not match its card's checksum, so it is "
            "not loaded."
        )
    return _load_keras(path)


def _load_keras(path: Path):
    import keras

    import core.model  # noqa: F401 - registers the custom layer for safe mode

    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # noqa: BLE001 - any load failure is one sentence
        log.warning("loading %s failed: %r", path, error)
        raise ModelError(
            f"The model file {path.name} could not be loaded ({type(error).__name__})."
        ) from None


def load_choice(choice: ModelChoice) -> Predictor:
    """A Predictor for ``choice``; a changed or broken file raises ModelError."""
    if choice.source == "default":
        return Predictor(load_default_model(choice.path), name=choice.label)
    from core import store as run_store

    try:
        model = run_store.load_model(choice.path)
    except run_store.StoreError as error:
        raise ModelError(str(error)) from None
    except Exception as error:  # noqa: BLE001
        log.warning("loading run %s failed: %r", choice.path.name, error)
        raise ModelError(
            f"The model of run {choice.path.name} could not be loaded "
            f"({type(error).__name__})."
        ) from None
    return Predictor(model, name=choice.label)


# -- prediction --------------------------------------------------------------


@dataclass
class Prediction:
    """What the model says about one input."""

    probabilities: np.ndarray  # (24,) float32, sums to 1
    top: list[tuple[str, float]]  # the TOP_K letters, most probable first
    saliency: np.ndarray | None  # (28, 28) float32 in 0..1, Grad-CAM, or None

    @property
    def letter(self) -> str:
        return self.top[0][0]

    @property
    def probability(self) -> float:
        return self.top[0][1]

    @property
    def class_index(self) -> int:
        return int(np.argmax(self.probabilities))


def as_batch(pixels: np.ndarray) -> np.ndarray:
    """``(28, 28)``, ``(n, 28, 28)`` or ``(n, 28, 28, 1)`` -> ``(n, 28, 28, 1)``
    float32, contiguous."""
    batch = np.asarray(pixels, dtype=np.float32)
    if batch.ndim == 2:
        batch = batch[None]
    if batch.ndim == 3:
        batch = batch[..., None]
    if batch.ndim != 4 or batch.shape[1:] != (28, 28, 1):
        raise ValueError(f"expected 28x28 inputs, got shape {np.shape(pixels)}")
    return np.ascontiguousarray(batch)


def top_letters(probabilities: np.ndarray, k: int = TOP_K) -> list[tuple[str, float]]:
    """``(24,)`` probabilities -> the k most probable (letter, probability)."""
    order = np.argsort(-np.asarray(probabilities))[:k]
    return [(LETTERS[int(i)], float(probabilities[int(i)])) for i in order]


class Predictor:
    """One loaded model, ready to answer quickly from any thread."""

    def __init__(self, model, name: str = "model") -> None:
        import keras
        import tensorflow as tf

        self.model = model
        self.name = name
        spec = tf.TensorSpec((None, 28, 28, 1), tf.float32)
        self._forward = tf.function(
            lambda x: model(x, training=False), input_signature=[spec]
        )
        self._cam = self._make_grad_cam(model, keras, tf)
        self._forward(np.zeros((1, 28, 28, 1), np.float32))  # trace once, now

    @staticmethod
    def _make_grad_cam(model, keras, tf):
        """A compiled Grad-CAM for the model's last convolution, or None when
        the model has no convolution or no Dense head to take logits from."""
        convolutions = [
            layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
        ]
        head = model.layers[-1]
        if not convolutions or not isinstance(head, keras.layers.Dense):
            return None
        try:
            probe = keras.Model(model.inputs, [convolutions[-1].output, head.input])
        except Exception as error:  # noqa: BLE001 - saliency is optional
            log.info("no Grad-CAM for %s: %r", model.name, error)
            return None

        @tf.function(input_signature=[tf.TensorSpec((1, 28, 28, 1), tf.float32)])
        def grad_cam(x):
            with tf.GradientTape() as tape:
                features, penultimate = probe(x, training=False)
                tape.watch(features)
                # The pre-softmax score: a softmax output saturates at 1.0,
                # which would leave a confident prediction with no gradient.
                logits = tf.matmul(penultimate, head.kernel) + head.bias
                top = tf.argmax(logits[0])
                score = logits[0, top]
            grads = tape.gradient(score, features)
            weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
            cam = tf.nn.relu(tf.reduce_sum(features * weights, axis=-1))[0]
            return cam

        return grad_cam

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """Inputs (see module docstring) -> ``(n, 24)`` float32."""
        batch = as_batch(pixels)
        if batch.shape[0] == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        return np.asarray(self._forward(batch), dtype=np.float32)

    def saliency(self, pixels: np.ndarray) -> np.ndarray | None:
        """Grad-CAM of the top letter for one input: ``(28, 28)`` float32 in
        0..1 (1 = drove the top letter most), or None if unavailable."""
        if self._cam is None:
            return None
        cam = np.asarray(self._cam(as_batch(pixels)[:1]), dtype=np.float32)
        peak = float(cam.max())
        if peak <= 0:
            return np.zeros((28, 28), np.float32)
        from PIL import Image

        upsampled = Image.fromarray(cam / peak).resize(
            (28, 28), Image.Resampling.BILINEAR
        )
        return np.clip(np.asarray(upsampled, dtype=np.float32), 0.0, 1.0)

    def predict(self, pixels: np.ndarray, *, explain: bool = True) -> Prediction:
        """One input -> its Prediction (with Grad-CAM when ``explain``)."""
        probabilities = self.probabilities(pixels)[0]
        return Prediction(
            probabilities=probabilities,
            top=top_letters(probabilities),
            saliency=self.saliency(pixels) if explain else None,
        )


# -- pictures that explain ---------------------------------------------------


def reference_images(train_x: np.ndarray, train_y: np.ndarray) -> np.ndarray:
    """``(n, 28, 28)`` uint8 images and ``(n,)`` classes -> ``(24, 28, 28)``
    uint8: per letter, the training image nearest (L2) to the letter's mean.
    A letter with no image gets an all-zero picture."""
    x = np.asarray(train_x)
    y = np.asarray(train_y)
    references = np.zeros((NUM_CLASSES, 28, 28), dtype=np.uint8)
    for cls in range(NUM_CLASSES):
        members = np.flatnonzero(y == cls)
        if members.size == 0:
            continue
        images = x[members].reshape(members.size, -1).astype(np.float32)
        mean = images.mean(axis=0)
        nearest = members[int(np.argmin(((images - mean) ** 2).sum(axis=1)))]
        references[cls] = x[nearest]
    return references


def _heat_colours(heat: np.ndarray) -> np.ndarray:
    """``(h, w)`` in 0..1 -> ``(h, w, 3)`` float in 0..255: dark red to yellow."""
    heat = np.clip(heat, 0.0, 1.0)[..., None]
    stops = np.array([0.0, 0.35, 0.7, 1.0])
    colours = np.array(
        [[90, 0, 0], [220, 40, 0], [255, 150, 0], [255, 240, 0]], dtype=np.float32
    )
    out = np.empty(heat.shape[:2] + (3,), np.float32)
    for channel in range(3):
        out[..., channel] = np.interp(heat[..., 0], stops, colours[:, channel])
    return out


def overlay(
    preview: np.ndarray,
    heat: np.ndarray,
    square: tuple[float, float, float],
    strength: float = 0.55,
) -> np.ndarray:
    """Draw a 28x28 saliency map over the user's own image.

    ``preview``: ``(h, w, 3)`` uint8, the image the input was cut from;
    ``heat``: ``(28, 28)`` in 0..1; ``square``: (left, top, side) of the square
    of ``preview`` that became the 28x28 input (it may reach outside the
    preview where padding was added). Returns ``(h, w, 3)`` uint8, enlarged by
    a whole factor when the preview is smaller than OVERLAY_MIN_SIZE; pixels
    outside the square stay grey.
    """
    from PIL import Image

    left, top, side = square
    enlarge = -(-OVERLAY_MIN_SIZE // max(preview.shape[:2]))  # ceiling division
    if enlarge > 1:  # a tiny image (a 28x28 row): square pixels, not a blur
        preview = np.kron(preview, np.ones((enlarge, enlarge, 1), dtype=np.uint8))
        left, top, side = left * enlarge, top * enlarge, side * enlarge
    height, width = preview.shape[:2]
    side_px = max(1, int(round(side)))
    big = np.asarray(
        Image.fromarray(np.asarray(heat, np.float32)).resize(
            (side_px, side_px), Image.Resampling.BILINEAR
        ),
        dtype=np.float32,
    )
    full = np.zeros((height, width), np.float32)
    x0, y0 = int(round(left)), int(round(top))
    src_x0, src_y0 = max(0, -x0), max(0, -y0)
    dst_x0, dst_y0 = max(0, x0), max(0, y0)
    dst_x1, dst_y1 = min(width, x0 + side_px), min(height, y0 + side_px)
    if dst_x1 > dst_x0 and dst_y1 > dst_y0:
        full[dst_y0:dst_y1, dst_x0:dst_x1] = big[
            src_y0 : src_y0 + dst_y1 - dst_y0, src_x0 : src_x0 + dst_x1 - dst_x0
        ]
    gray = preview.astype(np.float32).mean(axis=2, keepdims=True) * 0.8
    alpha = (strength * np.clip(full, 0, 1))[..., None]
    blended = gray * (1 - alpha) + _heat_colours(full) * alpha
    return np.clip(blended, 0, 255).astype(np.uint8)
