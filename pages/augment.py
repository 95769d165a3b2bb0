"""Augmentation page: choose rotation, zoom, shifts, flips and the fill mode, and
see a 4x8 grid of what training would feed the network, for one chosen image
or a random batch.

The settings chosen here are kept in ``st.session_state["augment_settings"]``
(an ``AugmentSettings``), which the training page uses when augmentation is
on. The warp is ``core.augment``'s, the same code training runs, so the grid
is exactly what the network sees. Deliberately not here: any array maths.
"""

import pandas as pd
import streamlit as st

from core import labels
from core.config import FILL_MODES, AugmentSettings
from ui import data_ui

# Where the chosen settings live for other pages (the training page reads it).
SETTINGS_KEY = "augment_settings"
GRID_ROWS, GRID_COLUMNS = 4, 8
MAX_ROTATION = 45  # degrees; beyond that a hand stops looking like its letter
FILL_DESCRIPTIONS = {
    "nearest": "nearest: repeat the edge pixel (the course's default)",
    "constant": "constant: fill with one grey value",
    "reflect": "reflect: mirror the picture at its edge",
    "wrap": "wrap: tile the picture, the far edge comes back in",
}

st.title("🔀 Augmentation")
st.write(
    "Training shows the network a slightly different version of every image each "
    "epoch: turned, zoomed, shifted and mirrored at random, so it learns the hand "
    "and not the exact pixels. Move the sliders and watch the grid change; it is "
    "drawn by the same code that training uses."
)

dataset = data_ui.require_dataset()

# core.augment brings TensorFlow (seconds, once per server): import it after the
# title is on screen, under a spinner, instead of behind a blank page.
with st.spinner("Starting TensorFlow (the first visit only)..."):
    from core import augment

# --- controls ----------------------------------------------------------------


def widget_values(settings: AugmentSettings) -> dict:
    """The settings as the values of this page's widgets, by widget key."""
    return {
        "augment_rotation": min(int(settings.rotation), MAX_ROTATION),
        "augment_zoom": float(settings.zoom),
        "augment_width_shift": float(settings.width_shift),
        "augment_height_shift": float(settings.height_shift),
        "augment_horizontal_flip": settings.horizontal_flip,
        "augment_vertical_flip": settings.vertical_flip,
        "augment_fill_mode": settings.fill_mode,
        "augment_fill_value": int(settings.fill_value),
    }


def reset_to_course_defaults() -> None:
    st.session_state.update(widget_values(AugmentSettings()))


# Widgets forget their values when another page is shown; the settings kept
# under SETTINGS_KEY survive, so they seed the widgets on the way back.
stored = st.session_state.get(SETTINGS_KEY, AugmentSettings())
for key, value in widget_values(stored).items():
    st.session_state.setdefault(key, value)

controls, picture = st.columns([1, 2], gap="large")

