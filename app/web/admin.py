"""User administration for admins: accounts, roles, passwords, and everyone's API tokens."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.deps import AdminDep, SessionDep, audit_account_change, require_role, runtime_of
from app.http.csrf import verify_csrf
from app.services.accounts import Role, auth, users
from app.services.errors import ServiceError
from app.web.paging import PageDep, PageRequest, short_url, window
from app.web.templating import render
from app.web.url_paths import path_for

router = APIRouter(
    prefix="/admin", tags=["admin"], dependencies=[Depends(require_role(Role.admin)), Depends(verify_csrf)]
)
PAGE, PARTIAL = "pages/admin/users.html", "partials/admin/_users.html"


@dataclass(frozen=True)
class AdminView:
    """What the page lists: accounts and tokens matching the search, and which page of each."""

    text: str = ""
    role: str = ""
    page: int = 1
    tokens_page: int = 1
    per_page: int | None = None

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string of this view with some of it changed (defaults left out)."""
        view = replace(self, **changes)
        values = {
            "q": view.text,
            "role": view.role,
            "per_page": str(view.per_page or ""),
            "page": str(view.page) if view.page > 1 else "",
            "tokens_page": str(view.tokens_page) if view.tokens_page > 1 else "",
        }
        return {key: value for key, value in values.items() if value}


async def _context(request: Request, db: AsyncSession, view: AdminView, **extra: Any) -> dict[str, Any]:
    size = runtime_of(request.app).settings.page_size
    role = users.parse_role(view.role) if view.role else None
    shown = window(await users.list_users(db, view.text, role), PageRequest(view.page, view.per_page), size)
    tokens = await auth.list_tokens(db, text=view.text)
    path = path_for(request, "admin_users")

    def link(**changes: Any) -> str:
        params = view.params(**changes)
        return f"{path}?{urlencode(params)}" if params else path

    return {
        "view": view,
        "users": shown,
        "tokens": window(tokens, PageRequest(view.tokens_page, view.per_page), size),
        "usernames": {u.id: u.username for u in await users.list_users(db)},
        "users_link": lambda page: link(page=page),
        "tokens_link": lambda page: link(tokens_page=page),
        "roles": list(Role),
        "active": "admin_users",
        **extra,
    }


async def _answer(
    request: Request, db: AsyncSession, view: AdminView, status_code: int = 200, **extra: Any
) -> Response:
    context = await _context(request, db, view, **extra)
    return render(request, PAGE, context, partial=PARTIAL, status_code=status_code)


@router.get("/users", name="admin_users")
async def users_page(
    request: Request,
    db: SessionDep,
    principal: AdminDep,
    wanted: PageDep,
    q: Annotated[str, Query(max_length=64, description="Part of a user's or token's name")] = "",
    role: Annotated[str, Query(max_length=16, description="Only accounts with this role")] = "",
    tokens_page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Accounts and tokens, searched and a page at a time, with forms to add and change them."""
    view = AdminView(q.strip(), role, wanted.page, tokens_page, wanted.per_page)
    response = await _answer(request, db, view)
    return short_url(request, response, "admin-filters", f"{request.url.path}?{urlencode(view.params())}")


def _about(subject: str) -> AdminView:
    """After a change, the view that shows what was changed (a long list would hide it)."""
    return AdminView(text=subject)


@router.post("/users", name="admin_user_create")
async def create_user(
    request: Request,
    db: SessionDep,
    principal: AdminDep,
    username: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "viewer",
    password: Annotated[str, Form(max_length=1024)] = "",
    groups: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Add an account; the form comes back with the problem beside the field when it is refused."""
    try:
        user = await users.create_user(db, username, password, users.parse_role(role), groups)
    except ServiceError as exc:
        await db.rollback()
        form = {
            "username": username,
            "role": role,
            "groups": groups,
            "error": exc.message,
            "field": exc.field,
        }
        return await _answer(request, db, AdminView(), status_code=422, form=form)
    await db.commit()
    notice = f"User {user.username} ({user.role}) added."
    params = {"role": user.role, **({"groups": user.groups} if user.groups else {})}
    await audit_account_change(request, principal, "user-add", user.username, notice, params)
    return await _answer(request, db, _about(user.username), notice=notice)


@router.post("/users/{user_id}", name="admin_user_update")
async def update_user(
    request: Request,
    db: SessionDep,
    principal: AdminDep,
    user_id: int,
    role: Annotated[str | None, Form(max_length=20)] = None,
    active: Annotated[str | None, Form(pattern="^[01]$")] = None,
    password: Annotated[str | None, Form(max_length=1024)] = None,
    groups: Annotated[str | None, Form(max_length=1000)] = None,
) -> Response:
    """Change a user's role, active flag, approver groups or password (a reset also revokes the user's API
    tokens)."""
    # The audit records only what the form changed.
    changes: dict[str, Any]
    try:
        if groups is not None:
            user = await users.set_groups(db, (await users.get_user(db, user_id)).username, groups)
            shown = ", ".join(sorted(users.groups_of(user))) or "no group"
            notice = f"{user.username} is now in {shown}."
            changes = {"groups": user.groups or "none"}
        elif password:
            user, revoked = await users.reset_password(db, user_id, password)
            notice = f"Password of {user.username} changed; their sessions were ended{_tokens(revoked)}."
            changes = {"password": "set", "tokens_revoked": revoked}
        else:
            parsed = users.parse_role(role) if role else None
            user = await users.update_user(
                db, user_id, role=parsed, active=None if active is None else active == "1"
            )
            notice = f"{user.username} is now {user.role}{'' if user.is_active else ' (deactivated)'}."
            changes = {"role": role, "active": active}
    except ServiceError as exc:
        await db.rollback()
        return await _answer(request, db, AdminView(), status_code=exc.status, failure=exc.message)
    await db.commit()
    await audit_account_change(
        request, principal, "user-update", user.username, notice, {k: v for k, v in changes.items() if v}
    )
    return await _answer(request, db, _about(user.username), notice=notice)


@router.post("/tokens/{token_id}/revoke", name="admin_token_revoke")
async def revoke_token(request: Request, db: SessionDep, principal: AdminDep, token_id: int) -> Response:
    """Revoke anyone's API token."""
    try:
        token = await auth.revoke_token(db, token_id)
    except ServiceError as exc:
        return await _answer(request, db, AdminView(), status_code=exc.status, failure=exc.message)
    await db.commit()
    notice = f"Token {token.name} revoked."
    await audit_account_change(
        request, principal, "token-revoke", token.name, notice, auth.token_facts(token)
    )
    return await _answer(request, db, _about(token.name), notice=notice)


def _tokens(revoked: int) -> str:
    """The end of a reset's notice: how many API tokens went with the old password."""
    if not revoked:
        return ""
    return f" and their {revoked} API token{'' if revoked == 1 else 's'} revoked"
