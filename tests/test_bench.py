"""Smoke tests of the benchmark's helpers on tiny made-up numbers: the ratio
and percentile maths, the target verdicts, the report writer, the options.

No timing is asserted anywhere (speed claims live in the report itself), and
nothing here trains or imports TensorFlow.
"""

import json
import os

import numpy as np
import pytest

from bench import __main__ as bench_main
from bench import app, course, project, report, stats
from core.config import AugmentSettings, TrainConfig


def test_median_and_percentile_match_numpy():
    values = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2]
    assert stats.median(values) == pytest.approx(np.median(values))
    for q in (0, 50, 95, 100):
        assert stats.percentile(values, q) == pytest.approx(np.percentile(values, q))
    assert stats.median([]) is None and stats.percentile([], 95) is None


def test_ratio_is_none_for_missing_or_non_positive_parts():
    assert stats.ratio(6.0, 2.0) == pytest.approx(3.0)
    assert stats.ratio(None, 2.0) is None
    assert stats.ratio(1.0, 0.0) is None


def test_epoch_summary_leaves_out_the_first_epoch_that_traces_the_graph():
    summary = stats.epoch_summary([30.0, 10.0, 12.0, 11.0])
    assert summary["first"] == 30.0
    assert summary["median_after_first"] == pytest.approx(11.0)
    assert stats.epoch_summary([9.0])["median_after_first"] == 9.0


def test_time_to_reach_is_the_first_epoch_at_or_over_the_target():
    accuracy = [0.90, 0.97, 0.99, 0.98]
    elapsed = stats.cumulative([10, 10, 10, 10])
    assert stats.time_to_reach(accuracy, elapsed, 0.97) == (2, 20.0)
    assert stats.time_to_reach(accuracy, elapsed, 0.995) is None
    assert stats.best_epoch(accuracy) == (3, 0.99)


def _results(project_acc, project_seconds, augment_s=0.1):
    return {
        "parts": {
            "course": {
                "epoch_seconds": [100.0] * 4,
                "elapsed": [105.0, 205.0, 305.0, 405.0],
                "val_accuracy": [0.90, 0.95, 0.97, 0.96],
            },
            "project": {
                "epoch_seconds": project_seconds,
                "val_accuracy": project_acc,
            },
            "floor": {"epoch_seconds": [22.0, 20.0, 20.0]},
            "augmentation": {"seconds_per_epoch": {"project": augment_s}},
            "cache_hit": {"median_s": 0.05, "how": "submit"},
            "prediction": {"skipped": "no model"},
        }
    }


def test_compare_and_targets_on_a_run_that_meets_most_targets():
    results = report.finish(_results([0.98, 0.996, 0.997], [25.0, 20.0, 20.0]))
    ratios = results["ratios"]
    assert ratios["course_over_project_epoch"] == pytest.approx(5.0)
    assert ratios["project_over_floor_epoch"] == pytest.approx(1.0)
    # The course's best (0.97 at epoch 3) took 305 s; the project's first epoch
    # already beat it after 25 s.
    assert ratios["course_best"] == {"epoch": 3, "val_accuracy": 0.97, "seconds": 305.0}
    assert ratios["speedup_to_course_best"] == pytest.approx(305.0 / 25.0)
    verdicts = {v["target"]: v for v in results["targets"]}
    assert all(
        v["met"] for name, v in verdicts.items() if not name.startswith("prediction")
    )
    prediction = [v for name, v in verdicts.items() if name.startswith("prediction")]
    assert prediction[0]["met"] is None  # the part was skipped: not measured


def test_targets_say_by_how_much_a_missed_target_was_missed():
    results = report.finish(_results([0.90, 0.93], [30.0, 24.0], augment_s=2.4))
    verdicts = {v["target"].split(" ")[0]: v for v in results["targets"]}
    assert verdicts["validation"]["met"] is False
    assert verdicts["validation"]["by"] == "-6.50 points"
    assert "the run had 2 epochs" in verdicts["validation"]["why"]
    assert verdicts["augmentation"]["met"] is False  # 2.4 s of a 24 s epoch = 10%
    assert verdicts["augmentation"]["measured"] == pytest.approx(0.1)
    assert verdicts["epoch"]["measured"] == pytest.approx(1.2)
    speedup = verdicts["time"]
    assert speedup["met"] is False and speedup["by"] == "not reached"


def test_write_produces_markdown_and_json_with_escaped_cells(tmp_path):
    results = _results([0.996], [20.0])
    results["parts"]["probe"] = {"error": "TypeError: a | b\nsecond line"}
    results.update(
        generated="2026-12-04T10:00:00+00:00",
        command="python -m bench --quick",
        machine={"cpu": "test"},
        options={"quick": True},
        reduced=["training split cut"],
    )
    md_path, json_path = report.write(results, tmp_path)
    text = md_path.read_text()
    assert "## Targets" in text and "training split cut" in text
    assert "Failed: `TypeError: a | b second line`" in text  # one line, as code
    assert report._cell("a | b\nc") == "a \\| b c"
    stored = json.loads(json_path.read_text())
    assert {v["target"] for v in stored["targets"]} == {
        v["target"] for v in results["targets"]
    }
    assert len(stored["targets"]) == 6


