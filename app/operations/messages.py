"""Parameter errors in plain words, one per parameter: what forms show beside each field and the API names.

Pydantic says "String should match pattern '^[A-Za-z0-9]...$'"; a person needs to read what to type instead.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from app.operations.clone import BACKUP_VOLID
from app.operations.placement import BRIDGE, DNS_NAME, NODE, STORAGE
from app.operations.provision import VOLID
from app.operations.snapshots import SNAPNAME

# What each pattern the catalogue uses asks for.
PATTERNS = {
    DNS_NAME: "use letters, digits and '-' (parts joined by dots), starting and ending with a letter or digit",
    NODE: "use a node name: letters, digits and '-'",
    STORAGE: "use a storage id: a letter first, then letters, digits, '-', '_' or '.'",
    BRIDGE: "use a bridge name such as vmbr0",
    VOLID: "choose a volume such as local:iso/debian-12.iso",
    BACKUP_VOLID: "choose a backup such as nas-backup:backup/vzdump-qemu-100-....vma.zst",
    SNAPNAME.pattern: "use 2–40 characters: a letter first, then letters, digits, '_' or '-'",
}


def plain_errors(exc: ValidationError) -> dict[str, str]:
    """parameter -> the first problem with it, in words a person can act on ('' for the whole input)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc") or ()
        errors.setdefault(str(loc[0]) if loc else "", plain(error))
    return errors


def plain(error: Any) -> str:
    """One pydantic error as a sentence."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    words = {
        "missing": "Required.",
        "extra_forbidden": "Proxgate does not know this parameter.",
        "int_parsing": "Enter a whole number.",
        "int_from_float": "Enter a whole number.",
        "bool_parsing": "Choose yes or no.",
        "greater_than_equal": f"Enter {ctx.get('ge')} or more.",
        "less_than_equal": f"Enter {ctx.get('le')} or less.",
        "string_too_long": f"Use at most {ctx.get('max_length')} characters.",
        "string_too_short": f"Use at least {ctx.get('min_length')} characters.",
        "literal_error": f"Choose one of: {ctx.get('expected')}.",
        "string_pattern_mismatch": _sentence(PATTERNS.get(str(ctx.get("pattern")), "")),
    }
    text = words.get(kind) or str(error.get("msg", "This value is not valid.")).removeprefix("Value error, ")
    return _sentence(text) if text else "This value is not valid."


def _sentence(text: str) -> str:
    """'use ...' -> 'Use ....'"""
    if not text:
        return ""
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")
