"""Upload from a storage's page: the file is received, checked against its checksum and streamed on to Proxmox
as an `imgcopy` task; a checksum that differs is refused beside its field and the received file deleted."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.factories import make_token, make_user, signed_in
from tests.ip_guests import eventually
from tests.servers import AppServer

DATA = b"\x00ISO9660 image of a tiny rescue system\n" * 4096
NAME = "rescue-tiny.iso"


@pytest.fixture
def operator(app_server: AppServer, settings: Settings, pve: DemoPve) -> Iterator[httpx.Client]:
    """A signed-in operator; the ISO is on no storage afterwards."""
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        yield http
    pve.storages["local"]["volumes"].pop(f"iso/{NAME}", None)
    pve.storages["local"]["files"].discard(NAME)


def staged(settings: Settings) -> list[Path]:
    """Files waiting in the staging folder."""
    folder = settings.data_dir / "uploads"
    return list(folder.iterdir()) if folder.is_dir() else []


def test_upload_with_its_checksum(operator: httpx.Client, pve: DemoPve, settings: Settings) -> None:
    assert 'id="upload-form"' in operator.get("/storage/pve1/local").text
    form = {"content": "iso", "checksum_algorithm": "sha256", "checksum": hashlib.sha256(DATA).hexdigest()}
    answer = operator.post(
        "/storage/pve1/local/upload",
        data=form,
        files={"file": (NAME, DATA, "application/octet-stream")},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200, answer.text
    assert f"Upload {NAME} to local on pve1, checked against its sha256: started" in answer.text
    assert 'id="action-task-link"' in answer.text
    eventually(lambda: f"iso/{NAME}" in pve.storages["local"]["volumes"])
    assert pve.storages["local"]["volumes"][f"iso/{NAME}"]["size"] == len(DATA)
    assert pve.uploaded["checksum"] == hashlib.sha256(DATA).hexdigest() and pve.uploaded["size"] == len(DATA)
    assert staged(settings) == [], "the received file is deleted once sent"


def test_a_checksum_that_differs_is_refused_and_the_file_dropped(
    operator: httpx.Client, pve: DemoPve, settings: Settings
) -> None:
    answer = operator.post(
        "/storage/pve1/local/upload",
        data={"content": "iso", "checksum": "0" * 64},
        files={"file": (NAME, DATA, "application/octet-stream")},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 409
    assert "The file received has the sha256 " in answer.text
    assert f"iso/{NAME}" not in pve.storages["local"]["volumes"] and staged(settings) == []


def test_the_api_uploads_a_template_with_a_token(
    client: httpx.Client, settings: Settings, pve: DemoPve
) -> None:
    name, data = "tiny-rootfs.tar.zst", b"\x28\xb5\x2f\xfd" + b"rootfs" * 2048
    form = {"content": "vztmpl", "checksum_algorithm": "sha512", "checksum": hashlib.sha512(data).hexdigest()}
    headers = {"Authorization": f"Bearer {make_token(settings, make_user(settings, 'operator'))}"}
    try:
        answer = client.post(
            "/api/v1/storage/pve1/local/upload", data=form, files={"file": (name, data)}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["description"] == f"Upload {name} to local on pve1, checked against its sha512"
        eventually(lambda: f"vztmpl/{name}" in pve.storages["local"]["volumes"])
        assert pve.storages["local"]["volumes"][f"vztmpl/{name}"]["format"] == "tzst"
        missing = client.post("/api/v1/storage/pve1/local/upload", data=form, headers=headers)
        assert missing.status_code == 422 and missing.json()["field"] == "file"
        lvm = client.post(
            "/api/v1/storage/pve1/local-lvm/upload", data=form, files={"file": (name, data)}, headers=headers
        )
        assert lvm.status_code == 409 and lvm.json()["field"] == "storage"
        assert staged(settings) == []
    finally:
        pve.storages["local"]["volumes"].pop(f"vztmpl/{name}", None)
