"""``python -m bench``: measure the project against the course's own pipeline
in one run, on this machine and the real data, and write the report.

Parts, in the order they run (``--skip`` any of them):

- ``probe``: the course's code unchanged on Keras 3, case by case, each in a
  subprocess (``bench.probe``);
- ``data``: ``core.data.load_dataset``, first parse and cached load;
- ``course``: the course pipeline, ported only as far as Keras 3 needs;
- ``project``: the project's default training (``core.train``);
- ``floor``: the same network and batch size with no augmentation;
- ``augmentation``: one epoch of augmentation alone, three ways;
- ``cache_hit``: launching the already-trained default configuration again;
- ``prediction``: one uploaded image, decode to probabilities;
- ``app``: ``streamlit run`` to the first page, and memory during a training;
- ``gpu``: names the GPU where TensorFlow finds one (the training parts then
  ran on it); otherwise says it was not run.

The report is rewritten after every part, so an interrupted run still leaves
what it measured. ``--quick`` is a smoke run (3,000 rows, 2 epochs, few
repeats) that writes into ``bench/out/quick/`` instead of ``bench/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
import os
import platform
import shlex
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench import report, stats  # noqa: E402
from core import paths  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
PARTS = (
    "probe",
    "data",
    "course",
    "project",
    "floor",
    "augmentation",
    "cache_hit",
    "prediction",
    "app",
    "gpu",
)
FULL_TRAIN_ROWS = 27_455
COURSE_EPOCHS = 10


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the project against the course's pipeline on the "
        "real data and write bench/REPORT.md and bench/report.json.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="folder with the two CSVs, either naming, plain or .gz (default: "
        "the shared copy beside the checkout where it exists, else ASL_DATA_DIR "
        "or data/; now %(default)s)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"epochs of the course pipeline (default {COURSE_EPOCHS})",
    )
    parser.add_argument(
        "--project-epochs",
        type=int,
        default=None,
        help="epochs of the project's training (default: those of "
        "the project's default configuration, the training page's)",
    )
    parser.add_argument(
        "--floor-epochs",
        type=int,
        default=None,
        help="epochs of the no-augmentation floor (default 3)",
    )
    parser.add_argument(
        "--train-rows",
        type=int,
        default=None,
        help="train on the first N training rows only (0 = all)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="repeats of the short measurements (default 5)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        help=f"parts to leave out, comma-separated: {', '.join(PARTS)}",
    )
    parser.add_argument(
        "--course-steps",
        choices=("ceil", "floor"),
        default="ceil",
        help="steps_per_epoch of the course pipeline: ceil(n/32) "
        "(every image once an epoch) or n//32, which runs dry on "
        "Keras 3 every second epoch (default %(default)s)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3,000 rows, 2 epochs, few repeats, report "
        "into bench/out/quick/",
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=None,
        help="where REPORT.md and report.json go (default bench/, "
        "or bench/out/quick/ with --quick)",
    )
    return parser


def resolve_options(args: argparse.Namespace) -> dict:
    """Command-line values with the defaults of a full or a quick run."""
    quick = args.quick
    skip = {
        name.strip() for item in args.skip for name in item.split(",") if name.strip()
    }
    unknown = skip - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown part(s) to skip: {', '.join(sorted(unknown))}")

    def pick(value, full, small):
        return value if value is not None else (small if quick else full)

    return {
        "quick": quick,
        "data_dir": str(args.data_dir),
        "course_epochs": pick(args.epochs, COURSE_EPOCHS, 2),
        "project_epochs": pick(args.project_epochs, 0, 2),  # 0: the default's
        "floor_epochs": pick(args.floor_epochs, 3, 2),
        "train_rows": pick(args.train_rows, 0, 3000),
        "repeats": pick(args.repeats, 5, 2),
        "course_steps": args.course_steps,
        "skip": sorted(skip),
        "report_dir": str(
            args.report_dir or (OUT_DIR / "quick" if quick else BENCH_DIR)
        ),
    }


def reductions(options: dict) -> list[str]:
    """What this run left out or cut, compared with the full benchmark (the
    project's epochs are checked once its default configuration is known)."""
    out = []
    if options["train_rows"]:
        out.append(
            f"training split cut to its first {options['train_rows']:,} rows "
            f"(of {FULL_TRAIN_ROWS:,}); validation on all rows"
        )
    if options["course_epochs"] < COURSE_EPOCHS:
        out.append(
            f"course pipeline {options['course_epochs']} epochs, not {COURSE_EPOCHS}"
        )
    if options["repeats"] < 5:
        out.append(f"{options['repeats']} repeats of the short measurements, not 5")
    if options["course_steps"] != "ceil":
        out.append(
            "course steps_per_epoch = n // 32, which runs dry every second epoch"
        )
    out += [f"part {name} skipped" for name in options["skip"] if name != "gpu"]
    return out


def machine_info() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "cpu": f"{model} ({os.cpu_count()} logical cores visible)",
        "load average at start (1, 5, 15 min)": " ".join(
            f"{v:.2f}" for v in os.getloadavg()
        ),
        "python": platform.python_version(),
        "tensorflow / keras": f"{tf.__version__} / {keras.__version__}",
        "gpu": ", ".join(_gpu_name(g) for g in gpus) if gpus else "none found",
        "platform": platform.platform(),
    }


