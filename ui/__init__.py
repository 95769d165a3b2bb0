"""Page-layer helpers: streamlit caching wrappers around ``core/`` and small
shared widgets. Logic stays in ``core/``; nothing here is imported by it."""
