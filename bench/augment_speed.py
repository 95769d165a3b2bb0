"""Augmentation alone, no training: seconds for one epoch's worth of augmented
batches over the real training images, three ways, side by side.

- ``project``: ``core.augment.augment_dataset`` in ``tf.data`` (one batched
  affine warp a batch), reported as the stream's seconds minus the same stream
  without augmentation, so the slicing and batching that training does anyway
  is not charged to augmentation; both streams and the bare warp op (a
  ``tf.function`` over ready-made batches, no ``tf.data``) are reported too;
- ``imagedatagenerator``: Keras's legacy ImageDataGenerator with the course's
  settings, ``flow(...)`` drained for one epoch (one scipy warp an image);
- ``keras_layers``: RandomRotation, RandomZoom, RandomTranslation and
  RandomFlip in a Sequential, mapped over batches in ``tf.data`` (parallel).

All use the course's settings (rotation 10, zoom 0.1, shifts 0.1, horizontal
flip, nearest fill) on raw 0..255 float32 images, at batch 32 and at a big
batch. Each figure is the median of ``repeats`` timed passes (at most 3 for
ImageDataGenerator, seconds a pass) after one untimed pass (graph building,
caches), the methods taking turns pass by pass so that they all meet the same
background load. Wall-clock and CPU seconds are both kept: on a shared, noisy
machine the CPU seconds (what this process spent, all threads) and the ratios
from the same run are the figures to read.

Run: ``python -m bench.augment_speed [--repeats 5] [--batch-sizes 32,1024]``.
Writes ``bench/out/augment_speed.json``. ``bench.__main__`` may call
``measure(x, y, repeats, batch_sizes)`` directly. Not a test: it asserts
nothing and is never collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if __package__ in (None, ""):  # run as a file: make ``core`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from core import paths  # noqa: E402
from core.config import AugmentSettings  # noqa: E402

OUT_FILE = Path(__file__).resolve().parent / "out" / "augment_speed.json"
BATCH_SIZES = (32, 1024)
COURSE = AugmentSettings()  # rotation 10, zoom 0.1, shifts 0.1, horizontal flip
METHODS = ("project", "imagedatagenerator", "keras_layers")


def load_training_images(folder: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The real training split: ``(n, 28, 28, 1)`` float32 0..255 and raw
    labels ``(n,)`` int32, or ``None`` when the file is absent."""
    import pandas as pd

    path = folder / "sign_mnist_train.csv.gz"
    if not path.exists():
        return None
    frame = pd.read_csv(path)
    labels = frame.pop("label").to_numpy(np.int32)
    images = frame.to_numpy(np.float32).reshape(-1, 28, 28, 1)
    return images, labels


def drain(dataset) -> None:
    for _ in dataset:
        pass


