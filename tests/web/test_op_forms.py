"""Forms drawn from the catalogue: fields, labels, constraints and choices come from each operation's
parameter model and its widgets, and every form the pages offer can be drawn."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from app.operations.base import Guest, Risk
from app.operations.catalogue import CATALOGUE
from app.operations.forms import widget_of
from app.proxmox.diskparse import parse_disks
from app.proxmox.models import GuestResource
from app.services.approvals.policy import ApprovalPolicy
from app.services.cluster.backups import Backup
from app.services.cluster.guest_detail import FormChoices, GuestDetail
from app.services.cluster.provisioning import ProvisionChoices
from app.services.cluster.storage import Volume
from app.web.guest_forms import guest_forms, guest_options
from app.web.op_forms import OperationForm, Option, operation_form
from app.web.provision import create_forms, provision_options
from app.web.restore_form import RestoreForm

VM = Guest(100, "pve1", "qemu", "web01", "stopped", config={"scsi0": "local-lvm:vm-100-disk-0,size=32G"})
CT = Guest(200, "pve2", "lxc", "dns", "running", config={"rootfs": "local-lvm:subvol-200-disk-0,size=8G"})
BACKUP = "nas-backup:backup/vzdump-qemu-100-2026_01_01-03_00_00.vma.zst"


def detail(guest: Guest, snapshots: list[str] | None = None, backups: bool = True) -> GuestDetail:
    """The guest page's data for a guest with these snapshots, its disks, and one backup."""
    resource = GuestResource(vmid=guest.vmid, type=guest.type, node=guest.node, name=guest.name)
    view = GuestDetail(resource, guest, config=guest.config, snapshot_names=snapshots or [])
    view.disks = parse_disks(guest.type, guest.config)
    volume = Volume(volid=BACKUP, content="backup", ctime=1767236400, notes="nightly", protected=True)
    view.backups = [Backup(volume, "nas-backup", None)] if backups else []
    view.operations = [op for op in CATALOGUE.values() if op.target == "guest" and op.applies_to(guest)]
    return view


CHOICES = FormChoices(
    backup_storages=["nas-backup", "local"],
    nodes=["pve1", "pve2", "pve3"],
    restore_storages={"pve1": ["local-lvm", "ceph-vm"], "pve2": ["local-lvm"]},
)


def form_of(name: str, guest: Guest | None, **lists: Any) -> OperationForm | None:
    """The operation's form with the guest page's lists for this guest (or the given ones)."""
    pages = lists or guest_options(detail(guest or VM, ["first", "second"]), CHOICES)
    return operation_form(CATALOGUE[name], f"{name}-form", guest=guest, options=pages, prefix=name)


def fields(form: OperationForm | None) -> dict[str, Any]:
    """name -> field of a form that exists."""
    assert form is not None
    return {f.name: f for f in form.fields}


def test_fields_labels_and_constraints_come_from_the_parameter_model() -> None:
    snapshot = fields(form_of("snapshot", VM))
    assert list(snapshot) == ["snapname", "description", "vmstate"]
    name = snapshot["snapname"]
    assert (name.label, name.control, name.id) == ("Name", "text", "snapshot-snapname")
    assert re.fullmatch(name.attrs["pattern"], name.value), "the default name is a fresh, valid one"
    assert name.attrs["maxlength"] == 40 and "required" not in name.attrs, "a default fills an empty name"
    assert snapshot["vmstate"].control == "checkbox" and "freezes the guest" in snapshot["vmstate"].note
    assert "vmstate" not in fields(form_of("snapshot", CT)), "containers have no RAM state to save"
    timeout = fields(form_of("shutdown", VM))["timeout"]
    assert (timeout.label, timeout.control) == ("Wait up to (seconds)", "number")
    assert timeout.attrs == {
        "min": 1,
        "max": 3600,
        "placeholder": "Proxmox's default",
        "title": "Seconds to wait for the guest to power off",
    }
    resize = fields(form_of("resize", VM))
    assert resize["size"].attrs["required"] is True and resize["size"].attrs["maxlength"] == 24
    assert [(o.value, o.text) for o in resize["disk"].options] == [("scsi0", "scsi0 (32G)")]


