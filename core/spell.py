"""Reading a sequence of signs as a word: one letter per 28x28 input, in order,
with the runner-up where the model is unsure, and a check against the word the
person meant (J and Z need motion, so a word containing them is named as
unspellable here instead of guessed).

Input contract: ``(n, 28, 28)`` raw pixels 0..255 (see ``core.predict``).
Deliberately not here: decoding files (``core.images``) and any widget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from core.labels import LETTERS, MOTION_LETTERS

# Below this top probability a letter is marked unsure and its runner-up shown.
# Half: the model then gives at least even odds to some other letter.
LOW_CONFIDENCE = 0.5

T = TypeVar("T")


@dataclass(frozen=True)
class Reading:
    """What the model reads in one sign."""

    letter: str
    probability: float
    runner_up: str
    runner_up_probability: float

    @property
    def unsure(self) -> bool:
        return self.probability < LOW_CONFIDENCE


def read_signs(predictor, pixels: np.ndarray) -> list[Reading]:
    """Every sign in one batched call: ``(n, 28, 28)`` -> n Readings, in order."""
    batch = np.asarray(pixels, dtype=np.float32)
    if batch.shape[0] == 0:
        return []
    probabilities = predictor.probabilities(batch)
    order = np.argsort(-probabilities, axis=1)
    readings = []
    for row, ranked in zip(probabilities, order):
        first, second = int(ranked[0]), int(ranked[1])
        readings.append(
            Reading(
                LETTERS[first], float(row[first]), LETTERS[second], float(row[second])
            )
        )
    return readings


def word_of(readings: Sequence[Reading]) -> str:
    return "".join(reading.letter for reading in readings)


@dataclass(frozen=True)
class WordCheck:
    """The intended word against what was read."""

    intended: str  # upper case, spaces removed
    message: str  # one sentence for the page ("" when there is nothing to say)
    spellable: bool  # False when the word needs J or Z or holds non-letters
    matches: tuple[bool, ...] = ()  # per position of the read word


def check_word(intended: str, read: str) -> WordCheck:
    """Compare what a person meant with what the model read."""
    word = "".join(intended.split()).upper()
    if not word:
        return WordCheck("", "", True)
    if not word.isascii() or not word.isalpha():
        return WordCheck(
            word, "Type the intended word with the letters A to Z only.", False
        )
    motion = sorted(set(word) & set(MOTION_LETTERS))
    if motion:
        needed = " and ".join(motion)
        return WordCheck(
            word,
            f"{word} needs {needed}, which are signed with motion: a still image "
            "cannot show them, so this word cannot be spelled here.",
            False,
        )
    matches = tuple(
        i < len(word) and letter == word[i] for i, letter in enumerate(read)
    )
    if read == word:
        message = f"Read as {word}, as intended."
    elif len(read) != len(word):
        message = (
            f"{len(read)} signs read as {read or 'nothing'}; "
            f"{word} has {len(word)} letters."
        )
    else:
        wrong = sum(not m for m in matches)
        message = f"Read as {read}: {wrong} of {len(word)} letters differ from {word}."
    return WordCheck(word, message, True, matches)


def move(items: Sequence[T], index: int, offset: int) -> list[T]:
    """A copy of ``items`` with item ``index`` moved by ``offset`` places
    (clamped to the ends)."""
    result = list(items)
    if not 0 <= index < len(result):
        return result
    target = min(max(index + offset, 0), len(result) - 1)
    result.insert(target, result.pop(index))
    return result


def remove(items: Sequence[T], index: int) -> list[T]:
    """A copy of ``items`` without item ``index``."""
    return [item for i, item in enumerate(items) if i != index]
