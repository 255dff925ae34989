"""Restores from vzdump archives: qmrestore and vzrestore on DemoPve, seen through PVE's API."""

from __future__ import annotations

from pvesim.fake import DemoPve
from tests.demo.conftest import Api, add_pihole, add_web01

MISSING = "local:backup/vzdump-qemu-100-2020_01_01-00_00_00.vma.zst"


def back_up(api: Api, vmid: int) -> str:
    """Back the guest up to local; the new volid."""
    api.run("POST", "/nodes/pve1/vzdump", data={"vmid": str(vmid), "storage": "local", "compress": "zstd"})
    volids = [b["volid"] for b in api.data("GET", "/nodes/pve1/storage/local/content", params={"vmid": vmid})]
    return volids[-1]


def test_restore_into_a_new_vmid_creates_the_vm_from_the_archive(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve)
    archive = back_up(demo_api, 100)

    upid = demo_api.data("POST", "/nodes/pve1/qemu", data={"vmid": 200, "archive": archive, "unique": 1})
    status, log = demo_api.wait(upid), demo_api.log(upid)

    assert ":qmrestore:200:" in upid and status["exitstatus"] == "OK"
    assert log[0].startswith("restore vma archive: zstd -q -d -c /var/lib/vz/dump/vzdump-qemu-100-")
    assert "new volume ID is 'local-lvm:vm-200-disk-0'" in log
    config = demo_api.data("GET", "/nodes/pve1/qemu/200/config")
    assert config["name"] == "web01" and config["scsi0"] == "local-lvm:vm-200-disk-0,iothread=1,size=32G"
    assert config["ide2"] == "local:iso/debian-12.7.0-amd64-netinst.iso,media=cdrom"
    assert config["net0"] != "virtio=BC:24:11:00:00:01,bridge=vmbr0" and "lock" not in config
    resource = next(r for r in demo_api.data("GET", "/cluster/resources") if r["id"] == "qemu/200")
    assert resource["status"] == "stopped" and resource["maxdisk"] == 32 * 1024**3


def test_restore_onto_an_existing_vm_without_force_is_refused_at_once(
    demo_pve: DemoPve, demo_api: Api
) -> None:
    add_web01(demo_pve)
    archive = back_up(demo_api, 100)
    tasks = len(demo_pve.tasklog)

    response = demo_api.request("POST", "/nodes/pve1/qemu", data={"vmid": 100, "archive": archive})

    assert response.status_code == 500
    assert response.json()["message"] == "unable to restore VM 100 - VM 100 already exists on node 'pve1'\n"
    assert len(demo_pve.tasklog) == tasks


def test_restore_with_force_overwrites_a_stopped_vm(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve, status="stopped")
    archive = back_up(demo_api, 100)
    demo_api.data("PUT", "/nodes/pve1/qemu/100/config", data={"memory": 8192, "name": "renamed"})

    status, log = demo_api.run("POST", "/nodes/pve1/qemu", data={"vmid": 100, "archive": archive, "force": 1})

    assert status["exitstatus"] == "OK"
    assert '  Logical volume "vm-100-disk-0" successfully removed.' in log
    config = demo_api.data("GET", "/nodes/pve1/qemu/100/config")
    assert config["name"] == "web01" and config["memory"] == "2048"


def test_restore_with_force_onto_a_running_vm_fails_in_the_task(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve)
    archive = back_up(demo_api, 100)

    status, _log = demo_api.run(
        "POST", "/nodes/pve1/qemu", data={"vmid": 100, "archive": archive, "force": 1}
    )

    assert status["exitstatus"] == "unable to restore VM 100 - vm is running"
    assert "lock" not in demo_api.data("GET", "/nodes/pve1/qemu/100/config")


def test_restore_of_a_missing_archive_is_refused(demo_pve: DemoPve, demo_api: Api) -> None:
    response = demo_api.request("POST", "/nodes/pve1/qemu", data={"vmid": 200, "archive": MISSING})

    assert response.status_code == 500 and response.json()["message"] == f"can't find file '{MISSING}'\n"


