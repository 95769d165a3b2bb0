"""The data set every page works on, and how pages show user text safely.

The data page decides what is in use (a folder or an upload) and records it in
``st.session_state``; every other page calls ``current_dataset()`` or
``require_dataset()``. Without a choice the default data folder is used, so the
training or classify page works even if nobody opened the data page.

Parsed data is cached per server process with ``st.cache_resource``: the arrays
are read-only, so sessions share one copy instead of unpickling their own.
Deliberately not here: validation or any array maths (``core.data``).
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import numpy as np
import streamlit as st

from core import data, download, paths
from core.data import DataError, Dataset

# st.session_state key holding the data page's choice:
#   {"kind": "folder", "folder": str, "train_scheme": str|None, "valid_scheme": ...}
#   {"kind": "upload", "dataset": Dataset}
SELECTION_KEY = "data_selection"

_MARKDOWN_SPECIALS = set(string.punctuation)


# Streamlit's markdown links bare URLs and e-mail addresses even when escaped;
# a zero-width space after "://", "www" and "@" keeps them plain text.
_AUTOLINK = re.compile(r"(:(?=//)|(?<![^\W_])www(?=\.)|@)", re.IGNORECASE)


def escape_markdown(text: str) -> str:
    """``text`` with every ASCII punctuation mark backslash-escaped, so
    st.error / st.write show it literally: no links, images, HTML, colours,
    LaTeX or emphasis from a file name or a CSV cell."""
    unlinked = _AUTOLINK.sub(lambda m: m.group(0) + "\u200b", str(text))
    return "".join("\\" + c if c in _MARKDOWN_SPECIALS else c for c in unlinked)


def show_error(message: object) -> None:
    """One red sentence holding user text, rendered as text."""
    st.error(escape_markdown(str(message)))


def _file_key(folder: Path) -> tuple:
    """What identifies a folder's CSVs cheaply: names, sizes, change times."""
    try:
        found = data.find_allowed_csvs(folder)
    except DataError:
        return ()
    key = []
    for path in found:
        info = path.stat()
        key.append((path.name, info.st_size, info.st_mtime_ns))
    return tuple(key)


@st.cache_resource(show_spinner="Reading and checking the CSVs...", max_entries=4)
def _load_folder(
    folder: str, train_scheme: str | None, valid_scheme: str | None, files: tuple
) -> Dataset:
    # ``files`` is only part of the cache key: changed files load again.
    return data.load_dataset(
        folder, train_scheme=train_scheme, valid_scheme=valid_scheme
    )


def load_folder(
    folder: Path | str,
    train_scheme: str | None = None,
    valid_scheme: str | None = None,
) -> Dataset:
    """The data set of an allowed folder, parsed once per server process.

    Raises ``DataError`` (one sentence) for a folder outside the roots, missing
    files or a bad CSV.
    """
    resolved = data.check_data_folder(folder)
    data.find_allowed_csvs(resolved)  # missing files or links out: one sentence
    files = _file_key(resolved)
    return _load_folder(str(resolved), train_scheme, valid_scheme, files)


def forget_folder_cache() -> None:
    """After files changed under a folder (e.g. a download), read them afresh."""
    _load_folder.clear()


def dataset_from_folder(
    folder: Path, schemes: tuple[str | None, str | None] = (None, None)
) -> Dataset:
    """The data set of an allowed folder, with the user's scheme switches
    applied where a file's labels fit both; recorded as the current choice."""
    detected = load_folder(folder)
    chosen = tuple(
        s if s is not None and split.ambiguous and s in split.schemes else None
        for s, split in zip(schemes, (detected.train, detected.valid))
    )
    dataset = load_folder(folder, *chosen) if any(chosen) else detected
    select_folder(folder, *chosen)
    return dataset