def project_runners(x, y, batch_size: int) -> dict:
    """The project's three figures as callables that each do one epoch."""
    import tensorflow as tf

    from core import augment

    plain = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    augmented = augment.augment_dataset(plain, COURSE, seed=0)

    batches = [tf.constant(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    spec = tf.TensorSpec([None, 28, 28, 1], tf.float32)
    warp = tf.function(
        lambda images, seed: augment.augment_batch(images, COURSE, seed),
        input_signature=[spec, tf.TensorSpec([2], tf.int64)],
    )

    def warp_all() -> None:
        for index, batch in enumerate(batches):
            warp(batch, tf.constant([0, index], tf.int64))
        warp(batches[0], tf.constant([0, 0], tf.int64)).numpy()  # wait for all

    return {
        "project_stream_with_augmentation": lambda: drain(
            augmented.prefetch(tf.data.AUTOTUNE)
        ),
        "project_stream_without": lambda: drain(plain.prefetch(tf.data.AUTOTUNE)),
        "project_warp_op_only": warp_all,
    }


def image_data_generator_runner(x, y, batch_size: int):
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    generator = ImageDataGenerator(
        rotation_range=COURSE.rotation,
        zoom_range=COURSE.zoom,
        width_shift_range=COURSE.width_shift,
        height_shift_range=COURSE.height_shift,
        horizontal_flip=COURSE.horizontal_flip,
        vertical_flip=COURSE.vertical_flip,
        fill_mode=COURSE.fill_mode,
    )
    flow = generator.flow(x, y, batch_size=batch_size, shuffle=False, seed=0)

    def one_epoch() -> None:
        for index in range(len(flow)):
            flow[index]

    return one_epoch


def keras_layers_runner(x, y, batch_size: int):
    import keras
    import tensorflow as tf

    fill = COURSE.fill_mode
    layers = keras.Sequential(
        [
            keras.layers.RandomRotation(COURSE.rotation / 360, fill_mode=fill, seed=0),
            keras.layers.RandomZoom(COURSE.zoom, COURSE.zoom, fill_mode=fill, seed=1),
            keras.layers.RandomTranslation(
                COURSE.height_shift, COURSE.width_shift, fill_mode=fill, seed=2
            ),
            keras.layers.RandomFlip("horizontal", seed=3),
        ]
    )
    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .batch(batch_size)
        .map(lambda a, b: (layers(a, training=True), b), tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    return lambda: drain(dataset)


def run_interleaved(runners: dict, repeats: dict) -> dict:
    """Wall and CPU seconds of each runner: one untimed call each, then rounds
    in which every runner still owed a repeat runs once, so all of them meet
    the same background load. CPU seconds (this process, all its threads) are
    what a method costs; other programs on the machine barely move them."""
    for run in runners.values():
        run()
    wall = {name: [] for name in runners}
    cpu = {name: [] for name in runners}
    for round_ in range(max(repeats.values())):
        for name, run in runners.items():
            if round_ >= repeats[name]:
                continue
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            run()
            cpu[name].append(time.process_time() - cpu_start)
            wall[name].append(time.perf_counter() - wall_start)
    return {"wall": wall, "cpu": cpu}


def _summarise(raw: dict[str, list[float]]) -> tuple[dict, dict]:
    """Medians by method, the project's marginal figure, and the ratios."""
    med = {name: statistics.median(values) for name, values in raw.items()}
    marginal = med["project_stream_with_augmentation"] - med["project_stream_without"]
    seconds = {"project": max(0.0, marginal), **med}
    # Like with like: each figure is one epoch of augmented batches produced
    # from the same arrays, the two tf.data ones with the same parallelism.
    # (The marginal figure can be ~0, a useless divisor.)
    base = seconds["project_stream_with_augmentation"]
    ratios = {
        name: seconds[name] / base for name in ("imagedatagenerator", "keras_layers")
    }
    return seconds, ratios


def measure(x, y, repeats: int = 5, batch_sizes=BATCH_SIZES) -> dict:
    """Seconds an epoch of each method at each batch size: a JSON-ready dict
    with the repeats' seconds, their medians and ratios to the project, in wall
    time (``seconds_per_epoch``) and in CPU time (``cpu_seconds_per_epoch``)."""
    results: dict = {"rows": int(len(x)), "repeats": repeats, "batches": {}}
    for batch_size in batch_sizes:
        runners = project_runners(x, y, batch_size)
        runners["imagedatagenerator"] = image_data_generator_runner(x, y, batch_size)
        runners["keras_layers"] = keras_layers_runner(x, y, batch_size)
        counts = {name: repeats for name in runners}
        # ImageDataGenerator takes seconds a pass; three passes settle its median.
        counts["imagedatagenerator"] = min(repeats, 3)
        raw = run_interleaved(runners, counts)
        seconds, ratios = _summarise(raw["wall"])
        cpu_seconds, cpu_ratios = _summarise(raw["cpu"])
        results["batches"][str(batch_size)] = {
            "seconds_per_epoch": seconds,
            "times_slower_than_project_stream": ratios,
            "cpu_seconds_per_epoch": cpu_seconds,
            "cpu_times_more_than_project_stream": cpu_ratios,
            "raw_seconds": raw["wall"],
            "raw_cpu_seconds": raw["cpu"],
        }
    return results


def print_table(results: dict) -> None:
    print(
        f"One epoch of augmented batches over {results['rows']:,} images, median of "
        f"{results['repeats']} (x = times the project's stream)"
    )
    header = f"{'batch':>6} {'':>5} {'project':>9} {'(aug only)':>11} "
    header += f"{'(warp op)':>10} "
    header += f"{'ImageDataGenerator':>21} {'Keras layers':>18}"
    print(header)
    for batch, entry in results["batches"].items():
        for kind, prefix, ratio_key in (
            ("wall", "", "times_slower_than_project_stream"),
            ("cpu", "cpu_", "cpu_times_more_than_project_stream"),
        ):
            s = entry[f"{prefix}seconds_per_epoch"]
            r = entry[ratio_key]
            print(
                f"{batch:>6} {kind:>5} {s['project_stream_with_augmentation']:>8.3f}s "
                f"{s['project']:>10.3f}s {s['project_warp_op_only']:>9.3f}s "
                f"{s['imagedatagenerator']:>9.2f}s ({r['imagedatagenerator']:>5.1f}x) "
                f"{s['keras_layers']:>8.2f}s ({r['keras_layers']:>5.1f}x)"
            )
    print(
        "project: augment_dataset's tf.data stream; (aug only): that minus the same "
        "stream without augmentation; (warp op): augment_batch as a tf.function "
        "called batch after batch, no tf.data. wall: seconds on the clock; cpu: "
        "CPU seconds this process spent, all threads"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)))
    parser.add_argument("--rows", type=int, default=0, help="first rows only (0: all)")
    args = parser.parse_args(argv)

    loaded = load_training_images(paths.SHARED_DATA_DIR)
    if loaded is None:
        print(f"Skipped: no sign_mnist_train.csv.gz in {paths.SHARED_DATA_DIR}.")
        return 0
    x, y = loaded
    if args.rows:
        x, y = x[: args.rows], y[: args.rows]
    batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    results = measure(x, y, args.repeats, batch_sizes)

    import tensorflow as tf

    results["machine"] = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "cpus": os.cpu_count(),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
    }
    print_table(results)
    OUT_FILE.parent.mkdir(parents=True, exist_ok=True)
    OUT_FILE.write_text(json.dumps(results, indent=2) + "\n")
    print(f"Wrote {OUT_FILE.relative_to(paths.PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
