"""The pveum commands that would close a side door: Proxgate proposes them and never runs them."""

from __future__ import annotations

import shlex
from typing import Any

from app.services.sidedoors.principals import Principal

# A role of only the console, for people who should see and use their guests but change them through Proxgate.
CONSOLE_ROLE = "ProxgateConsole"
ROOT = "root@pam"


def proposals_for(principal: Principal, acl: list[dict[str, Any]]) -> list[str]:
    """Commands (copyable, one per line) that leave the principal PVEAuditor plus console, or remove the token."""
    if not principal.bypasses:
        return []
    q = shlex.quote
    if principal.kind == "token":
        user, _, token = principal.id.partition("!")
        return [f"pveum user token remove {q(user)} {q(token)}"]
    if principal.id == ROOT:
        return [
            "# root@pam holds every privilege whatever the ACLs say: keep its password for emergencies only,",
            "# sign in as root@pam only at the console, and give people accounts of their own (see below).",
        ]
    lines = []
    for entry in acl:
        if entry.get("type") == "user" and entry.get("ugid") == principal.id:
            path, role = str(entry.get("path")), str(entry.get("roleid"))
            lines.append(f"pveum acl delete {q(path)} --users {q(principal.id)} --roles {q(role)}")
        elif entry.get("type") == "group" and entry.get("ugid") in principal.groups:
            group, role = str(entry.get("ugid")), str(entry.get("roleid"))
            lines.append(
                f"# through group {group} ({role} on {entry.get('path')}): take {principal.id} out of it"
            )
    lines += [
        f"pveum acl modify / --users {q(principal.id)} --roles PVEAuditor",
        f"pveum role add {CONSOLE_ROLE} --privs VM.Console  # once",
        f"pveum acl modify /vms --users {q(principal.id)} --roles {CONSOLE_ROLE}",
    ]
    return lines
