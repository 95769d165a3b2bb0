"""How long one uploaded photo takes from file bytes to probabilities.

Makes a photo-sized image itself (1200x900, a bright hand-like shape on a
textured background), encodes it as JPEG and as PNG (and a 12-megapixel JPEG,
as a phone camera writes), and with the model already
loaded times ``core.images.prepare_bytes`` + ``Predictor.probabilities`` over
many repeats: median and 95th percentile, printed and written to
``bench/out/predict_speed.json``. Also times the whole page's work (with
Grad-CAM) and, for comparison, ``model.predict`` on the same input.

The model: the shipped default model, else the newest finished run, else an
untrained course CNN (the same network, so the same speed; said in the output).

    python bench/predict_speed.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from core import images, predict  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "predict_speed.json"


def make_photo(width: int = 1200, height: int = 900, seed: int = 0) -> Image.Image:
    """An RGB photo stand-in: smooth noisy background, a bright tilted blob."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(40, 140, size=(height // 30, width // 30, 3)).astype(np.uint8)
    background = np.asarray(
        Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
    ).astype(np.int16)
    yy, xx = np.mgrid[0:height, 0:width]
    hand = ((xx - width * 0.5) / (width * 0.18)) ** 2 + (
        (yy - height * 0.55) / (height * 0.35)
    ) ** 2 <= 1
    noise = rng.integers(-12, 12, size=(height, width, 1))
    picture = np.where(hand[..., None], np.array([225, 190, 170]) + noise, background)
    return Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def load_predictor() -> tuple[predict.Predictor, str]:
    choices = predict.list_model_choices()
    default = [c for c in choices if c.source == "default"]
    if default or choices:
        choice = (default or choices)[0]
        return predict.load_choice(choice), choice.label
    from core.config import TrainConfig
    from core.model import build_model

    return predict.Predictor(build_model(TrainConfig())), "untrained course CNN"


def time_ms(work, repeats: int, warmup: int = 10) -> dict[str, float]:
    for _ in range(warmup):
        work()
    samples, cpu_samples = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        work()
        samples.append((time.perf_counter() - start) * 1000)
        cpu_samples.append((time.process_time() - cpu_start) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 2),
        "min_ms": round(samples[0], 2),
        # CPU time of this process (all threads): what the work costs, less
        # swayed than wall time when other jobs share the machine's cores.
        "cpu_median_ms": round(statistics.median(cpu_samples), 2),
        "repeats": repeats,
    }


def measure(predictor: predict.Predictor, repeats: int = 200) -> dict[str, dict]:
    """Every timing of this benchmark for a loaded predictor, in milliseconds:
    ``{name: {"median_ms", "p95_ms", "min_ms", "repeats"}}``. Callable from
    other benchmark commands (``python -m bench``)."""
    photo = make_photo()
    files = {
        "jpeg": encode(photo, "JPEG"),
        "png": encode(photo, "PNG"),
        # what a phone camera writes: 12 megapixels
        "jpeg_12mp": encode(make_photo(4032, 3024, seed=1), "JPEG"),
    }
    results: dict[str, dict] = {}
    for kind, data in files.items():
        def decode_to_probabilities(data=data, kind=kind):
            prepared = images.prepare_bytes(data, f"photo.{kind}")
            return predictor.probabilities(prepared.pixels)

        def whole_page(data=data, kind=kind):
            prepared = images.prepare_bytes(data, f"photo.{kind}")
            prediction = predictor.predict(prepared.pixels)
            return predict.overlay(
                prepared.preview, prediction.saliency, prepared.square
            )

        results[f"{kind}_decode_to_probabilities"] = time_ms(
            decode_to_probabilities, repeats
        )
        results[f"{kind}_with_gradcam_and_overlay"] = time_ms(
            whole_page, repeats if kind != "jpeg_12mp" else max(20, repeats // 4)
        )
        results[f"{kind}_decode_to_probabilities"]["file_bytes"] = len(data)

    pixels = images.prepare_bytes(files["jpeg"], "photo.jpg").pixels
    results["model_call_only"] = time_ms(
        lambda: predictor.probabilities(pixels), repeats
    )
    results["keras_model_predict_for_comparison"] = time_ms(
        lambda: predictor.model.predict(pixels.reshape(1, 28, 28, 1), verbose=0),
        max(20, repeats // 10),
    )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()

    predictor, model_name = load_predictor()
    results = measure(predictor, args.repeats)
    model_call = results["model_call_only"]
    keras_predict = results["keras_model_predict_for_comparison"]

    report = {
        "what": "1200x900 photo bytes -> 24 probabilities, model loaded",
        "load_average_1min": round(os.getloadavg()[0], 2),
        "model": model_name,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "results": results,
        "model_predict_vs_compiled_call": round(
            keras_predict["median_ms"] / max(model_call["median_ms"], 1e-6), 1
        ),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=1))
    print(f"model: {model_name}; load average {report['load_average_1min']}")
    for name, numbers in results.items():
        print(f"{name:36s} median {numbers['median_ms']:7.2f} ms   "
              f"p95 {numbers['p95_ms']:7.2f} ms   "
              f"cpu {numbers['cpu_median_ms']:7.2f} ms")
    print(f"model.predict is {report['model_predict_vs_compiled_call']}x the "
          "compiled call for one image")
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
