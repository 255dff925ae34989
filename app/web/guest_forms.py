"""What the guest page offers, from the catalogue: the one-click buttons, a form for each operation that fits
the guest (partials/guests/_operation_form.html), and the lists their selects choose from."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.operations.base import Guest, Operation, Risk
from app.operations.catalogue import CATALOGUE
from app.operations.snapshots import SNAPSHOT, default_snapname, fresh_snapname
from app.services.approvals import ApprovalPolicy
from app.services.cluster import FormChoices, GuestDetail
from app.web.formatting import when
from app.web.op_forms import OperationForm, Option, OptionList, operation_form


@dataclass
class GuestForm:
    """One operation's form on the guest page, with its texts filled in for this guest."""

    form: OperationForm
    summary: str
    submit: str
    warning: str
    note: str
    needs_approval: bool
    # The reason typed into a refused form, given back with it.
    reason: str = ""

    @property
    def op(self) -> Operation:
        """The operation it sends."""
        return self.form.op

    @property
    def change(self) -> bool:
        """True for a destructive change: it sits among the changes that need approval."""
        return self.op.risk == Risk.destructive


@dataclass
class GuestForms:
    """Everything the page offers the guest: buttons, forms (reversible actions, then destructive changes),
    and the operations that wait for it to be shut down."""

    buttons: list[Operation] = field(default_factory=list)
    actions: list[GuestForm] = field(default_factory=list)
    changes: list[GuestForm] = field(default_factory=list)
    when_stopped: list[Operation] = field(default_factory=list)


def guest_forms(view: GuestDetail, choices: FormChoices, policy: ApprovalPolicy) -> GuestForms:
    """The guest page's buttons and forms, in catalogue order."""
    found = GuestForms()
    if view.node_offline:
        return found
    guest, fitting = view.guest, {op.name for op in view.operations}
    lists = guest_options(view, choices)
    for op in CATALOGUE.values():
        if not (op.name in fitting if op.target == "guest" else op.form.on_guest_page):
            continue
        if op.form.button is not None:
            found.buttons.append(op)
        form = operation_form(
            op, f"{op.name}-form", guest=guest, options=lists, prefix=op.name, values=proposed(op, view)
        )
        if op.form.fields and form is not None:
            section = found.changes if op.risk == Risk.destructive else found.actions
            section.append(guest_form(form, guest, policy.needs_approval(op)))
    stopped = dataclasses.replace(guest, status="stopped", qmpstatus=None)
    found.when_stopped = [
        op
        for op in CATALOGUE.values()
        if op.target == "guest"
        and op.risk == Risk.destructive
        and op.name not in fitting
        and op.applies_to(stopped)
    ]
    return found


def proposed(
    op: Operation, view: GuestDetail, sent: Mapping[str, Any] | None = None
) -> dict[str, str] | None:
    """What a fresh form proposes instead of its parameters' defaults: a snapshot name the guest has not used
    (nor the one just `sent`, which Proxmox may not list yet: as typed, or the default it got)."""
    if op.name == SNAPSHOT.name:
        taken = list(view.snapshot_names)
        if sent is not None:
            taken.append(str(sent.get("snapname") or default_snapname()))
        return {"snapname": fresh_snapname(taken)}
    return None


def one_form(
    view: GuestDetail,
    choices: FormChoices,
    policy: ApprovalPolicy,
    op: Operation,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> GuestForm | None:
    """One operation's form for the guest: a refused one with what was typed (its problems beside the fields),
    or a fresh one (values: what it proposes); None when the page would not offer it."""
    form = operation_form(
        op,
        f"{op.name}-form",
        guest=view.guest,
        options=guest_options(view, choices),
        prefix=op.name,
        values=values,
        errors=errors,
    )
    if form is None or not op.form.fields:
        return None
    made = guest_form(form, view.guest, policy.needs_approval(op))
    made.reason = str((values or {}).get("reason", "")) if errors else ""
    return made


def guest_form(form: OperationForm, guest: Guest, needs_approval: bool) -> GuestForm:
    """The form with the operation's texts for this guest ("Delete VM 100")."""
    look = form.op.form
    submit = (look.submit or form.op.label).format(guest=guest)
    return GuestForm(
        form,
        summary=(look.summary or form.op.label).format(guest=guest),
        submit=f"Request: {submit}" if needs_approval else submit,
        warning=look.warning,
        note=look.note,
        needs_approval=needs_approval,
    )


def guest_options(view: GuestDetail, choices: FormChoices) -> dict[str, OptionList]:
    """The lists the guest page's selects offer, by the names the catalogue's widgets give."""
    guest = view.guest
    disks = [d for d in view.disks if not d.cdrom and not d.unused]
    return {
        "snapshots": view.snapshot_names,
        "snapshots-newest-first": view.snapshot_names[::-1],
        "disks": [(d.key, f"{d.key} ({d.size or 'size unknown'})") for d in disks],
        "backups": [
            (
                b.volume.volid,
                " · ".join([when(b.created), b.where, *([b.volume.notes] if b.volume.notes else [])]),
            )
            for b in view.backups
        ],
        "deletable-backups": [
            Option(
                b.volume.volid,
                " · ".join([when(b.created), b.where, *(["protected"] if b.volume.protected else [])]),
                disabled=bool(b.volume.protected),
            )
            for b in view.backups
        ],
        "backup-storages": choices.backup_storages,
        "other-nodes": [n for n in choices.nodes if n != guest.node],
        "restore-storages": choices.restore_storages.get(guest.node, []),
        "target-storages": choices.target_storages,
    }


def state_key(view: GuestDetail, open_requests: Iterable[Any]) -> str:
    """A digest of what the actions at the top of the page depend on: the guest's state, what fits it, what its
    forms choose from, and the requests still open. The page's refresh draws them again only when it changed."""
    guest = view.guest
    state = [
        [guest.status, guest.paused, guest.lock, guest.template, view.node_offline],
        sorted(op.name for op in view.operations),
        view.snapshot_names,
        [[d.key, d.size] for d in view.disks],
        [[b.volume.volid, bool(b.volume.protected)] for b in view.backups],
        [[r.id, r.status] for r in open_requests],
    ]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()[:16]
