"""CSRF protection: a per-session token, or a signed pre-login token for the sign-in form."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from app.deps import ActionsDep, MaybePrincipalDep, PrincipalDep, actor_for, runtime_of, secure_cookies
from app.operations.catalogue import get_operation
from app.services.accounts import Principal, same_secret
from app.services.audit import Target
from app.services.errors import Forbidden

PRELOGIN_COOKIE = "proxgate_prelogin"
HEADER = "x-csrf-token"
FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(Forbidden):
    """The request's CSRF token is missing or wrong."""


def _prelogin_token(request: Request, seed: str) -> str:
    key = runtime_of(request.app).secret_key.encode()
    return hmac.new(key, seed.encode(), hashlib.sha256).hexdigest()


def csrf_token_for(request: Request, principal: Principal | None) -> str:
    """The token a page must send back: the session's, or one bound to the pre-login cookie."""
    if principal is not None and principal.csrf_token:
        return principal.csrf_token
    seed = request.cookies.get(PRELOGIN_COOKIE) or getattr(request.state, "prelogin_seed", None)
    if seed is None:
        seed = secrets.token_urlsafe(24)
        request.state.prelogin_seed = seed
    return _prelogin_token(request, seed)


def set_prelogin_cookie(request: Request, response: Response) -> None:
    """Keep the pre-login seed that csrf_token_for() made for this response."""
    seed = getattr(request.state, "prelogin_seed", None)
    if seed:
        response.set_cookie(
            PRELOGIN_COOKIE,
            seed,
            httponly=True,
            samesite="strict",
            secure=secure_cookies(request),
        )


async def verify_csrf(request: Request, principal: MaybePrincipalDep) -> None:
    """Refuse a state-changing request whose token does not match (bearer-token calls are exempt)."""
    if request.method in SAFE_METHODS or (principal is not None and principal.method == "token"):
        return
    given = request.headers.get(HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(FIELD)
        given = value if isinstance(value, str) else None
    if principal is not None:
        expected = principal.csrf_token
    else:
        seed = request.cookies.get(PRELOGIN_COOKIE)
        expected = _prelogin_token(request, seed) if seed else None
    if not same_secret(given, expected):
        raise CsrfFailed("This form has expired or came from another site. Reload the page and try again.")


async def verify_csrf_audited(request: Request, principal: PrincipalDep, actions: ActionsDep) -> None:
    """verify_csrf for action routes: a refusal is also recorded in the audit log as a denied attempt."""
    try:
        await verify_csrf(request, principal)
    except CsrfFailed:
        op = get_operation(request.path_params.get("operation", ""))
        vmid = str(request.path_params.get("vmid", ""))
        if op is not None:
            target = Target(vmid=int(vmid)) if vmid.isdigit() else Target()
            await actions.deny(actor_for(request, principal), op, target, {}, "CSRF token missing or wrong")
        raise
