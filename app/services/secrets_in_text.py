"""Secrets pasted into free text (a request's reason, an approver's comment, a token's name), found before storing.

Such text is kept in the database and the audit chain (which cannot be edited afterwards), exported, and sent
to notification targets, so a secret typed into it is refused rather than stored. The patterns are meant to
catch what people paste by mistake, not to decide what a secret is: each one needs the shape of a credential,
so ordinary sentences ("the token expired", "password reset done") pass.
"""

from __future__ import annotations

import re

# Proxgate's API tokens start with this; the audit log redacts any value that does too.
TOKEN_PREFIX = "pxg_"  # noqa: S105 (a public marker, not a secret)

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# A name that says its value is secret; it may carry a prefix (db_password, PGPASSWORD, access_token). Names
# are matched from a word's start only, so a long run of word characters costs linear time, not quadratic.
_CREDENTIAL_NAME = r"(?<![\w-])[\w-]*(?:password|passwd|passphrase|secret|token|api[_-]?key)"

# Each pattern with what the person is told it looks like (never the match itself).
_FOUND: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY"), "a private key"),
    (re.compile(r"PVEAPIToken\s*=\s*\S", re.IGNORECASE), "a Proxmox API token"),
    # user@realm!tokenid=secret: the header's value without its name.
    (re.compile(r"(?<![\w.-])[\w.-]+@[\w.-]+![\w.-]+\s*=\s*" + _UUID, re.IGNORECASE), "a Proxmox API token"),
    # The prefix the pages show (10 characters) names a token harmlessly; a whole one is 47 characters.
    (re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{20,}"), "a Proxgate API token"),
    (re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{20,}"), "a bearer token"),
    (
        re.compile(_CREDENTIAL_NAME + r"\s*[:=]\s*[^\s,;]", re.IGNORECASE),
        "a password or secret (a name such as password= or token: followed by a value)",
    ),
)


def secret_kind(text: str) -> str | None:
    """What kind of secret the text seems to hold, in plain words, or None."""
    for pattern, kind in _FOUND:
        if pattern.search(text):
            return kind
    return None


def secret_problem(text: str, field: str) -> str | None:
    """Why the text cannot be stored in the named field (it seems to hold a secret), or None."""
    kind = secret_kind(text)
    if kind is None:
        return None
    return (
        f"The {field} seems to hold {kind}. Nothing was stored: the {field} is kept in the audit log and sent "
        f"with notifications, where a secret must never be. Take the secret out and send it again."
    )
