"""What a batch is checked for before anything is stored or sent: the operation, the role, the guests (that they
exist and the operation fits them) and every guest's parameters; a refusal names its field and is audited."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from app.db.models import Role
from app.operations.base import Operation
from app.operations.catalogue import get_operation
from app.proxmox.errors import PveError
from app.services import audit
from app.services.accounts import Principal
from app.services.batches.store import BatchItem, Placed
from app.services.errors import Forbidden, Invalid, UpstreamRefused
from app.services.pipeline import ActionService, first_error

# What the guest list offers in bulk (and POST /api/v1/bulk/{operation} takes); the destructive ones are asked
# as one request for the whole batch. "tag" is not an operation of its own: it runs as `configure` (tagging.py).
BULK_OPERATIONS = (
    "start",
    "shutdown",
    "stop",
    "reboot",
    "snapshot",
    "backup",
    "tag",
    "migrate",
    "rollback",
    "delete-snapshot",
    "delete",
)
MAX_ITEMS = 1000
MAX_CONCURRENCY = 32


async def admitted(
    actions: ActionService,
    principal: Principal,
    source: audit.Actor,
    operation: str,
    items: Sequence[BatchItem],
    concurrency: int | None,
) -> tuple[Operation, dict[int, Placed]]:
    """The operation and where each guest is, once everything is right; else the refusal, audited."""
    try:
        op = admit(principal, operation, items, concurrency)
        return op, await place(actions, op, items)
    except Forbidden as exc:
        asked = get_operation(operation)
        why = f"role {principal.role} may not change anything"
        if asked is not None:
            await actions.deny(source, asked, audit.Target(), _asked(items), why)
        raise exc from None
    except Invalid as exc:
        await actions.record_refusal(source, operation, None, _asked(items), exc.message)
        raise exc from None


def _asked(items: Sequence[BatchItem]) -> dict[str, object]:
    return {"vmids": ",".join(str(item.vmid) for item in items)[:500]}


def admit(
    principal: Principal, operation: str, items: Sequence[BatchItem], concurrency: int | None
) -> Operation:
    """The operation, once the role, the items' number and every item's parameters are right."""
    op = get_operation(operation)
    if op is None or op.target != "guest":
        raise Invalid(f"'{operation}' is not an operation on guests.", field="operation")
    if not principal.can(Role.operator):
        raise Forbidden(f"{op.label} needs the operator role; you are {principal.role}.")
    if not items:
        raise Invalid("Choose at least one guest.", field="vmids")
    if len(items) > MAX_ITEMS:
        raise Invalid(f"At most {MAX_ITEMS} guests at once.", field="vmids")
    vmids = [item.vmid for item in items]
    if len(set(vmids)) != len(vmids):
        twice = sorted({v for v in vmids if vmids.count(v) > 1})
        raise Invalid(f"Each guest once: {', '.join(map(str, twice))} is named twice.", field="vmids")
    if concurrency is not None and not 1 <= concurrency <= MAX_CONCURRENCY:
        raise Invalid(f"Concurrency must be 1–{MAX_CONCURRENCY}.", field="concurrency")
    for item in items:
        try:
            op.params.model_validate(dict(item.params))
        except ValidationError as exc:
            message, where = first_error(exc)
            raise Invalid(f"Guest {item.vmid}: {message}", field=where) from None
    return op


async def place(actions: ActionService, op: Operation, items: Sequence[BatchItem]) -> dict[int, Placed]:
    """Each guest's name and node; Invalid naming `vmids` when one does not exist or cannot take `op`."""
    try:
        view = await actions.pve.cluster_resources()
        missing = [i.vmid for i in items if view.guest(i.vmid) is None]
        if missing:  # made since the view was read? read it once more
            view = await actions.pve.resources_holding(missing[0])
    except PveError as exc:
        raise UpstreamRefused(f"Proxmox could not be read: {exc}") from None
    placed: dict[int, Placed] = {}
    for item in items:
        guest = view.guest(item.vmid)
        if guest is None:
            raise Invalid(f"There is no guest {item.vmid}.", field="vmids")
        if guest.type not in op.guest_types:
            kind = "containers" if guest.type == "lxc" else "VMs"
            raise Invalid(f"{op.label} is not available for {kind} ({item.vmid}).", field="vmids")
        placed[item.vmid] = Placed(guest.name, guest.node)
    return placed
