"""The settings that name a training: augmentation settings and the training
configuration, as frozen dataclasses that hash to a stable run id.

Pure Python on purpose (no TensorFlow import), so pages can build and compare
configurations instantly. The run id is the training cache's key: the same
configuration on the same data (by fingerprint) is the same run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

FILL_MODES = ("nearest", "constant", "reflect", "wrap")
OPTIMIZERS = ("rmsprop", "adam")
SCHEDULES = ("constant", "cosine", "plateau")


@dataclass(frozen=True)
class AugmentSettings:
    """Random augmentation with the semantics of Keras's ImageDataGenerator.

    Defaults are the course's: rotation 10 degrees, zoom 0.1, shifts 0.1,
    horizontal flip on (left-handed signers exist), vertical flip off (hands
    are never upside down).
    """

    rotation: float = 10.0  # degrees; angle uniform in [-rotation, +rotation]
    zoom: float = 0.1  # factors uniform in [1 - zoom, 1 + zoom], one per axis
    width_shift: float = 0.1  # columns move by up to this fraction of the width
    height_shift: float = 0.1  # rows move by up to this fraction of the height
    horizontal_flip: bool = True  # mirrored with probability 1/2
    vertical_flip: bool = False  # upside-down with probability 1/2
    fill_mode: str = "nearest"  # one of FILL_MODES, for pixels from outside
    fill_value: float = 0.0  # used when fill_mode == "constant"

    def __post_init__(self) -> None:
        if self.fill_mode not in FILL_MODES:
            raise ValueError(f"fill mode must be one of {FILL_MODES}")
        if not 0 <= self.rotation <= 180:
            raise ValueError("rotation must be between 0 and 180 degrees")
        for name in ("zoom", "width_shift", "height_shift"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1)")

    @property
    def is_identity(self) -> bool:
        """True when no setting changes an image."""
        return (
            self.rotation == 0
            and self.zoom == 0
            and self.width_shift == 0
            and self.height_shift == 0
            and not self.horizontal_flip
            and not self.vertical_flip
        )


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training's result, and nothing else.

    ``network`` names a builder in ``core.model``; ``train_rows`` limits the
    training split to its first rows (0 = all), for quick demos and tests.
    """

    network: str = "course_cnn"
    epochs: int = 10
    batch_size: int = 32
    optimizer: str = "rmsprop"
    learning_rate: float = 0.001
    schedule: str = "constant"
    early_stopping: bool = False
    restore_best: bool = False
    normalize: bool = True  # per-image min-max contrast inside the model
    augment: bool = True
    augmentation: AugmentSettings = field(default_factory=AugmentSettings)
    seed: int = 0
    train_rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        values = dict(values)
        aug = values.pop("augmentation", {}) or {}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown training settings: {sorted(unknown)}")
        return cls(augmentation=AugmentSettings(**aug), **values)


def run_id(config: TrainConfig, data_fingerprint: str) -> str:
    """A short stable id for ``config`` trained on data with that fingerprint."""
    payload = json.dumps(
        {"config": config.to_dict(), "data": data_fingerprint}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
