"""The approval policy file as it is in force: its rules, freezes and windows, and why a newer version was not
taken when it was broken."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.deps import ApprovalsDep, require_role
from app.services.accounts import Role
from app.web.templating import render

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_role(Role.admin))])


@router.get("/policy", name="admin_policy")
async def policy_page(request: Request, approvals: ApprovalsDep) -> Response:
    """The settings' floor, the policy file's entries in force, and its last problem, if any."""
    await approvals.audit_policy_changes()  # reads the file again when it changed, and records the change
    policy = approvals.policy
    context = {
        "active": "admin_users",
        "policy": policy,
        "source": policy.source,
        "document": policy.document(),
        "now": policy.clock.now(),
    }
    return render(request, "pages/admin/policy.html", context)
