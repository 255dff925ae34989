"""GET .../pending lists the config file's digest among its keys, as PVE's config_with_pending_array does."""

from __future__ import annotations

from pvesim.fake import DemoPve
from tests.demo.conftest import add_web01
from tests.fakepve_thread import PveApi as Api


def test_a_vm_s_and_a_container_s_pending_carry_their_config_s_digest(
    demo_pve: DemoPve, demo_api: Api
) -> None:
    add_web01(demo_pve)
    demo_pve.add_ct(200, "dns", node="pve1", status="running", config={"memory": 512})
    demo_api.data("PUT", "/nodes/pve1/qemu/100/config", data={"memory": "4096"})  # pending: not hot-pluggable
    demo_api.data("PUT", "/nodes/pve1/lxc/200/config", data={"swap": "256"})

    for base in ("/nodes/pve1/qemu/100", "/nodes/pve1/lxc/200"):
        items = demo_api.data("GET", base + "/pending")
        digest = [item for item in items if item["key"] == "digest"]
        assert digest == [{"key": "digest", "value": demo_api.data("GET", base + "/config")["digest"]}], base
    assert {"key": "memory", "value": 2048, "pending": "4096"} in demo_api.data(
        "GET", "/nodes/pve1/qemu/100/pending"
    )
