"""What a Proxmox task type means in Proxgate's words: the catalogue operation it does, and on what."""

from __future__ import annotations

from dataclasses import dataclass

from app.operations.catalogue import get_operation

# PVE's worker types (qemu-server, pve-container, vzdump, pve-ha-manager) and the catalogue operation each does.
OPERATIONS = {
    "qmstart": "start",
    "vzstart": "start",
    "hastart": "start",
    "qmstop": "stop",
    "vzstop": "stop",
    "hastop": "stop",
    "qmshutdown": "shutdown",
    "vzshutdown": "shutdown",
    "qmreboot": "reboot",
    "vzreboot": "reboot",
    "qmsuspend": "suspend",
    "vzsuspend": "suspend",
    "qmresume": "resume",
    "vzresume": "resume",
    "qmsnapshot": "snapshot",
    "vzsnapshot": "snapshot",
    "qmdelsnapshot": "delete-snapshot",
    "vzdelsnapshot": "delete-snapshot",
    "qmrollback": "rollback",
    "vzrollback": "rollback",
    "qmclone": "clone",
    "vzclone": "clone",
    "qmtemplate": "template",
    "vztemplate": "template",
    "qmdestroy": "delete",
    "vzdestroy": "delete",
    "qmcreate": "create-vm",
    "vzcreate": "create-ct",
    "qmrestore": "restore",
    "vzrestore": "restore",
    "qmigrate": "migrate",
    "vzmigrate": "migrate",
    "vzdump": "backup",
    "resize": "resize",
    "imgdel": "delete-backup",
}
# What the notification says happened to the guest, per destructive operation.
DONE_TO_GUEST = {
    "delete": "was deleted",
    "rollback": "was rolled back to a snapshot",
    "delete-snapshot": "lost a snapshot",
    "resize": "had a disk resized",
    "restore-overwrite": "was overwritten by a backup",
    "template": "was turned into a template",
    "delete-backup": "lost a backup",
}


@dataclass(frozen=True)
class TaskMeaning:
    """A task type as an audit event names it: operation (the type itself when unknown), risk, guest type."""

    operation: str
    risk: str
    guest_type: str | None

    @property
    def destructive(self) -> bool:
        """Whether Proxgate would have held this change back for an approval."""
        return self.risk == "destructive"


def meaning_of(task_type: str) -> TaskMeaning:
    """The operation a task type does; a type the catalogue has no operation for keeps its own name."""
    name = OPERATIONS.get(task_type)
    op = get_operation(name) if name else None
    guest_type = "qemu" if task_type.startswith("qm") else "lxc" if task_type.startswith("vz") else None
    if task_type == "vzdump":
        guest_type = None
    if op is None:
        # Node and cluster work (network reloads, updates, start-all): an administrator's act.
        return TaskMeaning(task_type[:32], "admin", guest_type)
    return TaskMeaning(op.name, op.risk, guest_type)
