"""Who can act in Proxmox: every user and API token of /access/users?full=1, and whether each can log in."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

# Realms whose users sign in with a password (PAM's system account, PVE's own, LDAP, AD); OpenID users sign in
# through their provider, which Proxmox trusts the same way.
LOGIN_REALMS = ("pam", "pve", "ldap", "ad", "openid")


@dataclass
class Principal:
    """A user or an API token as Proxmox lists it, and what the report found it can do beside Proxgate."""

    id: str
    kind: str  # user | token
    enabled: bool
    expires: int  # epoch seconds; 0 never
    realm_type: str = ""
    privsep: bool = True
    groups: list[str] = field(default_factory=list)
    proxgate: bool = False
    # capability -> the paths it is held on ('/', '/vms/313', '/pool/web', '/storage/local')
    holds: dict[str, list[str]] = field(default_factory=dict)
    unreadable: str | None = None  # why its permissions could not be read (the missing privilege)
    proposals: list[str] = field(default_factory=list)

    @property
    def user(self) -> str:
        """The user id (a token's owner)."""
        return self.id.partition("!")[0]

    @property
    def can_log_in(self) -> bool:
        """An enabled, unexpired user of a realm that takes logins, or an unexpired token of an enabled user."""
        live = self.enabled and (self.expires == 0 or self.expires > time.time())
        return live if self.kind == "token" else live and self.realm_type in LOGIN_REALMS

    @property
    def bypasses(self) -> bool:
        """Whether it can make a change Proxgate would hold back or record, without Proxgate (a disabled or
        expired account cannot)."""
        return bool(self.holds) and not self.proxgate and self.can_log_in


def principals_of(users: list[dict[str, Any]], own_token: str) -> list[Principal]:
    """Each user and each of its tokens, in Proxmox's order (a token after its user)."""
    found: list[Principal] = []
    for user in sorted(users, key=lambda u: str(u.get("userid"))):
        userid = str(user.get("userid"))
        enabled = bool(int(user.get("enable", 1) or 0))
        realm_type = str(user.get("realm-type") or userid.rpartition("@")[2])
        groups = _groups(user.get("groups"))
        found.append(
            Principal(userid, "user", enabled, int(user.get("expire") or 0), realm_type, groups=groups)
        )
        for token in user.get("tokens") or []:
            token_id = f"{userid}!{token.get('tokenid')}"
            expires = int(token.get("expire") or 0)
            user_expires = int(user.get("expire") or 0)
            if user_expires and (not expires or user_expires < expires):
                expires = user_expires  # a token dies with its user
            privsep = bool(int(token.get("privsep", 1) or 0))
            found.append(
                Principal(
                    token_id, "token", enabled, expires, realm_type, privsep, groups, token_id == own_token
                )
            )
    return found


def _groups(value: object) -> list[str]:
    """PVE lists a user's groups as a comma-separated string (or, in newer answers, a list)."""
    if isinstance(value, list):
        return [str(g) for g in value]
    return [g for g in str(value or "").split(",") if g]
