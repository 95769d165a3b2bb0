"""Start here: what the dashboard is, the four steps, and where this machine
stands (data found? a model to classify with?). Imports no TensorFlow, so it is
the page a person sees first and at once."""

import streamlit as st

from core import paths
from core.labels import LETTERS

st.title("✋ Sign language letters, from data to prediction")
st.write(
    "Learn image classification on **Sign Language MNIST**: 28×28 grayscale "
    f"photos of hands signing {len(LETTERS)} letters, A to Y without J and Z "
    "(those two need motion, which a still image cannot show). Explore the "
    "data, see what augmentation does, train the course's CNN and watch it "
    "learn, then sign a letter yourself and see what the model reads."
)

steps = [
    ("pages/data.py", "1. Data", "Load the CSVs, check them, see the letters."),
    ("pages/augment.py", "2. Augmentation", "Rotate, zoom, shift and flip, live."),
    ("pages/train.py", "3. Training", "Train the CNN; watch the curves grow."),
    ("pages/classify.py", "4. Classify", "Draw, upload or photograph a sign."),
    ("pages/spell.py", "5. Spell a word", "Read several signs in order."),
]
columns = st.columns(len(steps))
for column, (page, label, blurb) in zip(columns, steps):
    with column:
        st.page_link(page, label=label)
        st.caption(blurb)

st.subheader("This machine")
data_folder = paths.data_dir()
has_csv = any(data_folder.glob("sign_mnist_*.csv*")) if data_folder.is_dir() else False
if has_csv:
    st.success("Sign Language MNIST CSVs are in the data folder.")
else:
    st.info(
        "No CSVs in the data folder yet: open **Data** to download them in one "
        "click, upload them, or point the app at another folder."
    )
if (paths.DEFAULT_MODEL_DIR / "model.keras").exists():
    st.success("A small pre-trained model ships with the app: **Classify** works now.")
