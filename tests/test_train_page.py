"""AppTest runs of the training and runs pages: no data, nothing trained, a
cached finished run shown at once with its curves and confusion matrix, a
launch from the page, and who sees a cancel button."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import store
from core.config import AugmentSettings, TrainConfig, run_id
from core.data import load_dataset
from core.labels import NUM_CLASSES
from core.train import RECOMMENDED
from tests.synthetic_csv import csv_text

ROOT = Path(__file__).resolve().parent.parent
TRAIN_PAGE = str(ROOT / "pages" / "train.py")
RUNS_PAGE = str(ROOT / "pages" / "runs.py")
LABELS = [v for v in range(25) if v != 9]  # Kaggle's A..Y without J
# What the training page launches when nobody touches a control.
PAGE_DEFAULTS = TrainConfig(
    epochs=6,
    optimizer="adam",
    learning_rate=0.002,
    schedule="cosine",
    restore_best=True,
)
assert PAGE_DEFAULTS == RECOMMENDED


@pytest.fixture
def folders(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "sign_mnist_train.csv").write_text(csv_text(LABELS * 2, seed=0))
    (data / "sign_mnist_test.csv").write_text(csv_text(LABELS, seed=1))
    monkeypatch.setenv("ASL_DATA_DIR", str(data))
    monkeypatch.setenv("ASL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ASL_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("ASL_DATA_ROOTS", raising=False)
    monkeypatch.delenv("ASL_INSTRUCTOR_TOKEN", raising=False)
    return {"data": data, "store": tmp_path / "store"}


def fake_finished_run(store_root, config, fingerprint, val=0.8):
    """A finished run as training writes it, without training."""
    run_dir = store.create_run(config, fingerprint, store=store_root, owner="cli")
    history = [
        {
            "type": "epoch",
            "epoch": e,
            "loss": 1.0 / e,
            "accuracy": 0.5 + e / 20,
            "val_loss": 1.2 / e,
            "val_accuracy": val - 0.1 + e / 50,
        }
        for e in range(1, config.epochs + 1)
    ]
    for entry in history:
        store.append_jsonl(run_dir / store.PROGRESS_FILE, entry)
    (run_dir / store.MODEL_FILE).write_bytes(b"not a real model")
    np.savez(
        run_dir / store.PREDICTIONS_FILE,
        pred=np.arange(24) % 24,
        true=np.arange(24),
        prob=np.ones(24),
    )
    matrix = np.eye(NUM_CLASSES, dtype=int)
    matrix[3, 5] = 2
    store.atomic_write_json(
        run_dir / store.SUMMARY_FILE,
        {
            "epochs_run": config.epochs,
            "best_epoch": config.epochs,
            "best_val_accuracy": history[-1]["val_accuracy"],
            "final_val_accuracy": history[-1]["val_accuracy"],
            "model_val_accuracy": history[-1]["val_accuracy"],
            "seconds": 12.0,
            "history": history,
            "confusion": matrix.tolist(),
            "files": {n: store.sha256_file(run_dir / n) for n in store.CHECKED_FILES},
        },
    )
    return run_dir


def run_page(page=TRAIN_PAGE, **state) -> AppTest:
    app = AppTest.from_file(page, default_timeout=60)
    for key, value in state.items():
        app.session_state[key] = value
    return app.run()


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [i.value for i in app.info] + [e.value for e in app.error]
    return "\n".join(parts)


def test_page_without_data_says_what_to_do(folders):
    for path in folders["data"].iterdir():
        path.unlink()
    app = run_page()
    assert not app.exception
    assert "Data" in app.info[0].value


def test_page_with_nothing_trained_offers_to_train(folders):
    app = run_page()
    assert not app.exception
    assert app.number_input(key="train_epochs").value == 6
    assert app.select_slider(key="train_learning_rate").value == 0.002
    assert app.radio(key="train_optimizer").value == "adam"
    assert "not been trained" in texts(app)


def test_cached_run_is_shown_at_once_with_curves_and_confusion(folders):
    dataset = load_dataset(folders["data"])
    run_dir = fake_finished_run(folders["store"], PAGE_DEFAULTS, dataset.fingerprint)
    assert run_dir.name == run_id(PAGE_DEFAULTS, dataset.fingerprint)
    app = run_page()
    assert not app.exception
    assert "finished" in texts(app)
    labels = [m.label for m in app.metric]
    assert "Best validation accuracy" in labels
    assert len(app.get("plotly_chart")) == 2  # curves and confusion matrix


def test_augmentation_settings_from_the_augmentation_page_name_the_run(folders):
    dataset = load_dataset(folders["data"])
    settings = AugmentSettings(rotation=20)
    config = dataclasses.replace(PAGE_DEFAULTS, augmentation=settings)
    fake_finished_run(folders["store"], config, dataset.fingerprint)
    app = run_page(augment_settings=settings)
    assert not app.exception
    assert run_id(config, dataset.fingerprint) in texts(app)
    assert "finished" in texts(app)


def test_corrupt_store_does_not_break_the_pages(folders):
    folders["store"].mkdir()
    (folders["store"] / "junk.txt").write_text("<b>not</b> a run")
    broken = folders["store"] / ("a" * 16)
    broken.mkdir()
    (broken / store.CONFIG_FILE).write_text("{")
    assert not run_page().exception
    app = run_page(RUNS_PAGE)
    assert not app.exception
    warnings = " ".join(w.value for w in app.warning)
    assert "junk" in warnings and "<b>" not in warnings


@pytest.mark.slow
def test_launch_from_the_page_queues_one_job_and_its_owner_can_cancel(folders):
    from ui import train_ui

    app = run_page(train_owner="alice")
    app.number_input(key="train_epochs").set_value(1)
    app.button(key="train_launch").click().run()
    assert not app.exception
    manager = train_ui.job_manager()
    (job,) = [j for j in manager.jobs() if j.active]
    assert job.owner == "alice" and job.config.epochs == 1
    rid = job.run_id
    # The same click in a second session attaches to the same job.
    other = run_page(train_owner="bob")
    other.number_input(key="train_epochs").set_value(1)
    other.button(key="train_launch").click().run()
    assert [j.run_id for j in manager.jobs() if j.active] == [rid]
    # Without a token configured, anyone is the instructor; with one, only
    # the owner sees the cancel button.
    import os

    os.environ["ASL_INSTRUCTOR_TOKEN"] = "s3cret"
    try:
        other = run_page(train_owner="bob", train_epochs=1)
        assert not other.exception
        assert not [b for b in other.button if b.key.endswith(f"cancel_{rid}")]
        mine = run_page(train_owner="alice", train_epochs=1)
        buttons = [b for b in mine.button if b.key.endswith(f"cancel_{rid}")]
        if manager.get(rid).active:
            assert buttons
            buttons[0].click().run()
        manager.wait(rid, timeout=120)
        assert manager.get(rid).state in (store.CANCELLED, store.FINISHED)
    finally:
        del os.environ["ASL_INSTRUCTOR_TOKEN"]
        manager.close()


def test_runs_page_lists_and_evaluates_a_stored_run(folders):
    dataset = load_dataset(folders["data"])
    run_dir = fake_finished_run(folders["store"], PAGE_DEFAULTS, dataset.fingerprint)
    app = run_page(RUNS_PAGE)
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["run"]) == [run_dir.name]
    assert app.multiselect(key="runs_overlay").value == [run_dir.name]
    assert len(app.get("plotly_chart")) == 3  # overlay, confusion, per letter
    assert "D read as F (2×)" in texts(app)
    assert app.get("download_button")


def test_deleting_a_run_needs_the_instructor_token(folders, monkeypatch):
    dataset = load_dataset(folders["data"])
    run_dir = fake_finished_run(folders["store"], PAGE_DEFAULTS, dataset.fingerprint)
    monkeypatch.setenv("ASL_INSTRUCTOR_TOKEN", "s3cret")
    app = run_page(RUNS_PAGE)
    assert not app.exception
    assert not [b for b in app.button if b.key == "runs_delete"]
    app.text_input(key="runs_token").input("wrong").run()
    assert not [b for b in app.button if b.key == "runs_delete"]
    assert "not right" in texts(app)
    app.text_input(key="runs_token").input("s3cret").run()
    app.button(key="runs_delete").click().run()
    assert not app.exception
    assert not run_dir.exists()


def test_changed_model_is_refused_on_the_runs_page(folders):
    dataset = load_dataset(folders["data"])
    run_dir = fake_finished_run(folders["store"], PAGE_DEFAULTS, dataset.fingerprint)
    (run_dir / store.MODEL_FILE).write_bytes(b"swapped behind the store's back")
    app = run_page(RUNS_PAGE)
    assert not app.exception
    assert "checksum" in texts(app)
    assert not app.get("download_button")


def test_clicked_heatmap_cell_is_read_as_letters():
    from ui.train_ui import selected_cell

    event = {"selection": {"points": [{"x": "F", "y": "D", "z": 0.1}]}}
    assert selected_cell(event) == (3, 5)
    assert selected_cell({"selection": {"points": []}}) is None
    assert selected_cell(None) is None


def rss_mb() -> float:
    """This process's resident memory in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status to read memory from")


