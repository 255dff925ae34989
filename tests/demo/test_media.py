"""DemoPve's downloads by URL: the metadata a HEAD request gives, and download-url's checks of file name,
storage and checksum, as PVE makes them."""

from __future__ import annotations

import hashlib

from pvesim.fake import DemoPve
from pvesim.media import file_size, payload
from tests.backup_guests import FakeApi

URL = "https://cdimage.example.org/debian/debian-13.2.0-amd64-netinst.iso"
NAME = "debian-13.2.0-amd64-netinst.iso"


def test_metadata_of_a_url(fake_api: FakeApi) -> None:
    meta = fake_api.data("GET", "/nodes/pve1/query-url-metadata", params={"url": URL})
    assert meta == {"filename": NAME, "size": file_size(URL), "mimetype": "application/x-iso9660-image"}
    gone = fake_api.request(
        "GET", "/nodes/pve1/query-url-metadata", params={"url": "https://x.org/missing/a.iso"}
    )
    assert gone.status_code == 500 and gone.json()["message"] == "invalid server response: '404 Not Found'\n"


def test_a_download_with_its_checksum_lands_on_the_storage(fake_api: FakeApi, pve: DemoPve) -> None:
    sha = hashlib.sha256(payload(URL)).hexdigest()
    form = {"content": "iso", "filename": NAME, "url": URL, "checksum": sha, "checksum-algorithm": "sha256"}
    try:
        upid = fake_api.data("POST", "/nodes/pve1/storage/local/download-url", data=form)
        assert fake_api.wait(upid)["exitstatus"] == "OK"
        assert pve.storages["local"]["volumes"][f"iso/{NAME}"]["size"] == file_size(URL)
        bad = fake_api.data(
            "POST", "/nodes/pve1/storage/local/download-url", data={**form, "checksum": "0" * 64}
        )
        assert fake_api.wait(bad)["exitstatus"] == f"checksum mismatch: got '{sha}' != expect '{'0' * 64}'"
    finally:
        pve.storages["local"]["volumes"].pop(f"iso/{NAME}", None)
        pve.storages["local"]["files"].discard(NAME)


def test_pve_refuses_a_wrong_extension_and_a_storage_without_the_content(fake_api: FakeApi) -> None:
    form = {"content": "iso", "filename": "debian.tar.zst", "url": URL}
    wrong = fake_api.request("POST", "/nodes/pve1/storage/local/download-url", data=form)
    assert wrong.status_code == 400 and wrong.json()["errors"] == {"filename": "wrong file extension"}
    nas = fake_api.request(
        "POST", "/nodes/pve1/storage/nas-backup/download-url", data={**form, "content": "vztmpl"}
    )
    assert nas.status_code == 500
    assert nas.json()["message"] == "storage 'nas-backup' is not configured for content-type 'vztmpl'\n"
