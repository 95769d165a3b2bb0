"""Find, validate, load and fingerprint the Sign Language MNIST CSVs.

A data folder holds two CSVs by either naming: Kaggle's ``sign_mnist_train.csv``
and ``sign_mnist_test.csv``, or the course's ``sign_mnist_train.csv`` and
``sign_mnist_valid.csv``, each plain or gzipped. A file is accepted only whole:
header ``label,pixel1..pixel784``, exactly 785 columns, whole-number pixels in
0..255, no empty cell, and labels of a known scheme (``core.labels``). The first
problem becomes a ``DataError`` of one sentence naming the file, the data row
(1-based, the header not counted) and the column; nothing is half-loaded.

Parsing is pandas' C reader plus vectorised checks; the exact row and column
of a problem are worked out only when the fast path fails. Parsed files are
kept in an on-disk cache keyed by their content hash, so a restart loads them
in a fraction of a second.

Deliberately not here: streamlit (caching in memory is the page layer's job),
the Kaggle download and zip uploads (``core.download``), and any preprocessing
of pixels (the model normalises contrast itself).

Command line: ``python -m core.data check [folder]`` validates a folder,
``python -m core.data download [folder]`` fetches the data set from Kaggle.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import os
import re
import sys
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core import labels, paths

log = logging.getLogger(__name__)

IMAGE_SIDE = 28
NUM_PIXELS = IMAGE_SIDE * IMAGE_SIDE  # 784
HEADER = ("label",) + tuple(f"pixel{i}" for i in range(1, NUM_PIXELS + 1))
NUM_COLUMNS = len(HEADER)  # 785

TRAIN_NAME = "sign_mnist_train.csv"
# The held-out split: Kaggle calls it "test", the course "valid".
VALID_NAMES = ("sign_mnist_test.csv", "sign_mnist_valid.csv")
COMPRESSED_SUFFIXES = ("", ".gz")

# An upload bigger than this is refused before parsing (the real training file
# is 83 MB plain, 24 MB gzipped).
MAX_CSV_BYTES = 200 * 2**20
# Decompressed text bigger than this is refused too (a small .gz can unpack to
# gigabytes).
MAX_CSV_TEXT_BYTES = 400 * 2**20

# Bump when validation or the cached arrays change, so old cache entries die.
_PARSER_VERSION = 1
_CACHE_ENTRIES_KEPT = 8


class DataError(ValueError):
    """A user-caused data problem, worded as one sentence for the screen."""


@dataclass(frozen=True, eq=False)  # identity: arrays do not compare to one bool
class Split:
    """One parsed, validated CSV.

    ``x``: ``(n, 28, 28)`` uint8, raw pixels 0..255.
    ``raw_labels``: ``(n,)`` int64 as written in the file.
    ``schemes``: every label scheme the file's labels fit (Kaggle first).
    ``scheme``: the one used to map ``raw_labels`` to ``y``.
    ``y``: ``(n,)`` int64 class indices 0..23 into ``core.labels.LETTERS``.
    """

    name: str
    x: np.ndarray = field(repr=False)
    raw_labels: np.ndarray = field(repr=False)
    schemes: tuple[str, ...]
    scheme: str
    y: np.ndarray = field(repr=False)

    @property
    def rows(self) -> int:
        return int(self.y.shape[0])

    @property
    def ambiguous(self) -> bool:
        """True when the labels fit both schemes and one was assumed."""
        return len(self.schemes) > 1

    def with_scheme(self, scheme: str) -> Split:
        """The same file read with another label scheme (must fit)."""
        return _split_with_scheme(self.name, self.x, self.raw_labels, scheme)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A training split and a validation split, plus the fingerprint naming them.

    ``fingerprint``: sha256 of the decoded arrays, so the same images and
    classes give the same fingerprint as .csv or .csv.gz and in either label
    scheme. It is part of the training cache's key.
    ``source``: the data folder it came from, or ``"upload"``.
    """

    train: Split
    valid: Split
    fingerprint: str
    source: str

    def __eq__(self, other: object) -> bool:
        """The same data (by fingerprint) from the same place."""
        if not isinstance(other, Dataset):
            return NotImplemented
        return (self.fingerprint, self.source) == (other.fingerprint, other.source)

    def __hash__(self) -> int:
        return hash((self.fingerprint, self.source))

    @property
    def train_x(self) -> np.ndarray:  # (n, 28, 28) uint8
        return self.train.x

    @property
    def train_y(self) -> np.ndarray:  # (n,) int64 class indices 0..23
        return self.train.y

    @property
    def valid_x(self) -> np.ndarray:  # (m, 28, 28) uint8
        return self.valid.x

    @property
    def valid_y(self) -> np.ndarray:  # (m,) int64 class indices 0..23
        return self.valid.y


