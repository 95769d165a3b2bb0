"""core.spell: reading signs as a word, unsure letters, J/Z, reordering; and a
word made from real validation rows saved as PNG files reads back as itself."""

from __future__ import annotations

import numpy as np
import pytest

from core import images, spell
from core.labels import NUM_CLASSES, class_index


class FixedPredictor:
    """Answers with given probability rows, one per input, in order."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = np.asarray(rows, np.float32)
        self.calls = 0

    def probabilities(self, pixels):
        self.calls += 1
        assert np.asarray(pixels).shape == (len(self.rows), 28, 28)
        return self.rows


def _confident(letter: str, p: float = 0.9, runner: str = "A") -> np.ndarray:
    row = np.full(NUM_CLASSES, (1 - p) * 0.2 / (NUM_CLASSES - 2), np.float32)
    row[class_index(runner)] = (1 - p) * 0.8
    row[class_index(letter)] = p
    return row


def test_signs_are_read_in_order_in_one_call():
    predictor = FixedPredictor([_confident(c) for c in "CAB"])
    readings = spell.read_signs(predictor, np.zeros((3, 28, 28)))
    assert spell.word_of(readings) == "CAB" and predictor.calls == 1
    assert spell.read_signs(predictor, np.zeros((0, 28, 28))) == []


def test_unsure_letter_is_marked_with_its_runner_up():
    predictor = FixedPredictor(
        [_confident("B", 0.9), _confident("K", 0.45, runner="V")]
    )
    sure, unsure = spell.read_signs(predictor, np.zeros((2, 28, 28)))
    assert not sure.unsure
    assert unsure.unsure and unsure.runner_up == "V"
    assert unsure.runner_up_probability == pytest.approx(0.44, abs=1e-6)


@pytest.mark.parametrize("word", ["jazz", "Zoo", "JOB"])
def test_words_needing_motion_letters_are_named_not_guessed(word):
    check = spell.check_word(word, "AOB")
    assert not check.spellable
    assert "motion" in check.message and word.upper() in check.message


def test_intended_word_is_compared_position_by_position():
    assert spell.check_word("cab", "CAB").message == "Read as CAB, as intended."
    check = spell.check_word("cab", "CAT")
    assert check.matches == (True, True, False) and "1 of 3" in check.message
    assert "letters A to Z" in spell.check_word("c4b", "CAB").message
    assert spell.check_word("  ", "CAB").message == ""


def test_reordering_and_removing_change_the_word():
    readings = spell.read_signs(
        FixedPredictor([_confident(c) for c in "CAB"]), np.zeros((3, 28, 28))
    )
    assert spell.word_of(spell.move(readings, 0, +2)) == "ABC"
    assert spell.word_of(spell.move(readings, 2, -1)) == "CBA"
    assert spell.word_of(spell.move(readings, 0, -5)) == "CAB"  # clamped
    assert spell.word_of(spell.remove(readings, 1)) == "CB"


def _trained_predictor():
    """The shipped default model, else the newest finished run, else skip."""
    from core import predict

    choices = predict.list_model_choices()
    if not choices:
        pytest.skip(
            "no trained model: neither models/default nor a finished run in the store"
        )
    default = [c for c in choices if c.source == "default"]
    return predict.load_choice(default[0] if default else choices[0])


@pytest.mark.slow
def test_a_word_of_validation_rows_saved_as_images_reads_back(real_data_dir):
    import pandas as pd

    from core.labels import to_class_indices

    predictor = _trained_predictor()
    frame = pd.read_csv(real_data_dir / "sign_mnist_test.csv.gz", nrows=1500)
    rows = frame.iloc[:, 1:].to_numpy(np.uint8).reshape(-1, 28, 28)
    classes = to_class_indices(frame["label"].to_numpy(), "kaggle")
    direct = predictor.probabilities(rows)

    word = "HELLO"
    chosen = []
    for letter in word:
        # a row of this letter that the model reads right from the row itself
        good = np.flatnonzero(
            (classes == class_index(letter)) & (direct.argmax(axis=1) == classes)
        )
        assert good.size, f"the model reads no validation row of {letter} right"
        chosen.append(rows[good[0]])

    files = [images.to_png(row) for row in chosen]
    pixels = np.stack(
        [images.prepare_bytes(data, f"{i}.png").pixels for i, data in enumerate(files)]
    )
    readings = spell.read_signs(predictor, pixels)
    assert spell.word_of(readings) == word
    assert spell.word_of(spell.move(readings, 0, +4)) == "ELLOH"
