"""The target guest as the catalogue sees it: identity, state and (when read) its configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from app.proxmox.paths import GuestPath

GuestType = Literal["qemu", "lxc"]


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
    ha_managed: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    # From the cluster's resource index: what the approval policy's rules match on.
    tags: frozenset[str] = frozenset()
    pool: str | None = None

    @classmethod
    def from_status(cls, vmid: int, node: str, kind: str, status: Mapping[str, Any]) -> Guest:
        """The catalogue's view of a guest from its status/current answer."""
        ha = status.get("ha") if isinstance(status.get("ha"), Mapping) else {}
        return cls(
            vmid=vmid,
            node=node,
            type="lxc" if kind == "lxc" else "qemu",
            name=str(status.get("name") or ""),
            status=str(status.get("status") or "unknown"),
            lock=status.get("lock") or None,
            template=bool(int(status.get("template") or 0)),
            qmpstatus=status.get("qmpstatus"),
            ha_managed=str((ha or {}).get("managed", 0)) == "1",
        )

    @property
    def kind(self) -> str:
        """'VM' or 'CT', as PVE's messages name guests."""
        return "VM" if self.type == "qemu" else "CT"

    @property
    def label(self) -> str:
        """'VM 100 web01'."""
        return f"{self.kind} {self.vmid} {self.name}".rstrip()

    @property
    def paths(self) -> GuestPath:
        """The guest's Proxmox API paths."""
        return GuestPath(self.node, self.type, self.vmid)

    @property
    def path(self) -> str:
        """/nodes/{node}/{type}/{vmid}."""
        return self.paths.base

    @property
    def paused(self) -> bool:
        """True for a suspended VM (QEMU says paused) or a frozen container."""
        return self.qmpstatus in ("paused", "suspended") or self.lock == "suspended"
