"""Suite-wide settings: quiet TensorFlow, and a ``real_data`` fixture that skips
with a reason where the shared Sign Language MNIST copy is absent."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from core import paths  # noqa: E402


@pytest.fixture(scope="session")
def real_data_dir():
    """The folder of the real gzipped Kaggle CSVs, or a skip saying where it looked."""
    if not (paths.SHARED_DATA_DIR / "sign_mnist_train.csv.gz").exists():
        pytest.skip(f"the real data set is not at {paths.SHARED_DATA_DIR}")
    return paths.SHARED_DATA_DIR
