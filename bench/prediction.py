"""Prediction for one uploaded image, used when ``bench/predict_speed.py`` (the
classify engineer's) offers no function this command can call.

One validation image is scaled up to a 280x280 RGB PNG, as a photo upload
would arrive; each timed call decodes those bytes (``core.images.
prepare_bytes``: decode, grey, crop, resize to 28x28) and asks a loaded
``core.predict.Predictor`` for the 24 probabilities. The model is loaded once
before timing, as the classify page keeps it in ``st.cache_resource``.
"""

from __future__ import annotations

import io

import numpy as np

from bench import stats

UPLOAD_SIDE = 280


def upload_bytes(image: np.ndarray) -> bytes:
    """A ``(28, 28)`` uint8 image -> PNG bytes of a 280x280 RGB picture."""
    from PIL import Image

    picture = Image.fromarray(np.asarray(image, np.uint8)).convert("RGB")
    picture = picture.resize((UPLOAD_SIDE, UPLOAD_SIDE), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def measure(run_dir, image: np.ndarray, repeats: int) -> dict:
    from core import images, predict, store

    predictor = predict.Predictor(store.load_model(run_dir), name="bench")
    data = upload_bytes(image)

    def decode_and_predict() -> None:
        prepared = images.prepare_bytes(data, "upload.png")
        predictor.probabilities(prepared.model_input)

    def with_explanation() -> None:
        prepared = images.prepare_bytes(data, "upload.png")
        predictor.predict(prepared.model_input, explain=True)

    seconds = stats.repeat_timed(decode_and_predict, repeats, warmup=3)
    explained = stats.repeat_timed(with_explanation, max(5, repeats // 4), warmup=2)
    return {"seconds": seconds, "explained_seconds": explained, "png_bytes": len(data)}
