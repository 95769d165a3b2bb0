"""Who may do what on a shared server: the instructor token and the rules for
actions that affect other people (cancelling their training, deleting stored
runs, replacing the default model).

With no token configured (one person on a laptop) everybody is the
instructor. With a token configured (``ASL_INSTRUCTOR_TOKEN`` or the Streamlit
secret ``instructor_token``), a participant can start trainings and cancel
only their own; everything else needs the token.

Deliberately not here: identifying a person (the page gives each browser
session an id) or any Streamlit call (the page passes ``st.secrets`` in).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from typing import Any

TOKEN_ENV = "ASL_INSTRUCTOR_TOKEN"
TOKEN_SECRET = "instructor_token"


def configured_token(secrets: Mapping[str, Any] | None = None) -> str | None:
    """The instructor token from the environment, else from ``secrets``;
    None when neither sets a non-empty one."""
    token = os.environ.get(TOKEN_ENV)
    if not token and secrets is not None:
        try:
            token = secrets.get(TOKEN_SECRET)
        except Exception:  # noqa: BLE001 - no secrets file is "no token"
            token = None
    token = str(token).strip() if token else ""
    return token or None


def is_instructor(given: str | None, configured: str | None) -> bool:
    """True when no token is configured, or ``given`` matches it (compared in
    constant time, so the token cannot be guessed a character at a time)."""
    if not configured:
        return True
    if not given:
        return False
    return hmac.compare_digest(given.strip().encode(), configured.encode())


def can_cancel(job_owner: str, requester: str, instructor: bool) -> bool:
    """A participant cancels their own training; the instructor anyone's."""
    return instructor or (bool(requester) and job_owner == requester)


def can_delete(instructor: bool) -> bool:
    """Deleting a stored run removes it for everyone: instructor only."""
    return instructor
