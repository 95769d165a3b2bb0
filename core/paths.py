"""Where things live on disk: the project root, the data folder, the run store,
the shipped default model, and the shared real data used by tests.

Each location can be moved with an environment variable so that tests, the
command line and a workshop server can point at their own folders.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Default data root: where a user puts the CSVs.
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
# Finished and running trainings, one folder a run (the training cache).
DEFAULT_STORE_DIR = PROJECT_ROOT / "runs"
# The small model shipped in the repository, used when none was trained.
DEFAULT_MODEL_DIR = PROJECT_ROOT / "models" / "default"
# The real data set beside the checkout, for tests and benchmarks only.
SHARED_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "sign_mnist"


def data_dir() -> Path:
    """The data folder: ``ASL_DATA_DIR`` if set, else ``data/`` in the project."""
    return Path(os.environ.get("ASL_DATA_DIR") or DEFAULT_DATA_DIR)


def store_dir() -> Path:
    """The run store: ``ASL_STORE_DIR`` if set, else ``runs/`` in the project."""
    return Path(os.environ.get("ASL_STORE_DIR") or DEFAULT_STORE_DIR)


# Parsed CSVs, keyed by the file's content hash, so a restart loads in well
# under a second. Never inside a data folder (that may be read-only or shared).
DEFAULT_CACHE_DIR = PROJECT_ROOT / ".cache"


def cache_dir() -> Path:
    """Derived files: ``ASL_CACHE_DIR`` if set, else ``.cache/`` in the project."""
    return Path(os.environ.get("ASL_CACHE_DIR") or DEFAULT_CACHE_DIR)


def data_roots() -> tuple[Path, ...]:
    """The folders the data-folder field may point into, symlinks resolved.

    The project's ``data/``, the folder ``ASL_DATA_DIR`` names, and every folder
    in ``ASL_DATA_ROOTS`` (``os.pathsep``-separated). Anything else on the
    server stays out of reach of the browser (a room may be using it).
    """
    candidates = [DEFAULT_DATA_DIR, data_dir()]
    extra = os.environ.get("ASL_DATA_ROOTS", "")
    candidates += [Path(part) for part in extra.split(os.pathsep) if part.strip()]
    roots: list[Path] = []
    for candidate in candidates:
        root = candidate.expanduser().resolve()
        if root not in roots:
            roots.append(root)
    return tuple(roots)