# --- finding the files -----------------------------------------------------


def _first_existing(folder: Path, name: str) -> Path | None:
    for suffix in COMPRESSED_SUFFIXES:
        candidate = folder / (name + suffix)
        if candidate.is_file():
            return candidate
    return None


def find_csvs(folder: Path | str) -> tuple[Path, Path]:
    """The training and validation CSV in ``folder``, by either naming.

    Raises ``DataError`` when the folder or either file is missing. Names are
    matched exactly (plain or ``.gz``); when both a test and a valid file are
    present, Kaggle's ``sign_mnist_test.csv`` wins.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("The data folder does not exist.")
    train = _first_existing(folder, TRAIN_NAME)
    valid = None
    for name in VALID_NAMES:
        valid = _first_existing(folder, name)
        if valid is not None:
            break
    missing = []
    if train is None:
        missing.append(f"{TRAIN_NAME}(.gz)")
    if valid is None:
        missing.append(f"{VALID_NAMES[0]}(.gz) or {VALID_NAMES[1]}(.gz)")
    if missing:
        raise DataError(f"The data folder has no {' and no '.join(missing)}.")
    return train, valid


def find_csvs_nested(folder: Path) -> tuple[Path, Path]:
    """Like ``find_csvs`` but anywhere below ``folder`` (a download or archive
    nests each CSV in a folder of its own name). The shallowest match wins."""
    found: dict[str, list[Path]] = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not path.is_symlink():
            found.setdefault(path.name, []).append(path)

    def shallowest(names: Sequence[str]) -> Path | None:
        hits = [
            p for n in names for s in COMPRESSED_SUFFIXES for p in found.get(n + s, [])
        ]
        return min(hits, key=lambda p: (len(p.parts), str(p))) if hits else None

    train = shallowest([TRAIN_NAME])
    valid = shallowest([VALID_NAMES[0]]) or shallowest([VALID_NAMES[1]])
    if train is None or valid is None:
        raise DataError(
            f"The download holds no {TRAIN_NAME} and {VALID_NAMES[0]} "
            f"(or {VALID_NAMES[1]})."
        )
    return train, valid


def pair_uploads(names: Sequence[str]) -> tuple[int, int]:
    """Which of two uploaded file names is the training and which the
    validation CSV: ``(train index, valid index)``.

    Browsers keep a file's own name, but people rename downloads, so any name
    holding "train" pairs with one holding "test" or "valid".
    """
    if len(names) != 2:
        raise DataError(
            f"Upload exactly two CSVs (training and test or valid), not {len(names)}."
        )
    lowered = [name.lower() for name in names]
    is_train = ["train" in name for name in lowered]
    is_valid = ["test" in name or "valid" in name for name in lowered]
    for train, valid in ((0, 1), (1, 0)):
        if is_train[train] and is_valid[valid] and not is_train[valid]:
            return train, valid
    raise DataError(
        "Tell the two uploads apart by name: one must contain 'train', the other "
        "'test' or 'valid' (like sign_mnist_train.csv and sign_mnist_test.csv)."
    )


# --- allowed folders (a browser must not browse the server) -----------------


def check_data_folder(text: str | Path) -> Path:
    """The folder a user typed, resolved, if it lies inside an allowed root.

    Relative paths count from the project folder. Symlinks are resolved before
    the check, so a link pointing out of a root is refused. The refusal names
    no server path: only what the user typed is theirs to see.
    """
    raw = str(text).strip()
    if not raw:
        raise DataError("Type a data folder, for example data.")
    if "\x00" in raw:
        raise DataError("That folder name holds a character no folder can have.")
    candidate = Path(raw).expanduser()
    if not candidate.is_absolute():
        candidate = paths.PROJECT_ROOT / candidate
    resolved = candidate.resolve()
    if not _inside_roots(resolved):
        raise DataError(
            "That folder is outside the allowed data folders (the project's data "
            "folder, ASL_DATA_DIR and ASL_DATA_ROOTS), so it was not opened."
        )
    return resolved


def _inside_roots(resolved: Path) -> bool:
    return any(
        resolved == root or resolved.is_relative_to(root) for root in paths.data_roots()
    )


def find_allowed_csvs(folder: Path) -> tuple[Path, Path]:
    """``find_csvs`` for a folder that passed ``check_data_folder``, refusing a
    CSV that is a symlink to a file outside the allowed roots (its contents
    would otherwise reach the screen through an error message)."""
    found = find_csvs(folder)
    for path in found:
        if not _inside_roots(path.resolve()):
            raise DataError(
                f"{path.name} links to a file outside the allowed data folders, "
                "so it was not opened."
            )
    return found


def display_path(folder: Path | str) -> str:
    """How to show a folder on screen: relative to the project when inside it,
    else as it is (callers show only folders that passed ``check_data_folder``)."""
    folder = Path(folder)
    try:
        return str(folder.resolve().relative_to(paths.PROJECT_ROOT)) or "."
    except ValueError:
        return str(folder)


# --- parsing ----------------------------------------------------------------


def _read_bytes(source: Path | bytes, name: str) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        try:
            size = Path(source).stat().st_size
            if size > MAX_CSV_BYTES:
                raise DataError(too_big_message(name, size))
            data = Path(source).read_bytes()
        except OSError as error:
            raise DataError(f"{name} could not be read ({error.strerror}).") from None
    if len(data) > MAX_CSV_BYTES:
        raise DataError(too_big_message(name, len(data)))
    return data


def too_big_message(name: str, size: int) -> str:
    """The sentence for a CSV over ``MAX_CSV_BYTES``."""
    return (
        f"{name} is {size / 2**20:.0f} MB, more than the {MAX_CSV_BYTES // 2**20} MB "
        "a CSV may have here."
    )


def _decompress(data: bytes, name: str) -> bytes:
    """Gzip is recognised by its magic bytes, whatever the file is called."""
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            text = stream.read(MAX_CSV_TEXT_BYTES + 1)
    except (OSError, EOFError, zlib.error):
        raise DataError(f"{name} is not a readable gzip file.") from None
    if len(text) > MAX_CSV_TEXT_BYTES:
        raise DataError(
            f"{name} unpacks to more than {MAX_CSV_TEXT_BYTES // 2**20} MB, "
            "too much for this data set."
        )
    return text


def _fast_parse(text: bytes, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Pixels and labels when every check passes, ``None`` when any fails.

    ``None`` sends the caller to ``_diagnose``, which finds the first problem's
    row and column; here only whole-array checks run, so a good file of 27,455
    rows costs one C-reader pass and a few vector operations.
    """
    import pandas as pd  # here, not at the top: a cached load needs no pandas

    try:
        frame = pd.read_csv(
            io.BytesIO(text), engine="c", dtype=np.int64, na_filter=False
        )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OverflowError):
        return None
    if tuple(frame.columns) != HEADER or len(frame) == 0:
        return None
    values = frame.to_numpy()  # (n, 785) int64
    pixels = values[:, 1:]
    if pixels.min() < 0 or pixels.max() > 255:
        return None
    raw_labels = np.ascontiguousarray(values[:, 0])
    if not labels.fitting_schemes(raw_labels):
        return None
    x = pixels.astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    return x, raw_labels


