"""Run an operation from the catalogue: check role, parameters and preflight, audit before and after the call,
and hand the task to the watcher."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import Role
from app.operations.base import Context, Guest, Operation, Params, Refused
from app.operations.catalogue import get_operation, needs_approval
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, PveNotFound, PveUnavailable
from app.services import audit
from app.services.auth import Principal
from app.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from app.services.task_watch import watch_for


@dataclass
class ActionResult:
    """What the caller gets back: the task (if any), the audit event, warnings and the description."""

    upid: str | None
    audit_id: int
    description: str
    warnings: list[str] = field(default_factory=list)


class UpstreamRefused(ServiceError):
    """Proxmox refused the change; the message is Proxmox's own."""

    status = 502


class OutcomeUnknown(ServiceError):
    """The change was sent but no answer came; whether it happened is unknown."""

    status = 504


def first_error(exc: ValidationError) -> tuple[str, str | None]:
    """The first validation problem as (message, field)."""
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ())) or None
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return (f"{where}: {message}" if where else message), where


def guest_from_status(vmid: int, node: str, kind: str, status: Mapping[str, Any]) -> Guest:
    """The catalogue's view of a guest from its status/current answer."""
    return Guest(
        vmid=vmid,
        node=node,
        type="lxc" if kind == "lxc" else "qemu",
        name=str(status.get("name") or ""),
        status=str(status.get("status") or "unknown"),
        lock=status.get("lock") or None,
        template=bool(int(status.get("template") or 0)),
        qmpstatus=status.get("qmpstatus"),
    )


class ActionService:
    """One per app: executes operations for principals and records everything in the audit log."""

    def __init__(self, pve: PveClient, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.pve = pve
        self.sessions = sessions

    async def load_guest(self, vmid: int) -> Guest:
        """The guest's current state, read from Proxmox now (not from a cache)."""
        try:
            where = await self.pve.locate(vmid)
            status = await self.pve.get(f"/nodes/{where.node}/{where.type}/{vmid}/status/current")
        except PveNotFound:
            raise NotFound(f"There is no guest {vmid}.") from None
        return guest_from_status(vmid, where.node, where.type, status or {})

    async def execute(
        self, principal: Principal, actor: audit.Actor, name: str, vmid: int | None, raw: Mapping[str, Any]
    ) -> ActionResult:
        """Run operation `name` on guest `vmid` (None for cluster-wide ones) with raw parameters."""
        op = get_operation(name)
        if op is None:
            raise NotFound(f"There is no operation '{name}'.")
        guest = await self.load_guest(vmid) if vmid is not None else None
        target = _target(guest)
        params = await self._admit(principal, actor, op, guest, target, raw)
        ctx = Context(self.pve, guest)
        try:
            warnings = await op.preflight(ctx, params)
        except Refused as exc:
            await self.deny(actor, op, target, raw, exc.message)
            raise Conflict(exc.message, field=exc.field) from None
        description = op.describe(guest, params)
        if guest is None:
            target = audit.Target(*params.new_guest())
        return await self._run(actor, op, ctx, params, target, description, warnings)

    async def _admit(
        self,
        principal: Principal,
        actor: audit.Actor,
        op: Operation,
        guest: Guest | None,
        target: audit.Target,
        raw: Mapping[str, Any],
    ) -> Params:
        if not principal.can(Role.operator):
            await self.deny(actor, op, target, raw, f"role {principal.role} may not change anything")
            raise Forbidden(f"{op.label} needs the operator role; you are {principal.role}.")
        if needs_approval(op):
            await self.deny(actor, op, target, raw, "needs a second person's approval")
            raise Forbidden(f"{op.label} is destructive and needs a second person's approval.")
        if guest is not None and guest.type not in op.guest_types:
            await self.deny(actor, op, target, raw, f"not available for {guest.kind}s")
            raise Invalid(
                f"{op.label} is not available for {'containers' if guest.type == 'lxc' else 'VMs'}."
            )
        try:
            return op.params.model_validate(dict(raw))
        except ValidationError as exc:
            message, where = first_error(exc)
            await self.deny(actor, op, target, raw, message)
            raise Invalid(message, field=where) from None

    async def _run(
        self,
        actor: audit.Actor,
        op: Operation,
        ctx: Context,
        params: Params,
        target: audit.Target,
        description: str,
        warnings: list[str],
    ) -> ActionResult:
        values = params.model_dump(mode="json")
        draft = audit.Draft(op.name, op.risk, "intent", target, values, message=description)
        intent = await audit.append(self.sessions, actor, draft)
        try:
            upid = await op.call(ctx, params)
        except PveUnavailable as exc:
            outcome = "unknown" if exc.maybe_applied else "failed"
            await self._record(actor, op, target, values, outcome, str(exc))
            raise (OutcomeUnknown if exc.maybe_applied else UpstreamRefused)(str(exc)) from None
        except (PveError, Refused) as exc:
            text = exc.message if isinstance(exc, Refused) else str(exc)
            await self._record(actor, op, target, values, "failed", text)
            raise UpstreamRefused(text) from None
        self.pve.invalidate_resources()
        if upid is None:
            event = await self._record(actor, op, target, values, "succeeded", description)
            return ActionResult(None, event.seq, description, warnings)
        event = await self._started(actor, op, target, values, upid, ctx, description)
        return ActionResult(upid, event.seq or intent.seq, description, warnings)

    async def _started(
        self,
        actor: audit.Actor,
        op: Operation,
        target: audit.Target,
        values: dict[str, Any],
        upid: str,
        ctx: Context,
        description: str,
    ) -> audit.AuditEvent:
        node = target.node or upid.split(":")[1]
        draft = audit.Draft(op.name, op.risk, "started", target, values, upid=upid, message=description)
        async with self.sessions() as db:
            event = await audit.append_in(db, actor, draft)
            db.add(watch_for(upid, node, draft, actor))
            await db.commit()
        return event

    async def _record(
        self,
        actor: audit.Actor,
        op: Operation,
        target: audit.Target,
        values: Mapping[str, Any],
        outcome: str,
        message: str,
    ) -> audit.AuditEvent:
        draft = audit.Draft(op.name, op.risk, outcome, target, values, message=message)
        return await audit.append(self.sessions, actor, draft)

    async def deny(
        self, actor: audit.Actor, op: Operation, target: audit.Target, raw: Mapping[str, Any], why: str
    ) -> None:
        """Record a refused attempt (role, validation, preflight) before telling the caller."""
        draft = audit.Draft(op.name, op.risk, "denied", target, _printable(raw), message=why)
        await audit.append(self.sessions, actor, draft)


def _target(guest: Guest | None) -> audit.Target:
    if guest is None:
        return audit.Target()
    return audit.Target(guest.node, guest.type, guest.vmid, guest.name)


def _printable(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Raw input as it can be stored: short strings and plain values only."""
    return {
        str(k)[:64]: (v if isinstance(v, int | float | bool) or v is None else str(v)[:500])
        for k, v in raw.items()
    }
