"""Page-layer helpers for training and run history: the server's one job
manager, this browser session's id, the instructor check, and the plotly
figures (curves, overlays, confusion matrix, per-letter accuracy).

The job manager is held by ``st.cache_resource``, so it outlives every
session and rerun; its supervisor thread never calls Streamlit. Pages poll the
run folders on disk (``st.fragment(run_every=...)``).

Deliberately not here: any training, file format or array maths (``core``).
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core import access, paths, store
from core.jobs import JobManager
from core.labels import LETTERS

OWNER_KEY = "train_owner"
TOKEN_KEY = "train_token"
# How often a page with a live training redraws its curves, in seconds.
POLL_EVERY_S = 1.5
STATE_ICONS = {
    store.FINISHED: "✅",
    store.RUNNING: "🏃",
    store.QUEUED: "⏳",
    store.INTERRUPTED: "⚡",
    store.CANCELLED: "🛑",
    store.FAILED: "❌",
}


@st.cache_resource(show_spinner=False)
def _job_manager(store_root: str) -> JobManager:
    return JobManager(Path(store_root))


def job_manager() -> JobManager:
    """The one job manager of this server process for the run store
    (``ASL_STORE_DIR`` or ``runs/``)."""
    return _job_manager(str(paths.store_dir().resolve()))


def _browser_id() -> str | None:
    """A stable id for this browser: a hash of the token inside Streamlit's
    XSRF cookie, which the browser keeps across reloads. The cookie is
    re-masked on every page load (Tornado's format ``2|mask|masked|time``),
    so the mask is undone first. None when there is no such cookie."""
    try:
        cookie = st.context.cookies.get("_streamlit_xsrf") or ""
        version, mask_hex, masked_hex, _ = cookie.split("|")
        mask, masked = bytes.fromhex(mask_hex), bytes.fromhex(masked_hex)
    except (AttributeError, ValueError, TypeError):
        return None
    if version != "2" or len(mask) != 4 or not masked:
        return None
    token = bytes(b ^ mask[i % 4] for i, b in enumerate(masked))
    # Only a hash is ever stored (in run folders): the token itself guards
    # this browser against cross-site requests.
    return hashlib.sha256(b"asl-owner|" + token).hexdigest()[:16]


def session_owner() -> str:
    """Who this browser is, recorded as the owner of the trainings it starts:
    the same after a reload (see :func:`_browser_id`), else a random id for
    this session."""
    if OWNER_KEY not in st.session_state:
        st.session_state[OWNER_KEY] = _browser_id() or uuid.uuid4().hex[:16]
    return st.session_state[OWNER_KEY]


def _secrets():
    try:
        return st.secrets
    except Exception:  # noqa: BLE001 - no secrets file
        return None


def instructor_controls(prefix: str) -> bool:
    """True when this session may act for everyone. Shows a password field
    only when an instructor token is configured."""
    configured = access.configured_token(_secrets())
    if configured is None:
        return True
    with st.expander("Instructor"):
        given = st.text_input(
            "Instructor token",
            type="password",
            key=f"{prefix}_token",
            help="Needed to cancel other people's trainings or delete runs.",
        )
    allowed = access.is_instructor(given, configured)
    if given and not allowed:
        st.error("That instructor token is not right.")
    return allowed


def owner_label(owner: str, me: str) -> str:
    if owner == me:
        return "you"
    if owner == "cli":
        return "command line"
    return "someone else" if owner else "unknown"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


# ---------------------------------------------------------------- figures


def curves_figure(epochs: list[dict], title: str = "") -> go.Figure:
    """Loss and accuracy, training and validation, one point an epoch."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    x = [e["epoch"] for e in epochs]
    for column, metric in ((1, "loss"), (2, "accuracy")):
        for prefix, name, colour in (
            ("", "training", "#1f77b4"),
            ("val_", "validation", "#ff7f0e"),
        ):
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=[e.get(prefix + metric) for e in epochs],
                    mode="lines+markers",
                    name=name,
                    legendgroup=name,
                    showlegend=column == 1,
                    line={"color": colour, "dash": "solid" if not prefix else "dot"},
                ),
                row=1,
                col=column,
            )
    figure.update_xaxes(title_text="epoch", dtick=1 if len(x) <= 20 else None)
    figure.update_yaxes(range=[0, 1.02], row=1, col=2)
    figure.update_layout(
        height=340,
        margin={"t": 40, "b": 10},
        title=title or None,
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def overlay_figure(series: dict[str, list[dict]], with_gap: bool = False) -> go.Figure:
    """Several runs' curves on shared axes: accuracy (left) and loss (right),
    training solid and validation dotted, one colour a run. ``with_gap``
    adds a third panel with training minus validation accuracy per epoch."""
    columns = 3 if with_gap else 2
    titles = ("Accuracy", "Loss", "Gap: training − validation accuracy")[:columns]
    figure = make_subplots(rows=1, cols=columns, subplot_titles=titles)
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    for index, (label, epochs) in enumerate(series.items()):
        colour = palette[index % len(palette)]
        x = [e["epoch"] for e in epochs]
        for column, metric in ((1, "accuracy"), (2, "loss")):
            for prefix, kind, dash in (
                ("", "training", "solid"),
                ("val_", "validation", "dot"),
            ):
                figure.add_trace(
                    go.Scatter(
                        x=x,
                        y=[e.get(prefix + metric) for e in epochs],
                        mode="lines+markers",
                        line={"color": colour, "dash": dash},
                        name=f"{label}: {kind}",
                        legendgroup=label,
                        showlegend=column == 1,
                    ),
                    row=1,
                    col=column,
                )
        if with_gap:
            gap = [
                (e["accuracy"] - e["val_accuracy"])
                if e.get("accuracy") is not None and e.get("val_accuracy") is not None
                else None
                for e in epochs
            ]
            figure.add_trace(
                go.Bar(
                    x=x,
                    y=gap,
                    name=f"{label}: gap",
                    marker_color=colour,
                    legendgroup=label,
                    showlegend=False,
                ),
                row=1,
                col=3,
            )
    longest = max((len(e) for e in series.values()), default=0)
    figure.update_xaxes(title_text="epoch", dtick=1 if longest <= 20 else None)
    figure.update_layout(
        height=380,
        margin={"t": 40, "b": 10},
        barmode="group",
        legend={"orientation": "h", "y": -0.3},
    )
    return figure


def confusion_figure(matrix: np.ndarray) -> go.Figure:
    """24x24 heatmap, true letter down, predicted letter across; the colour
    is the share of each true letter (so rare letters show too), the hover
    the count."""
    counts = np.asarray(matrix)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(
        counts, totals, out=np.zeros(counts.shape, float), where=totals > 0
    )
    letters = list(LETTERS)
    figure = go.Figure(
        go.Heatmap(
            z=share,
            x=letters,
            y=letters,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            hoverinfo="skip",
            colorbar={"title": "share"},
        )
    )
    # Streamlit reports no selection for heatmap clicks, so an invisible
    # square marker sits on every cell: clicking it selects that cell.
    rows, columns = np.indices(counts.shape)
    figure.add_trace(
        go.Scatter(
            x=[letters[c] for c in columns.ravel()],
            y=[letters[r] for r in rows.ravel()],
            customdata=counts.ravel(),
            mode="markers",
            marker={"symbol": "square", "size": 18, "opacity": 0.01, "color": "black"},
            hovertemplate=(
                "true %{y}, read as %{x}: %{customdata} images<extra></extra>"
            ),
            showlegend=False,
        )
    )
    # Fixed ranges: the markers would otherwise pad the axes around the cells.
    figure.update_yaxes(
        range=[len(letters) - 0.5, -0.5], title_text="true letter", type="category"
    )
    figure.update_xaxes(
        range=[-0.5, len(letters) - 0.5],
        title_text="predicted letter",
        type="category",
        side="top",
    )
    figure.update_layout(height=560, margin={"t": 60, "b": 10})
    return figure


def per_letter_figure(accuracy: np.ndarray) -> go.Figure:
    figure = go.Figure(
        go.Bar(
            x=list(LETTERS), y=accuracy, hovertemplate="%{x}: %{y:.1%}<extra></extra>"
        )
    )
    figure.update_yaxes(
        range=[0, 1], tickformat=".0%", title_text="validation accuracy"
    )
    figure.update_xaxes(type="category")
    figure.update_layout(height=300, margin={"t": 20, "b": 10})
    return figure


def selected_cell(event) -> tuple[int, int] | None:
    """(true class, predicted class) of the clicked heatmap cell, if any."""
    try:
        points = event.selection.points
    except AttributeError:
        try:
            points = event["selection"]["points"]
        except (KeyError, TypeError):
            return None
    if not points:
        return None
    point = points[0]
    try:
        return LETTERS.index(str(point["y"])), LETTERS.index(str(point["x"]))
    except (KeyError, ValueError):
        return None


def safe_text(text: object) -> str:
    """User or file text, safe inside markdown: every punctuation mark
    escaped, so no link, HTML or emphasis can come from it."""
    from ui.data_ui import escape_markdown

    return escape_markdown(str(text))
