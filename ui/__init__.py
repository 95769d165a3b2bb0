"""Page-layer helpers: streamlit caching wrappers around ``core/`` and small
shared widgets. Logic stays in ``core/``; nothing here is imported by it.

Importing this package also routes a server's very first request through the
navigation in ``streamlit_app.py``. Streamlit decides at start-up that an app
with a ``pages/`` folder beside its main script is an old-style multipage app;
until the main script has run once and called ``st.navigation``, a visit that
lands straight on ``/augment`` (say) would run that page file alone, with the
wrong sidebar and without ``set_page_config``. Every page imports ``ui``
before it draws anything, so the first such visit runs the entry point in its
place (which turns the old mode off for the whole server, draws the real
navigation and runs the page) and stops the stray run.
TODO(streamlit): drop once Streamlit stops guessing from ``pages/``.
"""

import runpy
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    runpy.run_path(
        str(Path(__file__).resolve().parent.parent / "streamlit_app.py"),
        run_name="__main__",
    )
    st.stop()