def test_quick_options_are_small_and_reported_as_reductions():
    args = bench_main.build_parser().parse_args(["--quick", "--skip", "app,gpu"])
    options = bench_main.resolve_options(args)
    assert options["train_rows"] == 3000 and options["course_epochs"] == 2
    assert options["skip"] == ["app", "gpu"]
    assert options["report_dir"].endswith(os.path.join("out", "quick"))
    reduced = bench_main.reductions(options)
    assert any("3,000 rows" in line for line in reduced)
    assert "part app skipped" in reduced and "part gpu skipped" not in reduced


def test_unknown_part_to_skip_is_refused():
    args = bench_main.build_parser().parse_args(["--skip", "nonsense"])
    with pytest.raises(SystemExit):
        bench_main.resolve_options(args)


def test_missing_data_folder_gives_one_clear_message(tmp_path, capsys):
    assert bench_main.main(["--data-dir", str(tmp_path)]) == 2
    assert "needs the real data" in capsys.readouterr().err


def test_course_steps_per_epoch_ceil_covers_every_image_and_floor_falls_short():
    assert course.steps_for(27_455, "ceil") == 858
    assert course.steps_for(27_455, "floor") == 857
    with pytest.raises(ValueError):
        course.steps_for(10, "round")


def test_cli_options_name_exactly_the_same_configuration():
    from core.train import build_parser, config_from_args

    customised = TrainConfig(
        epochs=3,
        train_rows=500,
        optimizer="adam",
        restore_best=True,
        augmentation=AugmentSettings(rotation=5.0, vertical_flip=True),
    )
    for config in (customised, TrainConfig(augment=False, seed=3)):
        parsed = build_parser().parse_args(project.cli_options(config))
        assert config_from_args(parsed) == config


def test_process_tree_rss_counts_this_process():
    assert os.getpid() in app.process_tree(os.getpid())
    assert app.tree_rss_bytes(os.getpid()) >= app.rss_bytes(os.getpid()) > 0
    assert 0 < app.free_port() < 65536


def test_page_widget_values_become_the_config_the_page_launches():
    values = {
        "train_epochs": 5,
        "train_optimizer": "adam",
        "train_schedule": "cosine",
        "train_learning_rate": 0.001,
        "train_restore_best": True,
        "train_augment": False,
        "train_rows": 0,  # not a TrainConfig field by this key: the bench sets rows
    }
    config = project.config_from_page_values(values)
    assert (config.epochs, config.optimizer, config.schedule) == (5, "adam", "cosine")
    assert config.restore_best and not config.augment
    assert config.augmentation == AugmentSettings()


def test_the_floor_target_prefers_the_interleaved_ratio_to_separate_trainings():
    results = _results([0.996], [20.0, 30.0])  # separate trainings: 1.5x the floor
    results["parts"]["floor"]["interleaved"] = {"ratio": 1.03}
    verdicts = {v["target"].split(" ")[0]: v for v in report.finish(results)["targets"]}
    assert verdicts["epoch"]["measured"] == pytest.approx(1.03)
    assert verdicts["epoch"]["met"] is True
    assert "1.50x" in verdicts["epoch"]["why"]


def test_cpu_seconds_give_their_own_ratios_beside_the_wall_clock_ones():
    results = _results([0.98, 0.996, 0.997], [25.0, 20.0, 20.0])
    parts = results["parts"]
    parts["course"]["epoch_cpu_seconds"] = [190.0, 180.0, 180.0, 180.0]
    parts["course"]["cpu_elapsed"] = stats.cumulative([200.0, 180.0, 180.0, 180.0])
    parts["project"]["cpu_elapsed"] = [50.0, 90.0, 130.0]
    parts["project"]["epoch_cpu_seconds"] = stats.differences([50.0, 90.0, 130.0])
    parts["floor"]["epoch_cpu_seconds"] = [45.0, 40.0, 40.0]
    ratios = report.compare(results)
    assert parts["project"]["epoch_cpu_seconds"] == [50.0, 40.0, 40.0]
    assert ratios["course_over_project_epoch_cpu"] == pytest.approx(180.0 / 40.0)
    assert ratios["project_over_floor_epoch_cpu"] == pytest.approx(1.0)
    # course best at epoch 3 (560 CPU s), reached by the project at epoch 1 (50 s)
    assert ratios["speedup_to_course_best_cpu"] == pytest.approx(560.0 / 50.0)
