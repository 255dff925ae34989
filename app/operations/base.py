"""What an operation is: its name, risk, parameters, preflight, description for people, and the PVE call."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from app.proxmox.client import PveClient

GuestType = Literal["qemu", "lxc"]


class Risk(enum.StrEnum):
    """How much harm a mistake can do; decides who may act and whether a second person must approve."""

    read_only = "read-only"
    reversible = "reversible"
    destructive = "destructive"


class Params(BaseModel):
    """Base of every parameter model: unknown fields are refused, so typos never reach Proxmox."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def new_guest(self) -> tuple[str | None, str | None, int | None, str | None]:
        """(node, type, vmid, name) of the guest an operation creates; all None for the others."""
        return None, None, None, None


class NoParams(Params):
    """For operations that take nothing."""


class Refused(Exception):
    """The preflight says no; the message tells the person why, in plain words."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class Guest:
    """The target guest as the catalogue sees it: identity, state and (when read) its config."""

    vmid: int
    node: str
    type: GuestType
    name: str
    status: str
    lock: str | None = None
    template: bool = False
    qmpstatus: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """'VM' or 'CT', as PVE's messages name guests."""
        return "VM" if self.type == "qemu" else "CT"

    @property
    def label(self) -> str:
        """'VM 100 web01'."""
        return f"{self.kind} {self.vmid} {self.name}".rstrip()

    @property
    def path(self) -> str:
        """/nodes/{node}/{type}/{vmid}."""
        return f"/nodes/{self.node}/{self.type}/{self.vmid}"

    @property
    def paused(self) -> bool:
        """True for a suspended VM (QEMU says paused) or a frozen container."""
        return self.qmpstatus in ("paused", "suspended") or self.lock == "suspended"


@dataclass
class Context:
    """What a preflight or call may use: the client, the guest (None for guest-less operations)."""

    pve: PveClient
    guest: Guest | None


Preflight = Callable[[Context, Any], Awaitable[list[str]]]
Call = Callable[[Context, Any], Awaitable[str | None]]
Describe = Callable[[Guest | None, Any], str]
Available = Callable[[Guest], bool]


async def no_preflight(ctx: Context, params: Any) -> list[str]:
    """Operations whose only checks are Proxmox's own."""
    return []


@dataclass(frozen=True)
class Operation:
    """One entry of the catalogue."""

    name: str
    label: str
    target: Literal["guest", "cluster"]
    risk: Risk
    params: type[Params]
    describe: Describe
    call: Call
    preflight: Preflight = no_preflight
    guest_types: frozenset[str] = frozenset({"qemu", "lxc"})
    available: Available = lambda guest: True  # noqa: E731 (a default predicate)
    confirm: str | None = None

    def applies_to(self, guest: Guest) -> bool:
        """True when this operation makes sense for the guest's type and current state."""
        return guest.type in self.guest_types and self.available(guest)

    def schema(self) -> dict[str, Any]:
        """The JSON schema of the parameters, for GET /api/v1/operations."""
        return self.params.model_json_schema()
