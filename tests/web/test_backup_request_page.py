"""A request to delete a backup names the guest it was taken of (with a link) and where the backup lies: on its
storage when that is shared, not on whichever node the call goes through."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.approval_guests import People
from tests.backup_guests import FakeApi, remove_guests, volid_of
from tests.factories import make_user, signed_in
from tests.servers import AppServer

VMID = 9847


@pytest.fixture
def backed_up(pve: DemoPve, fake_api: FakeApi) -> Iterator[dict[str, str]]:
    """VM 9847 with one backup on the shared nas-backup and one on pve1's local; all removed afterwards."""
    pve.add_vm(VMID, "kept-safe", node="pve1", status="stopped", config={"memory": 512})
    for storage in ("nas-backup", "local"):
        assert fake_api.wait(fake_api.vzdump("pve1", VMID, storage=storage))["exitstatus"] == "OK"
    yield {s: volid_of(pve, s, VMID) for s in ("nas-backup", "local")}
    remove_guests(pve, range(VMID, VMID + 1))


def target_and_facts(page: str) -> tuple[str, str]:
    """The request page's Target line and its preview's facts, as text."""
    target = re.search(r"<dt>Target</dt><dd>(.*?)</dd>", page, re.S)
    facts = re.search(r'<dl class="facts preview-facts">(.*?)</dl>', page, re.S)
    assert target and facts
    return tuple(" ".join(re.sub(r"<[^>]+>", " ", m.group(1)).split()) for m in (target, facts))  # type: ignore[return-value]


def test_a_backup_s_request_names_its_guest_and_where_it_lies(
    app_server: AppServer,
    settings: Settings,
    client: httpx.Client,
    crew: People,
    backed_up: dict[str, str],
) -> None:
    with signed_in(app_server.url, make_user(settings, "viewer")) as viewer:
        for storage, where in (
            ("nas-backup", "nas-backup, shared: any node reads it"),
            ("local", "local on pve1"),
        ):
            volume = backed_up[storage]
            asked = client.post(
                "/api/v1/actions/delete-backup", json={"volume": volume, "reason": "old"}, headers=crew.alice
            )
            assert asked.status_code == 202, asked.text
            page = viewer.get(f"/approvals/{asked.json()['request_id']}").text
            target, facts = target_and_facts(page)
            shared = storage == "nas-backup"
            assert target == f"{volume} of VM {VMID}" + ("" if shared else " on pve1"), target
            assert re.search(rf'<a href="[^"]*/guests/{VMID}" id="request-target-guest">VM {VMID}</a>', page)
            assert f"Of guest VM {VMID} kept-safe" in facts and f"Stored on {where}" in facts, facts
