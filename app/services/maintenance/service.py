"""Plan emptying a node and run the plan as a batch of `migrate` (one item per guest, each through the same
pipeline as a single migration); bring the moved guests back as another batch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError

from app.db.models import Role
from app.operations.base import Refused
from app.operations.empty_node import EMPTY_NODE, EmptyNodeParams
from app.operations.evacuation import Evacuation, plan_evacuation, plan_return
from app.proxmox.client import PveClient
from app.services import audit
from app.services.accounts import Principal
from app.services.approvals import ApprovalPolicy
from app.services.batches import BatchItem, BatchService, BatchView
from app.services.errors import Conflict, Forbidden, Invalid
from app.services.pipeline import ActionService, first_error


def _refusal(exc: Refused) -> Invalid | Conflict:
    """An unknown node is the caller's mistake (422, naming the nodes); anything else is the cluster's state."""
    if exc.field == "node":
        return Invalid(exc.message, field="node")
    return Conflict(exc.message, field=exc.field)


def _nothing_to_move(plan: Evacuation) -> str:
    why = "; ".join(f"{m.vmid}: {m.reason}" for m in plan.moves) or f"{plan.node} has no guests"
    return f"Nothing on {plan.node} can be moved by Proxgate ({why})."


def _nothing_to_return(plan: Evacuation) -> str:
    why = "; ".join(f"{m.vmid}: {m.reason}" for m in plan.moves) or "none succeeded"
    return f"None of the guests moved off {plan.node} can go back now ({why})."


def _options(
    reason: Any, params: EmptyNodeParams, link_base: str, kind: str, meta: dict[str, Any]
) -> dict[str, Any]:
    """How the batch runs: why, how many at once, whether a failure stops it, what kind, and its meta."""
    return {
        "reason": reason if isinstance(reason, str) else "",
        "concurrency": params.concurrency,
        "stop_on_failure": params.stop_on_failure,
        "kind": kind,
        "meta": meta,
        "link_base": link_base,
    }


class MaintenanceService:
    """Plans and starts the emptying of a node, and the return of its guests."""

    def __init__(
        self, pve: PveClient, actions: ActionService, batches: BatchService, policy: ApprovalPolicy
    ) -> None:
        self.pve = pve
        self.actions = actions
        self.batches = batches
        self.policy = policy

    async def plan(self, node: str, with_local_disks: bool = False) -> Evacuation:
        """Where each guest of the node would go now, and why; or why it stays."""
        try:
            return await plan_evacuation(self.pve, node, with_local_disks)
        except Refused as exc:
            raise _refusal(exc) from None

    async def empty(
        self, principal: Principal, actor: audit.Actor, node: str, raw: Mapping[str, Any], link_base: str = ""
    ) -> tuple[BatchView, Evacuation]:
        """Check who asks and what, plan, and start the batch of migrations (or ask for it, when it needs
        approval); the batch and the plan it runs."""
        values = dict(raw)
        reason = values.pop("reason", None)
        params = await self._admit(principal, actor, node, values)
        planning = plan_evacuation(self.pve, node, params.with_local_disks)
        plan = await self._checked(actor, node, values, planning, _nothing_to_move)
        options = _options(reason, params, link_base, "empty-node", {"node": node})
        batch = await self._start(principal, actor, plan, options)
        return batch, plan

    async def bring_back(
        self,
        principal: Principal,
        actor: audit.Actor,
        node: str,
        from_batch: str,
        raw: Mapping[str, Any],
        link_base: str = "",
    ) -> tuple[BatchView, Evacuation]:
        """Migrate the guests an empty-node batch moved away back to its node, as a new batch."""
        values = dict(raw)
        reason = values.pop("reason", None)
        params = await self._admit(principal, actor, node, values)
        moved = await self._moved(from_batch, node)
        planning = plan_return(self.pve, node, moved, params.with_local_disks)
        plan = await self._checked(actor, node, values, planning, _nothing_to_return)
        meta = {"node": node, "from_batch": from_batch}
        batch = await self._start(
            principal, actor, plan, _options(reason, params, link_base, "bring-back", meta)
        )
        return batch, plan

    async def recent(self, node: str, limit: int) -> list[tuple[BatchView, BatchView | None]]:
        """The node's latest empty-node batches, newest first, each with the batch that brought its guests
        back (None while they are away)."""
        emptied = await self.batches.list_recent(limit=limit * 5, kind="empty-node")
        returns = await self.batches.list_recent(limit=limit * 5, kind="bring-back")
        back = {b.meta.get("from_batch"): b for b in reversed(returns)}
        return [(b, back.get(b.id)) for b in emptied if b.meta.get("node") == node][:limit]

    async def _checked(
        self,
        actor: audit.Actor,
        node: str,
        values: dict[str, Any],
        planning: Awaitable[Evacuation],
        nothing: Callable[[Evacuation], str],
    ) -> Evacuation:
        """The plan, or an audited refusal: an unknown or offline node, or no guest that can move."""
        target = audit.Target(node=node)
        try:
            plan = await planning
        except Refused as exc:
            await self.actions.deny(actor, EMPTY_NODE, target, values, exc.message)
            raise _refusal(exc) from None
        if not plan.migrations:
            await self.actions.deny(actor, EMPTY_NODE, target, values, nothing(plan))
            raise Conflict(nothing(plan))
        return plan

    async def _moved(self, batch_id: str, node: str) -> list[int]:
        """The guests an empty-node batch of this node moved away (its items that succeeded)."""
        if not batch_id:
            raise Invalid("Name the empty-node batch whose guests come back (batch_id).", field="batch_id")
        view = await self.batches.get(batch_id)
        if view.kind != "empty-node" or view.meta.get("node") != node:
            raise Invalid(f"Batch {batch_id} did not empty {node}.", field="batch_id")
        if view.running:
            raise Conflict(
                f"Batch {batch_id} is still moving guests off {node}: stop it or let it end first."
            )
        return [item.vmid for item in view.items if item.status == "succeeded"]

    async def _start(
        self, principal: Principal, actor: audit.Actor, plan: Evacuation, options: dict[str, Any]
    ) -> BatchView:
        """The plan's migrations as a batch of `migrate`, one item per guest (pending when it needs approval)."""
        items = [BatchItem(m.vmid, m.params) for m in plan.migrations]
        operation, approval = str(EMPTY_NODE.runs_as), self.policy.needs_approval(EMPTY_NODE)
        batch_id = await self.batches.start(
            principal, operation, items, source=actor, approval=approval, **options
        )
        return await self.batches.get(batch_id)

    async def _admit(
        self, principal: Principal, actor: audit.Actor, node: str, values: dict[str, Any]
    ) -> EmptyNodeParams:
        """The operator role and valid parameters, or an audited refusal."""
        target = audit.Target(node=node)
        if not principal.can(Role.operator):
            await self.actions.deny(
                actor, EMPTY_NODE, target, values, f"role {principal.role} may not change anything"
            )
            raise Forbidden(f"{EMPTY_NODE.label} needs the operator role; you are {principal.role}.")
        try:
            return EmptyNodeParams.model_validate(values)
        except ValidationError as exc:
            message, where = first_error(exc)
            await self.actions.deny(actor, EMPTY_NODE, target, values, message)
            raise Invalid(message, field=where) from None
