"""DemoPve's appliance index and its downloads, as PVE answers them through its API."""

from __future__ import annotations

from pvesim.fake import DemoPve
from tests.backup_guests import FakeApi

TEMPLATE = "debian-13-standard_13.1-2_amd64.tar.zst"


def test_the_index_lists_system_and_turnkey_appliances(fake_api: FakeApi) -> None:
    index = {a["template"]: a for a in fake_api.data("GET", "/nodes/pve1/aplinfo")}
    assert {a["section"] for a in index.values()} == {"system", "turnkeylinux"}
    debian = index[TEMPLATE]
    assert (debian["os"], debian["version"], debian["type"]) == ("debian-13", "13.1-2", "lxc")
    assert debian["location"].endswith("/system/" + TEMPLATE) and len(debian["sha512sum"]) == 128


def test_a_download_lands_on_the_storage_as_a_task(fake_api: FakeApi, pve: DemoPve) -> None:
    pve.storages["local"]["volumes"].pop(f"vztmpl/{TEMPLATE}", None)
    try:
        upid = fake_api.data("POST", "/nodes/pve2/aplinfo", data={"storage": "local", "template": TEMPLATE})
        assert upid.split(":")[5:7] == ["download", TEMPLATE]
        assert fake_api.wait(upid)["exitstatus"] == "OK"
        content = fake_api.data("GET", "/nodes/pve2/storage/local/content", params={"content": "vztmpl"})
        mine = next(v for v in content if v["volid"] == f"local:vztmpl/{TEMPLATE}")
        assert mine["format"] == "tzst" and mine["size"] > 0
    finally:
        pve.storages["local"]["volumes"].pop(f"vztmpl/{TEMPLATE}", None)


def test_pve_refuses_an_unknown_template_and_a_storage_without_templates(fake_api: FakeApi) -> None:
    unknown = fake_api.request(
        "POST", "/nodes/pve1/aplinfo", data={"storage": "local", "template": "nope.tar"}
    )
    assert unknown.status_code == 400 and unknown.json()["errors"] == {"template": "no such template"}
    lvm = fake_api.request("POST", "/nodes/pve1/aplinfo", data={"storage": "local-lvm", "template": TEMPLATE})
    assert (
        lvm.status_code == 500 and lvm.json()["message"] == "storage 'local-lvm' does not support templates\n"
    )