def _gpu_name(device) -> str:
    import tensorflow as tf

    try:
        return tf.config.experimental.get_device_details(device).get(
            "device_name", device.name
        )
    except Exception:  # noqa: BLE001 - the name is a courtesy
        return device.name


class Bench:
    """One benchmark run: the options, the results so far, and the report
    rewritten after every part."""

    def __init__(self, options: dict, command: str):
        self.options = options
        self.report_dir = Path(options["report_dir"])
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.work_dir = OUT_DIR / f"run-{stamp}"
        self.store_root = self.work_dir / "store"
        self.store_root.mkdir(parents=True, exist_ok=True)
        self.results = {
            "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": command,
            "machine": machine_info(),
            "options": options,
            "reduced": reductions(options),
            "parts": {},
        }
        self.dataset = None
        self.config = None
        self.project_run_dir = None

    def say(self, text: str) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%H:%M:%S")
        print(f"[{stamp}] {text}", flush=True)

    def run_part(self, name: str, work) -> None:
        if name in self.options["skip"]:
            self.results["parts"][name] = {"skipped": "left out with --skip"}
            return
        self.say(f"part {name}: start")
        started = time.perf_counter()
        load = os.getloadavg()[0]
        try:
            part = work()
        except Exception as error:  # noqa: BLE001 - one broken part must not lose the rest
            traceback.print_exc()
            part = {"error": f"{type(error).__name__}: {error}"}
        part.setdefault("load_average_1min_at_start", round(load, 2))
        part.setdefault("part_seconds", round(time.perf_counter() - started, 1))
        self.results["parts"][name] = part
        self.write()
        self.say(f"part {name}: done in {part['part_seconds']} s")

    def write(self) -> None:
        self.results["machine"]["load average at end (1, 5, 15 min)"] = " ".join(
            f"{v:.2f}" for v in os.getloadavg()
        )
        md, js = report.write(self.results, self.report_dir)
        self.say(f"report written: {md} and {js.name}")

    def epoch_printer(self, label: str):
        def show(epoch: int, record: dict) -> None:
            self.say(
                f"{label} epoch {epoch}: {record['seconds']:.1f} s, "
                f"val accuracy {record.get('val_accuracy', float('nan')):.4f}"
            )

        return show

    # ------------------------------------------------------------ the parts

    def load(self):
        if self.dataset is None:
            from bench import project
            from core.data import load_dataset

            self.dataset = load_dataset(Path(self.options["data_dir"]))
            default, self.config_source = project.page_default_config(
                Path(self.options["data_dir"]), self.work_dir / "page-store"
            )
            self.say(f"project configuration: {self.config_source}")
            epochs = self.options["project_epochs"] or default.epochs
            if epochs < default.epochs:
                self.results["reduced"].append(
                    f"project training {epochs} epochs, "
                    f"not its default {default.epochs}"
                )
            self.config = dataclasses.replace(
                default, epochs=epochs, train_rows=self.options["train_rows"]
            )
        return self.dataset

    def train_arrays(self):
        ds = self.load()
        rows = self.options["train_rows"] or len(ds.train_x)
        return ds.train_x[:rows], ds.train_y[:rows]

    def part_probe(self) -> dict:
        from bench import probe

        rows = 1000
        cases = probe.run_probes(Path(self.options["data_dir"]), rows)
        return {
            "how": f"the course's cells run unchanged (and with one fix at a time) "
            f"on the first {rows} training rows, {probe.PROBE_EPOCHS} epochs, each "
            "case in a fresh Python; batches counted per epoch by a callback",
            "cases": cases,
            "notes": _probe_notes(cases),
        }

    def part_data(self) -> dict:
        from bench import project

        repeats = max(1, min(3, self.options["repeats"]))
        folder = Path(self.options["data_dir"])
        timing = project.time_data_loading(folder, repeats)
        course_parse = project.time_course_parse(folder, repeats)
        return {
            "how": "core.data.load_dataset on both gzipped CSVs, each call in a "
            "fresh Python timed from before importing core.data; first parse with "
            f"an empty parse cache ({repeats} fresh caches), cached load from the "
            f"cache those wrote ({repeats} times); medians. For reference, "
            "pandas.read_csv of both files as the course read them, in this process",
            "first_parse_s": stats.median(timing["first_parse"]),
            "cached_load_s": stats.median(timing["cached"]),
            "course_pandas_read_s": stats.median(course_parse),
            "first_over_cached": stats.ratio(
                stats.median(timing["first_parse"]), stats.median(timing["cached"])
            ),
            "rows": f"{timing['rows'][0]} train, {timing['rows'][1]} valid",
        }

    def part_course(self) -> dict:
        from bench import course

        folder = Path(self.options["data_dir"])
        train_df, valid_df = course.read_course_frames(
            folder, self.options["train_rows"]
        )
        arrays = course.course_arrays(train_df, valid_df)
        del train_df, valid_df
        result = course.run_course_pipeline(
            arrays,
            epochs=self.options["course_epochs"],
            steps=self.options["course_steps"],
            on_epoch=self.epoch_printer("course"),
        )
        result["how"] = (
            "the course's code (pandas, /255, one-hot, Sequential CNN, "
            "ImageDataGenerator flow, batch 32, compile with the default RMSprop) with "
            f"steps_per_epoch={result['steps_per_epoch']} "
            f"({self.options['course_steps']}(n/32)), seeds fixed; seconds an epoch "
            "from a callback (training plus validation), elapsed from before "
            "building the model"
        )
        summary = stats.epoch_summary(result["epoch_seconds"])
        result["first_epoch_s"] = summary["first"]
        result["median_epoch_after_first_s"] = summary["median_after_first"]
        best = stats.best_epoch(result["val_accuracy"])
        result["best_val_accuracy"], result["best_epoch"] = best[1], best[0]
        return result

    def part_project(self) -> dict:
        from bench import project

        ds = self.load()
        result = project.train_project(
            self.config, ds, self.store_root, on_epoch=self.epoch_printer("project")
        )
        self.project_run_dir = Path(result["run_dir"])
        summary = stats.epoch_summary(result["epoch_seconds"])
        result["first_epoch_s"] = summary["first"]
        result["median_epoch_after_first_s"] = summary["median_after_first"]
        result["how"] = (
            f"core.train.train with {self.config_source}: "
            f"(epochs {self.config.epochs}, batch {self.config.batch_size}, "
            f"{self.config.optimizer} {self.config.learning_rate}, schedule "
            f"{self.config.schedule}, augmentation "
            f"{'on' if self.config.augment else 'off'}, contrast normalisation "
            f"{'on' if self.config.normalize else 'off'}) in "
            "this process into the benchmark's own store; seconds an epoch as the "
            "training reports them (training plus validation), elapsed from the call "
            "to each epoch's progress event"
        )
        return result

    def part_floor(self) -> dict:
        from bench import project

        ds = self.load()
        config = dataclasses.replace(
            project.floor_config(self.config), epochs=self.options["floor_epochs"]
        )
        result = project.train_project(
            config, ds, self.store_root, on_epoch=self.epoch_printer("floor")
        )
        summary = stats.epoch_summary(result["epoch_seconds"])
        result["first_epoch_s"] = summary["first"]
        result["median_epoch_after_first_s"] = summary["median_after_first"]
        x, y = self.train_arrays()
        blocks, per_block = (4, 20) if self.options["quick"] else (12, 60)
        result["interleaved"] = project.interleaved_epoch_ratio(
            self.config, x, y, blocks, per_block
        )
        result["how"] = (
            "the project's default configuration with augmentation off, "
            f"{config.epochs} epochs, same batch size {config.batch_size}, through "
            "core.train.train (median epoch after the first); then, because two "
            "trainings minutes apart see different load on this shared machine, "
            f"interleaved: one model trained {blocks} blocks of {per_block} batches "
            "from each stream (core.train's stream with and without augmentation), "
            "alternating, train_on_batch; the target uses the median of the paired "
            "block ratios (augmented / plain, side by side)"
        )
        return result

    def part_augmentation(self) -> dict:
        from bench import augment_speed

        x, y = self.train_arrays()
        images = x.reshape(len(x), 28, 28, 1).astype("float32")
        measured = augment_speed.measure(
            images, y.astype("int32"), self.options["repeats"], (32,)
        )
        batch = measured["batches"]["32"]
        return {
            "how": f"bench/augment_speed.py measure(): one epoch of batches of 32 over "
            f"{len(x):,} training images, no training, course settings, raw 0..255 "
            "float32; project = core.augment.augment_dataset stream minus the same "
            "tf.data stream without augmentation (both shown, and the bare warp op); "
            "Keras 3 preprocessing layers mapped in tf.data; ImageDataGenerator flow "
            f"drained; medians of {measured['repeats']} passes (at most 3 for "
            "ImageDataGenerator) after one untimed pass",
            "rows": measured["rows"],
            "seconds_per_epoch": batch["seconds_per_epoch"],
            "times_slower_than_project_stream": batch[
                "times_slower_than_project_stream"
            ],
            "cpu_seconds_per_epoch": batch.get("cpu_seconds_per_epoch", {}),
        }

    def part_cache_hit(self) -> dict:
        from bench import project

        if self.project_run_dir is None:
            return {"skipped": "the project part did not train a run to hit"}
        ds = self.load()
        repeats = max(10, self.options["repeats"] * 4)
        hit = project.time_cache_hit(self.config, ds, self.store_root, repeats)
        result = {
            "how": f"core.jobs.JobManager.submit of the project's trained "
            "configuration on the same data, then core.store.read_run of its summary "
            f"and history (what the training page draws); {repeats} launches after "
            "one untimed, median and max",
            "median_s": stats.median(hit["seconds"]),
            "max_s": max(hit["seconds"]),
            "outcomes": ", ".join(hit["outcomes"]),
        }
        try:
            result["cli_s"] = project.time_cli_cache_hit(
                self.config, Path(self.options["data_dir"]), self.store_root
            )
            result["notes"] = [
                "cli_s: one `python -m core.train` with the same options, a fresh "
                "Python that imports, loads the data from the parse cache, finds the "
                "finished run and prints it"
            ]
        except Exception as error:  # noqa: BLE001 - the CLI figure is extra
            result["notes"] = [f"CLI cache hit not measured: {error}"]
        return result

    def part_prediction(self) -> dict:
        from bench import predict_speed
        from core import predict, store

        if self.project_run_dir is None:
            return {"skipped": "the project part did not train a model to ask"}
        repeats = max(50, self.options["repeats"] * 40)
        predictor = predict.Predictor(store.load_model(self.project_run_dir), "bench")
        timing = predict_speed.measure(predictor, repeats)
        photo = timing["jpeg_decode_to_probabilities"]
        return {
            "how": "bench/predict_speed.py measure() with the project's trained model "
            "(loaded once, as the classify page caches it): a 1200x900 photo-like "
            "image as JPEG and as PNG bytes, each call core.images.prepare_bytes "
            "(decode, grey, crop, 28x28) then Predictor.probabilities; "
            f"{repeats} calls after 10 untimed; the target uses the JPEG figure",
            "median_s": photo["median_ms"] / 1000,
            "p95_s": photo["p95_ms"] / 1000,
            "milliseconds": {
                f"{name} median / p95": f"{v['median_ms']:.2f} / {v['p95_ms']:.2f}"
                for name, v in timing.items()
            },
        }

    def part_app(self) -> dict:
        from bench import app

        repeats = max(1, min(3, self.options["repeats"]))
        env = {"ASL_STORE_DIR": str(self.store_root)}
        startup = app.measure_startup(repeats, env)
        runs = startup["runs"]
        result = {
            "how": f"streamlit run streamlit_app.py on 127.0.0.1, a free port, "
            f"--server.headless true, {repeats} launches; seconds from the launch to "
            "/_stcore/health answering 200, to / answering 200"
            + (
                ", and to the start page's title drawn in headless Chromium"
                if startup["browser"]
                else " (no browser here for the drawn page)"
            )
            + "; medians",
            "health_s": stats.median([r["health_s"] for r in runs]),
            "page_s": stats.median([r["page_s"] for r in runs]),
            "rendered_s": stats.median([r.get("rendered_s") for r in runs]),
            "server_rss_after_first_page_mb": stats.median(
                [r["server_rss_mb"] for r in runs]
            ),
            "launches": runs,
        }
        try:
            memory = app.measure_training_memory_via_page(
                {"ASL_DATA_DIR": self.options["data_dir"]},
                self.work_dir / "page-memory-store",
            )
            result.update(memory)
            result["notes"] = [
                "memory: RSS of the server's whole process tree (the server and "
                "the `python -m core.train --run-dir` child core.jobs starts), "
                "sampled every 0.25 s from /proc, from pressing Train on the training "
                "page (epochs 1, training rows 3000, other controls at their "
                "defaults) in headless "
                "Chromium until the run's summary.json appeared; idle = the same tree "
                "with the training page open before pressing Train"
            ]
        except Exception as error:  # noqa: BLE001 - fall back to the command line
            result.update(self._cli_training_memory())
            result["notes"].insert(0, f"driving the training page failed ({error})")
        return result

    def _cli_training_memory(self) -> dict:
        from bench import app

        memory_store = self.work_dir / "memory-store"
        command = [
            sys.executable,
            "-m",
            "core.train",
            "--quiet",
            "--data-dir",
            self.options["data_dir"],
            "--store-dir",
            str(memory_store),
            "--train-rows",
            "3000",
            "--epochs",
            "1",
            "--seed",
            "7",
        ]
        memory = app.measure_training_memory(
            command, {"ASL_STORE_DIR": str(memory_store)}
        )
        memory["notes"] = [
            "memory: RSS of the server's process tree (start page open in the browser) "
            "and of a training beside it, `" + shlex.join(command[1:]) + "`, sampled "
            "every 0.25 s from /proc while it ran. core.jobs runs a page's training as "
            "the same `python -m core.train` child process, so the server's peak while "
            "training through the page is about server idle + training peak"
        ]
        return memory

    def part_gpu(self) -> dict:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return {
                "skipped": "no GPU: tf.config.list_physical_devices('GPU') found none "
                "on this machine, so every training above ran on the CPUs; the GPU "
                "machine was not lent to the session that ran this benchmark"
            }
        return {
            "how": "TensorFlow placed the training parts above on this GPU",
            "devices": {g.name: _gpu_name(g) for g in gpus},
        }

    def run(self) -> int:
        for name in PARTS:
            self.run_part(name, getattr(self, f"part_{name}"))
        self.say("done")
        return 0


