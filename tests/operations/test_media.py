"""Download by URL (DOWNLOAD_URL): the node's look-up of the URL first, then storage, name and copy checks, and
the exact form sent."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.operations.base import MissingParameter, Refused
from app.operations.media import DOWNLOAD_URL, DownloadUrlParams
from app.proxmox import parse_upid
from tests.operations.answers import cluster, volume
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

URL = "https://cdimage.debian.org/debian-cd/current/amd64/iso-cd/debian-13.2.0-amd64-netinst.iso"
NAME = "debian-13.2.0-amd64-netinst.iso"
SHA = "a" * 64
META = "/nodes/node1/query-url-metadata"
CONTENT = "/nodes/node1/storage/local/content"


def node1(proxmox: MemoryPve, meta: dict[str, Any] | None = None) -> None:
    """The recorded cluster, what node1 learns of the URL, and what `local` holds."""
    proxmox.answer("GET", "/cluster/resources", cluster())
    proxmox.answer("GET", META, meta if meta is not None else {"filename": NAME, "size": 783286272})
    proxmox.answer("GET", CONTENT, [])


def params(**changes: Any) -> DownloadUrlParams:
    """The Debian netinst ISO onto node1's local, with its sha256."""
    values = {"node": "node1", "storage": "local", "url": URL, "checksum": SHA}
    return DownloadUrlParams.model_validate({**values, **changes})


async def test_download_looks_the_url_up_and_posts_the_checksum(proxmox: MemoryPve, context: Ctx) -> None:
    node1(proxmox)
    proxmox.answer("POST", "/nodes/node1/storage/local/download-url", upid("node1", "download", "local"))
    p = params()
    assert await DOWNLOAD_URL.preflight(context(None), p) == []
    assert proxmox.sent == [
        Sent("GET", "/cluster/resources"),
        Sent("GET", META, {"url": URL}),
        Sent("GET", CONTENT, {"content": "iso"}),
    ]
    answer = await DOWNLOAD_URL.call(context(None), p)
    assert answer is not None and parse_upid(answer).type == DOWNLOAD_URL.task_type(None, p) == "download"
    form = {"content": "iso", "filename": NAME, "url": URL, "checksum": SHA, "checksum-algorithm": "sha256"}
    assert proxmox.changes == [Sent("POST", "/nodes/node1/storage/local/download-url", form)]
    assert DOWNLOAD_URL.describe(None, p) == (
        f"Download {NAME} (747 MiB) to local on node1, checked against its sha256"
    )


async def test_a_name_is_normalized_and_no_checksum_is_a_warning(proxmox: MemoryPve, context: Ctx) -> None:
    node1(proxmox, {"size": 10})
    p = params(filename="my image (1).iso", checksum=None, verify_certificates=False)
    assert await DOWNLOAD_URL.preflight(context(None), p) == [
        "No checksum given: my_image__1_.iso is stored as it arrives."
    ]
    assert proxmox.sent[1] == Sent("GET", META, {"url": URL, "verify-certificates": "0"})
    assert p.form() == {
        "content": "iso",
        "filename": "my_image__1_.iso",
        "url": URL,
        "verify-certificates": 0,
    }


@pytest.mark.parametrize(
    ("changes", "meta", "field", "says"),
    [
        ({"storage": "local-zfs"}, None, "storage", "Storage 'local-zfs' cannot hold iso on node1"),
        ({"content": "vztmpl"}, None, "filename", "A container template's file name ends in .tar, .tar.gz"),
        ({}, {"size": 5}, "filename", "The URL names no file"),
    ],
)
async def test_download_refuses_what_proxmox_would(
    proxmox: MemoryPve,
    context: Ctx,
    changes: dict[str, str],
    meta: dict[str, Any] | None,
    field: str,
    says: str,
) -> None:
    node1(proxmox, meta)
    with pytest.raises(Refused) as refused:
        await DOWNLOAD_URL.preflight(context(None), params(**changes))
    assert refused.value.field == field and says in refused.value.message
    assert isinstance(refused.value, MissingParameter) == (says == "The URL names no file")
    assert proxmox.changes == []


async def test_a_url_the_node_cannot_fetch_is_refused_with_its_reason(
    proxmox: MemoryPve, context: Ctx
) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster())
    message = "invalid server response: '404 Not Found'"
    proxmox.fail("GET", META, 500, message, {"data": None, "message": message + "\n"})
    with pytest.raises(Refused, match="node1 cannot fetch .*: invalid server response: '404 Not Found'"):
        await DOWNLOAD_URL.preflight(context(None), params())


async def test_a_file_the_storage_holds_is_not_fetched_again(proxmox: MemoryPve, context: Ctx) -> None:
    node1(proxmox)
    proxmox.answer("GET", CONTENT, [volume(f"local:iso/{NAME}", "iso", 783286272)])
    with pytest.raises(Refused, match=f"local on node1 holds {NAME} already"):
        await DOWNLOAD_URL.preflight(context(None), params())


def test_a_checksum_must_fit_its_algorithm() -> None:
    with pytest.raises(ValidationError, match="a sha512 digest has 128 hex digits"):
        params(checksum_algorithm="sha512")
    assert params(checksum_algorithm="md5", checksum="B" * 32).checksum == "b" * 32
