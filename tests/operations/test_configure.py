"""Configuration edits: keys and values checked against Proxmox's schema, the risk that follows what is
removed, the preview's before and after, and the calls (POST for a VM, PUT for a container or cloud-init)."""

from __future__ import annotations

import pytest

from app.operations.base import ChangedMeanwhile, InvalidParameter, Risk
from app.operations.configure import CONFIGURE, waits_for_reboot
from app.operations.configure_params import ConfigureParams
from tests.operations.answers import bridges, ct, vm
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

VM_DIGEST = "51b7599f869b9a3f564804a0aed290f3de803292"  # of the recorded VM config
CLOUD_INIT = {"ide0": "storage:vm-101-cloudinit,media=cdrom", "ipconfig0": "ip=dhcp"}


def params(**values: object) -> ConfigureParams:
    return ConfigureParams.model_validate(values)


async def test_a_vm_edit_is_a_qmconfig_task_and_memory_waits_for_a_reboot(
    proxmox: MemoryPve, context: Ctx
) -> None:
    path = "/nodes/node1/qemu/101/config"
    proxmox.answer("POST", path, upid("node1", "qmconfig", 101))
    proxmox.answer("GET", "/nodes/node1/network", bridges("vmbr0", "vmbr1"))
    edit = params(memory=16384, net1="virtio=BC:24:11:00:00:09,bridge=vmbr0,tag=20", digest=VM_DIGEST)
    warnings = await CONFIGURE.preflight(context(vm()), edit)
    assert warnings == ["memory: Proxmox keeps this pending until VM 101 matt is rebooted through Proxmox."]
    assert CONFIGURE.risk_for(vm(), edit) is Risk.reversible
    preview = await CONFIGURE.preview(context(vm()), edit)
    assert preview.facts[0] == ("memory", "8192 → 16384") and preview.losses == []
    assert CONFIGURE.recorded(vm(), edit)["changes"]["memory"] == {"before": "8192", "after": "16384"}
    await CONFIGURE.call(context(vm()), edit)
    body = {"memory": "16384", "net1": "virtio=BC:24:11:00:00:09,bridge=vmbr0,tag=20", "digest": VM_DIGEST}
    assert proxmox.sent[-1] == Sent("POST", path, body)
    assert CONFIGURE.task_type(vm(), edit) == "qmconfig"
    assert CONFIGURE.describe(vm(), edit) == "Change memory, net1 of VM 101 matt"


@pytest.mark.parametrize(
    ("edit", "lost"),
    [
        ({"delete": "net1"}, "Removes network device net1"),
        ({"delete": "scsi2"}, "Removes disk scsi2"),
        ({"protection": 0}, "Turns protection off"),
        ({"delete": "sshkeys"}, "Removes 1 SSH key(s)"),
    ],
)
def test_an_edit_that_removes_something_is_destructive(edit: dict[str, object], lost: str) -> None:
    guest = vm({"protection": 1, "sshkeys": "ssh-ed25519%20AAAA%20a%40b%0A"})
    assert CONFIGURE.risk_for(guest, params(**edit)) is Risk.destructive
    assert CONFIGURE.risk_for(guest, params(delete="ide2", name="other")) is Risk.reversible


async def test_cloud_init_is_put_and_the_drive_regenerated(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("PUT", "/nodes/node1/qemu/101/config", None)
    proxmox.answer("PUT", "/nodes/node1/qemu/101/cloudinit", None)
    edit = params(ipconfig0="ip=10.0.0.5/24,gw=10.0.0.1", cipassword="secret")
    guest = vm(CLOUD_INIT)
    assert await CONFIGURE.call(context(guest), edit) is None and CONFIGURE.task_type(guest, edit) is None
    assert [(s.method, s.path) for s in proxmox.sent] == [
        ("PUT", "/nodes/node1/qemu/101/config"),
        ("PUT", "/nodes/node1/qemu/101/cloudinit"),
    ]
    assert CONFIGURE.recorded(guest, edit)["changes"]["cipassword"] == {"before": None, "after": "(hidden)"}


async def test_a_container_edit_is_put_and_a_stale_digest_is_proxmox_refusal(
    proxmox: MemoryPve, context: Ctx
) -> None:
    path = "/nodes/node1/lxc/100/config"
    message = "detected modified configuration - file changed by other user? Try again.\n"
    proxmox.fail("PUT", path, 500, message.strip(), {"data": None, "message": message})
    with pytest.raises(ChangedMeanwhile) as refused:
        await CONFIGURE.call(context(ct()), params(hostname="web", digest="0" * 40))
    assert refused.value.field == "digest" and refused.value.message == message.strip()
    assert waits_for_reboot(ct(), "hostname") is False and waits_for_reboot(ct(), "features") is True


@pytest.mark.parametrize(
    ("guest", "edit", "field", "words"),
    [
        (ct(), {"cipassword": "x"}, "cipassword", "does not change this key of containers"),
        (vm(), {"cores": 0}, "cores", "minimum value of 1"),
        (vm(), {"tags": "a b!"}, "tags", "invalid characters in tag"),
        (vm(), {"ide2": "local:iso/x.iso"}, "ide2", "only CD-ROM drives"),
        (vm(), {"net1": "virtio,bridge=vmbr7"}, "net1", "has no bridge vmbr7"),
        (ct(), {"net0": "bridge=vmbr0"}, "net0", "name: property is missing"),
    ],
)
async def test_wrong_keys_and_values_are_refused_naming_them(
    proxmox: MemoryPve, context: Ctx, guest: object, edit: dict[str, object], field: str, words: str
) -> None:
    proxmox.answer("GET", "/nodes/node1/network", bridges("vmbr0"))
    with pytest.raises(InvalidParameter) as refused:
        await CONFIGURE.preflight(context(guest), params(**edit))  # type: ignore[arg-type]
    assert refused.value.field == field and words in refused.value.message
    assert all(s.method == "GET" for s in proxmox.sent)


def test_delete_takes_a_list_and_nothing_at_all_is_refused() -> None:
    assert params(delete=["net1", "ide2"]).deletes() == ["net1", "ide2"]
    with pytest.raises(ValueError, match="no options specified"):
        params(digest="ab")
