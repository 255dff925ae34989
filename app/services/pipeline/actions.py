"""The one pipeline every change goes through: plan() checks role, parameters and the preflight and reads what
the change would do; perform() writes the intent, calls Proxmox and hands the task to the watcher. A reversible
operation is plan + perform at once; a destructive one waits between the two for a second person."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.executions import Execution
from app.db.models import Role, utcnow
from app.operations.base import (
    ChangedMeanwhile,
    Context,
    Guest,
    InvalidParameter,
    Operation,
    Params,
    Preview,
    Refused,
    Risk,
)
from app.operations.catalogue import get_operation
from app.operations.holders import AddressBook
from app.operations.messages import plain_errors
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, PveNotFound, PveRejected, PveUnavailable
from app.proxmox.paths import GuestPath
from app.proxmox.upid import try_parse_upid
from app.services import audit
from app.services.accounts import Principal
from app.services.approvals import Facts, RequestedChange
from app.services.errors import (
    AuditUnavailable,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    OutcomeUnknown,
    UpstreamRefused,
)
from app.services.pipeline import executions
from app.services.pipeline.call_lease import call_lease

log = logging.getLogger(__name__)
# Beside the confirmation's checkbox, when the refusal is about another field.
CONFIRM_HINT = "Tick this to go on anyway."


@dataclass
class Plan:
    """A checked change, ready to perform now or once approved: what, on what, and what it would do."""

    op: Operation
    guest: Guest | None
    params: Params
    target: audit.Target
    target_key: str
    description: str
    warnings: list[str]
    preview: Preview
    state: dict[str, Any]
    risk: Risk

    @property
    def values(self) -> dict[str, Any]:
        """The parameters as stored."""
        return self.params.model_dump(mode="json")

    @property
    def audited(self) -> dict[str, Any]:
        """The parameters as audited, with what the operation records beside them (an edit's before/after)."""
        return {**self.values, **self.op.recorded(self.guest, self.params)}

    @property
    def facts(self) -> Facts:
        """What the policy file's rules and freezes match this change on."""
        guest = self.guest
        return Facts(
            self.op.name,
            str(self.risk),
            guest.tags if guest else frozenset(),
            guest.pool if guest else None,
            guest.node if guest else self.target.node,
            guest.type if guest else self.target.guest_type,
        )

    def requested_change(self) -> RequestedChange:
        """The plan as an approval request keeps it."""
        return RequestedChange(
            self.op,
            self.target,
            self.target_key,
            self.values,
            self.description,
            self.preview.as_json(),
            self.warnings,
            self.state,
            self.risk,
            self.audited,
            facts=self.facts,
        )

    def step(self, approval_id: int | None = None) -> executions.Step:
        """The audit identity of performing this plan."""
        return executions.Step(
            self.op.name, self.risk, self.target, self.audited, self.description, approval_id
        )


@dataclass
class ActionResult:
    """What the caller gets back: the task (if any), the audit event, warnings and the description."""

    upid: str | None
    audit_id: int
    description: str
    warnings: list[str] = field(default_factory=list)


def first_error(exc: ValidationError) -> tuple[str, str | None]:
    """The first validation problem as (message, field)."""
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ())) or None
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return (f"{where}: {message}" if where else message), where


