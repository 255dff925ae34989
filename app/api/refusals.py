"""POST /api/v1/refusals: a client of the API (proxgate mcp) records a call it refused itself, so the audit log
shows every call an agent made, not only those that reached an operation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from app.deps import GateDep, PrincipalDep, actor_for, require_principal
from app.http.csrf import verify_csrf_audited

router = APIRouter(prefix="/api/v1", tags=["actions"], dependencies=[Depends(require_principal)])


class RefusalIn(BaseModel):
    """What was called, with what, and the words the caller was refused with."""

    tool: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", description="e.g. delete")
    arguments: dict[str, Any] = Field(default_factory=dict, description="The arguments it was called with")
    message: str = Field(
        min_length=1, max_length=500, description="Why it was refused, as the caller was told"
    )


class RefusalOut(BaseModel):
    """The refusal is on the record, under the caller's name."""

    recorded: bool
    actor: str


@router.post("/refusals", name="refusal", dependencies=[Depends(verify_csrf_audited)])
async def record_refusal(
    request: Request, principal: PrincipalDep, gate: GateDep, body: RefusalIn
) -> RefusalOut:
    """Record a call the client refused before it reached Proxgate (an unknown tool, bad arguments) as an
    'invalid' audit event of the caller's own; nothing else happens."""
    vmid = body.arguments.get("vmid")
    actor = actor_for(request, principal)
    await gate.actions.record_refusal(
        actor, body.tool, vmid if isinstance(vmid, int) else None, body.arguments, body.message
    )
    return RefusalOut(recorded=True, actor=actor.name)
