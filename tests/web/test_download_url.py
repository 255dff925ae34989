"""Download by URL on a storage's page: operators see the form where the storage takes ISOs or templates, the
look-up shows the node's name and size for the URL, and the download runs through the pipeline."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from pvesim.media import payload
from tests.factories import make_user, signed_in
from tests.servers import AppServer

URL = "https://cdimage.example.org/rocky/Rocky-10.0-x86_64-minimal.iso"
NAME = "Rocky-10.0-x86_64-minimal.iso"


@pytest.fixture
def operator(app_server: AppServer, settings: Settings, pve: DemoPve) -> Iterator[httpx.Client]:
    """A signed-in operator; the ISO is on no storage afterwards."""
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        yield http
    pve.storages["local"]["volumes"].pop(f"iso/{NAME}", None)
    pve.storages["local"]["files"].discard(NAME)


def test_look_up_then_download(operator: httpx.Client, pve: DemoPve) -> None:
    page = operator.get("/storage/pve1/local").text
    assert 'id="download-url"' in page and '<option value="vztmpl">Container template</option>' in page
    assert 'id="download-url"' not in operator.get("/storage/pve1/local-lvm").text

    step = operator.get(
        "/storage/pve1/local/url-lookup", params={"url": URL, "content": "iso", "verify": "1"}
    )
    assert step.status_code == 200 and f"pve1 sees <strong>{NAME}</strong>" in step.text
    assert re.search(rf'name="filename" value="{re.escape(NAME)}"', step.text)
    missing = operator.get("/storage/pve1/local/url-lookup", params={"url": "https://x.org/missing/a.iso"})
    assert "invalid server response: &#39;404 Not Found&#39;" in missing.text

    form = {"node": "pve1", "storage": "local", "url": URL, "content": "iso", "filename": NAME}
    form |= {"checksum_algorithm": "sha256", "checksum": hashlib.sha256(payload(URL)).hexdigest()}
    done = operator.post("/provision/download-url", data=form, headers={"HX-Request": "true"})
    assert done.status_code == 200 and f"Download {NAME} (" in done.text and "started" in done.text


def test_viewers_get_no_form(app_server: AppServer, settings: Settings) -> None:
    with signed_in(app_server.url, make_user(settings, "viewer")) as viewer:
        assert 'id="download-url"' not in viewer.get("/storage/pve1/local").text
        assert viewer.get("/storage/pve1/local/url-lookup", params={"url": URL}).status_code == 403