def test_thirty_reruns_of_the_training_page_stay_within_50_mb(folders):
    dataset = load_dataset(folders["data"])
    fake_finished_run(folders["store"], PAGE_DEFAULTS, dataset.fingerprint)
    app = run_page()
    for _ in range(3):  # warm up: imports, caches, first figures
        app.run()
    before = rss_mb()
    for _ in range(30):
        app.run()
    assert not app.exception
    grown = rss_mb() - before
    print(f"30 reruns: {grown:+.1f} MB")
    assert grown < 50


def test_browser_id_survives_the_cookie_being_masked_anew(monkeypatch):
    import streamlit as st

    from ui import train_ui

    token = bytes(range(16))

    def cookie(mask: bytes) -> str:
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(token))
        return f"2|{mask.hex()}|{masked.hex()}|1700000000"

    class FakeContext:
        def __init__(self, value):
            self.cookies = {"_streamlit_xsrf": value}

    ids = []
    for mask in (b"\x01\x02\x03\x04", b"\xaa\xbb\xcc\xdd"):
        monkeypatch.setattr(st, "context", FakeContext(cookie(mask)))
        ids.append(train_ui._browser_id())
    assert ids[0] == ids[1] and len(ids[0]) == 16
    assert token.hex() not in ids[0]
    monkeypatch.setattr(st, "context", FakeContext("garbage"))
    assert train_ui._browser_id() is None