def test_selects_offer_the_pages_lists_the_literals_words_and_a_blank() -> None:
    backup = fields(form_of("backup", VM))
    assert [o.value for o in backup["storage"].options] == ["nas-backup", "local"]
    assert [(o.value, o.text) for o in backup["mode"].options][0] == ("snapshot", "snapshot (keeps running)")
    assert [(o.value, o.text) for o in backup["compress"].options][-1] == ("0", "none")
    assert backup["compress"].value == "zstd" and backup["protected"].control == "checkbox"
    clone = fields(form_of("clone", VM))
    assert [o.value for o in clone["full"].options] == ["true"], "a linked clone only of a template"
    template = dataclasses.replace(VM, template=True)
    assert [o.value for o in fields(form_of("clone", template))["full"].options] == ["false", "true"]
    assert [(o.value, o.text) for o in clone["target"].options] == [
        ("", "same node (pve1)"),
        ("pve2", "pve2"),
        ("pve3", "pve3"),
    ]
    assert "storage" not in clone, "left to the API"
    assert clone["name"].label == "Name" and fields(form_of("clone", CT))["name"].label == "Hostname"
    over = fields(form_of("restore-overwrite", VM))
    assert over["storage"].options[0] == Option("", "where they were (each disk its own storage)")
    assert (
        fields(form_of("restore-overwrite", CT))["storage"].options[0].text == "the storage of its root disk"
    )
    deletable = fields(form_of("delete-backup", VM))["volume"].options
    assert deletable == [Option(BACKUP, "2026-01-01 03:00 UTC · nas-backup · protected", disabled=True)]
    rollback = fields(form_of("rollback", VM))["snapname"].options
    removal = fields(form_of("delete-snapshot", VM))["snapname"].options
    assert [o.value for o in rollback] == ["second", "first"] and [o.value for o in removal] == [
        "first",
        "second",
    ]


def test_a_choice_with_nothing_to_offer_hides_its_form_or_says_why() -> None:
    nothing = guest_options(detail(CT, backups=False), FormChoices())
    assert form_of("rollback", CT, **nothing) is None
    assert form_of("restore-overwrite", CT, **nothing) is None
    backup = form_of("backup", CT, **nothing)
    assert backup is not None and backup.empty == "No storage on pve2 takes backups."
    note = fields(form_of("clone", CT, **nothing))["snapname"]
    assert note.control == "empty" and "only be copied from a snapshot" in note.note
    offered = fields(form_of("clone", CT))["snapname"]
    assert offered.control == "select" and offered.id == "clone-snapname"
    with pytest.raises(LookupError, match="'disks'"):
        form_of("resize", VM, snapshots=["a"])


def test_what_was_typed_and_each_problem_come_back_beside_their_fields() -> None:
    values = {"hostname": "bad_name!", "ipv4": "static", "password": "secret", "start": "true"}
    errors = {"hostname": "Use letters.", "": "Some fields need another look"}
    ct = create_forms(ProvisionChoices(nodes=["pve1"]), "create-ct", values, errors)["create-ct"]
    shown = fields(ct)
    assert shown["hostname"].value == "bad_name!" and shown["hostname"].error == "Use letters."
    assert shown["hostname"].error_id == "create-ct-form-hostname-error"
    assert shown["ipv4"].value == "static" and shown["ipv4"].group == "IPv4"
    assert shown["password"].value == "" and shown["password"].control == "password", "never sent back"
    assert shown["start"].checked and list(shown)[-1] == "vmid"
    assert ct.empty == "No storage holds a container template: download one in Proxmox."
    vm = create_forms(ProvisionChoices(nodes=["pve1"], disk_storages=["local-lvm"]))["create-vm"]
    assert vm.empty == "" and fields(vm)["ostype"].value == "l26"
    assert fields(vm)["iso"].options == [Option("", "none")]
    restore = RestoreForm(BACKUP, "pve1", ["local-lvm"], errors={"storage": "Full."}).form
    assert [(f.name, f.control) for f in restore.fields] == [
        ("archive", "hidden"),
        ("node", "hidden"),
        ("vmid", "number"),
        ("name", "text"),
        ("storage", "select"),
        ("start", "checkbox"),
    ]
    assert restore.fields[1].value == "pve1" and restore.get("storage").error == "Full."


