"""What an operation is: its name, risk, parameters, preflight, description for people, and the PVE call."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from app.operations.forms import Form
from app.operations.guest import Guest
from app.operations.holders import AddressBook
from app.proxmox.client import PveClient


class Risk(enum.StrEnum):
    """How much harm a mistake can do; decides who may act and whether a second person must approve."""

    read_only = "read-only"
    reversible = "reversible"
    destructive = "destructive"


class Params(BaseModel):
    """Base of every parameter model: unknown fields are refused, so typos never reach Proxmox."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def subject(self) -> tuple[str | None, str | None, int | None, str | None]:
        """(node, type, vmid, name) of what a cluster-wide operation acts on (the guest it creates, the
        backup it deletes); all None for guest operations, whose target is the guest."""
        return None, None, None, None

    def new_guest(self) -> int | None:
        """The VMID of the guest this creates (create, clone, restore), once the preflight has chosen it."""
        return self.subject()[2]


class NoParams(Params):
    """For operations that take nothing."""


class Refused(Exception):
    """The preflight says no; the message tells the person why, in plain words."""

    # The parameter that makes the caller's wish explicit and lets it go on (allow_ip_reuse), if any.
    confirm: str | None = None

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ChangedMeanwhile(Refused):
    """Proxmox refused the change because the target changed since the caller read it (a stale digest): a
    conflict (409) in Proxmox's words, naming the parameter that carried what was read."""


class InvalidParameter(Refused):
    """A parameter's value is wrong for this target: the caller's mistake (422), naming it."""


class MissingParameter(InvalidParameter):
    """A parameter this case needs was not given: the caller's mistake (422), naming it and the choices."""


@dataclass
class Preview:
    """What a change would do, read from Proxmox now: facts for the approver, what is lost, notes and
    (for disk resizes) the steps inside the guest afterwards; `data` repeats the numbers for scripts."""

    facts: list[tuple[str, str]] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The preview as stored with a request and answered by the API."""
        return {
            "facts": [{"label": label, "value": value} for label, value in self.facts],
            "losses": self.losses,
            "notes": self.notes,
            "steps": self.steps,
            "data": self.data,
        }


@dataclass
class Context:
    """What a preflight or call may use: the client, the guest (None for guest-less operations), who holds
    addresses (the IP index) and where uploaded files wait (both None outside the pipeline)."""

    pve: PveClient
    guest: Guest | None
    addresses: AddressBook | None = None
    # Where files received for an upload wait for it (None outside the pipeline: nothing can be uploaded).
    staging: Path | None = None


Preflight = Callable[[Context, Any], Awaitable[list[str]]]
Call = Callable[[Context, Any], Awaitable[str | None]]
Describe = Callable[[Guest | None, Any], str]
Available = Callable[[Guest], bool]
PreviewOf = Callable[[Context, Any], Awaitable[Preview]]
StateOf = Callable[[Context, Any], Awaitable[dict[str, Any]]]
KeyOf = Callable[[Guest | None, Any], str]
TaskTypeOf = Callable[[Guest | None, Any], str | None]
RiskOf = Callable[[Guest | None, Any], Risk]
RecordOf = Callable[[Guest | None, Any], dict[str, Any]]
# What a task that ended OK changed, for its end event: (client, node it ran on, UPID) -> a few words, or None.
Ended = Callable[[PveClient, str, str], Awaitable[str | None]]


async def no_preflight(ctx: Context, params: Any) -> list[str]:
    """Operations whose only checks are Proxmox's own."""
    return []


async def no_preview(ctx: Context, params: Any) -> Preview:
    """Operations that lose nothing have nothing to preview."""
    return Preview()


async def guest_state(ctx: Context, params: Any) -> dict[str, Any]:
    """The guest's state as far as a change depends on it: status, lock and config digest."""
    guest = ctx.guest
    if guest is None:
        return {}
    return {
        "exists": True,
        "node": guest.node,
        "status": guest.status,
        "lock": guest.lock,
        "digest": guest.config.get("digest"),
    }


def guest_key(guest: Guest | None, params: Any) -> str:
    """What a request is about: the guest, or for cluster-wide operations what its parameters name."""
    if guest is not None:
        return f"guest:{guest.vmid}"
    node, _kind, vmid, name = params.subject()
    return f"{node}:{vmid}:{name}"


def worker(qemu: str | None, lxc: str | None) -> TaskTypeOf:
    """The PVE worker type a guest operation starts (qmdestroy / vzdestroy, ...)."""
    return lambda guest, params: (qemu if guest.type == "qemu" else lxc) if guest else None


@dataclass(frozen=True)
class Operation:
    """One entry of the catalogue."""

    name: str
    label: str
    target: Literal["guest", "cluster", "node"]
    risk: Risk
    params: type[Params]
    describe: Describe
    call: Call
    preflight: Preflight = no_preflight
    guest_types: frozenset[str] = frozenset({"qemu", "lxc"})
    available: Available = lambda guest: True  # noqa: E731 (a default predicate)
    confirm: str | None = None
    preview: PreviewOf = no_preview
    state: StateOf = guest_state
    target_key: KeyOf = guest_key
    task_type: TaskTypeOf = lambda guest, params: None  # noqa: E731 (a default)
    # Read the guest's config before the preflight (destructive operations compare its digest).
    reads_config: bool = False
    # It loses data (a deletion, a rollback, a restore over a guest): approving asks for the typed VMID.
    typed_confirmation: bool = False
    # What it does and when it is refused, in a sentence or two: for the docs, the agents and `ctl --help`.
    about: str = ""
    # How the guest page offers it (app/operations/forms.py).
    form: Form = Form()
    # Read once its task ended OK, for the end event (a migration says where the guest is now).
    ended: Ended | None = None
    # The risk of this change to this guest, when it depends on them (an edit that removes a device is
    # destructive, others are not); `risk` is then the class of its harmless cases.
    risk_of: RiskOf | None = None
    # What the audit records beside the parameters (an edit's before and after of each key).
    record: RecordOf | None = None
    # A node operation runs as a batch of this guest operation (empty-node: migrate), and needs approval
    # whenever that one does.
    runs_as: str | None = None

    def applies_to(self, guest: Guest) -> bool:
        """True when this operation makes sense for the guest's type and current state."""
        return guest.type in self.guest_types and self.available(guest)

    def risk_for(self, guest: Guest | None, params: Any) -> Risk:
        """The risk of this change with these parameters to this guest."""
        return self.risk_of(guest, params) if self.risk_of is not None else self.risk

    def recorded(self, guest: Guest | None, params: Any) -> dict[str, Any]:
        """What the audit records of this change beyond its parameters."""
        return self.record(guest, params) if self.record is not None else {}

    def schema(self) -> dict[str, Any]:
        """The JSON schema of the parameters, for GET /api/v1/operations."""
        return self.params.model_json_schema()
