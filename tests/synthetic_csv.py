"""Tiny Sign Language MNIST CSVs for tests: the real layout (header
``label,pixel1..pixel784``), a handful of rows, written where a test says."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from core.data import HEADER, NUM_PIXELS

# Labels that only Kaggle's numbering has (24 = Y) or only the course's (9 = K).
KAGGLE_LABELS = [0, 1, 2, 10, 24, 3]
COURSE_LABELS = [0, 1, 2, 9, 23, 3]
AMBIGUOUS_LABELS = [0, 1, 2, 3, 4, 5]  # no 9, no 24: fits both


def pixels(rows: int, seed: int = 0) -> np.ndarray:
    """``(rows, 784)`` int64 in 0..255, reproducible."""
    return np.random.default_rng(seed).integers(0, 256, size=(rows, NUM_PIXELS))


def csv_text(
    labels: list[int],
    seed: int = 0,
    header: list[str] | None = None,
    image_rows: np.ndarray | None = None,
) -> str:
    image_rows = pixels(len(labels), seed) if image_rows is None else image_rows
    lines = [",".join(HEADER if header is None else header)]
    for label, row in zip(labels, image_rows):
        lines.append(",".join([str(label)] + [str(v) for v in row]))
    return "\n".join(lines) + "\n"


def csv_bytes(labels: list[int], seed: int = 0, gz: bool = False, **kwargs) -> bytes:
    raw = csv_text(labels, seed, **kwargs).encode()
    return gzip.compress(raw, mtime=0) if gz else raw


def write_csv(path: Path, labels: list[int], seed: int = 0, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    gz = path.name.endswith(".gz")
    path.write_bytes(csv_bytes(labels, seed, gz=gz, **kwargs))
    return path


def write_folder(
    folder: Path,
    naming: str = "kaggle",
    gz: bool = False,
    train_labels: list[int] | None = None,
    valid_labels: list[int] | None = None,
) -> Path:
    """A data folder with a training and a validation CSV in either naming."""
    suffix = ".gz" if gz else ""
    valid_name = "sign_mnist_test.csv" if naming == "kaggle" else "sign_mnist_valid.csv"
    default = KAGGLE_LABELS if naming == "kaggle" else COURSE_LABELS
    write_csv(folder / f"sign_mnist_train.csv{suffix}", train_labels or default, 1)
    write_csv(folder / f"{valid_name}{suffix}", valid_labels or default, 2)
    return folder


def tamper(text: str, row: int, column: int, value: str) -> str:
    """``text`` with the cell at 1-based data ``row`` and 0-based ``column``
    (0 = label) replaced by ``value``."""
    lines = text.split("\n")
    cells = lines[row].split(",")
    cells[column] = value
    lines[row] = ",".join(cells)
    return "\n".join(lines)
