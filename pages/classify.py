"""Classify: sign a letter by upload, drawing or camera, and see what the model
saw, what it read, and why (Grad-CAM over your own image)."""

import streamlit as st

from core.images import EmptyDrawingError, ImageError
from core.labels import LETTERS
from ui import classify_ui

st.title("🔤 Classify a sign")
st.write(
    "Upload a photo of a hand signing a letter, draw one, or use the camera. "
    "The page shows each preprocessing step, the 28×28 image the model sees, "
    "the five most likely letters, and which parts of your image drove the answer."
)

predictor, choice = classify_ui.choose_model("classify")
if predictor is None:
    st.stop()

with st.sidebar:
    st.subheader("Preprocessing")
    crop = st.toggle(
        "Crop to the sign",
        value=True,
        key="classify_crop",
        help="Only where the background is plain (drawings, cut-out photos): a "
        "hand in a photo cannot be found without segmentation.",
    )
    polarity = st.radio(
        "Polarity",
        ["auto", "keep", "invert"],
        format_func={
            "auto": "auto (drawings → light on dark; photos as they are)",
            "keep": "keep as is",
            "invert": "invert",
        }.get,
        key="classify_polarity",
    )

source_kind = st.segmented_control(
    "Input",
    ["Upload", "Draw", "Camera"],
    default="Upload",
    key="classify_source",
)
source, name = None, "the image"
if source_kind == "Draw":
    light_ink = st.toggle(
        "White ink on black",
        key="classify_light_ink",
        help="Either way works: a drawing becomes light strokes on dark, like "
        "the training data, and the page says which it assumed.",
    )
    st.caption("Draw a hand sign with the mouse or a finger; strokes become the hand.")
    drawing = classify_ui.canvas_widget("classify", light_on_dark=light_ink)
    source, name = drawing, "the drawing"
    if source is None:
        st.info("Draw a sign first: the canvas is empty.")
        st.stop()
elif source_kind == "Camera":
    photo = classify_ui.camera_widget("classify")
    if photo is None:
        st.info("Turn the camera on and take a photo of a sign.")
        st.stop()
    source, name = photo.getvalue(), "the camera photo"
else:
    upload = classify_ui.upload_widget("classify")
    if upload is None:
        st.info(
            "Upload an image of a sign (or switch to Draw or Camera above). "
            f"Images up to {classify_ui.IMAGE_CAP_MB} MB."
        )
        st.stop()
    source, name = upload.getvalue(), upload.name

try:
    prepared = classify_ui.prepare(source, name, crop=crop, polarity=polarity)
except EmptyDrawingError as error:
    st.info(classify_ui.error_sentence(error))
    st.stop()
except ImageError as error:
    st.error(classify_ui.error_sentence(error))
    st.stop()

prediction = predictor.predict(prepared.pixels)

st.subheader(f"The model reads **{prediction.letter}** ({prediction.probability:.0%})")
st.caption(prepared.polarity)

left, middle, right = st.columns(3)
with left:
    if prediction.saliency is not None:
        from core.predict import overlay

        st.image(
            overlay(prepared.preview, prediction.saliency, prepared.square),
            caption=f"Grad-CAM for {prediction.letter} over your image: brighter "
            "= drove the answer more (7×7 cells of the last convolution).",
        )
    else:
        st.image(prepared.preview, caption="your image")
with middle:
    st.image(
        classify_ui.crisp(prepared.pixels, 8),
        caption="the 28×28 input the model sees",
    )
with right:
    references = classify_ui.reference_pictures()
    if references is None:
        st.info("Load the data set on the Data page to see a reference image.")
    else:
        st.image(
            classify_ui.crisp(references[prediction.class_index], 8),
            caption=f"a typical {prediction.letter} from the training data "
            "(the image nearest the letter's mean)",
        )

st.plotly_chart(
    classify_ui.top_chart(prediction.top), key="classify_top5", width="stretch"
)

with st.expander("Preprocessing, step by step", expanded=True):
    classify_ui.show_steps(prepared.steps)

st.caption(
    f"{len(LETTERS)} letters: J and Z are signed with motion, so a still image "
    "cannot show them."
)
