"""Your own account: change your password, create and revoke your API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.deps import PrincipalDep, SessionDep, audit_account_change, require_principal
from app.http.csrf import verify_csrf
from app.services.accounts import Principal, Role, auth, users, verify_password
from app.services.errors import Invalid, ServiceError
from app.web.templating import render

router = APIRouter(
    prefix="/account", tags=["account"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)
PAGE, PARTIAL = "pages/account/index.html", "partials/account/_account.html"


async def _answer(
    request: Request, db: AsyncSession, principal: Principal, status_code: int = 200, **extra: Any
) -> Response:
    tokens = await auth.list_tokens(db, principal.user_id)
    roles = [r for r in Role if principal.role.includes(r)]
    default = auth.default_token_role(principal.role)
    context = {"tokens": tokens, "roles": roles, "default_role": default, **extra}
    return render(request, PAGE, context, partial=PARTIAL, status_code=status_code)


@router.get("", name="account")
async def account_page(request: Request, db: SessionDep, principal: PrincipalDep) -> Response:
    """Your tokens and the password form."""
    return await _answer(request, db, principal)


@router.post("/password", name="account_password")
async def change_password(
    request: Request,
    db: SessionDep,
    principal: PrincipalDep,
    current: Annotated[str, Form(max_length=1024)] = "",
    new: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Change your password after confirming the current one; other sessions end, this one too."""
    user = await users.get_user(db, principal.user_id)
    try:
        if not await verify_password(user.password_hash, current):
            raise Invalid("The current password is wrong.", field="current")
        await users.set_password(db, principal.user_id, new)
    except ServiceError as exc:
        await db.rollback()
        return await _answer(request, db, principal, status_code=422, failure=exc.message, field=exc.field)
    await db.commit()
    notice = "Password changed. Sign in again with the new one."
    await audit_account_change(request, principal, "password-change", principal.username, notice, {})
    return await _answer(request, db, principal, notice=notice)


@router.post("/tokens", name="account_token_create")
async def create_token(
    request: Request,
    db: SessionDep,
    principal: PrincipalDep,
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """A new token for you; its secret is shown once."""
    user = await users.get_user(db, principal.user_id)
    try:
        token, secret = await auth.create_token(db, user, name, users.parse_role(role) if role else None)
    except ServiceError as exc:
        await db.rollback()
        return await _answer(request, db, principal, status_code=422, failure=exc.message, field=exc.field)
    await db.commit()
    notice = f"Token {token.name} created."
    params = {"role": token.role, **auth.token_facts(token)}
    await audit_account_change(request, principal, "token-add", token.name, notice, params)
    return await _answer(request, db, principal, new_token=secret, notice=notice)


@router.post("/tokens/{token_id}/revoke", name="account_token_revoke")
async def revoke_token(request: Request, db: SessionDep, principal: PrincipalDep, token_id: int) -> Response:
    """Revoke one of your own tokens."""
    owned = {t.id for t in await auth.list_tokens(db, principal.user_id)}
    if token_id not in owned:
        return await _answer(request, db, principal, status_code=404, failure="You have no such token.")
    token = await auth.revoke_token(db, token_id)
    await db.commit()
    notice = f"Token {token.name} revoked."
    await audit_account_change(
        request, principal, "token-revoke", token.name, notice, auth.token_facts(token)
    )
    return await _answer(request, db, principal, notice=notice)
