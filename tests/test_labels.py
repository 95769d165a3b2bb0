"""core.labels: the 24 letters and the two label schemes that name them."""

import numpy as np
import pytest

from core import labels


def test_24_static_letters_without_j_and_z():
    assert labels.NUM_CLASSES == 24 and len(set(labels.LETTERS)) == 24
    assert "J" not in labels.LETTERS and "Z" not in labels.LETTERS
    assert labels.LETTERS[0] == "A" and labels.LETTERS[-1] == "Y"


def test_kaggle_scheme_follows_the_alphabet_and_skips_j():
    assert labels.valid_raw_labels("kaggle") == frozenset(range(25)) - {9}
    raw = np.array([0, 8, 10, 24])  # A, I, K, Y
    classes = labels.to_class_indices(raw, "kaggle")
    assert classes.dtype == np.int64
    assert [labels.letter(c) for c in classes] == ["A", "I", "K", "Y"]


def test_course_scheme_has_no_gap():
    assert labels.valid_raw_labels("course") == frozenset(range(24))
    classes = labels.to_class_indices(np.array([9, 23]), "course")
    assert [labels.letter(c) for c in classes] == ["K", "Y"]


def test_both_schemes_name_the_same_letters():
    for cls, letter_ in enumerate(labels.LETTERS):
        kaggle_raw = ord(letter_) - ord("A")
        assert labels.to_class_indices(np.array([kaggle_raw]), "kaggle")[0] == cls
        assert labels.to_class_indices(np.array([cls]), "course")[0] == cls


@pytest.mark.parametrize(
    "raw, expected",
    [
        ([0, 10, 24], ("kaggle",)),
        ([0, 9, 23], ("course",)),
        ([0, 1, 8], ("kaggle", "course")),
        ([9, 24], ()),
        ([25], ()),
        ([-1], ()),
    ],
)
def test_fitting_schemes(raw, expected):
    assert labels.fitting_schemes(raw) == expected


@pytest.mark.parametrize("scheme, raw", [("kaggle", 9), ("course", 24), ("kaggle", -1)])
def test_a_label_outside_the_scheme_is_refused(scheme, raw):
    with pytest.raises(ValueError, match=f"label {raw} is not part of the {scheme}"):
        labels.to_class_indices(np.array([0, raw]), scheme)


def test_letter_and_class_index_round_trip():
    for cls in range(labels.NUM_CLASSES):
        assert labels.class_index(labels.letter(cls).lower()) == cls
    with pytest.raises(ValueError, match="needs motion"):
        labels.class_index("J")
