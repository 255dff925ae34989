"""The catalogue as a whole: every operation has its tests here, and destructive ones read before they act."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.operations.base import Risk, no_preview
from app.operations.catalogue import CATALOGUE, get_operation, guest_operations
from app.proxmox import PveClient, PveNotFound
from tests.operations.memory_pve import MemoryPve, Sent

# Which module of this folder tests each operation: a new operation fails here until it has tests.
TESTED_IN = {
    "start": "test_power",
    "shutdown": "test_power",
    "stop": "test_power",
    "reboot": "test_power",
    "suspend": "test_power",
    "resume": "test_power",
    "snapshot": "test_snapshots",
    "rollback": "test_snapshot_changes",
    "delete-snapshot": "test_snapshot_changes",
    "backup": "test_backups",
    "restore-overwrite": "test_backup_changes",
    "delete-backup": "test_backup_changes",
    "clone": "test_clone",
    "restore": "test_restore",
    "create-vm": "test_provision",
    "create-ct": "test_provision",
    "download-template": "test_appliances",
    "download-url": "test_media",
    "upload": "test_uploads",
    "delete": "test_destroy",
    "template": "test_destroy",
    "resize": "test_resize",
    "migrate": "test_migrate",
    "configure": "test_configure",
    "empty-node": "test_empty_node",
}


def test_every_operation_of_the_catalogue_is_tested_here() -> None:
    assert sorted(CATALOGUE) == sorted(TESTED_IN)
    for name, module in TESTED_IN.items():
        # The module names the operation's object (START is in POWER): its constant, or the name as a string.
        text = (Path(__file__).parent / f"{module}.py").read_text()
        constant = name.upper().replace("-", "_")
        assert constant in text or f'"{name}"' in text, (name, module)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_destructive_operations_preview_and_guest_ones_read_the_config(name: str) -> None:
    op = get_operation(name)
    assert op is not None and op.name == name and op.schema()["type"] == "object"
    if op.risk is Risk.destructive or op.risk_of is not None:
        assert op.preview is not no_preview
        assert op.reads_config or op.target == "cluster"
    else:
        assert op.preview is no_preview


def test_guest_operations_are_the_ones_with_a_guest_target() -> None:
    assert {op.name for op in guest_operations()} == {
        n for n, op in CATALOGUE.items() if op.target == "guest"
    }
    assert get_operation("no-such-thing") is None


async def test_a_path_no_test_routed_gets_pves_501(proxmox: MemoryPve, pve: PveClient) -> None:
    with pytest.raises(PveNotFound) as error:
        await pve.get("/nodes/node1/qemu/101/pending")
    assert error.value.message == "Method 'GET /nodes/node1/qemu/101/pending' not implemented"
    assert proxmox.unrouted == [Sent("GET", "/nodes/node1/qemu/101/pending")]
    proxmox.unrouted.clear()  # expected here; elsewhere the fixture fails the test