class ActionService:
    """One per app: plans and performs operations and records every step in the audit log."""

    def __init__(
        self,
        pve: PveClient,
        sessions: async_sessionmaker[AsyncSession],
        owner: str = "",
        call_lease: timedelta = timedelta(seconds=40),
        addresses: AddressBook | None = None,
        staging: Path | None = None,
        note_config: Callable[[audit.Target, Mapping[str, Any]], Awaitable[object]] | None = None,
    ) -> None:
        self.pve = pve
        # Where files received for an upload wait until the upload sends them on.
        self.staging = staging
        self.sessions = sessions
        # Who holds addresses (the IP index): preflights of new guests check their static addresses with it.
        self.addresses = addresses
        # The process that holds a call's row while it waits for Proxmox; the reconciler waits for the lease.
        self.owner = owner
        self.call_lease = call_lease
        # Who notes each config a plan reads (the side doors' watch for configs changed beside Proxgate).
        self.note_config = note_config

    async def load_guest(self, vmid: int, with_config: bool = False) -> Guest:
        """The guest's current state, read from Proxmox now (not from a cache); its config when asked."""
        try:
            where = await self.pve.locate(vmid)
            path = GuestPath(where.node, where.type, vmid)
            if with_config:
                status, config = await asyncio.gather(
                    self.pve.get(path.status("current")), self.pve.get(path.config)
                )
            else:
                status, config = await self.pve.get(path.status("current")), {}
        except PveNotFound:
            raise NotFound(f"There is no guest {vmid}.") from None
        guest = Guest.from_status(vmid, where.node, where.type, status or {})
        guest.config = dict(config or {})
        indexed = (await self.pve.cluster_resources()).guest(vmid)
        if indexed is not None:
            guest.tags, guest.pool = frozenset(t.lower() for t in indexed.tags), indexed.pool
        if with_config and self.note_config is not None:
            try:
                await self.note_config(_target(guest), guest.config)
            except Exception:  # noqa: BLE001 (noting is beside the change: the next reading notes it again)
                log.exception("noting the config of guest %s failed", vmid)
        return guest

    async def plan(
        self, principal: Principal, actor: audit.Actor, name: str, vmid: int | None, raw: Mapping[str, Any]
    ) -> Plan:
        """Check everything that can be checked before a change; each refusal is audited and raised."""
        op = get_operation(name)
        if op is None:
            await self.refuse_unknown(actor, name, vmid, raw, f"There is no operation '{name}'.")
        guest = await self._guest(actor, op, vmid, raw)
        target = _target(guest)
        params = await self._admit(principal, actor, op, guest, target, raw)
        ctx = Context(self.pve, guest, self.addresses, self.staging)
        try:
            warnings = await op.preflight(ctx, params)
            preview = await op.preview(ctx, params)
            state = await op.state(ctx, params)
        except InvalidParameter as exc:
            await self._refused(actor, op.name, op.risk, target, raw, "invalid", exc.message)
            raise Invalid(exc.message, field=exc.field) from None
        except Refused as exc:
            await self.deny(actor, op, target, raw, exc.message)
            raise _conflict(exc) from None
        if guest is None:
            target = audit.Target(*params.subject())
        key, risk = op.target_key(guest, params), op.risk_for(guest, params)
        description = op.describe(guest, params)
        return Plan(op, guest, params, target, key, description, warnings, preview, state, risk)

    async def refuse_unknown(
        self, actor: audit.Actor, name: str, vmid: int | None, raw: Mapping[str, Any], message: str
    ) -> NoReturn:
        """Audit a call of an operation that does not exist (there), and raise NotFound with message."""
        await self.record_refusal(actor, name, vmid, raw, message)
        raise NotFound(message)

    async def record_refusal(
        self, actor: audit.Actor, name: str, vmid: int | None, raw: Mapping[str, Any], message: str
    ) -> None:
        """Audit a call refused before it reached an operation: an unknown one, a tool called wrongly."""
        await self._refused(actor, name[:32], "unknown", audit.Target(vmid=vmid), raw, "invalid", message)

    async def state_now(self, name: str, vmid: int | None, raw: Mapping[str, Any]) -> dict[str, Any] | None:
        """The target's state as an operation sees it, read now; None when the target is gone."""
        op = get_operation(name)
        if op is None:
            return None
        try:
            guest = await self.load_guest(vmid, with_config=op.reads_config) if vmid is not None else None
            return await op.state(Context(self.pve, guest), op.params.model_validate(dict(raw)))
        except (NotFound, Refused, ValidationError):
            return None

    async def _guest(
        self, actor: audit.Actor, op: Operation, vmid: int | None, raw: Mapping[str, Any]
    ) -> Guest | None:
        if vmid is None:
            return None
        try:
            return await self.load_guest(vmid, with_config=op.reads_config)
        except NotFound as exc:
            await self._refused(actor, op.name, op.risk, audit.Target(vmid=vmid), raw, "invalid", exc.message)
            raise

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
        if guest is not None and guest.type not in op.guest_types:
            why = f"{op.label} is not available for {'containers' if guest.type == 'lxc' else 'VMs'}."
            await self._refused(actor, op.name, op.risk, target, raw, "invalid", why)
            raise Invalid(why)
        try:
            return op.params.model_validate(dict(raw))
        except ValidationError as exc:
            message, where = first_error(exc)
            await self._refused(actor, op.name, op.risk, target, raw, "invalid", message)
            raise Invalid(message, field=where, errors=plain_errors(exc)) from None

    async def perform(self, plan: Plan, actor: audit.Actor, approval_id: int | None = None) -> ActionResult:
        """Write the intent, call Proxmox, and record how the call went; the watcher follows the task."""
        step = plan.step(approval_id)
        task_type = plan.op.task_type(plan.guest, plan.params)
        lease_until = utcnow() + self.call_lease
        execution = await executions.open_execution(
            self.sessions, actor, step, task_type, self.owner, lease_until
        )
        description = plan.description
        try:
            # Held while the call lasts: an upload streams for longer than a plain call's lease.
            async with call_lease(self.sessions, execution, self.owner, self.call_lease):
                answer = await plan.op.call(Context(self.pve, plan.guest, staging=self.staging), plan.params)
        except PveUnavailable as exc:
            if exc.maybe_applied:
                with executions.after_call(execution, description, f"Proxmox did not answer ({exc})"):
                    await executions.mark_unknown(self.sessions, execution, step, str(exc))
                raise OutcomeUnknown(str(exc), execution.id, description) from None
            with executions.after_call(execution, description, f"Proxmox could not be reached ({exc})"):
                await executions.end_now(self.sessions, execution, step, "failed", str(exc))
            raise UpstreamRefused(str(exc)) from None
        except (PveError, Refused) as exc:
            await self._call_refused(execution, step, exc, description)
        finally:
            self.pve.expire_resources()
            # A new guest may take the VMID of one the index still remembers: its addresses are read afresh.
            if self.addresses is not None and (made := plan.params.new_guest()) is not None:
                self.addresses.forget(made)
        return await self._answered(plan, execution, step, answer)

    async def _call_refused(
        self, execution: Execution, step: executions.Step, exc: Exception, description: str
    ) -> NoReturn:
        text = exc.message if isinstance(exc, Refused) else str(exc)
        with executions.after_call(execution, description, f"Proxmox refused the change ({text})"):
            await executions.end_now(self.sessions, execution, step, "failed", text)
        if isinstance(exc, ChangedMeanwhile):
            raise Conflict(text, field=exc.field) from None
        if isinstance(exc, PveRejected) and exc.errors:
            # A parameter Proxmox refused is the caller's mistake: name the field, as any validation does.
            name, message = sorted(exc.errors.items())[0]
            raise Invalid(f"{name}: {message}", field=name) from None
        raise UpstreamRefused(text) from None

    async def _answered(
        self, plan: Plan, execution: Execution, step: executions.Step, answer: str | None
    ) -> ActionResult:
        upid, description = try_parse_upid(answer), plan.description
        if upid is None and execution.task_type:
            # A task was expected but Proxmox named none (containers' template answers null): the
            # reconciler finds it in the node's task list; it is never recorded as done without it.
            message = (
                "Proxmox answered without naming its task; Proxgate looks for it in the node's task list"
            )
            with executions.after_call(execution, description, "Proxmox answered without naming its task"):
                event = await executions.mark_unknown(self.sessions, execution, step, message)
            return ActionResult(None, event.seq, description, [*plan.warnings, message])
        if upid is None:
            with executions.after_call(execution, description, "Proxmox made the change"):
                ended = await executions.end_now(self.sessions, execution, step, "succeeded", description)
            return ActionResult(None, ended.seq if ended else 0, description, plan.warnings)
        try:
            started = await executions.mark_started(self.sessions, execution, step, upid.text, description)
        except AuditUnavailable as exc:
            # The change is made: its UPID must outlive the refused record, for the reconciler to complete it.
            await executions.keep_upid(self.sessions, execution, upid.text)
            what = f"Proxmox started the task ({upid.text})"
            raise executions.unrecorded(execution, description, what, upid.text) from exc
        # None: the reconciler of another process recorded the task first (this call outlived its lease).
        return ActionResult(upid.text, started.seq if started else 0, description, plan.warnings)

    async def deny(
        self, actor: audit.Actor, op: Operation, target: audit.Target, raw: Mapping[str, Any], why: str
    ) -> None:
        """Record a refused attempt (role, CSRF, policy, preflight) before telling the caller."""
        await self._refused(actor, op.name, op.risk, target, raw, "denied", why)

    async def _refused(
        self,
        actor: audit.Actor,
        operation: str,
        risk: str,
        target: audit.Target,
        raw: Mapping[str, Any],
        outcome: str,
        why: str,
    ) -> None:
        draft = audit.Draft(operation, risk, outcome, target, _printable(raw), message=why)
        await audit.append(self.sessions, actor, draft)


def _conflict(exc: Refused) -> Conflict:
    """The refusal as the caller gets it; one that a parameter can confirm names that parameter too (a form
    shows it beside the field the refusal is about, and asks for the confirmation)."""
    if exc.confirm is None:
        return Conflict(exc.message, field=exc.field)
    errors = {exc.field or exc.confirm: exc.message}
    errors.setdefault(exc.confirm, CONFIRM_HINT)
    return Conflict(exc.message, field=exc.field, errors=errors, extra={"confirm": exc.confirm})


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
