"""GET /api/v1/nodes/{node}/url-metadata and the operation download-url: the node looks the URL up, the file is
fetched as a task and checked against its checksum; a storage that does not take the content, a name of the
wrong kind and a URL the node cannot fetch are refused naming the field."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from pvesim.media import file_size, payload
from tests.api.test_actions import bearer, wait_for_event
from tests.api.test_provision import act

URL = "https://cdimage.example.org/alpine/alpine-virt-3.22.1-x86_64.iso"
NAME = "alpine-virt-3.22.1-x86_64.iso"


@pytest.fixture
def operator(settings: Settings, pve: DemoPve) -> Iterator[dict[str, str]]:
    """An operator's token headers; the ISO is on no storage before and after."""

    def clean() -> None:
        pve.storages["local"]["volumes"].pop(f"iso/{NAME}", None)
        pve.storages["local"]["files"].discard(NAME)

    clean()
    yield bearer(settings, "operator")
    clean()


def test_the_node_looks_the_url_up(api: httpx.Client) -> None:
    meta = api.get("/api/v1/nodes/pve1/url-metadata", params={"url": URL}).json()
    assert meta == {
        "url": URL,
        "filename": NAME,
        "size": file_size(URL),
        "mimetype": "application/x-iso9660-image",
    }
    gone = api.get("/api/v1/nodes/pve1/url-metadata", params={"url": "https://example.org/missing/x.iso"})
    assert gone.status_code == 422 and gone.json()["field"] == "url"
    assert gone.json()["detail"].endswith("invalid server response: '404 Not Found'")


def test_download_an_iso_checked_against_its_checksum(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve
) -> None:
    sha = hashlib.sha256(payload(URL)).hexdigest()
    body = {"node": "pve1", "storage": "local", "url": URL, "checksum": sha}
    answer = client.post("/api/v1/actions/download-url", json=body, headers=operator)
    assert answer.status_code == 200, answer.text
    assert answer.json()["description"].startswith(f"Download {NAME} (")
    end = wait_for_event(client, operator, answer.json()["upid"])
    assert end["outcome"] == "succeeded"
    assert pve.storages["local"]["volumes"][f"iso/{NAME}"]["size"] == file_size(URL)
    again = client.post("/api/v1/actions/download-url", json=body, headers=operator)
    assert again.status_code == 409 and again.json()["field"] == "filename"


def test_a_wrong_checksum_fails_the_task(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve
) -> None:
    body = {"node": "pve1", "storage": "local", "url": URL, "checksum": "0" * 64}
    end = act(client, operator, "/api/v1/actions/download-url", body)
    assert end["outcome"] == "failed" and "checksum mismatch: got " in end["message"], end
    assert f"iso/{NAME}" not in pve.storages["local"]["volumes"]


def test_refusals_name_the_field(client: httpx.Client, operator: dict[str, str]) -> None:
    lvm = client.post(
        "/api/v1/actions/download-url",
        json={"node": "pve1", "storage": "local-lvm", "url": URL, "content": "vztmpl"},
        headers=operator,
    )
    assert lvm.status_code == 409 and lvm.json()["field"] == "storage"
    assert "cannot hold vztmpl on pve1; choose one of: local" in lvm.json()["detail"]
    kind = client.post(
        "/api/v1/actions/download-url",
        json={"node": "pve1", "storage": "local", "url": URL, "content": "vztmpl"},
        headers=operator,
    )
    assert kind.status_code == 409 and kind.json()["field"] == "filename"
    short = client.post(
        "/api/v1/actions/download-url",
        json={"node": "pve1", "storage": "local", "url": URL, "checksum": "abc"},
        headers=operator,
    )
    assert short.status_code == 422 and short.json()["field"] == "checksum"
    nowhere = client.post(
        "/api/v1/actions/download-url",
        json={"node": "pve1", "storage": "local", "url": "https://mirror.invalid/x.iso"},
        headers=operator,
    )
    assert nowhere.status_code == 409 and nowhere.json()["field"] == "url"
