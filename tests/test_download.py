"""core.download: the one-click Kaggle download (with the network call replaced)
and Kaggle's archive.zip uploaded, including hostile archives."""

import io
import zipfile

import numpy as np
import pytest
import requests

from core import data, download, paths
from core.data import DataError
from tests.synthetic_csv import COURSE_LABELS, KAGGLE_LABELS, csv_bytes, write_csv


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("ASL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ASL_DATA_DIR", str(tmp_path / "root"))
    return tmp_path


def fake_kaggle(monkeypatch, writer):
    """Replace the one network call; ``writer(folder)`` fills the download."""
    calls = []

    def dataset_download(handle, path=None, *, force_download=False, output_dir=None):
        calls.append((handle, output_dir))
        writer(paths.Path(output_dir))
        return output_dir

    monkeypatch.setattr("kagglehub.dataset_download", dataset_download)
    return calls


def archive_layout(folder):
    """What Kaggle's archive unpacks to: each CSV also in a folder of its name,
    plus pictures that are not data."""
    for name, seed in (("sign_mnist_train", 1), ("sign_mnist_test", 2)):
        write_csv(folder / name / f"{name}.csv", KAGGLE_LABELS, seed)
        write_csv(folder / f"{name}.csv", KAGGLE_LABELS, seed)
    (folder / "amer_sign2.png").write_bytes(b"\x89PNG not really")


def failing(error):
    def writer(folder):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "archive.zip.part").write_bytes(b"half")  # a partial download
        raise error

    return writer


def test_download_places_two_validated_csvs(monkeypatch, tmp_path):
    calls = fake_kaggle(monkeypatch, archive_layout)
    target = tmp_path / "root"
    seen = []
    download.download_dataset(target, progress=lambda f, text: seen.append(f))
    assert calls and calls[0][0] == "datamunge/sign-language-mnist"
    assert sorted(p.name for p in target.iterdir()) == [
        "sign_mnist_test.csv",
        "sign_mnist_train.csv",
    ]
    dataset = data.load_dataset(target)
    assert dataset.train.rows == 6 and dataset.train.scheme == "kaggle"
    assert seen == sorted(seen) and seen[-1] == 1.0
    # the scratch folder is gone, and it never lived inside the data folder
    assert not any(paths.cache_dir().glob("download-*"))


def test_download_nested_only_layout(monkeypatch, tmp_path):
    def nested(folder):
        for name in ("sign_mnist_train", "sign_mnist_valid"):
            write_csv(folder / "deep" / name / f"{name}.csv", COURSE_LABELS)

    fake_kaggle(monkeypatch, nested)
    download.download_dataset(tmp_path / "root" / "new")
    assert data.load_dataset(tmp_path / "root" / "new").valid.scheme == "course"


def test_offline_download_says_so_and_writes_nothing(monkeypatch, tmp_path):
    fake_kaggle(monkeypatch, failing(requests.ConnectionError("no route to host")))
    target = tmp_path / "root"
    target.mkdir()
    with pytest.raises(DataError) as caught:
        download.download_dataset(target)
    message = str(caught.value)
    assert message == (
        "Downloading the data set failed because Kaggle could not be reached "
        "(this machine seems to be offline)."
    )
    assert list(target.iterdir()) == []
    assert not any(paths.cache_dir().glob("download-*"))
    assert "archive.zip" in download.MANUAL_STEPS  # the page shows these


@pytest.mark.parametrize(
    "error, words",
    [
        (requests.exceptions.ProxyError("407"), "proxy"),
        (requests.exceptions.ReadTimeout("slow"), "in time"),
        (RuntimeError("odd"), "RuntimeError"),
        (PermissionError(13, "Permission denied"), "written to disk"),
    ],
)
def test_other_download_failures_are_one_sentence(monkeypatch, tmp_path, error, words):
    fake_kaggle(monkeypatch, failing(error))
    with pytest.raises(DataError, match=words):
        download.download_dataset(tmp_path / "root")


def test_kaggle_http_error_names_the_status(monkeypatch, tmp_path):
    response = requests.Response()
    response.status_code = 403
    fake_kaggle(monkeypatch, failing(requests.HTTPError("no", response=response)))
    with pytest.raises(DataError, match=r"Kaggle answered with an error \(HTTP 403\)"):
        download.download_dataset(tmp_path / "root")


def test_download_of_a_bad_csv_is_not_placed(monkeypatch, tmp_path):
    def broken(folder):
        archive_layout(folder)
        text = (folder / "sign_mnist_test.csv").read_text().replace("\n0,", "\n0,,", 1)
        (folder / "sign_mnist_test.csv").write_text(text)

    fake_kaggle(monkeypatch, broken)
    target = tmp_path / "root"
    with pytest.raises(DataError, match="sign_mnist_test.csv, row 1"):
        download.download_dataset(target)
    assert not target.exists() or list(target.iterdir()) == []


