"""DemoPve's vzdump and VM disk resize, asserted on what PVE would show through its API."""

from __future__ import annotations

import re
import time

import pytest

from pvesim.fake import DemoPve
from pvesim.index import GuestList
from tests.demo.conftest import Api, add_pihole, add_web01

BACKUP_VOLID = re.compile(
    r"^local:backup/vzdump-(qemu|lxc)-(\d+)-(\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2})\.(vma|tar)(\.zst)?$"
)


def backups(api: Api, storage: str = "local") -> list[dict]:
    return api.data("GET", f"/nodes/pve1/storage/{storage}/content", params={"content": "backup"})


def test_vzdump_of_one_vm_leaves_a_backup_with_notes_and_protection(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve)
    params = {
        "vmid": "100",
        "storage": "local",
        "compress": "zstd",
        "mode": "snapshot",
        "protected": "1",
        "notes-template": "{{guestname}} ({{vmid}}) on {{node}} in {{cluster}}",
    }

    upid = demo_api.data("POST", "/nodes/pve1/vzdump", data=params)
    status, log = demo_api.wait(upid), demo_api.log(upid)

    assert upid.startswith("UPID:pve1:") and ":vzdump:100:root@pam!proxgate:" in upid
    assert status["exitstatus"] == "OK" and log[-1] == "TASK OK"
    assert log[0].startswith("INFO: starting new backup job: vzdump 100 ")
    assert "INFO: include disk 'scsi0' 'local-lvm:vm-100-disk-0' 32G" in log
    assert "INFO: Backup job finished successfully" in log
    [backup] = backups(demo_api)
    found = BACKUP_VOLID.match(backup["volid"])
    assert found and found.groups()[:2] == ("qemu", "100")
    assert time.strftime("%Y_%m_%d-%H_%M_%S", time.localtime(backup["ctime"])) == found.group(3)
    assert backup["format"] == "vma.zst" and backup["subtype"] == "qemu" and backup["vmid"] == 100
    assert backup["notes"] == "web01 (100) on pve1 in fakecluster"
    assert backup["protected"] == 1 and 4 * 1024**2 < backup["size"] < 32 * 1024**3


def test_vzdump_of_several_guests_runs_one_task_without_an_id(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve)
    add_pihole(demo_pve)

    upid = demo_api.data("POST", "/nodes/pve1/vzdump", data={"vmid": "100,101", "storage": "local"})

    assert ":vzdump::root@pam!proxgate:" in upid
    assert demo_api.wait(upid)["exitstatus"] == "OK"
    found = {b["volid"].split("-")[1]: b for b in backups(demo_api)}
    assert found["qemu"]["format"] == "vma" and found["qemu"]["volid"].endswith(".vma")
    assert found["lxc"]["format"] == "tar" and found["lxc"]["subtype"] == "lxc"
    assert "protected" not in found["lxc"] and "notes" not in found["lxc"]


@pytest.mark.parametrize(("compress", "ext"), [("gzip", "tar.gz"), ("lzo", "tar.lzo"), ("1", "tar.lzo")])
def test_vzdump_compression_names_the_archive(
    demo_pve: DemoPve, demo_api: Api, compress: str, ext: str
) -> None:
    add_pihole(demo_pve)

    demo_api.run("POST", "/nodes/pve1/vzdump", data={"vmid": "101", "compress": compress})

    [backup] = backups(demo_api)
    assert backup["format"] == ext and backup["volid"].endswith("." + ext)


def test_backup_appears_in_the_plain_content_list_and_can_be_deleted(
    demo_pve: DemoPve, demo_api: Api
) -> None:
    add_pihole(demo_pve)
    demo_api.run("POST", "/nodes/pve1/vzdump", data={"vmid": "101", "storage": "local"})
    [backup] = backups(demo_api)

    everything = demo_api.data("GET", "/nodes/pve1/storage/local/content")
    isos = demo_api.data("GET", "/nodes/pve1/storage/local/content", params={"content": "iso"})
    status, _log = demo_api.run("DELETE", f"/nodes/pve1/storage/local/content/{backup['volid']}")

    assert backup["volid"] in [v["volid"] for v in everything]
    assert backup["volid"] not in [v["volid"] for v in isos]
    assert status["exitstatus"] == "OK" and backups(demo_api) == []


