"""The shipped default model (models/default) matches its card: the file's
sha256, its size, the command that made it (parsed by the training CLI itself
into the card's configuration), the data fingerprint and the validation
accuracy, re-measured on the real data where ../shared/data/sign_mnist exists.

Skips with a reason while the default model has not been produced yet.
"""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

from core import paths, predict
from core.config import TrainConfig

CARD_KEYS = {"command", "data_fingerprint", "val_accuracy", "sha256", "config"}
MAX_MODEL_BYTES = 5 * 2**20  # "a few MB": it lives in git
ACCURACY_TOLERANCE = 0.005  # half a percentage point: thread-order float noise


@pytest.fixture(scope="module")
def card():
    folder = paths.DEFAULT_MODEL_DIR
    if not (folder / "model.keras").is_file():
        pytest.skip(f"no default model yet at {folder / 'model.keras'}")
    if not (folder / "card.json").is_file():
        pytest.fail(f"{folder / 'model.keras'} ships without its card.json")
    return json.loads((folder / "card.json").read_text(encoding="utf-8"))


def test_card_names_everything(card):
    assert CARD_KEYS <= set(card), f"missing: {sorted(CARD_KEYS - set(card))}"
    assert 0 < card["val_accuracy"] <= 1
    assert len(card["data_fingerprint"]) >= 16


def test_card_checksum_and_size_match_the_file(card):
    path = paths.DEFAULT_MODEL_DIR / "model.keras"
    assert predict.sha256_file(path) == card["sha256"]
    assert path.stat().st_size <= MAX_MODEL_BYTES


def _training_arguments(command: str) -> list[str]:
    """The arguments given to ``core.train`` in the card's shell command."""
    words = shlex.split(command)
    assert "core.train" in words, f"not made by the training command: {command!r}"
    rest = words[words.index("core.train") + 1 :]
    for separator in ("&&", ";", "|", "||"):
        if separator in rest:
            rest = rest[: rest.index(separator)]
    return rest


def test_card_command_gives_the_card_configuration(card):
    from core import train

    args = train.build_parser().parse_args(_training_arguments(card["command"]))
    assert train.config_from_args(args) == TrainConfig.from_dict(card["config"])


def test_default_model_loads_safely_as_the_configured_network(card):
    from core.model import build_model

    model = predict.load_default_model()
    expected = build_model(TrainConfig.from_dict(card["config"]))
    assert model.count_params() == expected.count_params()
    probabilities = predict.Predictor(model).probabilities(np.zeros((2, 28, 28)))
    assert probabilities.shape == (2, 24)


@pytest.mark.slow
def test_card_fingerprint_and_accuracy_on_the_real_data(card, real_data_dir):
    from core import data

    dataset = data.load_dataset(real_data_dir)
    assert dataset.fingerprint == card["data_fingerprint"]
    predictor = predict.Predictor(predict.load_default_model())
    probabilities = np.concatenate(
        [
            predictor.probabilities(dataset.valid_x[start : start + 1024])
            for start in range(0, len(dataset.valid_x), 1024)
        ]
    )
    accuracy = float((probabilities.argmax(axis=1) == dataset.valid_y).mean())
    assert accuracy == pytest.approx(card["val_accuracy"], abs=ACCURACY_TOLERANCE)
