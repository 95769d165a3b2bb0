"""AppTest runs of pages/data.py and of ui.data_ui's shared helpers: a folder of
small CSVs, no data at all, the one-click download (network call replaced),
uploads (good, hostile, oversized, markup in names), and refused folders."""

import io
import os
import re
import zipfile

import pytest
import requests
from streamlit.testing.v1 import AppTest

from core import data, paths
from tests.synthetic_csv import (
    AMBIGUOUS_LABELS,
    KAGGLE_LABELS,
    csv_bytes,
    csv_text,
    tamper,
    write_csv,
    write_folder,
)

PAGE = str(paths.PROJECT_ROOT / "pages" / "data.py")
MARKUP = "<img src=x onerror=alert(1)>**bold**[link](http://x)"


@pytest.fixture
def root(monkeypatch, tmp_path):
    """An empty data root (ASL_DATA_DIR) and a private parse cache."""
    folder = tmp_path / "root"
    folder.mkdir()
    monkeypatch.setenv("ASL_DATA_DIR", str(folder))
    monkeypatch.setenv("ASL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ASL_DATA_ROOTS", raising=False)
    return folder


def run_page() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.run()
    assert not app.exception, app.exception
    return app


def unescape(markdown: str) -> str:
    """What an escaped markdown body reads as on screen."""
    return re.sub(r"\\(.)", r"\1", markdown)


def everything_shown(app: AppTest) -> str:
    """All text the page put on screen, to check what it never shows."""
    parts = []
    for kind in ("markdown", "caption", "text", "error", "info", "success", "warning"):
        parts += [str(element.value) for element in getattr(app, kind)]
    parts += [str(metric.value) for metric in app.metric]
    parts += [str(field.value) for field in app.text_input]
    return "\n".join(unescape(part) for part in parts)


def test_folder_of_small_csvs_is_shown(root):
    write_folder(root)
    app = run_page()
    assert not app.error
    assert [m.value for m in app.metric] == ["6", "6"]
    assert "in use by every page" in app.success[0].value
    assert len(app.get("plotly_chart")) == 1
    assert len(app.get("image")) == 2  # the sample grids and the mean images
    assert "sign_mnist_train.csv: Kaggle numbering" in app.text[0].value
    selection = app.session_state["data_selection"]
    assert selection["kind"] == "folder" and selection["folder"] == str(root.resolve())


def test_no_data_shows_the_download_offer(root):
    app = run_page()
    assert not app.error
    assert "no sign_mnist_train.csv(.gz)" in unescape(app.info[0].value)
    assert app.button(key="data_download").label.endswith("Download from Kaggle")
    assert "archive" in everything_shown(app)  # the manual steps


def fake_kaggle(monkeypatch, writer):
    def dataset_download(handle, path=None, *, force_download=False, output_dir=None):
        writer(paths.Path(output_dir))
        return output_dir

    monkeypatch.setattr("kagglehub.dataset_download", dataset_download)


def test_download_button_fetches_and_shows_the_data(root, monkeypatch):
    def archive(folder):
        for name in ("sign_mnist_train", "sign_mnist_test"):
            write_csv(folder / name / f"{name}.csv", KAGGLE_LABELS)

    fake_kaggle(monkeypatch, archive)
    app = run_page()
    app.button(key="data_download").click().run()
    assert not app.exception and not app.error
    assert [m.value for m in app.metric] == ["6", "6"]
    assert sorted(p.name for p in root.iterdir()) == [
        "sign_mnist_test.csv",
        "sign_mnist_train.csv",
    ]


def test_offline_download_shows_one_sentence_and_the_manual_steps(root, monkeypatch):
    def offline(folder):
        raise requests.ConnectionError("Name or service not known")

    fake_kaggle(monkeypatch, offline)
    app = run_page()
    app.button(key="data_download").click().run()
    assert not app.exception
    assert len(app.error) == 1 and "could not be reached" in app.error[0].value
    assert any("kaggle.com/datasets" in unescape(i.value) for i in app.info)
    assert list(root.iterdir()) == []


def test_folder_outside_the_roots_is_refused(root, tmp_path):
    outside = write_folder(tmp_path / "private")
    app = run_page()
    app.text_input(key="data_folder").set_value(str(outside)).run()
    assert not app.exception
    assert "outside the allowed data folders" in app.error[0].value
    assert not app.metric  # nothing was read from there
    shown = everything_shown(app).replace(str(outside), "")  # minus what was typed
    assert "private" not in shown


def test_symlink_out_of_the_root_is_refused(root, tmp_path):
    os.symlink(write_folder(tmp_path / "secret"), root / "shortcut")
    app = run_page()
    app.text_input(key="data_folder").set_value(str(root / "shortcut")).run()
    assert "outside the allowed data folders" in app.error[0].value
    assert "secret" not in everything_shown(app)
    assert not app.metric


def test_csv_symlinked_from_outside_is_not_read(root, tmp_path):
    secret = tmp_path / "secret.csv"
    # 785 columns, so reading it would quote the odd header cell on screen
    secret.write_text(csv_text([0]).replace("pixel1,", "TOP-SECRET,", 1))
    write_folder(root)
    (root / "sign_mnist_test.csv").unlink()
    os.symlink(secret, root / "sign_mnist_test.csv")
    app = run_page()
    assert "links to a file outside" in unescape(app.error[0].value)
    assert "SECRET" not in everything_shown(app)
    assert not app.metric


