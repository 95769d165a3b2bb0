"""Page-layer helpers for the classify and spell pages: the model picker with
its once-per-server cache, the three input widgets (upload, canvas, camera),
and the pictures and chart that show what the model saw.

Everything here returns plain values (a Predictor, bytes, an RGBA array, a
figure); the maths lives in ``core.images`` and ``core.predict``. Widget keys
take the calling page's prefix (``classify_``, ``spell_``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core import images, predict
from core.images import ImageError
from core.predict import ModelChoice, ModelError, Predictor

CANVAS_SIZE = 280  # canvas pixels: ten screen pixels per input pixel
CANVAS_STROKE = 24  # about the width of a finger at that scale
IMAGE_CAP_MB = images.MAX_FILE_BYTES // 2**20


# -- models ------------------------------------------------------------------


def _stamp(choice: ModelChoice) -> float:
    """Changes when the model file is replaced, so the cache reloads it."""
    path = Path(choice.path) / predict.MODEL_FILE
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0.0


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _load_predictor(
    _choice: ModelChoice, key: str, folder: str, stamp: float
) -> Predictor:
    # One Predictor per model file per server: loading and tracing take
    # seconds, and every session may share it (it is read-only).
    return predict.load_choice(_choice)


def choose_model(prefix: str) -> tuple[Predictor | None, ModelChoice | None]:
    """A model picker (newest trained run first, then the shipped default;
    preselected: this session's latest training, else the most accurate).

    Shows the no-model advice and returns (None, None) when there is nothing
    to choose; shows one sentence and returns (None, choice) when the chosen
    model cannot be loaded.
    """
    choices = predict.list_model_choices()
    if not choices:
        st.info(predict.NO_MODEL_ADVICE)
        return None, None
    by_key = {choice.key: choice for choice in choices}
    # The training page records the run this session launched last.
    first = predict.preferred_choice(choices, st.session_state.get("train_watching"))
    key = st.selectbox(
        "Model",
        list(by_key),
        index=first,
        format_func=lambda k: by_key[k].label,
        key=f"{prefix}_model",
        help="Every finished training of this machine, newest first, and the "
        "small model that ships with the app. Offered first: the model you just "
        "trained, otherwise the most accurate one.",
    )
    choice = by_key[key]
    if choice.source == "default":
        if len(choices) == 1:
            st.caption(
                "Using the shipped default model, because no model has been "
                "trained here yet. Train one on the Training page to use your own."
            )
        else:
            st.caption("Using the shipped default model.")
    try:
        predictor = _load_predictor(
            choice, choice.key, str(choice.path), _stamp(choice)
        )
    except ModelError as error:
        st.error(str(error))
        return None, choice
    return predictor, choice


# -- inputs ------------------------------------------------------------------


def upload_widget(prefix: str, *, many: bool = False, label: str | None = None):
    """An image uploader capped at IMAGE_CAP_MB; returns the UploadedFile(s)."""
    return st.file_uploader(
        label or ("Images of signs" if many else "An image of a sign"),
        type=list(images.UPLOAD_TYPES),
        accept_multiple_files=many,
        max_upload_size=IMAGE_CAP_MB,
        key=f"{prefix}_upload",
        help=f"PNG, JPEG, WebP, GIF, BMP or TIFF, up to {IMAGE_CAP_MB} MB each.",
    )


def canvas_widget(
    prefix: str, *, show_clear: bool = True, light_on_dark: bool = False
) -> np.ndarray | None:
    """A drawing canvas with a Clear button; returns its ``(h, w, 4)`` uint8
    RGBA, or None while nothing is drawn. ``light_on_dark`` draws white ink on
    black (the preprocessing handles either polarity).

    Clear works by giving the canvas a new key, which mounts a fresh, empty
    canvas (the component keeps its drawing per key).
    """
    from streamlit_drawable_canvas import st_canvas

    counter_key = f"{prefix}_canvas_generation"
    generation = st.session_state.setdefault(counter_key, 0)
    ink, paper = ("#ffffff", "#000000") if light_on_dark else ("#000000", "#ffffff")
    result = st_canvas(
        stroke_width=CANVAS_STROKE,
        stroke_color=ink,
        background_color=paper,
        height=CANVAS_SIZE,
        width=CANVAS_SIZE,
        drawing_mode="freedraw",
        return_image_data=True,
        key=f"{prefix}_canvas_{generation}",
    )
    if show_clear and st.button("Clear the drawing", key=f"{prefix}_canvas_clear"):
        clear_canvas(prefix)
        st.rerun()
    if result is None or not drawn_anything(result.json_data):
        return None
    return result.image_data


def clear_canvas(prefix: str) -> None:
    counter_key = f"{prefix}_canvas_generation"
    st.session_state[counter_key] = st.session_state.get(counter_key, 0) + 1


def drawn_anything(json_data: dict | None) -> bool:
    """True when the canvas holds at least one object (a stroke)."""
    return bool(json_data and json_data.get("objects"))


def camera_widget(prefix: str):
    """The camera, behind a toggle so the browser asks for it only on request.
    Where the browser has no camera, the widget says so itself; nothing breaks."""
    if not st.toggle("Use the camera", key=f"{prefix}_camera_on"):
        return None
    return st.camera_input("Take a photo of a sign", key=f"{prefix}_camera")


def prepare(source, name: str, *, crop: bool, polarity: str) -> images.Prepared:
    """Bytes or a canvas array -> Prepared; ImageError propagates."""
    if isinstance(source, np.ndarray):
        return images.prepare_canvas(source, crop=crop, polarity=polarity)
    return images.prepare_bytes(source, name, crop=crop, polarity=polarity)


# -- showing what the model saw ----------------------------------------------


def crisp(pixels: np.ndarray, scale: int = 6) -> np.ndarray:
    """Enlarge a small grayscale picture with square pixels (browsers blur)."""
    picture = np.clip(np.asarray(pixels), 0, 255).astype(np.uint8)
    return np.kron(picture, np.ones((scale, scale), dtype=np.uint8))


def show_steps(steps: list[images.Step]) -> None:
    """The pipeline's pictures in a row, each with its name and note."""
    columns = st.columns(len(steps))
    for column, step in zip(columns, steps):
        with column:
            st.image(step.image, width="content")
            st.caption(f"**{step.name}**")
            st.text(step.note)


def top_chart(top: list[tuple[str, float]]):
    """A horizontal plotly bar chart of the top letters, most probable on top."""
    import plotly.graph_objects as go

    letters = [letter for letter, _ in top][::-1]
    values = [p for _, p in top][::-1]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=letters,
            orientation="h",
            text=[f"{p:.1%}" for p in values],
            textposition="auto",
            marker_color=["#c0c0c0"] * (len(values) - 1) + ["#e4572e"],
        )
    )
    figure.update_layout(
        xaxis=dict(range=[0, 1], tickformat=".0%", title="probability"),
        yaxis=dict(title="letter", type="category"),
        height=260,
        margin=dict(l=10, r=10, t=10, b=10),
    )
    return figure


@st.cache_data(max_entries=4, show_spinner=False)
def _references(fingerprint: str, _train_x: np.ndarray, _train_y: np.ndarray):
    return predict.reference_images(_train_x, _train_y)


def reference_pictures() -> np.ndarray | None:
    """``(24, 28, 28)`` uint8 reference images from the current data set, or
    None when no data set is loaded."""
    try:
        from ui.data_ui import current_dataset
    except ImportError:  # the data layer is optional for classifying
        return None
    dataset = current_dataset()
    if dataset is None:
        return None
    return _references(dataset.fingerprint, dataset.train_x, dataset.train_y)


def error_sentence(error: Exception) -> str:
    """An ImageError's sentence, escaped for st.error (it may hold a file name)."""
    from ui.data_ui import escape_markdown

    text = str(error)
    if text.startswith("the "):  # our own words ("the drawing ..."), not a name
        text = "T" + text[1:]
    return escape_markdown(text)


__all__ = [
    "ImageError",
    "camera_widget",
    "canvas_widget",
    "choose_model",
    "clear_canvas",
    "crisp",
    "error_sentence",
    "prepare",
    "reference_pictures",
    "show_steps",
    "top_chart",
    "upload_widget",
]