with controls:
    st.subheader("Images")
    source = st.radio(
        "Show",
        ("One image", "A random batch"),
        key="augment_source",
        horizontal=True,
    )
    seed = st.number_input(
        "Seed", 0, 2**31 - 1, 0, key="augment_seed", help="Same seed, same grid."
    )
    if source == "One image":
        pick_by = st.radio(
            "Pick by", ("Letter", "Row index"), key="augment_pick_by", horizontal=True
        )
        if pick_by == "Letter":
            letter = st.selectbox("Letter", list(labels.LETTERS), key="augment_letter")
            rows = augment.rows_of_class(dataset.train_y, labels.class_index(letter))
            if rows.size == 0:
                st.info(f"The training split has no image of {letter}; pick another.")
                st.stop()
            nth = st.number_input(
                f"Which {letter} (0 to {rows.size - 1})",
                0,
                int(rows.size - 1),
                0,
                key="augment_nth",
            )
            chosen = [int(rows[nth])]
        else:
            count = len(dataset.train_y)
            index = st.number_input(
                f"Training row (0 to {count - 1})",
                0,
                count - 1,
                0,
                key="augment_index",
            )
            chosen = [int(index)]
    else:
        chosen = augment.random_rows(
            len(dataset.train_y), GRID_ROWS * GRID_COLUMNS, seed
        ).tolist()

    st.subheader("Settings")
    rotation = st.slider(
        "Rotation (degrees)",
        0,
        MAX_ROTATION,
        key="augment_rotation",
        help="Each image turns by an angle drawn uniformly from ± this many degrees.",
    )
    zoom = st.slider(
        "Zoom",
        0.0,
        0.5,
        step=0.01,
        key="augment_zoom",
        help="Two factors, one per axis, each drawn from [1 − zoom, 1 + zoom]; "
        "below 1 magnifies the hand, above 1 shows more around it.",
    )
    width_shift = st.slider(
        "Width shift (fraction of the width)",
        0.0,
        0.5,
        step=0.01,
        key="augment_width_shift",
        help="Columns move left or right by up to this fraction of 28 pixels.",
    )
    height_shift = st.slider(
        "Height shift (fraction of the height)",
        0.0,
        0.5,
        step=0.01,
        key="augment_height_shift",
        help="Rows move up or down by up to this fraction of 28 pixels.",
    )
    horizontal_flip = st.toggle("Horizontal flip", key="augment_horizontal_flip")
    st.caption("Left-handed signers exist, so a mirrored hand is still the letter.")
    vertical_flip = st.toggle("Vertical flip", key="augment_vertical_flip")
    st.caption("Hands are never upside down, so the course leaves this off.")
    fill_mode = st.selectbox(
        "Fill mode",
        FILL_MODES,
        format_func=FILL_DESCRIPTIONS.get,
        key="augment_fill_mode",
        help="What fills the pixels that come from outside the picture.",
    )
    fill_value = st.slider(
        "Fill value (constant mode)",
        0,
        255,
        key="augment_fill_value",
        disabled=fill_mode != "constant",
    )
    st.button(
        "Back to the course's settings",
        key="augment_reset",
        on_click=reset_to_course_defaults,
    )


settings = AugmentSettings(
    rotation=float(rotation),
    zoom=float(zoom),
    width_shift=float(width_shift),
    height_shift=float(height_shift),
    horizontal_flip=horizontal_flip,
    vertical_flip=vertical_flip,
    fill_mode=fill_mode,
    fill_value=float(fill_value),
)
st.session_state[SETTINGS_KEY] = settings

# --- the one call into core -----------------------------------------------------

grid, drawn = augment.preview(
    dataset.train_x[chosen], settings, int(seed), GRID_ROWS, GRID_COLUMNS
)

# --- rendering -------------------------------------------------------------------

with picture:
    st.subheader(f"{GRID_ROWS * GRID_COLUMNS} augmented versions")
    if len(chosen) == 1:
        original, augmented = st.columns([1, 4])
        row = chosen[0]
        with original:
            st.image(
                dataset.train_x[row],
                caption=f"Original: row {row}, {labels.letter(dataset.train_y[row])}",
                width=112,
            )
        with augmented:
            st.image(grid, caption="Augmented, one draw each")
    else:
        augmented_tab, originals_tab = st.tabs(["Augmented", "Originals"])
        augmented_tab.image(
            grid, caption="Each image of a random batch, augmented once"
        )
        originals_tab.image(
            augment.grid_of(dataset.train_x[chosen], GRID_COLUMNS),
            caption="The same batch as it is in the file",
        )
        letters = "".join(labels.letter(dataset.train_y[r]) for r in chosen)
        st.caption(
            "Letters, row by row: "
            + " · ".join(
                letters[i : i + GRID_COLUMNS]
                for i in range(0, len(letters), GRID_COLUMNS)
            )
        )
    if settings.is_identity:
        st.info("Every setting is off, so training would see the images unchanged.")
    with st.expander("The transforms drawn for each cell"):
        st.caption(
            "Angle in degrees (positive turns counter-clockwise); zoom factors "
            "above 1 shrink the hand; shifts in pixels (positive: right, down); "
            "flips 1 when mirrored."
        )
        st.dataframe(pd.DataFrame(drawn).round(3), height=250)