def test_a_protected_backup_is_not_deleted_until_unprotected(demo_pve: DemoPve, demo_api: Api) -> None:
    add_pihole(demo_pve)
    demo_api.run("POST", "/nodes/pve1/vzdump", data={"vmid": "101", "storage": "local", "protected": "1"})
    [backup] = backups(demo_api)
    path = f"/nodes/pve1/storage/local/content/{backup['volid']}"

    refused, _log = demo_api.run("DELETE", path)
    demo_api.data("PUT", path, data={"protected": "0", "notes": "ready to go"})
    listed = backups(demo_api)
    deleted, _log = demo_api.run("DELETE", path)

    # pve-storage's Plugin::free_image wording, inside the imgdel task.
    assert refused["exitstatus"] == f"cannot remove protected volume '{backup['volid'][6:]}' on 'local'"
    assert listed[0]["notes"] == "ready to go" and "protected" not in listed[0]
    assert deleted["exitstatus"] == "OK" and backups(demo_api) == []


def test_the_list_shows_the_first_line_of_notes(demo_pve: DemoPve, demo_api: Api) -> None:
    add_pihole(demo_pve)
    data = {"vmid": "101", "storage": "local", "notes-template": "{{guestname}}\\nsecond line"}
    demo_api.run("POST", "/nodes/pve1/vzdump", data=data)
    [backup] = backups(demo_api)

    info = demo_api.data("GET", f"/nodes/pve1/storage/local/content/{backup['volid']}")

    assert backup["notes"] == "pihole" and info["notes"] == "pihole\nsecond line"


def test_vzdump_answers_ok_without_a_task_when_no_guest_is_on_the_node(
    demo_pve: DemoPve, demo_api: Api
) -> None:
    add_web01(demo_pve, node="pve2")

    assert demo_api.data("POST", "/nodes/pve1/vzdump", data={"vmid": "100"}) == "OK"
    assert demo_pve.tasklog == []


def test_vzdump_to_a_storage_without_backup_content_fails_the_task(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve)

    status, log = demo_api.run("POST", "/nodes/pve1/vzdump", data={"vmid": "100", "storage": "local-lvm"})

    message = (
        "could not get storage information for 'local-lvm': "
        "can't use storage 'local-lvm' for backups - wrong content type"
    )
    assert status["exitstatus"] == message and log[-1] == "TASK ERROR: " + message


@pytest.mark.parametrize(
    ("vmid", "message"), [(100, "VM is locked (snapshot)"), (101, "CT is locked (snapshot)")]
)
def test_vzdump_of_a_locked_guest_fails_it_in_the_job(
    demo_pve: DemoPve, demo_api: Api, vmid: int, message: str
) -> None:
    add_web01(demo_pve)
    add_pihole(demo_pve)
    demo_pve.snapshot_lock(vmid)

    status, log = demo_api.run("POST", "/nodes/pve1/vzdump", data={"vmid": str(vmid)})

    assert status["exitstatus"] == "job errors"
    assert f"ERROR: Backup of VM {vmid} failed - {message}" in log
    assert "INFO: Backup job finished with errors" in log and backups(demo_api) == []


def test_vzdump_of_an_unknown_vmid_fails_that_guest(demo_pve: DemoPve, demo_api: Api) -> None:
    status, log = demo_api.run("POST", "/nodes/pve1/vzdump", data={"vmid": "999"})

    assert status["exitstatus"] == "job errors"
    assert "ERROR: Backup of VM 999 failed - unable to find VM '999'" in log


def test_the_guest_is_locked_while_its_backup_runs(demo_pve: DemoPve, demo_api: Api) -> None:
    demo_pve.time_scale = 0.02
    add_web01(demo_pve)

    upid = demo_api.data("POST", "/nodes/pve1/vzdump", data={"vmid": "100"})
    resource = next(r for r in demo_api.data("GET", "/cluster/resources") if r["id"] == "qemu/100")
    config = demo_api.data("GET", "/nodes/pve1/qemu/100/config")
    running = demo_api.data("GET", f"/nodes/pve1/tasks/{upid}/status")["status"]
    demo_api.wait(upid)
    after = next(r for r in demo_api.data("GET", "/cluster/resources") if r["id"] == "qemu/100")

    assert running == "running"
    assert resource["lock"] == "backup" and config["lock"] == "backup"
    assert "lock" not in after and "lock" not in demo_api.data("GET", "/nodes/pve1/qemu/100/config")