def test_replacing_the_default_model_needs_the_token(folders, monkeypatch, tmp_path):
    from core import paths

    dataset = load_dataset(folders["data"])
    run_dir = fake_finished_run(folders["store"], PAGE_DEFAULTS, dataset.fingerprint)
    target = tmp_path / "default-model"
    monkeypatch.setattr(paths, "DEFAULT_MODEL_DIR", target)
    monkeypatch.setenv("ASL_INSTRUCTOR_TOKEN", "s3cret")
    app = run_page(RUNS_PAGE)
    assert not [b for b in app.button if b.key == "runs_make_default"]
    app.text_input(key="runs_token").input("s3cret").run()
    app.button(key="runs_make_default").click().run()
    assert not app.exception
    card = __import__("json").loads((target / "card.json").read_text())
    assert card["sha256"] == store.sha256_file(target / "model.keras")
    assert card["run_id"] == run_dir.name
    assert card["command"] == "python -m core.train"  # the page's defaults


@pytest.mark.slow
def test_a_reload_still_follows_the_training_you_started(folders):
    """Non-regression: after a reload (a new session of the same person) the
    page said 'not trained yet' and showed the running training only as a
    table row, because the launch was remembered in the old session alone."""
    from ui import train_ui

    app = run_page(train_owner="alice")
    app.number_input(key="train_epochs").set_value(1)
    app.button(key="train_launch").click().run()
    manager = train_ui.job_manager()
    try:
        (job,) = [j for j in manager.jobs() if j.active]

        reloaded = run_page(train_owner="alice")  # fresh session, default settings

        assert not reloaded.exception
        assert "Your last launch" in [h.value for h in reloaded.subheader]
        assert job.run_id in texts(reloaded)
        stranger = run_page(train_owner="bob")
        assert "Your last launch" not in [h.value for h in stranger.subheader]
    finally:
        for active in [j for j in manager.jobs() if j.active]:
            manager.cancel(active.run_id, "alice", True)
            manager.wait(active.run_id, timeout=120)
        manager.close()
