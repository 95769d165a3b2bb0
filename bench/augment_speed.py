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
caches). The machine is shared and noisy: read the
ratios, which come from the same run, rather than the seconds.

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


def timed(run, repeats: int) -> list[float]:
    """Seconds of ``repeats`` calls of ``run`` after one untimed call."""
    run()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return seconds


def drain(dataset) -> None:
    for _ in dataset:
        pass


def time_project(x, y, batch_size: int, repeats: int) -> dict[str, list[float]]:
    import tensorflow as tf

    from core import augment

    plain = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    augmented = augment.augment_dataset(plain, COURSE, seed=0)
    with_aug = timed(lambda: drain(augmented.prefetch(tf.data.AUTOTUNE)), repeats)
    without = timed(lambda: drain(plain.prefetch(tf.data.AUTOTUNE)), repeats)

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

    op_only = timed(warp_all, repeats)
    return {"stream_with": with_aug, "stream_without": without, "op_only": op_only}


def time_image_data_generator(x, y, batch_size: int, repeats: int) -> list[float]:
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

    return timed(one_epoch, repeats)


def time_keras_layers(x, y, batch_size: int, repeats: int) -> list[float]:
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
    return timed(lambda: drain(dataset), repeats)


def measure(x, y, repeats: int = 5, batch_sizes=BATCH_SIZES) -> dict:
    """Seconds an epoch of each method at each batch size: a JSON-ready dict
    with the repeats' seconds, their medians and ratios to the project."""
    results: dict = {"rows": int(len(x)), "repeats": repeats, "batches": {}}
    for batch_size in batch_sizes:
        project = time_project(x, y, batch_size, repeats)
        # ImageDataGenerator takes seconds a pass; three passes settle its median.
        generator = time_image_data_generator(x, y, batch_size, min(repeats, 3))
        keras_layers = time_keras_layers(x, y, batch_size, repeats)
        med = statistics.median
        marginal = med(project["stream_with"]) - med(project["stream_without"])
        project_s = max(0.0, marginal)
        seconds = {
            "project": project_s,
            "project_stream_with_augmentation": med(project["stream_with"]),
            "project_stream_without": med(project["stream_without"]),
            "project_warp_op_only": med(project["op_only"]),
            "imagedatagenerator": med(generator),
            "keras_layers": med(keras_layers),
        }
        # Like with like: each figure is one epoch of augmented batches produced
        # from the same arrays, the two tf.data ones with the same parallelism.
        # (The marginal figure can be ~0, a useless divisor.)
        base = seconds["project_stream_with_augmentation"]
        results["batches"][str(batch_size)] = {
            "seconds_per_epoch": seconds,
            "times_slower_than_project_stream": {
                name: seconds[name] / base
                for name in ("imagedatagenerator", "keras_layers")
            },
            "raw_seconds": {
                "project_stream_with_augmentation": project["stream_with"],
                "project_stream_without": project["stream_without"],
                "project_warp_op_only": project["op_only"],
                "imagedatagenerator": generator,
                "keras_layers": keras_layers,
            },
        }
    return results


def print_table(results: dict) -> None:
    print(
        f"One epoch of augmented batches over {results['rows']:,} images, median of "
        f"{results['repeats']} (seconds; x = times the project's stream)"
    )
    header = f"{'batch':>6} {'project':>9} {'(aug only)':>11} {'(warp op)':>10} "
    header += f"{'ImageDataGenerator':>21} {'Keras layers':>18}"
    print(header)
    for batch, entry in results["batches"].items():
        s, r = entry["seconds_per_epoch"], entry["times_slower_than_project_stream"]
        print(
            f"{batch:>6} {s['project_stream_with_augmentation']:>8.3f}s "
            f"{s['project']:>10.3f}s {s['project_warp_op_only']:>9.3f}s "
            f"{s['imagedatagenerator']:>9.2f}s ({r['imagedatagenerator']:>5.1f}x) "
            f"{s['keras_layers']:>8.2f}s ({r['keras_layers']:>5.1f}x)"
        )
    print(
        "project: augment_dataset's tf.data stream; (aug only): that minus the same "
        "stream without augmentation; (warp op): augment_batch as a tf.function "
        "called batch after batch, no tf.data"
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
