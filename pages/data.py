"""Data page: choose the data (a folder, an upload, or a one-click Kaggle
download), check it, and look at it: rows per split, label scheme, images per
letter, sample images and the mean image of each letter.

What is chosen here is what the other pages train and classify with
(``ui.data_ui.current_dataset``). Imports no TensorFlow.
"""

import plotly.graph_objects as go
import streamlit as st

from core import data, download, labels, paths
from core.data import DataError
from ui import data_ui
from ui.data_ui import escape_markdown, show_error

SAMPLES_PER_LETTER = 8  # a 2 x 4 grid per letter: enough to see the variation

st.title("📊 Data")
st.write(
    "Sign Language MNIST comes as two CSVs: a training split and a test split "
    "(the course calls it *valid*), one 28×28 grayscale image a row. Point the "
    "app at a folder, upload the files, or download them from Kaggle in one click; "
    "every file is checked before anything uses it."
)

# --- controls: where the data comes from -----------------------------------

folder_text = st.text_input(
    "Data folder",
    value=data.display_path(paths.data_dir()),
    key="data_folder",
    help="A folder inside the project's data folder, ASL_DATA_DIR or one of "
    "ASL_DATA_ROOTS, holding sign_mnist_train.csv and sign_mnist_test.csv (or "
    "sign_mnist_valid.csv), plain or .gz. Relative paths start at the project.",
)
uploads = st.file_uploader(
    "…or upload the two CSVs (plain or .gz), or Kaggle's archive.zip",
    type=["csv", "gz", "zip"],
    accept_multiple_files=True,
    key="data_upload",
    help=f"At most {data.MAX_CSV_BYTES // 2**20} MB a CSV and "
    f"{download.MAX_ZIP_BYTES // 2**20} MB for the archive.",
)


def scheme_choice(split: data.Split, key: str) -> str | None:
    """A switch when the labels fit both schemes; ``None`` keeps the detected."""
    if not split.ambiguous:
        return None
    return st.radio(
        escape_markdown(f"Label numbering of {split.name}"),  # labels are markdown
        labels.SCHEMES,
        format_func=lambda s: labels.SCHEME_DESCRIPTIONS[s],
        key=key,
        horizontal=True,
        help="These labels fit both numberings (no 9 and no 24 in the file), so "
        "Kaggle's was assumed. Switch if the file comes from the course.",
    )


def offer_download(folder) -> None:
    """The one-click Kaggle download, with progress and the manual way."""
    st.write(
        "No CSVs here yet. Download Sign Language MNIST from Kaggle (public, no "
        "account needed, about 63 MB); the files are checked before they are "
        "placed in the folder."
    )
    if st.button("⬇️ Download from Kaggle", key="data_download", type="primary"):
        bar = st.progress(0.0, text="Starting the download")
        try:
            download.download_dataset(
                folder, progress=lambda f, text: bar.progress(f, text=text)
            )
        except DataError as error:
            bar.empty()
            show_error(error)
            st.info(download.MANUAL_STEPS)  # our own text: its link may work
            return
        data_ui.forget_folder_cache()
        st.rerun()
    st.caption("By hand: " + download.MANUAL_STEPS)


# --- one call into core/: the data set to show ------------------------------

schemes = (  # what the switches below said on the previous run, if shown
    st.session_state.get("data_scheme_train"),
    st.session_state.get("data_scheme_valid"),
)
if uploads:
    try:
        dataset = data_ui.dataset_from_uploads(uploads, schemes)
    except DataError as error:
        show_error(error)
        st.stop()
else:
    try:
        folder = data.check_data_folder(folder_text)
    except DataError as error:
        show_error(error)
        st.stop()
    try:
        data.find_csvs(folder)
    except DataError as error:  # nothing to read here yet: offer to fetch it
        st.info(escape_markdown(str(error)))
        offer_download(folder)
        st.stop()
    try:
        dataset = data_ui.dataset_from_folder(folder, schemes)
    except DataError as error:
        show_error(error)
        st.info(
            "Fix or replace that file (the sentence says where), or upload good "
            "CSVs above."
        )
        st.stop()

# --- rendering --------------------------------------------------------------

source = (
    "the uploaded files"
    if dataset.source == "upload"
    else f"the folder {data.display_path(dataset.source)}"
)
st.success(escape_markdown(f"Checked and in use by every page: {source}."))

columns = st.columns(2)
for column, split, title, key in zip(
    columns,
    (dataset.train, dataset.valid),
    ("Training", "Validation"),
    ("data_scheme_train", "data_scheme_valid"),
):
    with column:
        st.metric(f"{title} rows", f"{split.rows:,}")
        st.text(f"{split.name}: {labels.SCHEME_DESCRIPTIONS[split.scheme]}")
        if split.ambiguous:
            st.warning(
                "The labels fit both numberings; the "
                f"{labels.SCHEME_DESCRIPTIONS[split.scheme].split(':')[0]} was assumed.",
                icon="⚠️",
            )
        scheme_choice(split, key)
st.caption(
    f"Data fingerprint, which names this data in the training cache: "
    f"{dataset.fingerprint[:16]}"
)

st.subheader("Images per letter")
letters = list(labels.LETTERS)
figure = go.Figure(
    [
        go.Bar(name="training", x=letters, y=data.class_counts(dataset.train_y)),
        go.Bar(name="validation", x=letters, y=data.class_counts(dataset.valid_y)),
    ]
)
figure.update_layout(
    barmode="group",
    height=320,
    margin=dict(l=10, r=10, t=10, b=10),
    xaxis_title="letter",
    yaxis_title="images",
    legend=dict(orientation="h", y=1.1),
)
st.plotly_chart(figure, key="data_counts_chart")

st.subheader("Sample images per letter")
seed = st.number_input(
    "Sample seed",
    min_value=0,
    value=0,
    step=1,
    key="data_sample_seed",
    help="Another seed draws other training images.",
)
grids = data_ui.sample_grids(dataset, SAMPLES_PER_LETTER, int(seed))
st.image(list(grids), caption=letters, width=180)

st.subheader("Mean image of each letter")
st.caption("The average of every training image of a letter: the typical hand shape.")
st.image(list(data_ui.mean_pictures(dataset)), caption=letters, width=84)
