"""GET /api/v1/policy/check: what a change would need before it is asked for."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app.deps import GateDep, require_principal
from app.http.csrf import verify_csrf

router = APIRouter(
    prefix="/api/v1/policy", tags=["policy"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


class PolicyFreezeOut(BaseModel):
    """A freeze that refuses the change now, and until when."""

    name: str
    until: str | None


class PolicyWindowOut(BaseModel):
    """The maintenance window the change would run in, and when it opens next."""

    name: str
    opens: datetime | None


class PolicyCheckOut(BaseModel):
    """What a change would need: whether it waits for approval, under which rule, from whom, and any freeze or
    window."""

    operation: str
    vmid: int | None
    needs_approval: bool
    rule: str | None
    approvals: int
    groups: list[str]
    own_group_approves: bool
    freeze: PolicyFreezeOut | None
    window: PolicyWindowOut | None


@router.get("/check", name="check", response_model=PolicyCheckOut)
async def check(
    gate: GateDep,
    operation: Annotated[str, Query(min_length=1, max_length=32, description="An operation's name")],
    vmid: Annotated[int | None, Query(ge=100, le=999_999_999, description="The guest it is for")] = None,
) -> dict[str, Any]:
    """Which rule applies, how many approvals from which groups, and any freeze holding it now."""
    return (await gate.policy_check(operation, vmid)).as_json()
