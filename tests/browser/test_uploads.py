"""In the browser: upload an ISO image from a storage's page; the progress bar follows the sending, and the file
lands on the storage once its checksum was checked."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser
NAME = "browser-upload.iso"
DATA = bytes(range(256)) * 8192  # 2 MiB


@pytest.fixture
def no_iso(pve: DemoPve) -> Iterator[None]:
    """The ISO is on no storage afterwards."""
    yield
    pve.storages["local"]["volumes"].pop(f"iso/{NAME}", None)
    pve.storages["local"]["files"].discard(NAME)


def test_upload_an_iso_with_a_progress_bar(
    page: Page, settings: Settings, pve: DemoPve, no_iso: None
) -> None:
    sign_in(page, make_user(settings, "operator"))
    page.goto("/storage/pve1/local")
    page.evaluate(
        """() => { window.sent = []; document.addEventListener('htmx:xhr:progress', () => {
             const bar = document.querySelector('#upload-progress'); window.sent.push([bar.hidden, bar.value]); }); }"""
    )
    form = page.locator("#upload-form")
    form.get_by_label("File").set_input_files(
        {"name": NAME, "mimeType": "application/octet-stream", "buffer": DATA}
    )
    form.locator("#upload-checksum").fill(hashlib.sha256(DATA).hexdigest())
    form.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-result #action-started")).to_contain_text(
        f"Upload {NAME} to local on pve1, checked against its sha256: started"
    )
    expect(page.locator("#upload-result #task-exit")).to_have_text("OK", timeout=20000)
    shown = page.evaluate("() => window.sent")
    assert [False, 100] in shown, shown
    assert pve.storages["local"]["volumes"][f"iso/{NAME}"]["size"] == len(DATA)