def test_download_without_the_csvs_is_refused(monkeypatch, tmp_path):
    def readme_only(folder):
        folder.mkdir(parents=True)
        (folder / "readme.txt").write_text("hi")

    fake_kaggle(monkeypatch, readme_only)
    with pytest.raises(DataError, match="holds no sign_mnist_train.csv"):
        download.download_dataset(tmp_path / "root")


def test_cli_download(monkeypatch, tmp_path, capsys):
    fake_kaggle(monkeypatch, archive_layout)
    assert data.main(["download", str(tmp_path / "root")]) == 0
    out = capsys.readouterr().out
    assert "[100%] Done" in out and "sign_mnist_train.csv: 6 rows" in out


def test_cli_download_offline(monkeypatch, tmp_path, capsys):
    fake_kaggle(monkeypatch, failing(requests.ConnectionError("down")))
    assert data.main(["download", str(tmp_path / "root")]) == 1
    assert "could not be reached" in capsys.readouterr().err


# --- archive.zip uploads ---------------------------------------------------------


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def kaggle_zip(**extra: bytes) -> bytes:
    train, test = csv_bytes(KAGGLE_LABELS, 1), csv_bytes(KAGGLE_LABELS, 2)
    return make_zip(
        {
            "amer_sign2.png": b"\x89PNG",
            "sign_mnist_test.csv": test,
            "sign_mnist_test/sign_mnist_test.csv": test,
            "sign_mnist_train.csv": train,
            "sign_mnist_train/sign_mnist_train.csv": train,
            **extra,
        }
    )


def test_kaggle_archive_is_read_and_validated():
    train, valid = download.read_zip(kaggle_zip(), "archive.zip")
    assert (train.name, valid.name) == ("sign_mnist_train.csv", "sign_mnist_test.csv")
    assert train.rows == valid.rows == 6 and train.scheme == "kaggle"
    assert not np.array_equal(train.x, valid.x)


def test_archive_with_only_nested_gz_csvs():
    upload = make_zip(
        {
            "x/sign_mnist_train.csv.gz": csv_bytes(COURSE_LABELS, gz=True),
            "x/sign_mnist_valid.csv.gz": csv_bytes(COURSE_LABELS, gz=True),
        }
    )
    train, valid = download.read_zip(upload, "data.zip")
    assert train.scheme == valid.scheme == "course"


@pytest.mark.parametrize(
    "hostile", ["../../etc/cron.d/evil", "/etc/passwd", "a/../../b.csv", "C:\\x.csv"]
)
def test_zip_slip_paths_refuse_the_whole_archive(hostile):
    with pytest.raises(DataError, match="holds a path that leaves its folder"):
        download.read_zip(kaggle_zip(**{hostile: b"x"}), "archive.zip")


def test_zip_that_unpacks_too_big_is_refused(monkeypatch):
    monkeypatch.setattr(download, "MAX_ZIP_UNPACKED_BYTES", 50_000)
    upload = kaggle_zip(**{"padding.bin": bytes(60_000)})  # compresses to ~100 B
    with pytest.raises(DataError, match="would unpack to 0 MB, more than the 0 MB"):
        download.read_zip(upload, "archive.zip")


def test_member_bigger_than_the_csv_cap_is_refused(monkeypatch):
    monkeypatch.setattr(data, "MAX_CSV_BYTES", 10_000)
    with pytest.raises(DataError, match="unpacks to more than"):
        download.read_zip(kaggle_zip(), "archive.zip")


def test_oversized_or_broken_archive_is_refused(monkeypatch):
    with pytest.raises(DataError, match="not a readable zip archive"):
        download.read_zip(b"PK\x03\x04 definitely not", "archive.zip")
    monkeypatch.setattr(download, "MAX_ZIP_BYTES", 100)
    with pytest.raises(DataError, match="more than the 0 MB an archive may have"):
        download.read_zip(kaggle_zip(), "archive.zip")


def test_archive_without_the_csvs_or_with_a_bad_one():
    with pytest.raises(DataError, match="holds no sign_mnist_train.csv"):
        download.read_zip(make_zip({"notes.txt": b"hi"}), "archive.zip")
    broken = csv_bytes(KAGGLE_LABELS).replace(b"\n0,", b"\n0,300,", 1)
    upload = make_zip(
        {
            "sign_mnist_train.csv": csv_bytes(KAGGLE_LABELS),
            "sign_mnist_test.csv": broken,
        }
    )
    with pytest.raises(DataError, match="sign_mnist_test.csv, row 1"):
        download.read_zip(upload, "archive.zip")


def test_a_second_download_while_one_runs_is_refused(monkeypatch, tmp_path):
    calls = fake_kaggle(monkeypatch, archive_layout)
    with download._download_lock:  # someone else's download in progress
        with pytest.raises(DataError, match="already running"):
            download.download_dataset(tmp_path / "root")
    assert not calls
    download.download_dataset(tmp_path / "root")  # free again afterwards
    assert len(calls) == 1
