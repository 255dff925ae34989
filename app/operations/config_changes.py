"""What an edit of a guest's config changes, key by key: before and after, and what it removes (a network
device, a disk or mount point, protection, a cloud-init user's SSH keys), which makes it destructive."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from app.operations.guest import Guest

# Keys whose value is a secret: the audit and the preview say only that they change.
SECRET_KEYS = frozenset({"cipassword"})
HIDDEN = "(hidden)"
# Keys of a device whose removal takes it away from the guest (a VM disk is detached, a mount point too).
DEVICE = re.compile(r"^(net|ide|sata|scsi|virtio|efidisk|tpmstate|mp)\d+$")
DISK = re.compile(r"^(ide|sata|scsi|virtio|efidisk|tpmstate|mp)\d+$")


@dataclass(frozen=True)
class Change:
    """One key's value before and after the edit (None: not set)."""

    key: str
    before: str | None
    after: str | None

    def shown(self, value: str | None) -> str:
        """A value as people read it: '(not set)', '(hidden)' for a secret, SSH keys decoded."""
        if value is None:
            return "(not set)"
        if self.key in SECRET_KEYS:
            return HIDDEN
        return unquote(value) if self.key == "sshkeys" else value

    def as_json(self) -> dict[str, str | None]:
        """{"before", "after"} with secrets hidden: as the audit records it."""
        if self.key in SECRET_KEYS:
            return {"before": HIDDEN if self.before is not None else None, "after": HIDDEN}
        return {"before": self.before, "after": self.after}


def text_of(value: Any) -> str:
    """A parameter as Proxmox keeps it in the config: booleans as 0/1, everything else as text."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def changes_of(guest: Guest, updates: dict[str, Any], deletes: list[str]) -> list[Change]:
    """The keys the edit changes, in the order given; a value set to what it is already is left out."""
    found: list[Change] = []
    for key, value in updates.items():
        before = guest.config.get(key)
        after = text_of(value)
        if before is None or text_of(before) != after or key in SECRET_KEYS:
            found.append(Change(key, None if before is None else text_of(before), after))
    for key in deletes:
        if key in guest.config:
            found.append(Change(key, text_of(guest.config[key]), None))
    return found


def _ssh_keys(value: str | None) -> set[str]:
    return {line.strip() for line in unquote(value or "").splitlines() if line.strip()}


def _is_cdrom(value: str | None) -> bool:
    return value is not None and "media=cdrom" in value


def removals(changes: list[Change]) -> list[str]:
    """What the edit takes away, in words for the approver; empty when nothing is lost."""
    lost: list[str] = []
    for c in changes:
        if c.after is None and DEVICE.match(c.key) and not _is_cdrom(c.before):
            what = "network device" if c.key.startswith("net") else "disk" if DISK.match(c.key) else "device"
            if c.key.startswith("mp"):
                what = "mount point"
            lost.append(f"Removes {what} {c.key} ({c.before}).")
        elif c.after is not None and DISK.match(c.key) and c.before is not None and not _is_cdrom(c.before):
            lost.append(f"Replaces disk {c.key} ({c.before}): the volume is detached.")
        elif c.key == "protection" and c.before == "1" and c.after in (None, "0"):
            lost.append("Turns protection off: the guest and its disks can then be deleted.")
        elif c.key == "sshkeys" and c.before is not None:
            gone = _ssh_keys(c.before) - _ssh_keys(c.after)
            if gone:
                lost.append(f"Removes {len(gone)} SSH key(s) of the cloud-init user.")
    return lost
