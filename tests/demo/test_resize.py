"""DemoPve's VM disk resize (and fakepve's container resize), asserted through PVE's API."""

from __future__ import annotations

import pytest

from pvesim.fake import DemoPve
from tests.demo.conftest import Api, add_pihole, add_web01


def scsi0(api: Api) -> str:
    return str(api.data("GET", "/nodes/pve1/qemu/100/config")["scsi0"])


def test_relative_resize_sent_form_encoded_grows_the_disk(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve)

    upid = demo_api.data("PUT", "/nodes/pve1/qemu/100/resize", data={"disk": "scsi0", "size": "+10G"})
    status, log = demo_api.wait(upid), demo_api.log(upid)

    assert ":resize:100:" in upid and status["exitstatus"] == "OK"
    assert scsi0(demo_api) == "local-lvm:vm-100-disk-0,iothread=1,size=42G"
    assert "  Logical volume pve/vm-100-disk-0 successfully resized." in log
    resource = next(r for r in demo_api.data("GET", "/cluster/resources") if r["id"] == "qemu/100")
    assert resource["maxdisk"] == 42 * 1024**3
    volume = demo_api.data("GET", "/nodes/pve1/storage/local-lvm/content/local-lvm:vm-100-disk-0")
    assert volume["size"] == 42 * 1024**3


def test_an_unencoded_plus_arrives_as_a_space_and_is_refused(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve)

    response = demo_api.request(
        "PUT",
        "/nodes/pve1/qemu/100/resize",
        content=b"disk=scsi0&size=+10G",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"size": "value does not match the regex pattern"}


@pytest.mark.parametrize(
    ("size", "expected"),
    [("64G", "64G"), ("32.5G", "33280M"), ("+512M", "33280M"), ("1T", "1T"), (str(40 * 1024**3), "40G")],
)
def test_absolute_decimal_and_byte_sizes(demo_pve: DemoPve, demo_api: Api, size: str, expected: str) -> None:
    add_web01(demo_pve)

    status, _log = demo_api.run("PUT", "/nodes/pve1/qemu/100/resize", data={"disk": "scsi0", "size": size})

    assert status["exitstatus"] == "OK" and scsi0(demo_api).endswith(f",size={expected}")


@pytest.mark.parametrize(
    ("disk", "size", "message"),
    [
        ("scsi0", "16G", "shrinking disks is not supported"),
        ("scsi5", "10G", "disk 'scsi5' does not exist"),
        ("ide2", "+1G", "you can't resize a cdrom"),
    ],
)
def test_resize_refusals_end_the_task(
    demo_pve: DemoPve, demo_api: Api, disk: str, size: str, message: str
) -> None:
    add_web01(demo_pve)

    upid = demo_api.data("PUT", "/nodes/pve1/qemu/100/resize", data={"disk": disk, "size": size})
    status, log = demo_api.wait(upid), demo_api.log(upid)

    assert status["exitstatus"] == message and log[-1] == f"TASK ERROR: {message}"
    assert scsi0(demo_api).endswith(",size=32G")


def test_resize_to_the_same_size_is_ok_and_changes_nothing(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve)
    before = demo_api.data("GET", "/nodes/pve1/qemu/100/config")["digest"]

    status, _log = demo_api.run("PUT", "/nodes/pve1/qemu/100/resize", data={"disk": "scsi0", "size": "32G"})

    assert status["exitstatus"] == "OK"
    assert demo_api.data("GET", "/nodes/pve1/qemu/100/config")["digest"] == before


def test_resize_of_a_locked_vm_fails_in_the_task(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve)
    demo_pve.snapshot_lock(100, "backup")

    status, _log = demo_api.run("PUT", "/nodes/pve1/qemu/100/resize", data={"disk": "scsi0", "size": "+1G"})

    assert status["exitstatus"] == "VM is locked (backup)"


def test_container_resize_refuses_a_shrink_at_once(demo_pve: DemoPve, demo_api: Api) -> None:
    add_pihole(demo_pve)

    response = demo_api.request("PUT", "/nodes/pve1/lxc/101/resize", data={"disk": "rootfs", "size": "4G"})

    assert response.status_code == 500 and response.json()["message"] == "unable to shrink disk size\n"


def test_resize_of_a_missing_vm_is_refused_at_once(demo_pve: DemoPve, demo_api: Api) -> None:
    response = demo_api.request("PUT", "/nodes/pve1/qemu/100/resize", data={"disk": "scsi0", "size": "+1G"})

    assert response.status_code == 500
    assert (
        response.json()["message"] == "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist\n"
    )
