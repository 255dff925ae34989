"""The edit form's pure parts: fields drawn from a config, and what was typed turned into `configure`'s
parameters (only what changed, a device's MAC address kept, SSH keys URL-encoded as Proxmox takes them)."""

from __future__ import annotations

from typing import Any

from app.operations.base import Guest
from app.services.cluster import EditSource
from app.web.guest_edit_changes import changed_params, kept_typing, what_changed
from app.web.guest_edit_form import EditForm, initial_values

VM = {
    "name": "web01",
    "memory": "2048",
    "cores": 2,
    "onboot": 1,
    "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1",
    "ide2": "none,media=cdrom",
    "ide0": "local-lvm:vm-100-cloudinit,media=cdrom",
    "ipconfig0": "ip=dhcp",
    "sshkeys": "ssh-ed25519%20AAAA%20a%40b%0A",
    "digest": "ab" * 20,
}
CT = {
    "hostname": "ct1",
    "memory": 512,
    "unprivileged": 1,
    "features": "nesting=1,mount=nfs",
    "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:02,ip=dhcp,type=veth",
}


def source(kind: str, config: dict[str, Any]) -> EditSource:
    guest = Guest(100, "pve1", "qemu" if kind == "qemu" else "lxc", "g", "running", config=dict(config))
    return EditSource(guest, dict(config), ["vmbr0", "vmbr1"])


def as_drawn(src: EditSource) -> dict[str, str]:
    """The form as a browser sends it untouched: unticked checkboxes left out, their names listed."""
    return {k: v for k, v in initial_values(src).items() if v != "0"} | {
        "checkboxes": EditForm(src).checkboxes
    }


def test_untouched_form_changes_nothing_and_each_change_is_one_key() -> None:
    vm = source("qemu", VM)
    assert changed_params(vm, as_drawn(vm)) == ({}, [])
    assert changed_params(vm, {}) == ({}, []), "a checkbox the form did not show is not unticked"
    typed = {
        **as_drawn(vm),
        "memory": "4096",
        "net0.bridge": "vmbr1",
        "net0.tag": "20",
        "ide2.media": "local:iso/d.iso",
    }
    typed |= {
        "net1.bridge": "vmbr0",
        "net1.model": "e1000",
        "sshkeys": "ssh-ed25519 AAAA a@b\nssh-rsa BBBB c@d",
    }
    del typed["onboot"]
    updates, deletes = changed_params(vm, typed)
    assert updates == {
        "memory": "4096",
        "onboot": "0",
        "sshkeys": "ssh-ed25519%20AAAA%20a%40b%0Assh-rsa%20BBBB%20c%40d%0A",
        "ide2": "local:iso/d.iso,media=cdrom",
        "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr1,firewall=1,tag=20",
        "net1": "e1000,bridge=vmbr0",
    }
    assert deletes == []
    assert changed_params(vm, {**as_drawn(vm), "net0.remove": "1", "ipconfig0": "", "name": ""}) == (
        {},
        ["name", "ipconfig0", "net0"],
    )


def test_a_container_keeps_its_hwaddr_and_other_features() -> None:
    ct = source("lxc", CT)
    typed = as_drawn(ct) | {
        "net0.ip": "10.0.0.5/24",
        "net0.gw": "10.0.0.1",
    }
    typed["features.keyctl"] = "1"
    updates, _ = changed_params(ct, typed)
    assert (
        updates["net0"]
        == "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:02,ip=10.0.0.5/24,type=veth,gw=10.0.0.1"
    )
    assert updates["features"] == "mount=nfs,nesting=1,keyctl=1"


def test_a_stale_form_keeps_only_what_was_changed_in_it() -> None:
    drawn, now = source("qemu", VM), source("qemu", {**VM, "cores": 4, "digest": "cd" * 20})
    typed = as_drawn(drawn) | {"memory": "3072"}
    kept = kept_typing(drawn, now, typed)
    assert kept["memory"] == "3072" and kept["cores"] == "4" and kept["onboot"] == "1"
    assert what_changed(drawn.config, now.config) == ["cores: 2 → 4"]
