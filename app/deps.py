"""Typed dependencies that route handlers declare: the runtime's parts, the database session, the principal.

The one place that reads the runtime off the app (`runtime_of`); routes and helpers ask here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.applications import Starlette

from app.config import Settings
from app.proxmox.client import PveClient
from app.runtime import Runtime
from app.services import audit
from app.services.accounts import Role, SsoRefused, auth, directory, sso
from app.services.approvals import ApprovalPolicy, ApprovalService
from app.services.batches import BatchService
from app.services.cluster import (
    BackupService,
    Cluster,
    ClusterService,
    GuestDetailService,
    HistoryService,
    InventoryService,
    NodeLogService,
    NodeService,
    SnapshotListService,
    StorageService,
    TaskService,
)
from app.services.errors import Forbidden, Unauthenticated
from app.services.ips import IpService
from app.services.maintenance import MaintenanceService
from app.services.pipeline import ActionService, Gate
from app.services.sidedoors import ConfigWatch, SideDoors

SESSION_COOKIE = "proxgate_session"
# Sent by the page's own refreshes (static/js/app.js): they do not count as activity for the idle timeout.
BACKGROUND_HEADER = "x-proxgate-background"
# The JSON API's OpenAPI document, served to signed-in callers (app/web/api_docs.py).
OPENAPI_PATH = "/openapi.json"


def is_api(path: str) -> bool:
    """The JSON API and its document: bearer tokens sign requests there (never pages), and errors are JSON."""
    return path.startswith("/api/v1/") or path == OPENAPI_PATH


def runtime_of(app: Starlette) -> Runtime:
    """The runtime that create_app() gave this app."""
    runtime: Runtime = app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    """The app's runtime."""
    return runtime_of(request.app)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings_dep(runtime: RuntimeDep) -> Settings:
    """The app's settings."""
    return runtime.settings


async def get_db(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A database session for this request; handlers commit what they change."""
    async with runtime.sessions() as session:
        yield session


async def get_cluster(runtime: RuntimeDep) -> Cluster:
    """The cluster: its client and the views that cache it."""
    return runtime.cluster


CurrentClusterDep = Annotated[Cluster, Depends(get_cluster)]


async def get_pve(cluster: CurrentClusterDep) -> PveClient:
    """The cluster's long-lived Proxmox client."""
    return cluster.client


def client_ip(request: Request) -> str:
    """The caller's address (X-Forwarded-For is trusted only from PROXGATE_TRUSTED_PROXIES)."""
    peer = request.client.host if request.client else ""
    trusted_proxies = runtime_of(request.app).settings.trusted_proxies
    trusted = {p.strip() for p in trusted_proxies.split(",") if p.strip()}
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in trusted:
        return forwarded.split(",")[0].strip()
    return peer


def secure_cookies(request: Request) -> bool:
    """Cookies are Secure behind TLS (or always/never when PROXGATE_COOKIE_SECURE says so)."""
    setting = runtime_of(request.app).settings.cookie_secure
    if setting == "auto":
        return request.url.scheme == "https"
    return setting == "true"


async def _overview(cluster: CurrentClusterDep) -> ClusterService:
    return cluster.overview


async def _inventory(cluster: CurrentClusterDep) -> InventoryService:
    return cluster.inventory


async def _nodes(cluster: CurrentClusterDep) -> NodeService:
    return cluster.nodes


async def _storage(cluster: CurrentClusterDep) -> StorageService:
    return cluster.storage


async def _backups(cluster: CurrentClusterDep) -> BackupService:
    return cluster.backups


async def _tasks(cluster: CurrentClusterDep) -> TaskService:
    return cluster.tasks


async def _history(cluster: CurrentClusterDep) -> HistoryService:
    return cluster.history


async def _snapshots(cluster: CurrentClusterDep) -> SnapshotListService:
    return cluster.snapshots


async def _ips(cluster: CurrentClusterDep) -> IpService:
    return cluster.ips


async def _guest_detail(cluster: CurrentClusterDep) -> GuestDetailService:
    return cluster.guest_detail()


async def _node_log(cluster: CurrentClusterDep) -> NodeLogService:
    return cluster.node_log()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_db)]
PveDep = Annotated[PveClient, Depends(get_pve)]
ClusterDep = Annotated[ClusterService, Depends(_overview)]
InventoryDep = Annotated[InventoryService, Depends(_inventory)]
NodeDep = Annotated[NodeService, Depends(_nodes)]
StorageDep = Annotated[StorageService, Depends(_storage)]
BackupDep = Annotated[BackupService, Depends(_backups)]
TaskDep = Annotated[TaskService, Depends(_tasks)]
HistoryDep = Annotated[HistoryService, Depends(_history)]
SnapshotsDep = Annotated[SnapshotListService, Depends(_snapshots)]
IpDep = Annotated[IpService, Depends(_ips)]
DetailDep = Annotated[GuestDetailService, Depends(_guest_detail)]
NodeLogDep = Annotated[NodeLogService, Depends(_node_log)]