PROBE_CASES = {
    "unchanged": "the course's cells as written (img_iter.next() to preview a batch, "
    "steps_per_epoch=len(x_train)/batch_size)",
    "float_steps": "only the preview fixed (next(img_iter)), so the float "
    "steps_per_epoch reaches fit",
    "floor_steps": "steps_per_epoch=len(x_train)//batch_size, an integer one step "
    "short of the iterator",
    "ceil_steps": "steps_per_epoch=ceil(len(x_train)/batch_size), the port used here",
    "no_scipy": "the port on a Python where scipy cannot be imported",
}


def _probe_notes(cases: list[dict]) -> list[str]:
    notes = []
    for case in cases:
        what = PROBE_CASES.get(case["case"], case["case"])
        if case.get("finished"):
            batches = case.get("batches_per_epoch")
            outcome = (
                f"trains; batches per epoch {batches} of the iterator's "
                f"{case.get('iterator_batches')}"
            )
            if case.get("ran_out_warnings"):
                outcome += (
                    ", Keras warns 'Your input ran out of data' and every second "
                    "epoch trains on the one batch left over"
                )
        else:
            outcome = f"fails: {case.get('error')}"
        notes.append(f"{case['case']} - {what}: {outcome}")
    return notes


def default_data_dir() -> Path:
    """The shared real data beside the checkout, else the user's data folder."""
    if (paths.SHARED_DATA_DIR / "sign_mnist_train.csv.gz").exists():
        return paths.SHARED_DATA_DIR
    return paths.data_dir()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    from core.data import DataError, find_csvs

    try:
        find_csvs(args.data_dir)
    except DataError as error:
        print(
            f"error: the benchmark needs the real data in {args.data_dir}: {error} "
            "Put the two CSVs there (see the README) or pass --data-dir.",
            file=sys.stderr,
        )
        return 2
    options = resolve_options(args)
    command = "python -m bench" + (
        " " + shlex.join(argv if argv is not None else sys.argv[1:])
    )
    bench = Bench(options, command.strip())
    bench.say(f"benchmark: {json_line(options)}")
    return bench.run()


def json_line(value) -> str:
    import json

    return json.dumps(value, sort_keys=True)


if __name__ == "__main__":
    sys.exit(main())