def test_bad_csv_names_file_row_and_column(root):
    write_folder(root)
    text = tamper(csv_text(KAGGLE_LABELS, 2), 3, 12, "1.5")
    (root / "sign_mnist_test.csv").write_text(text)
    app = run_page()
    message = unescape(app.error[0].value)
    assert "sign_mnist_test.csv, row 3, column pixel12: '1.5'" in message
    assert not app.metric  # nothing half-loaded


def test_ambiguous_labels_can_be_switched(root):
    write_folder(root, train_labels=AMBIGUOUS_LABELS, valid_labels=KAGGLE_LABELS)
    app = run_page()
    assert "fit both numberings" in app.warning[0].value
    switch = app.radio(key="data_scheme_train")
    assert switch.value == "kaggle"
    switch.set_value("course").run()
    assert not app.exception
    assert app.session_state["data_selection"]["train_scheme"] == "course"
    assert "course numbering" in app.text[0].value


def test_upload_of_two_csvs(root):
    app = run_page()
    app.file_uploader(key="data_upload").set_value(
        [
            ("sign_mnist_test.csv.gz", csv_bytes(KAGGLE_LABELS, 2, gz=True), "x"),
            ("sign_mnist_train.csv", csv_bytes(KAGGLE_LABELS, 1), "text/csv"),
        ]
    ).run()
    assert not app.exception and not app.error
    assert "uploaded files" in app.success[0].value
    assert app.session_state["data_selection"]["kind"] == "upload"


def kaggle_zip(extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("amer_sign3.png", b"\x89PNG")
        archive.writestr("sign_mnist_train/sign_mnist_train.csv", csv_bytes([0, 24]))
        archive.writestr("sign_mnist_test/sign_mnist_test.csv", csv_bytes([24, 0]))
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_upload_of_the_kaggle_archive(root):
    app = run_page()
    upload = ("archive.zip", kaggle_zip(), "application/zip")
    app.file_uploader(key="data_upload").set_value(upload).run()
    assert not app.exception and not app.error
    assert [m.value for m in app.metric] == ["2", "2"]


def test_upload_of_a_hostile_archive_is_refused(root):
    app = run_page()
    hostile = kaggle_zip({"../../home/evil.sh": b"rm -rf"})
    app.file_uploader(key="data_upload").set_value(("archive.zip", hostile, "x")).run()
    assert not app.exception
    assert "leaves its folder" in app.error[0].value
    assert not app.metric


def test_oversized_upload_is_refused_with_a_sentence(root, monkeypatch):
    monkeypatch.setattr(data, "MAX_CSV_BYTES", 5_000)
    app = run_page()
    app.file_uploader(key="data_upload").set_value(
        [
            ("sign_mnist_train.csv", csv_bytes(KAGGLE_LABELS), "text/csv"),
            ("sign_mnist_test.csv", csv_bytes(KAGGLE_LABELS), "text/csv"),
        ]
    ).run()
    assert not app.exception
    assert "MB a CSV may have here" in app.error[0].value


def test_file_name_and_header_holding_markup_are_shown_as_text(root):
    app = run_page()
    bad_header = csv_text([0, 1]).replace("pixel9,", MARKUP + ",", 1).encode()
    app.file_uploader(key="data_upload").set_value(
        [
            (f"sign_mnist_train{MARKUP}.csv", bad_header, "text/csv"),
            ("sign_mnist_test.csv", csv_bytes([0, 1]), "text/csv"),
        ]
    ).run()
    assert not app.exception
    message = app.error[0].value
    # every markup character arrives escaped, so markdown shows it literally
    assert "\\<img src\\=x onerror\\=alert\\(1\\)\\>\\*\\*bold\\*\\*" in message
    assert "<img" not in message.replace("\\<img", "")
    assert "**" not in message.replace("\\*\\*", "")
    assert "column 10" in message


def test_escape_markdown_leaves_no_markup_and_no_autolinks():
    from ui.data_ui import escape_markdown

    hostile = "**b** <i>x</i> $y$ https://evil.example www.evil.com a@b.c"
    shown = escape_markdown(hostile)
    assert unescape(shown).replace("\u200b", "") == hostile
    assert "https://" not in unescape(shown)
    assert "www." not in unescape(shown) and "a@b" not in unescape(shown)
    for mark in "*<>$[]()_`#|~":
        assert mark not in shown.replace("\\" + mark, "")


# --- the helpers other pages use ---------------------------------------------------


def other_page():
    """What the training or classify page does first."""
    import streamlit as st

    from ui.data_ui import require_dataset

    dataset = require_dataset()
    st.write(f"rows {dataset.train.rows} and {dataset.valid.rows}")


def test_other_pages_fall_back_to_the_default_folder(root):
    write_folder(root)
    app = AppTest.from_function(other_page).run()
    assert not app.exception
    assert app.markdown[0].value == "rows 6 and 6"


def test_other_pages_say_what_to_do_without_data(root):
    app = AppTest.from_function(other_page).run()
    assert not app.exception
    assert "open the **Data** page" in app.info[0].value
    assert not app.markdown  # stopped before using the data
