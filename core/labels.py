"""The 24 letters of Sign Language MNIST and the two label schemes that name them.

J and Z need motion, so the data set has 24 static letters A..Y without J.
Two numberings of the same classes exist in the wild:

- ``kaggle``: one number per letter of the alphabet, 0..24 for A..Y, so 9 (J)
  never occurs (and 25, Z, neither);
- ``course``: the deep-learning course's copy renumbers them 0..23 with no gap
  (K becomes 9, Y becomes 23).

Everything else in the project works with *class indices* 0..23 into
``LETTERS``; this module is the one place that converts.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

LETTERS = "ABCDEFGHIKLMNOPQRSTUVWXY"  # 24 classes: no J, no Z (they need motion)
NUM_CLASSES = len(LETTERS)
MOTION_LETTERS = "JZ"

SCHEMES = ("kaggle", "course")
SCHEME_DESCRIPTIONS = {
    "kaggle": "Kaggle numbering: 0..24 for A..Y, 9 (J) unused",
    "course": "course numbering: 0..23 for A..Y with no gap",
}

# raw label -> class index, per scheme
_KAGGLE_TO_CLASS = {ord(letter) - ord("A"): i for i, letter in enumerate(LETTERS)}
_COURSE_TO_CLASS = {i: i for i in range(NUM_CLASSES)}
_TO_CLASS = {"kaggle": _KAGGLE_TO_CLASS, "course": _COURSE_TO_CLASS}


def valid_raw_labels(scheme: str) -> frozenset[int]:
    """The raw label values a file in ``scheme`` may contain."""
    return frozenset(_TO_CLASS[scheme])


def fitting_schemes(raw_labels: Iterable[int]) -> tuple[str, ...]:
    """The schemes whose value sets contain every label in ``raw_labels``.

    Returns ``()`` when no scheme fits, one name when the file is unambiguous,
    and both (Kaggle first, as the more common download) when the labels fit
    either numbering, e.g. a small file that has neither 9 nor 24.
    """
    present = {int(v) for v in np.unique(np.asarray(list(raw_labels)))}
    return tuple(s for s in SCHEMES if present <= valid_raw_labels(s))


def to_class_indices(raw_labels: np.ndarray, scheme: str) -> np.ndarray:
    """Map raw labels of ``scheme`` to class indices: int64 array in 0..23.

    Raises ``ValueError`` on a label the scheme does not have.
    """
    mapping = _TO_CLASS[scheme]
    lookup = np.full(max(mapping) + 1, -1, dtype=np.int64)
    for raw, cls in mapping.items():
        lookup[raw] = cls
    raw = np.asarray(raw_labels, dtype=np.int64)
    bad = (raw < 0) | (raw >= lookup.size)
    safe = np.where(bad, 0, raw)
    classes = np.where(bad, -1, lookup[safe])
    if (classes < 0).any():
        first = int(raw[np.argmax(classes < 0)])
        raise ValueError(f"label {first} is not part of the {scheme} scheme")
    return classes


def letter(class_index: int) -> str:
    """Class index 0..23 -> its letter."""
    return LETTERS[int(class_index)]


def class_index(letter_: str) -> int:
    """A letter A..Y (not J or Z) -> its class index 0..23."""
    up = letter_.upper()
    if up in MOTION_LETTERS:
        raise ValueError(f"{up} needs motion and is not in the data set")
    return LETTERS.index(up)
