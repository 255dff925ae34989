"""The old home of the CSRF checks, kept for modules that still import it from here: use app.http.csrf."""

from app.http.csrf import (
    FIELD,
    HEADER,
    PRELOGIN_COOKIE,
    CsrfFailed,
    csrf_token_for,
    set_prelogin_cookie,
    verify_csrf,
    verify_csrf_audited,
)

__all__ = [
    "FIELD",
    "HEADER",
    "PRELOGIN_COOKIE",
    "CsrfFailed",
    "csrf_token_for",
    "set_prelogin_cookie",
    "verify_csrf",
    "verify_csrf_audited",
]
