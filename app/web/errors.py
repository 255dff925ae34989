"""The one place that turns errors into responses: pages, HTMX toasts, or JSON for the API."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.deps import is_api
from app.services.errors import (
    PveError,
    PveForbidden,
    PveRejected,
    PveUnavailable,
    ServiceError,
    Unauthenticated,
)
from app.web.templating import is_htmx, render

log = logging.getLogger(__name__)

# The database cannot be reached (refused, dropped, no pooled connection in time): not a bug of ours.
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)
DATABASE_DOWN_MESSAGE = (
    "The database is unavailable right now, so Proxgate can neither check who you are nor record what is done. "
    "Try again in a minute."
)
# The event an HTMX page receives with a 409's toast.
CONFLICT_EVENT = "conflict"


def wants_json(request: Request) -> bool:
    """API paths and clients that ask for JSON get JSON errors."""
    return is_api(request.url.path) or request.url.path in ("/readyz", "/healthz", "/metrics")


def error_response(
    request: Request, status: int, message: str, field: str | None = None, extra: dict[str, str] | None = None
) -> Response:
    """JSON {"detail"}, an HTMX toast, or a full error page."""
    if wants_json(request):
        body: dict[str, object] = {"detail": message, **(extra or {})}
        if field:
            body["field"] = field
        return JSONResponse(body, status_code=status)
    context = {"status": status, "message": message}
    if is_htmx(request):
        response = render(
            request, "partials/shared/_toast.html", {"level": "error", **context}, status_code=status
        )
        response.headers["HX-Retarget"] = "#toasts"
        response.headers["HX-Reswap"] = "beforeend"
        if status == 409:
            # What the page shows is out of date (someone else acted first): the parts of it that listen for
            # this event (hx-trigger="conflict from:body") fetch how things stand now, beside the toast.
            response.headers["HX-Trigger"] = CONFLICT_EVENT
        return response
    return render(request, "pages/error.html", context, status_code=status)


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)  # noqa: S101 (registered for this type only)
    if isinstance(exc, Unauthenticated) and not wants_json(request):
        target = "/login?next=" + quote(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    return error_response(request, exc.status, exc.message, exc.field, exc.extra)


def pve_status(exc: PveError) -> int:
    """503 unreachable, 403 a missing privilege, 422 a parameter Proxmox refused (the caller's), else 502."""
    if isinstance(exc, PveUnavailable):
        return 503
    if isinstance(exc, PveForbidden):
        return 403
    return 422 if isinstance(exc, PveRejected) else 502


async def _pve_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PveError)  # noqa: S101 (registered for this type only)
    field = min(exc.errors) if isinstance(exc, PveRejected) and exc.errors else None
    return error_response(request, pve_status(exc), f"Proxmox: {exc}", field)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 (registered for this type only)
    first = exc.errors()[0] if exc.errors() else {}
    field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
    message = (
        f"{field}: {first.get('msg', 'invalid value')}" if field else str(first.get("msg", "invalid input"))
    )
    return error_response(request, 422, message, field)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 (registered for this type only)
    messages = {404: "There is nothing at this address.", 405: "That method is not allowed here."}
    return error_response(request, exc.status_code, messages.get(exc.status_code, str(exc.detail)))


async def _database_down(request: Request, exc: Exception) -> Response:
    # The driver's own first line only: SQLAlchemy's message goes on with the statement and its parameters.
    cause = getattr(exc, "orig", None) or exc
    reason = (str(cause).splitlines() or [type(cause).__name__])[0]
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, reason)
    return error_response(request, 503, DATABASE_DOWN_MESSAGE)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    request_id = getattr(request.state, "request_id", "")
    return error_response(request, 500, f"Something went wrong on our side (request {request_id}).")


def install_error_handlers(app: FastAPI) -> None:
    """Register every mapping above on the app."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(PveError, _pve_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for kind in DATABASE_DOWN:
        app.add_exception_handler(kind, _database_down)
    app.add_exception_handler(Exception, _unexpected)
