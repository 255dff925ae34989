"""Empty a node before a reboot or an upgrade: every guest migrates away (running ones online, stopped ones
offline) as a batch of `migrate`, each with its own preflight, audit and task; the plan says where and why."""

from __future__ import annotations

from pydantic import Field

from app.operations.base import Context, Guest, Operation, Params, Refused, Risk
from app.operations.forms import Form


class EmptyNodeParams(Params):
    """How the node is emptied (the node itself is in the path: POST /api/v1/nodes/{node}/actions/empty-node)."""

    with_local_disks: bool = Field(
        False,
        title="Copy local disks of running VMs",
        description="Move running VMs whose disks are on storage only this node has by copying the disks while "
        "they run (without it such VMs stay, and the plan says so)",
    )
    concurrency: int | None = Field(
        None,
        ge=1,
        le=16,
        title="Migrations at once",
        description="How many guests move at the same time (the batch setting, 4 by default)",
    )
    stop_on_failure: bool = Field(
        False,
        title="Stop after the first failure",
        description="Leave the remaining guests where they are once one migration fails",
    )


def _describe(guest: Guest | None, params: EmptyNodeParams) -> str:
    return "Empty the node: migrate every guest to another node"


async def _call(ctx: Context, params: EmptyNodeParams) -> str | None:
    # The node's action plans the moves and runs them as a batch of `migrate`; no single Proxmox call does it.
    raise Refused(
        "Emptying a node runs as a batch of migrations: POST /api/v1/nodes/{node}/actions/empty-node.",
        field="node",
    )


EMPTY_NODE = Operation(
    "empty-node",
    "Empty node",
    "node",
    Risk.reversible,
    EmptyNodeParams,
    _describe,
    _call,
    guest_types=frozenset(),
    about="Moves every guest off the node (`POST /api/v1/nodes/{node}/actions/empty-node`): running ones "
    "online, stopped ones offline, each to the node with the most free memory that the migration's preflight, "
    "its storage and HA's groups or rules allow, as a batch of `migrate` (at most `concurrency` at once). "
    "Guests that cannot move are listed with the reason; HA moves its guests itself when the node is in HA "
    "maintenance mode. Needs approval when `migrate` or `empty-node` does: one request for the whole plan.",
    form=Form(fields=False),
    runs_as="migrate",
)
