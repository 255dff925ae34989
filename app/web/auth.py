"""Sign-in and sign-out pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import (
    SESSION_COOKIE,
    MaybePrincipalDep,
    PrincipalDep,
    SessionDep,
    client_ip,
    runtime_of,
    secure_cookies,
)
from app.http.csrf import PRELOGIN_COOKIE, verify_csrf
from app.services.accounts import LdapRefused, auth, directory, sso
from app.services.audit import Actor
from app.services.errors import TooManyAttempts, Unauthenticated
from app.web.templating import render
from app.web.url_paths import path_for, url_paths

router = APIRouter(tags=["auth"], dependencies=[Depends(verify_csrf)])


def safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in, so the form cannot redirect elsewhere."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def login_context(request: Request, next: str | None, username: str = "", error: str = "") -> dict[str, str]:
    """What the sign-in page shows: the form's values, an error, and the identity provider's name if any."""
    oidc = runtime_of(request.app).oidc
    sso_name = oidc.config.name if oidc else ""
    return {"next": safe_next(next), "username": username, "error": error, "sso_name": sso_name}


@router.get("/login", name="login")
async def login_page(request: Request, principal: MaybePrincipalDep, next: str | None = None) -> Response:
    """The sign-in form (or straight on when already signed in)."""
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "pages/auth/login.html", login_context(request, next))


@router.post("/login", name="login_submit")
async def login_submit(
    request: Request,
    db: SessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials (here, or in the LDAP directory), start a session and go on; a clear message
    otherwise."""
    runtime = runtime_of(request.app)
    ip, user_agent = client_ip(request), request.headers.get("user-agent", "")
    try:
        if not username or not password:
            raise Unauthenticated("Enter your username and password.")
        user, person = await directory.authenticate(
            db, runtime.auth_policy, runtime.ldap, username, password, ip
        )
    except (Unauthenticated, TooManyAttempts) as exc:
        await db.rollback()
        status = 429 if isinstance(exc, TooManyAttempts) else 401
        if isinstance(exc, LdapRefused):
            actor = Actor(None, "anonymous", "ldap", ip, user_agent)
            await directory.record_refusal(runtime.sessions, actor, exc)
            status = 503 if exc.reason.startswith("directory-") else 401
        context = login_context(request, next, username=username[:64], error=exc.message)
        return render(request, "pages/auth/login.html", context, status_code=status)
    if earlier := request.cookies.get(SESSION_COOKIE):
        # Signing in again (as anyone) ends the session this browser had: never two side by side.
        await auth.end_session(db, auth.digest(earlier))
    secret = await auth.start_session(db, user, ip, user_agent, vouched=person is not None)
    await db.commit()
    if person is not None:
        actor = Actor(user.id, user.username, "ldap", ip, user_agent)
        await directory.record_sign_in(runtime.sessions, actor, user, person)
    return signed_in(request, secret, next)


def signed_in(request: Request, secret: str, next: str) -> Response:
    """Go on to `next` with the new session's cookie (a password's sign-in or the identity provider's)."""
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        max_age=runtime_of(request.app).settings.session_max_hours * 3600,
    )
    response.delete_cookie(PRELOGIN_COOKIE)
    return response


@router.post("/logout", name="logout")
async def logout(request: Request, db: SessionDep, principal: PrincipalDep) -> Response:
    """End this session and return to the sign-in page (by the identity provider's sign-out, when the session
    came from there and the provider offers one)."""
    target = path_for(request, "login")
    if principal.session_id:
        oidc = runtime_of(request.app).oidc
        id_token = await sso.id_token_of(db, principal.session_id)
        await auth.end_session(db, principal.session_id)
        await db.commit()
        if oidc is not None and id_token:
            target = await oidc.end_session_url(id_token, absolute_url(request, "login")) or target
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    if request.headers.get("hx-request") == "true":
        response.headers["HX-Redirect"] = target
    return response


def absolute_url(request: Request, name: str) -> str:
    """A route's full URL as the identity provider must know it: under PROXGATE_PUBLIC_URL when it is set."""
    path = url_paths(request).path_for(name)
    public = runtime_of(request.app).settings.public_url
    return f"{public}{path}" if public else str(path.make_absolute_url(base_url=request.base_url))
