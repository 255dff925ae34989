"""DemoPve's VM config as qemu-server keeps it, asserted through PVE's API: pending changes in GET config and in
its digest, the digest checked before a POST's task, hot-plug rules of a running VM, and the cloud-init drive."""

from __future__ import annotations

from pvesim.fake import DemoPve
from tests.demo.conftest import Api, add_web01

CONFIG = "/nodes/pve1/qemu/100/config"


def test_a_running_vm_keeps_memory_pending_takes_the_rest_at_once_and_the_digest_sees_it(
    demo_pve: DemoPve, demo_api: Api
) -> None:
    add_web01(demo_pve)
    before = demo_api.data("GET", CONFIG)["digest"]
    changes = {
        "memory": "4096",
        "name": "web01-new",
        "balloon": "1024",
        "net1": "virtio,bridge=vmbr0",
        "ipconfig0": "ip=dhcp",
    }
    upid = demo_api.data("POST", CONFIG, data={**changes, "digest": before})
    assert ":qmconfig:100:" in upid and demo_api.wait(upid)["exitstatus"] == "OK"
    now = demo_api.data("GET", CONFIG)
    current = demo_api.data("GET", CONFIG, params={"current": 1})
    assert now["memory"] == "4096" and current["memory"] == "2048" and now["digest"] != before
    assert (
        current["name"] == "web01-new" and current["balloon"] == "1024" and current["ipconfig0"] == "ip=dhcp"
    )
    assert current["net1"].startswith("virtio=BC:24:11:") and current["net1"].endswith(",bridge=vmbr0")
    pending = {p["key"]: p for p in demo_api.data("GET", "/nodes/pve1/qemu/100/pending")}
    assert pending["memory"]["pending"] == "4096" and "pending" not in pending["name"]


def test_a_stale_digest_is_refused_before_the_task_and_balloon_over_memory_too(
    demo_pve: DemoPve, demo_api: Api
) -> None:
    add_web01(demo_pve, status="stopped")
    stale = demo_api.data("GET", CONFIG)["digest"]
    demo_api.data("PUT", CONFIG, data={"cores": "4"})
    refused = demo_api.request("POST", CONFIG, data={"name": "other", "digest": stale})
    assert refused.status_code == 500 and refused.json()["message"].startswith(
        "checksum mismatch (file change by other user?)"
    )
    too_big = demo_api.request("PUT", CONFIG, data={"balloon": "4096"})
    assert too_big.status_code == 500 and "balloon value too large" in too_big.json()["message"]


def test_cloud_init_changes_wait_for_the_drive_until_it_is_regenerated(
    demo_pve: DemoPve, demo_api: Api
) -> None:
    add_web01(demo_pve)
    demo_api.data("PUT", CONFIG, data={"ciuser": "admin", "ipconfig0": "ip=10.0.0.5/24,gw=10.0.0.1"})
    demo_api.data("PUT", CONFIG, data={"ipconfig0": "ip=10.0.0.6/24,gw=10.0.0.1"})
    items = {i["key"]: i for i in demo_api.data("GET", "/nodes/pve1/qemu/100/cloudinit")}
    assert items["ipconfig0"] == {"key": "ipconfig0", "pending": "ip=10.0.0.6/24,gw=10.0.0.1"}
    assert items["ciuser"] == {"key": "ciuser", "pending": "admin"}
    digest = demo_api.data("GET", CONFIG)["digest"]
    demo_api.data("PUT", "/nodes/pve1/qemu/100/cloudinit")
    items = {i["key"]: i for i in demo_api.data("GET", "/nodes/pve1/qemu/100/cloudinit")}
    assert items["ipconfig0"] == {"key": "ipconfig0", "value": "ip=10.0.0.6/24,gw=10.0.0.1"}
    assert demo_api.data("GET", CONFIG)["digest"] != digest