def quote(value: str) -> str:
    """A user's cell or name for a message: quoted, at most 20 characters."""
    shown = value if len(value) <= 20 else value[:20] + "..."
    return repr(shown)


def _diagnose(text: bytes, name: str) -> DataError:
    """The first problem in a file the fast path rejected, as one sentence.

    Goes row by row with the csv module: slow (seconds on the full file), but
    only ever run on a file that is already known to be bad.
    """
    try:
        decoded = text.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = text[: error.start].count(b"\n") + 1
        return DataError(f"{name} is not a text CSV (line {line} is not UTF-8).")
    reader = csv.reader(io.StringIO(decoded, newline=""))
    header = next(reader, None)
    if header is None:
        return DataError(f"{name} is empty.")
    if len(header) != NUM_COLUMNS:
        return DataError(
            f"{name}, header row: it has {len(header)} columns, but a Sign Language "
            f"MNIST CSV has exactly {NUM_COLUMNS} (label, pixel1..pixel{NUM_PIXELS})."
        )
    for column, (got, want) in enumerate(zip(header, HEADER, strict=True), start=1):
        if got != want:
            return DataError(
                f"{name}, header row, column {column}: expected {want!r} but found "
                f"{quote(got)}."
            )
    kaggle = labels.valid_raw_labels("kaggle")
    course = labels.valid_raw_labels("course")
    known = kaggle | course
    first_not_kaggle: tuple[int, int] | None = None  # (row, label)
    first_not_course: tuple[int, int] | None = None
    rows = 0
    for row, cells in enumerate(reader, start=1):
        if not cells:
            return DataError(f"{name}, row {row}: the row is empty.")
        if len(cells) != NUM_COLUMNS:
            return DataError(
                f"{name}, row {row}: it has {len(cells)} columns instead of "
                f"{NUM_COLUMNS}."
            )
        for column, cell in enumerate(cells):
            column_name = HEADER[column]
            where = f"{name}, row {row}, column {column_name}"
            if cell.strip() == "":
                return DataError(f"{where}: the cell is empty.")
            if not re.fullmatch(r"\s*[+-]?\d+\s*", cell):
                return DataError(f"{where}: {quote(cell)} is not a whole number.")
            value = int(cell)
            if column == 0:
                if value not in known:
                    return DataError(
                        f"{where}: {value} is not a label of either scheme "
                        "(Kaggle 0..24 without 9, course 0..23)."
                    )
                if value not in kaggle and first_not_kaggle is None:
                    first_not_kaggle = (row, value)
                if value not in course and first_not_course is None:
                    first_not_course = (row, value)
            elif not 0 <= value <= 255:
                return DataError(f"{where}: {value} is outside the pixel range 0..255.")
        rows += 1
    if rows == 0:
        return DataError(f"{name} has a header but no data rows.")
    if first_not_kaggle and first_not_course:
        return DataError(
            f"{name}, column label: the labels fit neither scheme, since "
            f"{first_not_kaggle[1]} at row {first_not_kaggle[0]} is not in Kaggle's "
            f"numbering and {first_not_course[1]} at row {first_not_course[0]} is "
            "not in the course's."
        )
    return DataError(f"{name} could not be read as a CSV of whole numbers.")