def test_restore_of_something_that_is_not_a_backup_is_refused(demo_pve: DemoPve, demo_api: Api) -> None:
    archive = "local:iso/debian-12.7.0-amd64-netinst.iso"

    response = demo_api.request("POST", "/nodes/pve1/qemu", data={"vmid": 200, "archive": archive})

    assert response.status_code == 500
    assert (
        response.json()["message"] == f"unable to use volume {archive} - content type needs to be 'backup'\n"
    )


def test_disks_may_not_be_given_with_an_archive(demo_pve: DemoPve, demo_api: Api) -> None:
    data = {"vmid": 200, "archive": MISSING, "scsi0": "local-lvm:8"}

    response = demo_api.request("POST", "/nodes/pve1/qemu", data=data)

    assert response.status_code == 400 and response.json()["errors"] == {
        "scsi0": "option conflicts with option 'archive'"
    }


def test_a_plain_create_is_still_fakepves(demo_pve: DemoPve, demo_api: Api) -> None:
    status, _log = demo_api.run(
        "POST", "/nodes/pve1/qemu", data={"vmid": 300, "name": "fresh", "scsi0": "local-lvm:8"}
    )

    assert status["exitstatus"] == "OK"
    assert demo_api.data("GET", "/nodes/pve1/qemu/300/config")["scsi0"].startswith("local-lvm:vm-300-disk-0")


def test_container_restore_into_a_new_vmid(demo_pve: DemoPve, demo_api: Api) -> None:
    add_pihole(demo_pve)
    archive = back_up(demo_api, 101)
    data = {"vmid": 201, "ostemplate": archive, "restore": 1, "storage": "local-lvm", "start": 1}

    upid = demo_api.data("POST", "/nodes/pve1/lxc", data=data)
    status, log = demo_api.wait(upid), demo_api.log(upid)

    assert ":vzrestore:201:" in upid and status["exitstatus"] == "OK"
    assert log[0] == f"recovering backed-up configuration from '{archive}'"
    assert "merging backed-up and given configuration.." in log
    config = demo_api.data("GET", "/nodes/pve1/lxc/201/config")
    assert config["hostname"] == "pihole" and config["rootfs"] == "local-lvm:vm-201-disk-0,size=8G"
    assert demo_api.data("GET", "/nodes/pve1/lxc/201/status/current")["status"] == "running"


def test_container_restore_needs_a_storage_for_container_volumes(demo_pve: DemoPve, demo_api: Api) -> None:
    add_pihole(demo_pve)
    archive = back_up(demo_api, 101)

    response = demo_api.request(
        "POST", "/nodes/pve1/lxc", data={"vmid": 201, "ostemplate": archive, "restore": 1}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"storage": "storage 'local' does not support container directories"}


def test_container_restore_onto_an_existing_ct(demo_pve: DemoPve, demo_api: Api) -> None:
    add_pihole(demo_pve, status="stopped")
    archive = back_up(demo_api, 101)
    data = {"vmid": 101, "ostemplate": archive, "restore": 1, "storage": "local-lvm"}

    refused = demo_api.request("POST", "/nodes/pve1/lxc", data=data)
    status, _log = demo_api.run("POST", "/nodes/pve1/lxc", data=dict(data, force=1))

    assert (
        refused.status_code == 500 and refused.json()["message"] == "CT 101 already exists on node 'pve1'\n"
    )
    assert status["exitstatus"] == "OK"
    assert demo_api.data("GET", "/nodes/pve1/lxc/101/config")["hostname"] == "pihole"


def test_a_vm_archive_does_not_restore_as_a_container(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve)
    archive = back_up(demo_api, 100)
    data = {"vmid": 201, "ostemplate": archive, "restore": 1, "storage": "local-lvm"}

    status, _log = demo_api.run("POST", "/nodes/pve1/lxc", data=data)

    message = (
        "unable to find configuration file 'pct.conf' in archive '/var/lib/vz/dump/" + archive.split("/")[-1]
    )
    assert status["exitstatus"] == f"unable to restore CT 201 - {message}'"
    assert demo_api.request("GET", "/nodes/pve1/lxc/201/config").status_code == 500
