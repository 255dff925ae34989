"""Typed dependencies that route handlers declare: settings, database, Proxmox client, principal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.proxmox.client import PveClient
from app.services.accounts import Role, auth
from app.services.approvals import ApprovalService
from app.services.audit import Actor, record_account_change
from app.services.cluster import (
    BackupService,
    ClusterService,
    GuestDetailService,
    HistoryService,
    NodeService,
    TaskService,
)
from app.services.errors import Forbidden, Unauthenticated
from app.services.ips import IpService
from app.services.pipeline import ActionService, Gate

SESSION_COOKIE = "proxgate_session"
# Sent by the page's own refreshes (static/js/app.js): they do not count as activity for the idle timeout.
BACKGROUND_HEADER = "x-proxgate-background"
T = TypeVar("T")


async def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """A database session for this request; handlers commit what they change."""
    async with request.app.state.sessions() as session:
        yield session


async def get_pve(request: Request) -> PveClient:
    """The app's long-lived Proxmox client."""
    client: PveClient = request.app.state.pve
    return client


def client_ip(request: Request) -> str:
    """The caller's address (X-Forwarded-For is trusted only from PROXGATE_TRUSTED_PROXIES)."""
    peer = request.client.host if request.client else ""
    trusted = {p.strip() for p in request.app.state.settings.trusted_proxies.split(",") if p.strip()}
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in trusted:
        return forwarded.split(",")[0].strip()
    return peer


def get_service(request: Request, cls: type[T]) -> T:
    """One instance of a service class per app, built from the app's Proxmox client on first use."""
    services: dict[type, object] = request.app.state.services
    if cls not in services:
        services[cls] = cls(request.app.state.pve)  # type: ignore[call-arg]
    return services[cls]  # type: ignore[return-value]


def service_dep(cls: type[T]) -> Callable[[Request], Coroutine[Any, Any, T]]:
    """A dependency that yields the app's instance of `cls` (see get_service)."""

    async def provide(request: Request) -> T:
        return get_service(request, cls)

    return provide


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_db)]
PveDep = Annotated[PveClient, Depends(get_pve)]
ClusterDep = Annotated[ClusterService, Depends(service_dep(ClusterService))]


async def get_principal(request: Request, db: SessionDep) -> auth.Principal | None:
    """Who is calling: a bearer token (API only) or a session cookie; None when anonymous."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and request.url.path.startswith("/api/"):
        principal = await auth.resolve_token(db, header[7:].strip())
        if principal is None:
            raise Unauthenticated("The API token is unknown or revoked.")
    elif cookie := request.cookies.get(SESSION_COOKIE):
        background = request.headers.get(BACKGROUND_HEADER) == "1"
        principal = await auth.resolve_session(db, request.app.state.auth_policy, cookie, not background)
    request.state.principal = principal
    return principal


MaybePrincipalDep = Annotated[auth.Principal | None, Depends(get_principal)]


def actor_for(request: Request, principal: auth.Principal) -> Actor:
    """The audit log's view of who is acting and from where."""
    return Actor(
        id=principal.user_id,
        name=principal.username,
        method=principal.method,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        request_id=getattr(request.state, "request_id", ""),
        token_name=principal.token_name,
    )


async def audit_account_change(
    request: Request,
    principal: auth.Principal,
    operation: str,
    subject: str,
    message: str,
    params: dict[str, Any],
) -> None:
    """Record a change to users, roles or tokens made through this request."""
    await record_account_change(
        request.app.state.sessions, actor_for(request, principal), operation, subject, message, params
    )


def may_monitor(request: Request, principal: auth.Principal | None) -> bool:
    """A signed-in admin, or a caller with PROXGATE_METRICS_TOKEN: who sees /readyz's details and /metrics."""
    if principal is not None and principal.can(Role.admin):
        return True
    expected = request.app.state.settings.metrics_token
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else None
    return expected is not None and auth.same_secret(given, expected.get_secret_value())


async def get_actions(request: Request) -> ActionService:
    """The app's action service."""
    service: ActionService = request.app.state.actions
    return service


ActionsDep = Annotated[ActionService, Depends(get_actions)]


async def get_gate(request: Request) -> Gate:
    """The app's front door for changes (now, or as a request for approval)."""
    gate: Gate = request.app.state.gate
    return gate


async def get_approvals(request: Request) -> ApprovalService:
    """The app's approval service."""
    service: ApprovalService = request.app.state.approvals
    return service


def link_base(request: Request) -> str:
    """Where people reach Proxgate: PROXGATE_PUBLIC_URL, else the address this request came to."""
    configured: str | None = request.app.state.settings.public_url
    return configured or str(request.base_url).rstrip("/")


GateDep = Annotated[Gate, Depends(get_gate)]
ApprovalsDep = Annotated[ApprovalService, Depends(get_approvals)]


async def require_principal(principal: MaybePrincipalDep) -> auth.Principal:
    """The signed-in principal, or Unauthenticated."""
    if principal is None:
        raise Unauthenticated("Sign in first.")
    return principal


PrincipalDep = Annotated[auth.Principal, Depends(require_principal)]


def require_role(role: Role) -> Callable[..., Coroutine[Any, Any, auth.Principal]]:
    """A dependency that admits principals whose role includes `role`."""

    async def check(principal: PrincipalDep) -> auth.Principal:
        if not principal.can(role):
            raise Forbidden(f"This needs the {role} role; you are {principal.role}.")
        return principal

    return check


AdminDep = Annotated[auth.Principal, Depends(require_role(Role.admin))]


async def detail_service(request: Request, pve: PveDep) -> GuestDetailService:
    """A detail builder over the app's shared address, backup and task services (and their caches)."""
    return GuestDetailService(
        pve,
        get_service(request, IpService),
        get_service(request, BackupService),
        get_service(request, TaskService),
    )


DetailDep = Annotated[GuestDetailService, Depends(detail_service)]
IpDep = Annotated[IpService, Depends(service_dep(IpService))]


async def node_service(request: Request) -> NodeService:
    """The app's node service (its address cache), over the app's shared task service."""
    services: dict[type, object] = request.app.state.services
    if NodeService not in services:
        services[NodeService] = NodeService(request.app.state.pve, get_service(request, TaskService))
    return services[NodeService]  # type: ignore[return-value]


NodeDep = Annotated[NodeService, Depends(node_service)]
HistoryDep = Annotated[HistoryService, Depends(service_dep(HistoryService))]
