"""THE CATALOGUE: every operation by name. The pages and their forms, the API, the MCP tools, `proxgate ctl`,
the README's table, permissions and the audit log all read this; its order is the order they show."""

from __future__ import annotations

from app.operations.appliances import DOWNLOAD_TEMPLATE
from app.operations.backup_changes import DELETE_BACKUP, RESTORE_OVERWRITE
from app.operations.backups import BACKUP
from app.operations.base import Operation
from app.operations.clone import CLONE, RESTORE
from app.operations.configure import CONFIGURE
from app.operations.destroy import DELETE, TEMPLATE
from app.operations.empty_node import EMPTY_NODE
from app.operations.media import DOWNLOAD_URL
from app.operations.migrate import MIGRATE
from app.operations.power import POWER
from app.operations.provision import CREATE_VM
from app.operations.provision_ct import CREATE_CT
from app.operations.resize import RESIZE
from app.operations.snapshot_changes import DELETE_SNAPSHOT, ROLLBACK
from app.operations.snapshots import SNAPSHOT
from app.operations.uploads import UPLOAD

CATALOGUE: dict[str, Operation] = {
    op.name: op
    for op in (
        *POWER,
        SNAPSHOT,
        BACKUP,
        CLONE,
        CREATE_VM,
        CREATE_CT,
        DOWNLOAD_TEMPLATE,
        DOWNLOAD_URL,
        UPLOAD,
        RESTORE,
        MIGRATE,
        CONFIGURE,
        EMPTY_NODE,
        # Destructive: the guest page offers them in this order, deleting the guest last.
        ROLLBACK,
        DELETE_SNAPSHOT,
        RESIZE,
        RESTORE_OVERWRITE,
        DELETE_BACKUP,
        TEMPLATE,
        DELETE,
    )
}


def get_operation(name: str) -> Operation | None:
    """The operation with this name, or None."""
    return CATALOGUE.get(name)


def guest_operations() -> list[Operation]:
    """Operations that act on one guest, in catalogue order."""
    return [op for op in CATALOGUE.values() if op.target == "guest"]
