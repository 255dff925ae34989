"""GET /api/v1/me: who the caller is to Proxgate."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app.deps import PrincipalDep, require_principal
from app.http.csrf import verify_csrf

router = APIRouter(
    prefix="/api/v1", tags=["account"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


class MeOut(BaseModel):
    """The caller as Proxgate sees them."""

    username: str
    role: str
    auth: str
    groups: list[str]


@router.get("/me", name="me", response_model=MeOut)
async def me(principal: PrincipalDep) -> dict[str, object]:
    """Who the token or session acts as, with which role and approver groups."""
    return {
        "username": principal.username,
        "role": principal.role,
        "auth": principal.method,
        "groups": sorted(principal.groups),
    }