def _parse_text(text: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    parsed = _fast_parse(text, name)
    if parsed is None:
        raise _diagnose(text, name)
    return parsed


def _split_with_scheme(
    name: str, x: np.ndarray, raw_labels: np.ndarray, scheme: str | None
) -> Split:
    schemes = labels.fitting_schemes(raw_labels)
    if scheme is None:
        scheme = schemes[0]  # Kaggle when ambiguous: the more common download
    elif scheme not in labels.SCHEMES:
        raise DataError(f"There is no label scheme called {quote(scheme)}.")
    elif scheme not in schemes:
        allowed = labels.valid_raw_labels(scheme)
        bad = np.flatnonzero(~np.isin(raw_labels, list(allowed)))[0]
        raise DataError(
            f"{name}, row {bad + 1}, column label: {int(raw_labels[bad])} is not "
            f"in the {scheme} numbering, so the file cannot be read that way."
        )
    y = labels.to_class_indices(raw_labels, scheme)
    x.setflags(write=False)
    raw_labels.setflags(write=False)
    y.setflags(write=False)
    return Split(name, x, raw_labels, schemes, scheme, y)


def _cache_folder() -> Path:
    folder = paths.cache_dir() / "parsed"
    folder.mkdir(parents=True, exist_ok=True)
    marker = paths.cache_dir() / ".gitignore"
    if not marker.exists():
        marker.write_text("# derived files, rebuilt on demand\n*\n")
    return folder


def _cache_load(key: str) -> tuple[np.ndarray, np.ndarray] | None:
    path = paths.cache_dir() / "parsed" / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            x, raw_labels = stored["x"], stored["raw_labels"]
        if x.dtype != np.uint8 or x.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise ValueError("unexpected shape")
        if raw_labels.shape != x.shape[:1]:
            raise ValueError("labels do not match images")
    except (OSError, ValueError, KeyError, zlib.error) as error:
        log.warning("ignoring unreadable parse cache %s: %s", path.name, error)
        return None
    try:
        os.utime(path)  # most recently used entries survive pruning
    except OSError:
        pass
    return x, raw_labels.astype(np.int64, copy=False)


def _cache_store(key: str, x: np.ndarray, raw_labels: np.ndarray) -> None:
    """Write atomically; a failing cache only costs speed, never correctness."""
    try:
        folder = _cache_folder()
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, x=x, raw_labels=raw_labels)
        os.replace(tmp, folder / f"{key}.npz")
        entries = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-_CACHE_ENTRIES_KEPT]:
            old.unlink(missing_ok=True)
    except OSError as error:
        log.warning("could not write the parse cache: %s", error)


