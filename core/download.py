"""Get the two CSVs onto a fresh machine: download them from Kaggle, or take
them out of Kaggle's ``archive.zip`` uploaded through the page.

Both paths validate like any other CSV (``core.data.parse_csv``) before
anything is used. A download goes to a temporary folder first; only two
validated files are moved into the data folder, each by an atomic rename, so
an interrupted or failed download leaves nothing half-written there. A zip is
read in memory and never extracted: members whose paths would escape a folder,
or a zip that would unpack to more than ``MAX_ZIP_UNPACKED_BYTES``, make the
whole archive refused; members other than the two CSVs are ignored.

Deliberately not here: streamlit, and any retry or mirror logic (when Kaggle
cannot be reached the sentence says so and ``MANUAL_STEPS`` say what to do).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from core import data, paths

log = logging.getLogger(__name__)

KAGGLE_HANDLE = "datamunge/sign-language-mnist"
KAGGLE_URL = "https://www.kaggle.com/datasets/datamunge/sign-language-mnist"
# The archive is about 63 MB; used only to turn bytes into a progress fraction.
EXPECTED_DOWNLOAD_BYTES = 63 * 2**20

MAX_ZIP_BYTES = 200 * 2**20  # the upload itself
MAX_ZIP_UNPACKED_BYTES = 1 * 2**30  # everything its members claim to unpack to
MAX_ZIP_MEMBERS = 10_000

MANUAL_STEPS = (
    f"Open {KAGGLE_URL} in a browser, download the archive (archive.zip), and "
    "either upload it on this page or unpack sign_mnist_train.csv and "
    "sign_mnist_test.csv into the data folder and reload the page."
)

_download_lock = threading.Lock()

# progress(fraction 0..1, what is happening) -- pages draw it, the CLI prints it
Progress = Callable[[float, str], None]


def _no_progress(fraction: float, text: str) -> None:
    pass


def _kaggle_download(dest: Path) -> Path:
    """Fetch the public data set into ``dest``; returns the folder it lies in.

    The only line that touches the network, so tests replace
    ``kagglehub.dataset_download`` and nothing else.
    """
    import kagglehub  # heavy import, only when someone asks for a download

    return Path(kagglehub.dataset_download(KAGGLE_HANDLE, output_dir=str(dest)))


def _explain_failure(error: BaseException) -> str:
    """One sentence for what went wrong while talking to Kaggle."""
    import requests

    # requests' errors are OSErrors too, so the specific ones come first
    if isinstance(error, requests.exceptions.ProxyError):
        what = "the proxy refused the connection to Kaggle"
    elif isinstance(error, requests.exceptions.SSLError):
        what = "the secure connection to Kaggle failed (a proxy may intercept it)"
    elif isinstance(error, requests.exceptions.HTTPError):
        code = getattr(getattr(error, "response", None), "status_code", None)
        what = f"Kaggle answered with an error{f' (HTTP {code})' if code else ''}"
    elif isinstance(
        error,
        requests.exceptions.ConnectionError | ConnectionError | socket.gaierror,
    ):
        what = "Kaggle could not be reached (this machine seems to be offline)"
    elif isinstance(error, requests.exceptions.Timeout | TimeoutError):
        what = "Kaggle did not answer in time"
    elif isinstance(error, OSError):
        reason = error.strerror or type(error).__name__
        what = f"the download could not be written to disk ({reason})"
    else:
        what = f"the download from Kaggle failed ({type(error).__name__})"
    return f"Downloading the data set failed because {what}."


def _folder_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _download_with_progress(dest: Path, progress: Progress) -> Path:
    """Run the download in a worker thread and report bytes on disk meanwhile
    (kagglehub reports only to a console progress bar)."""
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["path"] = _kaggle_download(dest)
        except BaseException as error:  # noqa: BLE001 -- handed to the caller
            outcome["error"] = error

    worker = threading.Thread(target=work, name="kaggle-download", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(timeout=0.5)
        got = _folder_bytes(dest)
        fraction = 0.05 + 0.8 * min(got / EXPECTED_DOWNLOAD_BYTES, 1.0)
        progress(fraction, f"Downloading from Kaggle: {got / 2**20:.0f} MB so far")
    if "error" in outcome:
        error = outcome["error"]
        assert isinstance(error, BaseException)
        raise data.DataError(_explain_failure(error)) from error
    return Path(str(outcome["path"]))


def _place(files: list[Path], target: Path) -> None:
    """Copy each file beside its final name, then rename: readers of
    ``target`` see either no file or a whole one."""
    placed: list[Path] = []
    partial: Path | None = None
    try:
        for source in files:
            fd, name = tempfile.mkstemp(prefix=f".{source.name}.", dir=target)
            os.close(fd)
            partial = Path(name)
            shutil.copyfile(source, partial)
            os.replace(partial, target / source.name)
            placed.append(target / source.name)
            partial = None
    except OSError as error:
        for path in placed:
            path.unlink(missing_ok=True)
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise data.DataError(
            "The validated CSVs could not be written into the data folder "
            f"({error.strerror or type(error).__name__})."
        ) from None


def download_dataset(target: Path | str, progress: Progress = _no_progress) -> Path:
    """Download Sign Language MNIST into ``target`` and return ``target``.

    Validates both CSVs before moving them in; raises ``DataError`` with one
    sentence on any failure (offline, proxy, Kaggle error, unexpected files),
    leaving ``target`` as it was.
    """
    # One download at a time per server: a room clicking at once gets one.
    if not _download_lock.acquire(blocking=False):
        raise data.DataError(
            "A download is already running; wait a minute and reload the page."
        )
    try:
        return _download_locked(Path(target), progress)
    finally:
        _download_lock.release()


def _download_locked(target: Path, progress: Progress) -> Path:
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise data.DataError(
            f"The data folder could not be created ({error.strerror})."
        ) from None
    if not os.access(target, os.W_OK):
        raise data.DataError("The data folder is read-only, so nothing was downloaded.")
    scratch_root = paths.cache_dir()
    scratch_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="download-", dir=scratch_root))
    try:
        progress(0.02, "Connecting to Kaggle")
        started = time.monotonic()
        folder = _download_with_progress(scratch / "kaggle", progress)
        log.info("downloaded %s in %.1f s", KAGGLE_HANDLE, time.monotonic() - started)
        progress(0.88, "Finding and validating the two CSVs")
        if not folder.is_dir():  # kagglehub returned a file or nothing useful
            folder = scratch
        train_path, valid_path = data.find_csvs_nested(folder)
        for path in (train_path, valid_path):
            data.parse_csv(path, path.name)
        progress(0.95, "Moving the CSVs into the data folder")
        _place([train_path, valid_path], target)
        progress(1.0, "Done")
        return target
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# --- Kaggle's archive.zip, uploaded ----------------------------------------


def _unsafe_member(name: str) -> bool:
    """True for a member path that would land outside the folder it unpacks to."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return True
    return ".." in PurePosixPath(normal).parts


