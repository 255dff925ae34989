"""Single sign-on pages: off to the identity provider, and back with the person it vouches for."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import SESSION_COOKIE, SessionDep, client_ip, runtime_of, secure_cookies
from app.services.accounts import Attempt, SsoRefused, auth, sso
from app.services.audit import Actor
from app.web.auth import absolute_url, login_context, safe_next, signed_in
from app.web.templating import render

router = APIRouter(tags=["auth"])

# The sign-in under way (state, nonce, PKCE verifier, where to go after), sealed, for the provider's round trip.
ATTEMPT_COOKIE = "proxgate_sso"
ATTEMPT_SECONDS = 600


@router.get("/login/sso", name="sso_start")
async def sso_start(request: Request, next: str | None = None) -> Response:
    """Send the browser to the identity provider's sign-in."""
    runtime = runtime_of(request.app)
    if runtime.oidc is None:
        raise HTTPException(404, "Single sign-on is not configured.")
    try:
        url, attempt = await runtime.oidc.begin(absolute_url(request, "sso_callback"))
    except SsoRefused as exc:
        return await _refused(request, exc)
    carried = {
        "state": attempt.state,
        "nonce": attempt.nonce,
        "verifier": attempt.verifier,
        "next": safe_next(next),
    }
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        ATTEMPT_COOKIE,
        runtime.sso_sealer.seal(json.dumps(carried)) or "",
        max_age=ATTEMPT_SECONDS,
        httponly=True,
        # The provider's answer is a top-level navigation back here: lax sends the cookie with it.
        samesite="lax",
        secure=secure_cookies(request),
    )
    return response


@router.get("/login/sso/callback", name="sso_callback")
async def sso_callback(request: Request, db: SessionDep) -> Response:
    """Check the provider's answer, make or update the user, start a session."""
    runtime = runtime_of(request.app)
    if runtime.oidc is None:
        raise HTTPException(404, "Single sign-on is not configured.")
    opened = runtime.sso_sealer.open(request.cookies.get(ATTEMPT_COOKIE), ttl=ATTEMPT_SECONDS)
    carried = json.loads(opened) if opened else {}
    attempt = Attempt(carried.get("state", ""), carried.get("nonce", ""), carried.get("verifier", ""))
    try:
        if not opened:
            raise SsoRefused(
                "This sign-in was not started here, or it took too long. Start again.", "bad-state"
            )
        identity = await runtime.oidc.finish(
            attempt, absolute_url(request, "sso_callback"), request.query_params
        )
        if earlier := request.cookies.get(SESSION_COOKIE):
            # As with a password: signing in again ends the session this browser had.
            await auth.end_session(db, auth.digest(earlier))
        user, secret = await sso.sign_in(
            db, runtime.sso_sealer, identity, client_ip(request), request.headers.get("user-agent", "")
        )
    except SsoRefused as exc:
        await db.rollback()
        return await _refused(request, exc)
    await db.commit()
    actor = Actor(user.id, user.username, "sso", client_ip(request), request.headers.get("user-agent", ""))
    params = {"role": str(user.role), "groups": list(identity.groups), "subject": identity.subject}
    message = f"{user.username} signed in with {runtime.oidc.config.name} as {user.role}"
    await sso.record(runtime.sessions, actor, "sso.sign_in", "succeeded", user.username, message, params)
    response = signed_in(request, secret, carried.get("next", "/"))
    response.delete_cookie(ATTEMPT_COOKIE)
    return response


async def _refused(request: Request, refused: SsoRefused) -> Response:
    """The sign-in page with the reason, and the refusal in the audit log."""
    runtime = runtime_of(request.app)
    ip = client_ip(request)
    actor = Actor(None, "anonymous", "sso", ip, request.headers.get("user-agent", ""))
    params = {"reason": refused.reason}
    await sso.record(runtime.sessions, actor, "sso.refused", "refused", "sign-in", refused.message, params)
    context = login_context(request, "/", error=refused.message)
    response = render(request, "pages/auth/login.html", context, status_code=401)
    response.delete_cookie(ATTEMPT_COOKIE)
    return response