def test_the_guest_page_offers_every_operation_that_fits_from_the_catalogue() -> None:
    offered = guest_forms(detail(VM, ["first"]), CHOICES, ApprovalPolicy())
    assert [op.name for op in offered.buttons] == ["start"]
    assert [f.op.name for f in offered.actions] == ["snapshot", "backup", "clone", "migrate"]
    changes = {f.op.name: f for f in offered.changes}
    destructive = [op.name for op in CATALOGUE.values() if op.risk == Risk.destructive]
    assert list(changes) == destructive, "a stopped VM with a snapshot and a backup: every change"
    assert changes["delete"].submit == "Request: Delete VM 100" and changes["delete"].needs_approval
    assert changes["resize"].note.startswith("Disks can only grow")
    running = guest_forms(
        detail(dataclasses.replace(VM, status="running"), ["first"]), CHOICES, ApprovalPolicy()
    )
    assert [op.name for op in running.buttons] == ["shutdown", "reboot", "suspend", "stop"]
    assert [op.name for op in running.when_stopped] == ["restore-overwrite", "template", "delete"]
    gated = guest_forms(detail(VM), CHOICES, ApprovalPolicy(extra=frozenset({"snapshot"})))
    assert gated.actions[0].needs_approval and gated.actions[0].submit == "Request: Take snapshot"


def test_every_choice_a_widget_names_is_offered_by_a_page() -> None:
    pages = {
        *guest_options(detail(VM), CHOICES),
        *provision_options(ProvisionChoices()),
        "restore-storages",
    }
    named = {
        (op.name, name, widget_of(info.metadata).choices)
        for op in CATALOGUE.values()
        for name, info in op.params.model_fields.items()
        if widget_of(info.metadata).choices
    }
    assert {(op, name, choices) for op, name, choices in named if choices not in pages} == set()


def test_a_confirmation_is_asked_once_a_refusal_names_it_and_while_ticked() -> None:
    choices = ProvisionChoices(nodes=["pve1"], templates=["local:vztmpl/debian.tar.zst"])
    plain = fields(create_forms(choices)["create-ct"])
    assert "allow_ip_reuse" not in plain
    errors = {
        "ip": "10.0.20.5 is used by 214 (web-3, running).",
        "allow_ip_reuse": "Tick this to go on anyway.",
    }
    refused = fields(create_forms(choices, "create-ct", {"ip": "10.0.20.5/24"}, errors)["create-ct"])
    names = list(refused)
    assert names.index("allow_ip_reuse") == names.index("gateway6") + 1, "right after the addresses"
    confirm = refused["allow_ip_reuse"]
    assert confirm.control == "checkbox" and not confirm.checked and confirm.error == errors["allow_ip_reuse"]
    ticked = fields(
        create_forms(choices, "create-ct", {"allow_ip_reuse": "true"}, {"vmid": "Taken."})["create-ct"]
    )
    assert ticked["allow_ip_reuse"].checked, "kept while ticked, when another problem sends the form back"
    restore = RestoreForm(BACKUP, "pve1", ["local-lvm"], errors={"allow_ip_reuse": "10.0.10.5 is used"}).form
    assert [f.name for f in restore.fields][-1] == "allow_ip_reuse"
    assert "allow_ip_reuse" not in fields(RestoreForm(BACKUP, "pve1", ["local-lvm"]).form)


def test_a_clone_asks_to_keep_addresses_only_of_a_guest_with_a_static_one() -> None:
    static = dataclasses.replace(VM, config={**VM.config, "ipconfig0": "ip=10.0.20.5/24,gw=10.0.20.1"})
    assert "allow_ip_reuse" not in fields(form_of("clone", VM))
    offered = fields(form_of("clone", static))["allow_ip_reuse"]
    assert offered.control == "checkbox" and offered.label == "Keep addresses another guest has"
    assert "static addresses included" in offered.note


def test_the_create_forms_offer_a_cpu_type_nesting_a_vlan_and_dns_servers() -> None:
    choices = ProvisionChoices(nodes=["pve1"], disk_storages=["local-lvm"])
    vm = fields(create_forms(choices)["create-vm"])
    assert vm["cpu"].value == "x86-64-v2-AES" and [o.value for o in vm["cpu"].options] == [
        "x86-64-v2-AES",
        "host",
    ]
    ct = fields(create_forms(choices)["create-ct"])
    assert (ct["nesting"].control, ct["tag"].control) == ("checkbox", "number")
    assert ct["nameserver"].label == "DNS servers" and ct["nameserver"].control == "text"