def read_zip(
    upload: bytes, zip_name: str, scheme: str | None = None
) -> tuple[data.Split, data.Split]:
    """The training and validation splits inside a zip, validated.

    Only the two CSVs (by either naming, plain or .gz, at any depth; the
    shallowest wins) are read, each with a size cap; other members are
    ignored. Raises ``DataError`` for a hostile or unreadable archive.
    """
    if len(upload) > MAX_ZIP_BYTES:
        raise data.DataError(
            f"{zip_name} is {len(upload) / 2**20:.0f} MB, more than the "
            f"{MAX_ZIP_BYTES // 2**20} MB an archive may have here."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(upload))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise data.DataError(f"{zip_name} is not a readable zip archive.") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise data.DataError(
                f"{zip_name} holds {len(members)} files, too many to be the data set."
            )
        for member in members:
            if _unsafe_member(member.filename):
                raise data.DataError(
                    f"{zip_name} holds a path that leaves its folder "
                    f"({data.quote(member.filename)}), so it was refused."
                )
        unpacked = sum(member.file_size for member in members)
        if unpacked > MAX_ZIP_UNPACKED_BYTES:
            raise data.DataError(
                f"{zip_name} would unpack to {unpacked / 2**20:.0f} MB, more than "
                f"the {MAX_ZIP_UNPACKED_BYTES // 2**20} MB allowed, so it was refused."
            )
        by_depth = sorted(
            (m for m in members if not m.is_dir()),
            key=lambda m: (m.filename.count("/"), m.filename),
        )

        def pick(names: tuple[str, ...]) -> zipfile.ZipInfo | None:
            for base in names:
                for member in by_depth:
                    if PurePosixPath(member.filename).name in (base, base + ".gz"):
                        return member
            return None

        train = pick((data.TRAIN_NAME,))
        valid = pick((data.VALID_NAMES[0],)) or pick((data.VALID_NAMES[1],))
        if train is None or valid is None:
            raise data.DataError(
                f"{zip_name} holds no {data.TRAIN_NAME} and {data.VALID_NAMES[0]} "
                f"(or {data.VALID_NAMES[1]})."
            )
        splits = []
        for member in (train, valid):
            name = PurePosixPath(member.filename).name
            content = _read_member(archive, member, zip_name)
            splits.append(data.parse_csv(content, name, scheme))
    return splits[0], splits[1]


def _read_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, zip_name: str
) -> bytes:
    """A member's bytes, reading no more than the CSV cap whatever its header
    claims (a lying header must not unpack a bomb into memory)."""
    limit = data.MAX_CSV_BYTES
    try:
        with archive.open(member) as stream:
            content = stream.read(limit + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as error:
        raise data.DataError(
            f"{zip_name}: {data.quote(member.filename)} could not be unpacked "
            f"({type(error).__name__})."
        ) from None
    if len(content) > limit:
        raise data.DataError(
            f"{zip_name}: {data.quote(member.filename)} unpacks to more than "
            f"{limit // 2**20} MB, so the archive was refused."
        )
    return content
