"""The one rule of typed confirmations: which requests ask their approver to type the VMID, and what to type."""

from __future__ import annotations

from app.db.approvals import ApprovalRequest
from app.operations.catalogue import get_operation


def confirmation_text(request: ApprovalRequest) -> str:
    """What a person types to confirm: the VMID (of the guest, or of the guest a backup is of), else the
    target's name (a backup whose guest is unknown, a new guest without a chosen VMID)."""
    return str(request.vmid) if request.vmid is not None else (request.target_name or "")


def loses_data(request: ApprovalRequest) -> bool:
    """True when the change loses data (its operation says so in the catalogue: deletions, rollbacks, restores
    over a guest): approving it asks for the typed VMID."""
    op = get_operation(request.operation)
    return bool(op and op.typed_confirmation)


def needs_typing(request: ApprovalRequest, own: bool) -> bool:
    """A change that loses data is confirmed by typing the VMID; in solo mode every self-confirmation is."""
    return own or loses_data(request)
