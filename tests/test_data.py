"""core.data: finding, validating, caching and fingerprinting the CSVs, on tiny
synthetic files; one integration test on the real shared data."""

import gzip
import os

import numpy as np
import pytest

from core import data, labels, paths
from core.data import DataError
from tests.synthetic_csv import (
    AMBIGUOUS_LABELS,
    COURSE_LABELS,
    KAGGLE_LABELS,
    csv_bytes,
    csv_text,
    pixels,
    tamper,
    write_csv,
    write_folder,
)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Every test gets its own parse cache and data root, outside the project."""
    monkeypatch.setenv("ASL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ASL_DATA_DIR", str(tmp_path / "root"))
    monkeypatch.delenv("ASL_DATA_ROOTS", raising=False)
    (tmp_path / "root").mkdir()
    return tmp_path


def bad(text: str, name: str = "sign_mnist_train.csv") -> str:
    """The DataError message for a CSV with this text."""
    with pytest.raises(DataError) as caught:
        data.parse_csv(text.encode(), name)
    message = str(caught.value)
    assert "\n" not in message and message.endswith(".")  # one sentence
    assert name in message
    return message


# --- finding ---------------------------------------------------------------


@pytest.mark.parametrize("naming", ["kaggle", "course"])
@pytest.mark.parametrize("gz", [False, True])
def test_find_csvs_accepts_both_namings_plain_or_gz(tmp_path, naming, gz):
    folder = write_folder(tmp_path / "d", naming=naming, gz=gz)
    train, valid = data.find_csvs(folder)
    assert train.name.startswith("sign_mnist_train.csv")
    assert ("test" if naming == "kaggle" else "valid") in valid.name
    assert train.name.endswith(".gz") == gz


def test_find_csvs_names_what_is_missing(tmp_path):
    folder = tmp_path / "d"
    write_csv(folder / "sign_mnist_train.csv", KAGGLE_LABELS)
    with pytest.raises(DataError, match="sign_mnist_test.csv"):
        data.find_csvs(folder)
    with pytest.raises(DataError, match="does not exist"):
        data.find_csvs(tmp_path / "nowhere")


def test_find_csvs_nested_takes_the_shallowest_copy(tmp_path):
    write_csv(tmp_path / "sign_mnist_train" / "sign_mnist_train.csv", KAGGLE_LABELS)
    write_csv(tmp_path / "a" / "b" / "sign_mnist_test.csv", KAGGLE_LABELS)
    write_csv(tmp_path / "a" / "sign_mnist_test.csv", KAGGLE_LABELS)
    train, valid = data.find_csvs_nested(tmp_path)
    assert train.parent.name == "sign_mnist_train"
    assert valid.parent.name == "a"


# --- parsing and schemes -----------------------------------------------------


def test_parse_kaggle_file_gives_images_and_class_indices():
    split = data.parse_csv(csv_bytes(KAGGLE_LABELS, seed=3), "t.csv")
    assert split.x.shape == (6, 28, 28) and split.x.dtype == np.uint8
    assert split.raw_labels.dtype == np.int64 and split.y.dtype == np.int64
    assert split.schemes == ("kaggle",) and split.scheme == "kaggle"
    # Kaggle 10 is K (class 9), 24 is Y (class 23)
    assert list(split.y) == [0, 1, 2, 9, 23, 3]
    expected = pixels(6, seed=3).reshape(6, 28, 28)
    np.testing.assert_array_equal(split.x, expected)
    assert not split.x.flags.writeable  # shared between pages: read-only


def test_parse_course_file_is_detected_as_course():
    split = data.parse_csv(csv_bytes(COURSE_LABELS), "v.csv")
    assert split.schemes == ("course",) and not split.ambiguous
    assert list(split.y) == COURSE_LABELS


def test_ambiguous_labels_assume_kaggle_and_allow_override():
    split = data.parse_csv(csv_bytes(AMBIGUOUS_LABELS), "v.csv")
    assert split.ambiguous and split.schemes == ("kaggle", "course")
    assert split.scheme == "kaggle"
    course = data.parse_csv(csv_bytes(AMBIGUOUS_LABELS), "v.csv", scheme="course")
    assert course.scheme == "course"
    assert list(split.with_scheme("course").y) == list(course.y)
    # 9 is J in Kaggle's numbering but K in the course's: the classes move
    split9 = data.parse_csv(csv_bytes([8, 0]), "v.csv")
    assert list(split9.y) == [8, 0]
    assert list(split9.with_scheme("course").y) == [8, 0]


def test_forcing_a_scheme_that_does_not_fit_names_row_and_column():
    with pytest.raises(DataError) as caught:
        data.parse_csv(csv_bytes(COURSE_LABELS), "v.csv", scheme="kaggle")
    message = str(caught.value)
    assert "v.csv, row 4, column label" in message and "9" in message


def test_gz_and_plain_parse_to_the_same_arrays():
    plain = data.parse_csv(csv_bytes(KAGGLE_LABELS), "a.csv")
    packed = data.parse_csv(csv_bytes(KAGGLE_LABELS, gz=True), "a.csv.gz")
    np.testing.assert_array_equal(plain.x, packed.x)
    np.testing.assert_array_equal(plain.y, packed.y)


# --- validation failures: file, row, column ----------------------------------


def test_header_with_a_wrong_column_name():
    text = csv_text([0, 1]).replace("pixel3,", "pixelthree,", 1)
    assert "header row, column 4" in bad(text)


def test_header_with_too_few_columns():
    text = csv_text([0, 1]).replace(",pixel784", "", 1)
    assert "header row" in bad(text) and "785" in bad(text)


def test_row_with_an_extra_cell():
    text = tamper(csv_text([0, 1, 2]), 2, 784, "7,8")
    assert "row 2" in bad(text) and "786 columns" in bad(text)


def test_row_with_a_missing_cell():
    lines = csv_text([0, 1, 2]).split("\n")
    lines[3] = lines[3].rsplit(",", 1)[0]  # the last pixel of data row 3 gone
    message = bad("\n".join(lines))
    assert "row 3" in message and "784 columns" in message


def test_empty_cell():
    text = tamper(csv_text([0, 1, 2]), 2, 5, "")
    assert "row 2, column pixel5: the cell is empty" in bad(text)


def test_decimal_pixel():
    text = tamper(csv_text([0, 1, 2]), 3, 10, "1.5")
    assert "row 3, column pixel10: '1.5' is not a whole number" in bad(text)


def test_text_in_a_pixel():
    text = tamper(csv_text([0, 1, 2]), 1, 1, "abc")
    assert "row 1, column pixel1" in bad(text)


@pytest.mark.parametrize("value", ["256", "-1"])
def test_pixel_out_of_range(value):
    text = tamper(csv_text([0, 1, 2]), 1, 784, value)
    assert f"row 1, column pixel784: {value} is outside the pixel range" in bad(text)


@pytest.mark.parametrize("value", ["25", "-3", "99"])
def test_label_of_no_scheme(value):
    text = tamper(csv_text([0, 1, 2, 3]), 4, 0, value)
    assert f"row 4, column label: {value} is not a label" in bad(text)


def test_labels_that_fit_neither_scheme_together():
    # 9 exists only in the course's numbering, 24 only in Kaggle's
    message = bad(csv_text([0, 9, 1, 24]))
    assert "fit neither scheme" in message
    assert "9 at row 2" in message and "24 at row 4" in message


def test_header_only_and_empty_file():
    assert "no data rows" in bad(csv_text([]))
    assert "is empty" in bad("")


def test_corrupt_gzip():
    packed = bytearray(csv_bytes([0, 1], gz=True))
    packed[20:40] = b"x" * 20
    with pytest.raises(DataError, match="not a readable gzip file"):
        data.parse_csv(bytes(packed), "t.csv.gz")


def test_not_utf8():
    raw = csv_text([0, 1]).encode().replace(b"\n1,", b"\n\xff\xfe,", 1)
    with pytest.raises(DataError, match=r"t\.csv is not a text CSV \(line 3 "):
        data.parse_csv(raw, "t.csv")


def test_a_bad_file_leaves_no_cache_entry_and_no_dataset(tmp_path):
    folder = write_folder(tmp_path / "root" / "d")
    broken = tamper(csv_text(KAGGLE_LABELS, 2), 2, 7, "x")
    (folder / "sign_mnist_test.csv").write_text(broken)
    with pytest.raises(DataError, match="sign_mnist_test.csv, row 2, column pixel7"):
        data.load_dataset(folder)
    cached = list((paths.cache_dir() / "parsed").glob("*.npz"))
    assert len(cached) == 1  # only the good training file


# --- sizes ---------------------------------------------------------------


def test_oversized_csv_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(data, "MAX_CSV_BYTES", 1000)
    with pytest.raises(DataError, match=r"big\.csv is 0 MB, more than the 0 MB"):
        data.parse_csv(csv_bytes([0, 1]), "big.csv")


def test_gzip_that_unpacks_too_far_is_refused(monkeypatch):
    monkeypatch.setattr(data, "MAX_CSV_TEXT_BYTES", 5000)
    with pytest.raises(DataError, match="unpacks to more than"):
        data.parse_csv(csv_bytes([0, 1, 2], gz=True), "bomb.csv.gz")


# --- the parse cache -----------------------------------------------------------


def test_second_parse_comes_from_the_cache(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "root" / "sign_mnist_train.csv", KAGGLE_LABELS)
    first = data.parse_csv(path, path.name)

    def no_parsing(*args):
        raise AssertionError("parsed again despite the cache")

    monkeypatch.setattr(data, "_parse_text", no_parsing)
    second = data.parse_csv(path, path.name, scheme="kaggle")
    np.testing.assert_array_equal(first.x, second.x)
    assert list((tmp_path / "root").iterdir()) == [path]  # nothing beside the data


def test_changed_file_is_parsed_again(tmp_path):
    path = write_csv(tmp_path / "root" / "t.csv", KAGGLE_LABELS, seed=1)
    first = data.parse_csv(path, path.name)
    write_csv(path, KAGGLE_LABELS, seed=2)
    assert not np.array_equal(first.x, data.parse_csv(path, path.name).x)


def test_unreadable_cache_entry_is_ignored(tmp_path):
    path = write_csv(tmp_path / "root" / "t.csv", KAGGLE_LABELS)
    first = data.parse_csv(path, path.name)
    for entry in (paths.cache_dir() / "parsed").glob("*.npz"):
        entry.write_bytes(b"not an npz")
    np.testing.assert_array_equal(first.x, data.parse_csv(path, path.name).x)


# --- datasets and fingerprints --------------------------------------------------


def test_load_dataset_course_naming(tmp_path):
    dataset = data.load_dataset(write_folder(tmp_path / "d", naming="course"))
    assert dataset.train.scheme == dataset.valid.scheme == "course"
    assert dataset.train_x.shape == (6, 28, 28) and dataset.valid_y.shape == (6,)
    assert dataset.valid.name == "sign_mnist_valid.csv"


def test_fingerprint_same_for_gz_plain_and_either_scheme(tmp_path):
    plain = data.load_dataset(write_folder(tmp_path / "a", gz=False))
    packed = data.load_dataset(write_folder(tmp_path / "b", gz=True))
    # the same classes written in the course's numbering
    course_folder = tmp_path / "c"
    course = [labels.to_class_indices(np.array(KAGGLE_LABELS), "kaggle").tolist()]
    write_csv(course_folder / "sign_mnist_train.csv", course[0], 1)
    write_csv(course_folder / "sign_mnist_valid.csv", course[0], 2)
    renumbered = data.load_dataset(course_folder)
    assert renumbered.train.scheme == "course"
    assert plain.fingerprint == packed.fingerprint == renumbered.fingerprint
    other = data.load_dataset(write_folder(tmp_path / "e", valid_labels=[0, 1, 2]))
    assert other.fingerprint != plain.fingerprint


# --- allowed data folders ---------------------------------------------------------


def test_folder_inside_the_root_is_accepted(tmp_path):
    inside = tmp_path / "root" / "course"
    inside.mkdir()
    assert data.check_data_folder(str(inside)) == inside.resolve()
    assert data.check_data_folder("data") == paths.DEFAULT_DATA_DIR.resolve()


def test_folder_outside_the_roots_is_refused_without_naming_it(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for text in (str(outside), "/etc", "data/../..", str(tmp_path / "root" / "..")):
        with pytest.raises(DataError) as caught:
            data.check_data_folder(text)
        assert "outside the allowed data folders" in str(caught.value)
        assert str(tmp_path) not in str(caught.value)


def test_symlink_out_of_the_root_is_refused(tmp_path):
    secret = tmp_path / "secret"
    write_folder(secret)
    link = tmp_path / "root" / "innocent"
    os.symlink(secret, link)
    with pytest.raises(DataError, match="outside the allowed data folders") as caught:
        data.check_data_folder(str(link))
    assert "secret" not in str(caught.value)


def test_csv_symlinked_from_outside_the_root_is_refused(tmp_path):
    outside = write_folder(tmp_path / "secret")
    folder = tmp_path / "root" / "d"
    folder.mkdir()
    os.symlink(outside / "sign_mnist_train.csv", folder / "sign_mnist_train.csv")
    write_csv(folder / "sign_mnist_test.csv", KAGGLE_LABELS)
    with pytest.raises(DataError, match="sign_mnist_train.csv links to a file outside"):
        data.find_allowed_csvs(data.check_data_folder(str(folder)))
    # a link that stays inside the root is fine
    (folder / "sign_mnist_train.csv").unlink()
    write_csv(tmp_path / "root" / "real.csv", KAGGLE_LABELS)
    os.symlink(tmp_path / "root" / "real.csv", folder / "sign_mnist_train.csv")
    assert data.find_allowed_csvs(folder)[0].name == "sign_mnist_train.csv"


def test_roots_from_configuration_are_accepted(tmp_path, monkeypatch):
    extra = tmp_path / "workshop"
    extra.mkdir()
    with pytest.raises(DataError):
        data.check_data_folder(str(extra))
    monkeypatch.setenv("ASL_DATA_ROOTS", os.pathsep.join(["", str(extra)]))
    assert data.check_data_folder(str(extra)) == extra.resolve()


# --- uploads -------------------------------------------------------------------


def test_pair_uploads_by_name():
    assert data.pair_uploads(["sign_mnist_test.csv", "sign_mnist_train.csv"]) == (1, 0)
    assert data.pair_uploads(["my train.csv.gz", "VALID (1).csv"]) == (0, 1)
    with pytest.raises(DataError, match="exactly two"):
        data.pair_uploads(["sign_mnist_train.csv"])
    with pytest.raises(DataError, match="apart by name"):
        data.pair_uploads(["a.csv", "b.csv"])


# --- summaries ---------------------------------------------------------------


def test_class_counts_means_and_samples():
    y = np.array([0, 0, 23, 5])
    x = np.zeros((4, 28, 28), np.uint8)
    x[0], x[1], x[2] = 10, 30, 255
    counts = data.class_counts(y)
    assert counts.shape == (24,) and counts[0] == 2 and counts.sum() == 4
    means = data.mean_images(x, y)
    assert means.shape == (24, 28, 28)
    assert means[0].max() == pytest.approx(20) and means[23].min() == 255
    assert means[1].max() == 0  # absent class: zeros, no division by zero
    chosen = data.sample_indices(y, per_class=3, seed=0)
    assert chosen.shape == (24, 3)
    assert sorted(chosen[0][chosen[0] >= 0]) == [0, 1] and chosen[0][2] == -1
    assert (chosen[1] == -1).all()


def test_montage_places_images_in_a_grid():
    x = np.zeros((3, 28, 28), np.uint8)
    x[2, 0, 0] = 200
    picture = data.montage(x, np.array([0, 2, -1, 1]), columns=2, scale=2)
    assert picture.shape == (2 * 57 - 1, 2 * 57 - 1)
    assert picture[0, 57] == 200 and picture[1, 58] == 200  # cell 1, scaled 2x
    assert picture.sum() == 200 * 4


# --- command line --------------------------------------------------------------


def test_cli_check(tmp_path, capsys):
    assert data.main(["check", str(write_folder(tmp_path / "d"))]) == 0
    assert "sign_mnist_train.csv: 6 rows, kaggle labels" in capsys.readouterr().out
    assert data.main(["check", str(tmp_path / "missing")]) == 1
    assert "error:" in capsys.readouterr().err


# --- the real data ---------------------------------------------------------------


def test_real_data_loads_with_kaggle_labels(real_data_dir):
    dataset = data.load_dataset(real_data_dir)
    assert dataset.train.rows == 27_455 and dataset.valid.rows == 7_172
    assert dataset.train.scheme == dataset.valid.scheme == "kaggle"
    assert not dataset.train.ambiguous
    assert set(np.unique(dataset.train_y)) == set(range(24))
    assert set(np.unique(dataset.valid_y)) == set(range(24))
    assert dataset.train_x.shape == (27_455, 28, 28)
    with gzip.open(real_data_dir / "sign_mnist_train.csv.gz", "rt") as f:
        f.readline()
        first = [int(v) for v in f.readline().split(",")]
    assert dataset.train.raw_labels[0] == first[0]
    np.testing.assert_array_equal(dataset.train_x[0].ravel(), first[1:])


def test_datasets_compare_by_fingerprint_and_source(tmp_path):
    first = data.load_dataset(write_folder(tmp_path / "a"))
    again = data.load_dataset(tmp_path / "a")
    assert first == again and hash(first) == hash(again)
    assert first != data.load_dataset(write_folder(tmp_path / "b"))  # other source


def test_cached_load_needs_no_pandas(tmp_path):
    import subprocess
    import sys

    folder = write_folder(tmp_path / "root" / "d")
    data.load_dataset(folder)  # fills the parse cache
    code = (
        "import sys; from core.data import load_dataset; "
        f"load_dataset({str(folder)!r}); print('pandas' in sys.modules)"
    )
    env = dict(os.environ, PYTHONPATH=str(paths.PROJECT_ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == "False", out.stderr
