"""Upload a received file (UPLOAD): the file must be waiting in the staging folder, the storage must take the
content, the name must fit it, and a checksum given must be the file's (checked before anything is sent). The
call itself streams multipart data: tests/web/test_uploads.py sends it to the simulator."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from app.operations.base import Context, Refused
from app.operations.uploads import UPLOAD, UploadParams
from app.proxmox import PveClient
from tests.operations.answers import cluster, volume
from tests.operations.memory_pve import MemoryPve

DATA = b"an ISO image, or near enough\n" * 100
NAME = "tiny.iso"
STAGED = "s" * 32
CONTENT = "/nodes/node1/storage/local/content"


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    """A staging folder holding the received file."""
    (tmp_path / STAGED).write_bytes(DATA)
    return tmp_path


def node1(proxmox: MemoryPve, held: list[Any] | None = None) -> None:
    """The recorded cluster, and what `local` holds."""
    proxmox.answer("GET", "/cluster/resources", cluster())
    proxmox.answer("GET", CONTENT, held or [])


def params(**changes: Any) -> UploadParams:
    """The received file as tiny.iso on node1's local, with its sha256."""
    values = {"node": "node1", "storage": "local", "filename": NAME, "staged": STAGED}
    return UploadParams.model_validate({**values, "checksum": hashlib.sha256(DATA).hexdigest(), **changes})


async def test_a_file_with_its_checksum_passes(proxmox: MemoryPve, pve: PveClient, staging: Path) -> None:
    node1(proxmox)
    p = params()
    assert await UPLOAD.preflight(Context(pve, None, staging=staging), p) == []
    assert UPLOAD.describe(None, p) == f"Upload {NAME} to local on node1, checked against its sha256"
    assert UPLOAD.task_type(None, p) == "imgcopy" and p.subject() == (
        "node1",
        None,
        None,
        f"local:iso/{NAME}",
    )


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"checksum": "0" * 64}, "checksum", "The file received has the sha256 "),
        ({"filename": "tiny.tar.zst"}, "filename", "An ISO image's file name ends in .iso or .img"),
        ({"storage": "local-zfs"}, "storage", "Storage 'local-zfs' cannot hold iso on node1"),
        ({"staged": "x" * 32}, "staged", "not (or no longer) waiting to be uploaded"),
    ],
)
async def test_upload_refuses_before_sending(
    proxmox: MemoryPve, pve: PveClient, staging: Path, changes: dict[str, str], field: str, says: str
) -> None:
    node1(proxmox)
    with pytest.raises(Refused) as refused:
        await UPLOAD.preflight(Context(pve, None, staging=staging), params(**changes))
    assert refused.value.field == field and says in refused.value.message
    assert proxmox.changes == []


async def test_a_file_the_storage_holds_is_refused(proxmox: MemoryPve, pve: PveClient, staging: Path) -> None:
    node1(proxmox, [volume(f"local:iso/{NAME}", "iso", len(DATA))])
    with pytest.raises(Refused, match=f"local on node1 holds {NAME} already"):
        await UPLOAD.preflight(Context(pve, None, staging=staging), params())


async def test_without_a_staging_folder_nothing_can_be_uploaded(proxmox: MemoryPve, pve: PveClient) -> None:
    with pytest.raises(Refused, match="send it again"):
        await UPLOAD.preflight(Context(pve, None), params())
