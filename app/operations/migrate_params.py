"""The parameters of a migration, and how the guest page asks for them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.operations.base import Guest, Params
from app.operations.forms import Widget
from app.operations.placement import NODE, STORAGE


def _running(guest: Guest | None) -> bool:
    return guest is not None and guest.status == "running"


def _how_label(guest: Guest | None) -> str:
    if guest is not None and guest.type == "lxc":
        return "Restart it on the target (containers cannot move live)"
    return "Live, while it keeps running"


class MigrateParams(Params):
    """Where the guest goes, and how."""

    target: Annotated[str, Widget(choices="other-nodes", empty="This cluster has no other node online.")] = (
        Field(
            ..., pattern=NODE, max_length=63, title="Target node", description="The node the guest moves to"
        )
    )
    online: Annotated[bool, Widget(label=_how_label, only=_running)] = Field(
        True,
        title="While it runs",
        description="Move a running guest without shutting it down first: a VM live, a container by "
        "restarting it on the target (ignored for a stopped guest)",
    )
    with_local_disks: Annotated[bool, Widget(only=lambda g: g.type == "qemu" and _running(g))] = Field(
        False,
        title="Copy local disks while it runs",
        description="Copy a running VM's disks that are on storage only its node has (live storage migration)",
    )
    target_storage: Annotated[str | None, Widget(choices="target-storages", blank="the same storage")] = (
        Field(
            None,
            pattern=STORAGE,
            max_length=64,
            title="Target storage",
            description="Storage on the target node for the disks on local storage (the same storage by default)",
        )
    )