def test_a_second_job_waits_for_the_nodes_vzdump_lock(demo_pve: DemoPve, demo_api: Api) -> None:
    demo_pve.time_scale = 0.01
    add_web01(demo_pve)
    add_pihole(demo_pve)

    first = demo_api.data("POST", "/nodes/pve1/vzdump", data={"vmid": "100"})
    second = demo_api.data("POST", "/nodes/pve1/vzdump", data={"vmid": "101"})

    assert demo_api.wait(first)["exitstatus"] == demo_api.wait(second)["exitstatus"] == "OK"
    log = demo_api.log(second)
    assert log[:2] == ["INFO: trying to get global lock - waiting...", "INFO: got global lock"]


def test_stop_mode_stops_and_restarts_a_running_container(demo_pve: DemoPve, demo_api: Api) -> None:
    demo_pve.time_scale = 0.01
    add_pihole(demo_pve)

    upid = demo_api.data("POST", "/nodes/pve1/vzdump", data={"vmid": "101", "mode": "stop"})
    time.sleep(0.05)
    during = demo_api.data("GET", "/nodes/pve1/lxc/101/status/current")["status"]
    status, log = demo_api.wait(upid), demo_api.log(upid)

    assert during == "stopped" and status["exitstatus"] == "OK"
    assert "INFO: stopping virtual guest" in log and "INFO: restarting vm" in log
    assert demo_api.data("GET", "/nodes/pve1/lxc/101/status/current")["status"] == "running"


def test_vzdump_needs_vm_backup_on_each_guest(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve)
    add_pihole(demo_pve)
    demo_pve.apitokens["alice@pve!ops"] = "alice-secret"
    demo_pve.grant("alice@pve", "/vms/101", "VM.Backup", "VM.Audit")
    alice = {"Authorization": "PVEAPIToken=alice@pve!ops=alice-secret"}

    refused, refused_log = demo_api.run("POST", "/nodes/pve1/vzdump", data={"vmid": "100,101"}, headers=alice)
    allowed, _log = demo_api.run("POST", "/nodes/pve1/vzdump", data={"all": "1"}, headers=alice)

    assert refused["exitstatus"] == "Permission check failed (/vms/100, VM.Backup)"
    assert refused_log[0].startswith("INFO: starting new backup job: vzdump 100 101")
    assert allowed["exitstatus"] == "OK"
    assert [b["vmid"] for b in backups(demo_api)] == [101]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"vmid": "100", "all": "1"}, {"all": "option conflicts with option 'vmid'"}),
        ({"storage": "local"}, {"vmid": "property is missing"}),
        ({"vmid": "100", "ionice": "5"}, {"ionice": "Only root may set this option."}),
        (
            {"vmid": "100", "notes-template": "x"},
            {"storage": "missing property required by 'notes-template'"},
        ),
    ],
)
def test_vzdump_parameter_errors(demo_pve: DemoPve, demo_api: Api, data: dict, errors: dict) -> None:
    add_web01(demo_pve)

    response = demo_api.request("POST", "/nodes/pve1/vzdump", data=data)

    assert response.status_code == 400 and response.json()["errors"] == errors


# ------------------------------------------------------------- other fixes


def test_agent_errors_follow_pve(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve, status="stopped")
    plain = demo_pve.add_vm(102, "plain", status="running", config={"memory": 512})
    add_web01(demo_pve, vmid=103)
    assert plain.agent is None

    def message(vmid: int) -> str:
        response = demo_api.request("GET", f"/nodes/pve1/qemu/{vmid}/agent/network-get-interfaces")
        assert response.status_code == 500
        return str(response.json()["message"]).strip()

    assert message(100) == "VM 100 is not running"
    assert message(102) == "No QEMU guest agent configured"
    assert message(103) == "QEMU guest agent is not running"


def test_task_log_limit_zero_is_every_line_with_a_total(demo_pve: DemoPve, demo_api: Api) -> None:
    add_web01(demo_pve)
    upid = demo_api.data("POST", "/nodes/pve1/vzdump", data={"vmid": "100"})

    everything = demo_api.request("GET", f"/nodes/pve1/tasks/{upid}/log", params={"limit": 0}).json()
    first = demo_api.data("GET", f"/nodes/pve1/tasks/{upid}/log", params={"limit": 3})

    assert len(everything["data"]) == everything["total"] > 20
    assert [line["n"] for line in first] == [1, 2, 3]


def test_guest_lookups_use_the_index() -> None:
    pve = DemoPve()
    web = add_web01(pve)
    pihole = add_pihole(pve)

    assert isinstance(pve.vms, GuestList) and pve.vm(100) is web and pve.guest(101) is pihole
    pve.vms.remove(web)
    pve.cts = []
    assert pve.vm(100) is None and pve.ct(101) is None and web not in pve.vms
