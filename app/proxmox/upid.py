"""PVE task ids (UPIDs): `UPID:node:pid:pstart:starttime:type:id:user:` with the numbers in hex."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Upid", "parse_upid", "try_parse_upid"]

# pve-common PVE::Tools::upid_decode, not anchored at the end: recorded samples carry a test marker after the
# final ':' (proxmoxer's 'keep-running'), which PVE itself never sends; it is ignored.
UPID_RE = re.compile(
    r"^UPID:(?P<node>[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?):(?P<pid>[0-9A-Fa-f]{8}):"
    r"(?P<pstart>[0-9A-Fa-f]{8,9}):(?P<starttime>[0-9A-Fa-f]{8}):(?P<type>[^:\s/]+):"
    r"(?P<id>[^:\s/]*):(?P<user>[^:\s/]+):"
)


@dataclass(frozen=True)
class Upid:
    """A parsed UPID; str() gives back the text it came from."""

    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str
    text: str = ""

    @property
    def started_at(self) -> datetime:
        """When the task started (UTC)."""
        return datetime.fromtimestamp(self.starttime, UTC)

    @property
    def userid(self) -> str:
        """The user the task ran as, without a token name."""
        return self.user.partition("!")[0]

    @property
    def tokenid(self) -> str | None:
        """The API token's name when a token started the task."""
        return self.user.partition("!")[2] or None

    @property
    def vmid(self) -> int | None:
        """The guest id, when the task's id is one."""
        return int(self.id) if self.id.isdigit() else None

    def __str__(self) -> str:
        return self.text


def parse_upid(text: str) -> Upid:
    """Parse a UPID; ValueError if it is not one."""
    found = UPID_RE.match(text.strip())
    if found is None:
        raise ValueError(f"not a PVE task id (UPID): {text!r}")
    g = found.group
    return Upid(
        node=g("node"),
        pid=int(g("pid"), 16),
        pstart=int(g("pstart"), 16),
        starttime=int(g("starttime"), 16),
        type=g("type"),
        id=g("id"),
        user=g("user"),
        text=text.strip(),
    )


def try_parse_upid(text: object) -> Upid | None:
    """The parsed UPID, or None for anything else (e.g. vzdump's literal 'OK')."""
    if not isinstance(text, str):
        return None
    try:
        return parse_upid(text)
    except ValueError:
        return None
