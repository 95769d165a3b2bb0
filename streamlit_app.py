"""Entry point: the dashboard's pages and their order, nothing else.

Run with ``streamlit run streamlit_app.py``. Each page lives in ``pages/`` and
calls into ``core/``; pages that need TensorFlow import it themselves, so the
home and data pages appear without waiting for it.
"""

import streamlit as st

st.set_page_config(page_title="ASL letters", page_icon="✋", layout="wide")

PAGES = {
    "Learn": [
        st.Page("pages/home.py", title="Start here", icon="🏠", default=True),
        st.Page("pages/data.py", title="Data", icon="📊", url_path="data"),
        st.Page("pages/augment.py", title="Augmentation", icon="🔀", url_path="augment"),
    ],
    "Model": [
        st.Page("pages/train.py", title="Training", icon="🏋️", url_path="train"),
        st.Page("pages/runs.py", title="Runs", icon="📚", url_path="runs"),
        st.Page("pages/classify.py", title="Classify", icon="🔤", url_path="classify"),
        st.Page("pages/spell.py", title="Spell a word", icon="🔡", url_path="spell"),
    ],
}

st.navigation(PAGES).run()
