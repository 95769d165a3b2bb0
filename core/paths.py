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