def parse_csv(source: Path | bytes, name: str, scheme: str | None = None) -> Split:
    """Parse and validate one CSV (plain or gzipped) from a file or bytes.

    ``name`` is what messages call the file (its own name, never a server
    path). ``scheme`` forces a label scheme; ``None`` detects it, assuming
    Kaggle when the labels fit both. Raises ``DataError`` naming the file, the
    1-based data row and the column of the first problem.
    """
    data = _read_bytes(source, name)
    key = hashlib.sha256(data).hexdigest() + f"-v{_PARSER_VERSION}"
    cached = _cache_load(key)
    if cached is None:
        x, raw_labels = _parse_text(_decompress(data, name), name)
        _cache_store(key, x, raw_labels)
        log.info("parsed %s: %d rows", name, len(raw_labels))
    else:
        x, raw_labels = cached
        log.info("loaded %s from the parse cache: %d rows", name, len(raw_labels))
    return _split_with_scheme(name, x, raw_labels, scheme)


# --- datasets ---------------------------------------------------------------


def fingerprint(train: Split, valid: Split) -> str:
    """sha256 of both splits' images and class indices (not raw labels)."""
    digest = hashlib.sha256()
    for split in (train, valid):
        x = np.ascontiguousarray(split.x, dtype=np.uint8)
        y = np.ascontiguousarray(split.y, dtype="<i8")
        digest.update(f"{x.shape}|{y.shape}|".encode())
        digest.update(x.tobytes())
        digest.update(y.tobytes())
    return digest.hexdigest()


def dataset_from_splits(train: Split, valid: Split, source: str) -> Dataset:
    return Dataset(train, valid, fingerprint(train, valid), str(source))


