"""GET /api/v1/side-doors: which Proxmox users and tokens can change guests without Proxgate (admins)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from app.deps import SideDoorsDep, require_role
from app.http.csrf import verify_csrf
from app.services.accounts import Role

router = APIRouter(
    prefix="/api/v1",
    tags=["side-doors"],
    dependencies=[Depends(require_role(Role.admin)), Depends(verify_csrf)],
)


class PrincipalOut(BaseModel):
    """A Proxmox user or API token, and the gated changes it can make beside Proxgate."""

    id: str = Field(description="user@realm, or user@realm!tokenid")
    kind: str = Field(description="user or token")
    enabled: bool
    expires: int = Field(description="epoch seconds; 0 never")
    can_log_in: bool
    proxgate: bool = Field(description="Proxgate's own token")
    side_door: bool = Field(description="it can make a change Proxgate gates, without Proxgate")
    holds: dict[str, list[str]] = Field(description="capability -> the ACL paths it is held on")
    unreadable: str | None = Field(description="why its permissions could not be read")
    proposals: list[str] = Field(description="pveum commands that would close it (never run by Proxgate)")


class SideDoorsOut(BaseModel):
    """The report: every principal, when it was read, and what Proxgate's token could not read."""

    items: list[PrincipalOut]
    total: int
    next_cursor: str | None = None
    side_doors: int
    read_at: str
    unreadable: str | None
    acl_unreadable: str | None


@router.get("/side-doors", name="report", response_model=SideDoorsOut)
async def side_doors_report(report: SideDoorsDep, fresh: bool = False) -> SideDoorsOut:
    """Every Proxmox user and token (from /access/users and /access/permissions), side doors marked."""
    found = await report.report(fresh=fresh)
    items = [
        PrincipalOut(
            id=p.id,
            kind=p.kind,
            enabled=p.enabled,
            expires=p.expires,
            can_log_in=p.can_log_in,
            proxgate=p.proxgate,
            side_door=p.bypasses,
            holds=p.holds,
            unreadable=p.unreadable,
            proposals=p.proposals,
        )
        for p in found.principals
    ]
    return SideDoorsOut(
        items=items,
        total=len(items),
        side_doors=len(found.side_doors),
        read_at=datetime.fromtimestamp(found.read_at, UTC).isoformat(),
        unreadable=found.unreadable,
        acl_unreadable=found.acl_unreadable,
    )