async def get_principal(request: Request, db: SessionDep) -> auth.Principal | None:
    """Who is calling: a bearer token (API only) or a session cookie; None when anonymous."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and is_api(request.url.path):
        principal = await auth.resolve_token(db, header[7:].strip())
        if principal is None:
            raise Unauthenticated("The API token is unknown or revoked.")
    elif cookie := request.cookies.get(SESSION_COOKIE):
        background = request.headers.get(BACKGROUND_HEADER) == "1"
        policy = runtime_of(request.app).auth_policy
        principal = await auth.resolve_session(db, policy, cookie, not background)
        if principal is not None and principal.sso_due and principal.ldap:
            runtime = runtime_of(request.app)
            actor = actor_for(request, principal)
            principal = await directory.recheck(db, runtime.sessions, runtime.ldap, principal, actor)
        elif principal is not None and principal.sso_due:
            principal = await _sso_recheck(request, db, principal)
    # Give the connection back before the handler runs: the services it calls open sessions of their own, and
    # requests that each held one connection while waiting for a second froze the whole pool in a burst.
    await db.commit()
    request.state.principal = principal
    return principal


async def _sso_recheck(
    request: Request, db: AsyncSession, principal: auth.Principal
) -> auth.Principal | None:
    """Ask the identity provider again about a single sign-on session; the audit says when it ended one or
    changed someone's role."""
    runtime = runtime_of(request.app)
    if runtime.oidc is None:
        # Single sign-on was turned off: the provider's sessions end, as it can vouch for nobody now.
        await auth.end_session(db, principal.session_id or "")
        return None
    now, said = await sso.recheck(db, runtime.oidc, runtime.sso_sealer, principal)
    actor = actor_for(request, principal)
    if isinstance(said, SsoRefused):
        message = f"{principal.username}'s single sign-on session ended: {said.message}"
        await sso.record(
            runtime.sessions,
            actor,
            "sso.session_ended",
            "refused",
            principal.username,
            message,
            {"reason": said.reason},
        )
    elif said is not None and now is not None and now.role != principal.role:
        message = (
            f"{principal.username} is {now.role} now (was {principal.role}), as the identity provider says"
        )
        params = {"role": str(now.role), "previous_role": str(principal.role), "groups": list(said.groups)}
        await sso.record(
            runtime.sessions, actor, "sso.role_changed", "succeeded", principal.username, message, params
        )
    return now


MaybePrincipalDep = Annotated[auth.Principal | None, Depends(get_principal)]


def actor_for(request: Request, principal: auth.Principal) -> audit.Actor:
    """The audit log's view of who is acting and from where."""
    return audit.Actor(
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
    await audit.record_account_change(
        runtime_of(request.app).sessions, actor_for(request, principal), operation, subject, message, params
    )


def may_monitor(request: Request, principal: auth.Principal | None) -> bool:
    """A signed-in admin, or a caller with PROXGATE_METRICS_TOKEN: who sees /readyz's details and /metrics."""
    if principal is not None and principal.can(Role.admin):
        return True
    expected = runtime_of(request.app).settings.metrics_token
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else None
    return expected is not None and auth.same_secret(given, expected.get_secret_value())


async def get_actions(runtime: RuntimeDep) -> ActionService:
    """The app's action service."""
    return runtime.actions


async def get_gate(runtime: RuntimeDep) -> Gate:
    """The app's front door for changes (now, or as a request for approval)."""
    return runtime.gate


async def get_approvals(runtime: RuntimeDep) -> ApprovalService:
    """The app's approval service."""
    return runtime.approvals


async def get_batches(runtime: RuntimeDep) -> BatchService:
    """The app's batches: bulk actions and other work on many guests."""
    return runtime.batches


async def get_approval_policy(runtime: RuntimeDep) -> ApprovalPolicy:
    """Which operations wait for a second person, and how many."""
    return runtime.approval_policy


def link_base(request: Request) -> str:
    """Where people reach Proxgate: PROXGATE_PUBLIC_URL, else the address this request came to."""
    configured: str | None = runtime_of(request.app).settings.public_url
    return configured or str(request.base_url).rstrip("/")


async def get_maintenance(runtime: RuntimeDep) -> MaintenanceService:
    """Emptying nodes and bringing their guests back, as batches of migrations."""
    return MaintenanceService(
        runtime.cluster.client, runtime.actions, runtime.batches, runtime.approval_policy
    )


ActionsDep = Annotated[ActionService, Depends(get_actions)]


async def get_side_doors(runtime: RuntimeDep) -> SideDoors:
    """The side-door report (who can change guests in Proxmox without Proxgate)."""
    return runtime.side_doors


SideDoorsDep = Annotated[SideDoors, Depends(get_side_doors)]


async def get_config_watch(runtime: RuntimeDep) -> ConfigWatch:
    """Notes each guest configuration read, to tell changes made without Proxgate."""
    return runtime.config_watch


ConfigWatchDep = Annotated[ConfigWatch, Depends(get_config_watch)]
GateDep = Annotated[Gate, Depends(get_gate)]
ApprovalsDep = Annotated[ApprovalService, Depends(get_approvals)]
BatchesDep = Annotated[BatchService, Depends(get_batches)]
ApprovalPolicyDep = Annotated[ApprovalPolicy, Depends(get_approval_policy)]
MaintenanceDep = Annotated[MaintenanceService, Depends(get_maintenance)]


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
