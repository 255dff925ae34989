"""A container's edit form over HTTP: drawn with its network and its features (unprivileged), and what was typed
sent as one change of only the keys that changed, the device's hwaddr kept, features pending until a restart."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.configure_guests import add_ct, guests_made
from tests.factories import make_user, signed_in
from tests.servers import AppServer


@pytest.fixture
def operator(app_server: AppServer, settings: Settings, pve: DemoPve) -> Iterator[httpx.Client]:
    """A signed-in operator, with a clean 8700-8759 range."""
    for _ in guests_made(pve):
        with signed_in(app_server.url, make_user(settings, "operator")) as http:
            yield http


def hidden(page: str, name: str) -> str:
    """The value of a hidden field of the form."""
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, name
    return unescape(match.group(1))


def test_a_container_form_changes_hostname_address_and_features(operator: httpx.Client, pve: DemoPve) -> None:
    ct = add_ct(pve, 8730)
    page = operator.get("/guests/8730/edit", headers={"HX-Request": "true"})
    assert page.status_code == 200 and page.text.lstrip().startswith("<form") and "<h1" not in page.text
    assert 'id="edit-features-keyctl"' in page.text and 'id="edit-net0-ip"' in page.text
    assert page.text.count("Edit CT 8730") == 1  # drawn into the guest page, the form names the guest
    whole = operator.get("/guests/8730/edit")
    assert (
        whole.text.count("Edit CT 8730") == 2
    )  # on its own page: the title and the heading, not the form too
    form = {
        "original": hidden(page.text, "original"),
        "digest": hidden(page.text, "digest"),
        "checkboxes": hidden(page.text, "checkboxes"),
        "hostname": "db-8730",
        "memory": "512",
        "net0.name": "eth0",
        "net0.bridge": "vmbr0",
        "net0.ip": "10.30.0.4/24",
        "net0.gw": "10.30.0.1",
        "features.keyctl": "1",
    }
    saved = operator.post("/guests/8730/edit", data=form, headers={"HX-Request": "true"})
    assert saved.status_code == 200 and "Change hostname, features, net0 of CT 8730" in saved.text
    # A running container takes its features at the next start: pve-container keeps them pending.
    assert "features: Proxmox keeps this pending until CT 8730" in saved.text
    assert ct.config["hostname"] == "db-8730" and "keyctl=1" in str(ct.pending["features"])
    assert "ip=10.30.0.4/24" in str(ct.config["net0"]) and "hwaddr=BC:24:11:87:30:03" in str(
        ct.config["net0"]
    )
