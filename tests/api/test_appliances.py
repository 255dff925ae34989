"""GET /api/v1/nodes/{node}/appliances and the operation download-template: the index searchable and marked
with what the node holds; a download followed as a task onto a storage that takes templates, then a container
made from it; refusals that name the field (a storage without templates, a template the index lacks)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.api.test_actions import bearer
from tests.api.test_provision import act
from tests.factories import make_user, signed_in

TEMPLATE = "almalinux-9-default_20240911_amd64.tar.xz"
VMID = 9461


@pytest.fixture
def operator(settings: Settings, pve: DemoPve) -> Iterator[dict[str, str]]:
    """An operator's token headers; the downloaded template and the container made from it go afterwards."""
    pve.storages["local"]["volumes"].pop(f"vztmpl/{TEMPLATE}", None)
    yield bearer(settings, "operator")
    pve.storages["local"]["volumes"].pop(f"vztmpl/{TEMPLATE}", None)
    pve.cts[:] = [ct for ct in pve.cts if ct.vmid != VMID]


def test_the_index_is_searchable_and_marks_what_the_node_holds(api: httpx.Client) -> None:
    body = api.get("/api/v1/nodes/pve1/appliances", params={"limit": 500}).json()
    assert body["total"] == len(body["items"]) > 10 and body["storages"] == ["local"]
    by_name = {a["template"]: a for a in body["items"]}
    assert by_name["debian-12-standard_12.7-1_amd64.tar.zst"]["stored"] == [
        "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
    ]
    assert by_name[TEMPLATE]["stored"] == [] and by_name[TEMPLATE]["os"] == "almalinux-9"
    assert body["items"][0]["section"] == "system"
    found = api.get("/api/v1/nodes/pve1/appliances", params={"q": "turnkey word"}).json()["items"]
    assert [a["package"] for a in found] == ["turnkey-wordpress"]
    unknown = api.get("/api/v1/nodes/nope/appliances")
    assert unknown.status_code == 404 and "choose one of: pve1, pve2, pve3" in unknown.json()["detail"]


def test_download_a_template_then_create_a_container_from_it(
    client: httpx.Client, operator: dict[str, str], pve: DemoPve, settings: Settings
) -> None:
    body = {"node": "pve1", "storage": "local", "template": TEMPLATE}
    end = act(client, operator, "/api/v1/actions/download-template", body)
    assert end["outcome"] == "succeeded"
    assert pve.storages["local"]["volumes"][f"vztmpl/{TEMPLATE}"]["content"] == "vztmpl"
    listed = client.get("/api/v1/nodes/pve1/appliances", params={"q": "almalinux"}, headers=operator).json()
    assert listed["items"][0]["stored"] == [f"local:vztmpl/{TEMPLATE}"]
    again = client.post("/api/v1/actions/download-template", json=body, headers=operator)
    assert again.status_code == 409 and again.json()["field"] == "template" and "already" in again.text

    elsewhere = client.get(
        "/api/v1/nodes/pve2/appliances", params={"q": "almalinux"}, headers=operator
    ).json()
    assert elsewhere["items"][0]["stored"] == [], "pve2's local is its own disk"
    with signed_in(str(client.base_url), make_user(settings, "operator")) as person:
        page = person.get("/provision").text
    assert f"{TEMPLATE} (local; pve1 only)</option>" in page
    on_pve2 = {"node": "pve2", "hostname": "alma-elsewhere", "ostemplate": f"local:vztmpl/{TEMPLATE}"}
    on_pve2 |= {"rootfs_storage": "local-lvm", "password": "s3cret-pass"}
    refused = client.post("/api/v1/actions/create-ct", json=on_pve2, headers=operator)
    assert refused.status_code == 409 and refused.json()["field"] == "ostemplate"
    assert TEMPLATE not in refused.json()["detail"].split("choose one of:")[1]

    ct = {
        "node": "pve1",
        "vmid": VMID,
        "hostname": "alma-9461",
        "ostemplate": f"local:vztmpl/{TEMPLATE}",
        "rootfs_storage": "local-lvm",
        "rootfs_size": 4,
        "password": "s3cret-pass",
    }
    assert act(client, operator, "/api/v1/actions/create-ct", ct)["outcome"] == "succeeded"
    assert next(c for c in pve.cts if c.vmid == VMID).config["hostname"] == "alma-9461"


def test_refusals_name_the_field(client: httpx.Client, operator: dict[str, str], pve: DemoPve) -> None:
    lvm = {"node": "pve1", "storage": "local-lvm", "template": TEMPLATE}
    answer = client.post("/api/v1/actions/download-template", json=lvm, headers=operator)
    assert answer.status_code == 409 and answer.json()["field"] == "storage"
    assert "cannot hold vztmpl on pve1; choose one of: local" in answer.json()["detail"]
    typo = {"node": "pve1", "storage": "local", "template": "almalinux-8-default_amd64.tar.xz"}
    answer = client.post("/api/v1/actions/download-template", json=typo, headers=operator)
    assert answer.status_code == 409 and answer.json()["field"] == "template"
    assert TEMPLATE in answer.json()["detail"] and "debian" not in answer.json()["detail"]
    assert f"vztmpl/{TEMPLATE}" not in pve.storages["local"]["volumes"]


def test_an_unknown_template_answers_with_the_valid_ones(
    client: httpx.Client, operator: dict[str, str]
) -> None:
    ct = {
        "node": "pve1",
        "hostname": "nope",
        "ostemplate": "nas-backup:vztmpl/debian-99.tar.zst",
        "rootfs_storage": "local-lvm",
        "password": "s3cret-pass",
    }
    answer = client.post("/api/v1/actions/create-ct", json=ct, headers=operator)
    assert answer.status_code == 409 and answer.json()["field"] == "ostemplate"
    assert (
        "choose one of: local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz, " in answer.json()["detail"]
    )