def load_dataset(
    folder: Path | str,
    scheme: str | None = None,
    *,
    train_scheme: str | None = None,
    valid_scheme: str | None = None,
) -> Dataset:
    """Find, parse and validate both CSVs of ``folder``.

    ``scheme`` forces the label scheme of both files; ``train_scheme`` and
    ``valid_scheme`` force one file's (they win over ``scheme``). ``None``
    everywhere detects each file's scheme.
    """
    train_path, valid_path = find_csvs(folder)
    train = parse_csv(train_path, train_path.name, train_scheme or scheme)
    valid = parse_csv(valid_path, valid_path.name, valid_scheme or scheme)
    return dataset_from_splits(train, valid, str(folder))


# --- summaries for display (kept here so pages hold no array maths) ---------


def class_counts(y: np.ndarray) -> np.ndarray:
    """``(24,)`` int64: how many images each class has."""
    return np.bincount(np.asarray(y, dtype=np.int64), minlength=labels.NUM_CLASSES)


def mean_images(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(24, 28, 28)`` float32 mean image per class, 0..255 (zeros if absent)."""
    sums = np.zeros((labels.NUM_CLASSES, NUM_PIXELS), dtype=np.float64)
    np.add.at(sums, y, x.reshape(len(x), NUM_PIXELS))
    counts = np.maximum(class_counts(y), 1)[:, None]
    return (sums / counts).reshape(-1, IMAGE_SIDE, IMAGE_SIDE).astype(np.float32)


def sample_indices(y: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """``(24, per_class)`` int64 row indices, drawn without replacement per
    class; -1 where a class has fewer rows than asked for."""
    rng = np.random.default_rng(seed)
    out = np.full((labels.NUM_CLASSES, per_class), -1, dtype=np.int64)
    for cls in range(labels.NUM_CLASSES):
        rows = np.flatnonzero(y == cls)
        chosen = rng.choice(rows, size=min(per_class, rows.size), replace=False)
        out[cls, : chosen.size] = np.sort(chosen)
    return out


def montage(
    x: np.ndarray, rows: np.ndarray, columns: int, scale: int = 2
) -> np.ndarray:
    """One picture of the images ``x[rows]`` in a grid ``columns`` wide.

    ``x``: ``(n, 28, 28)`` uint8; ``rows``: indices, -1 for an empty (black)
    cell. Returns ``(h, w)`` uint8, each pixel ``scale`` x ``scale`` (nearest)
    so small images stay crisp in a browser, with a 1-pixel gap between cells.
    """
    rows = np.asarray(rows, dtype=np.int64).ravel()
    lines = max(1, -(-rows.size // columns))
    cell = IMAGE_SIDE * scale
    out = np.zeros((lines * (cell + 1) - 1, columns * (cell + 1) - 1), np.uint8)
    for position, row in enumerate(rows):
        if row < 0:
            continue
        top = (position // columns) * (cell + 1)
        left = (position % columns) * (cell + 1)
        image = np.repeat(np.repeat(x[row], scale, axis=0), scale, axis=1)
        out[top : top + cell, left : left + cell] = image
    return out


# --- command line -----------------------------------------------------------


def _describe(dataset: Dataset) -> str:
    lines = []
    for split in (dataset.train, dataset.valid):
        note = " (labels fit both schemes; kaggle assumed)" if split.ambiguous else ""
        lines.append(f"{split.name}: {split.rows} rows, {split.scheme} labels{note}")
    lines.append(f"fingerprint {dataset.fingerprint[:16]}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m core.data",
        description="Check the Sign Language MNIST CSVs of a data folder, or "
        "download them from Kaggle into it (default: ASL_DATA_DIR, else data/).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate the CSVs of a data folder")
    check.add_argument("folder", nargs="?", default=None)
    fetch = commands.add_parser("download", help="download the data set from Kaggle")
    fetch.add_argument("folder", nargs="?", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    folder = Path(args.folder) if args.folder else paths.data_dir()
    try:
        if args.command == "download":
            from core import download

            def report(fraction: float, text: str) -> None:
                print(f"[{fraction:4.0%}] {text}", flush=True)

            download.download_dataset(folder, progress=report)
        print(_describe(load_dataset(folder)))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        if args.command == "check":
            print("(python -m core.data download fetches them)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