def dataset_from_uploads(
    files: list, schemes: tuple[str | None, str | None] = (None, None)
) -> Dataset:
    """Uploaded files (two CSVs or one archive.zip) as the current data set.

    Parsed once per upload and scheme choice: the result is kept in this
    session's state, so reruns (every slider move) do not parse again.
    """
    cache_key = (tuple((f.file_id, f.size) for f in files), schemes)
    cached = st.session_state.get("data_upload_cache")
    if cached and cached[0] == cache_key:
        select_upload(cached[1])
        return cached[1]
    archives = [f for f in files if f.name.lower().endswith(".zip")]
    if archives and len(files) > 1:
        raise DataError("Upload either archive.zip or the two CSVs, not both.")
    if archives:
        train, valid = download.read_zip(archives[0].getvalue(), archives[0].name)
    else:
        too_big = [f for f in files if f.size > data.MAX_CSV_BYTES]
        if too_big:
            raise DataError(data.too_big_message(too_big[0].name, too_big[0].size))
        i_train, i_valid = data.pair_uploads([f.name for f in files])
        train = data.parse_csv(files[i_train].getvalue(), files[i_train].name)
        valid = data.parse_csv(files[i_valid].getvalue(), files[i_valid].name)
    if train.ambiguous and schemes[0] in train.schemes:
        train = train.with_scheme(schemes[0])
    if valid.ambiguous and schemes[1] in valid.schemes:
        valid = valid.with_scheme(schemes[1])
    dataset = data.dataset_from_splits(train, valid, "upload")
    st.session_state["data_upload_cache"] = (cache_key, dataset)
    select_upload(dataset)
    return dataset


def select_folder(
    folder: Path | str, train_scheme: str | None = None, valid_scheme: str | None = None
) -> None:
    st.session_state[SELECTION_KEY] = {
        "kind": "folder",
        "folder": str(folder),
        "train_scheme": train_scheme,
        "valid_scheme": valid_scheme,
    }


def select_upload(dataset: Dataset) -> None:
    st.session_state[SELECTION_KEY] = {"kind": "upload", "dataset": dataset}


def current_dataset() -> Dataset | None:
    """What the data page selected, else the default data folder; ``None``
    when neither gives a valid data set."""
    choice = st.session_state.get(SELECTION_KEY)
    try:
        if choice and choice["kind"] == "upload":
            return choice["dataset"]
        if choice and choice["kind"] == "folder":
            return load_folder(
                choice["folder"], choice["train_scheme"], choice["valid_scheme"]
            )
        return load_folder(paths.data_dir())
    except DataError:
        return None


def require_dataset() -> Dataset:
    """The current data set, or an st.info saying what to do and st.stop()."""
    dataset = current_dataset()
    if dataset is None:
        st.info(
            "No data set is loaded yet: open the **Data** page to download Sign "
            "Language MNIST in one click, upload its two CSVs, or choose a folder."
        )
        st.stop()
    return dataset


# --- pictures for the data page, cached by the data's fingerprint ------------


@st.cache_data(max_entries=16, show_spinner=False)
def _sample_grids(fingerprint: str, _dataset: Dataset, per_class: int, seed: int):
    chosen = data.sample_indices(_dataset.train_y, per_class, seed)
    columns = max(1, per_class // 2)
    # a white margin keeps neighbouring letters' grids apart on the page
    return [
        np.pad(data.montage(_dataset.train_x, rows, columns), 6, constant_values=255)
        for rows in chosen
    ]


def sample_grids(dataset: Dataset, per_class: int, seed: int = 0) -> list:
    """24 pictures (one a letter, A..Y), each a grid of ``per_class`` training
    images of that letter in two rows: ``(h, w)`` uint8."""
    return _sample_grids(dataset.fingerprint, dataset, per_class, seed)


@st.cache_data(max_entries=8, show_spinner=False)
def _mean_pictures(fingerprint: str, _dataset: Dataset):
    means = data.mean_images(_dataset.train_x, _dataset.train_y)
    pictures = np.clip(np.rint(means), 0, 255).astype(np.uint8)
    return [np.repeat(np.repeat(p, 3, axis=0), 3, axis=1) for p in pictures]


def mean_pictures(dataset: Dataset) -> list:
    """24 mean training images, one a letter: ``(84, 84)`` uint8 (3x, nearest)."""
    return _mean_pictures(dataset.fingerprint, dataset)
