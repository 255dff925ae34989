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
from app.services.accounts import auth
from app.services.errors import TooManyAttempts, Unauthenticated
from app.web.templating import render
from app.web.url_paths import path_for

router = APIRouter(tags=["auth"], dependencies=[Depends(verify_csrf)])


def safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in, so the form cannot redirect elsewhere."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", name="login")
async def login_page(request: Request, principal: MaybePrincipalDep, next: str | None = None) -> Response:
    """The sign-in form (or straight on when already signed in)."""
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "pages/auth/login.html", {"next": safe_next(next), "username": ""})


@router.post("/login", name="login_submit")
async def login_submit(
    request: Request,
    db: SessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials, start a session and go on; a clear message otherwise."""
    ip = client_ip(request)
    try:
        if not username or not password:
            raise Unauthenticated("Enter your username and password.")
        user = await auth.authenticate(db, runtime_of(request.app).auth_policy, username, password, ip)
    except (Unauthenticated, TooManyAttempts) as exc:
        status = 429 if isinstance(exc, TooManyAttempts) else 401
        context = {"next": safe_next(next), "username": username[:64], "error": exc.message}
        return render(request, "pages/auth/login.html", context, status_code=status)
    if earlier := request.cookies.get(SESSION_COOKIE):
        # Signing in again (as anyone) ends the session this browser had: never two side by side.
        await auth.end_session(db, auth.digest(earlier))
    secret = await auth.start_session(db, user, ip, request.headers.get("user-agent", ""))
    await db.commit()
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
    """End this session and return to the sign-in page."""
    if principal.session_id:
        await auth.end_session(db, principal.session_id)
        await db.commit()
    response = RedirectResponse(path_for(request, "login"), status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    if request.headers.get("hx-request") == "true":
        response.headers["HX-Redirect"] = path_for(request, "login")
    return response
