"""create_app(): the FastAPI application; the lifespan opens the database and the Proxmox client."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from anyio import to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from app.config import Settings, get_settings
from app.db.engine import create_engine, session_factory
from app.db.migrate import upgrade_database
from app.metrics import Metrics, MetricsMiddleware
from app.paths import resource_dir
from app.proxmox.client import PveClient
from app.routing import include_routers
from app.services.accounts import Policy
from app.services.approvals import ApprovalPolicy, ApprovalService
from app.services.audit import binding as audit_binding
from app.services.audit import keep_checkpoints, stop_checkpoints
from app.services.cluster import pve_connection
from app.services.notifications import Notifier
from app.services.pipeline import ActionService, Gate, TaskWatcher
from app.services.runtime import Housekeeper, MemoryTrimmer
from app.web.errors import install_error_handlers
from app.web.input_guard import guard_input
from app.web.security import HeadAsGetMiddleware, SecurityHeadersMiddleware
from app.web.templating import build_templates

log = logging.getLogger(__name__)


def auth_policy(settings: Settings) -> Policy:
    """Session lifetime and sign-in throttling from the settings."""
    return Policy(
        idle=timedelta(minutes=settings.session_idle_minutes),
        max_age=timedelta(hours=settings.session_max_hours),
        max_failures=settings.login_max_failures,
        ip_max_failures=settings.login_ip_max_failures,
        window=timedelta(minutes=settings.login_window_minutes),
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Migrate, then open the engine and the Proxmox client for the app's life."""
    settings: Settings = app.state.settings
    url = settings.resolved_database_url
    await to_thread.run_sync(upgrade_database, url)
    app.state.engine = create_engine(url)
    app.state.sessions = session_factory(app.state.engine)
    checkpoints = _start_audit_chain(app, settings)
    app.state.pve = PveClient(app.state.connection, observer=app.state.metrics)
    app.state.services = {}
    app.state.watcher = TaskWatcher(app.state.pve, app.state.sessions)
    # How long a call to Proxmox may be waiting before others may assume its process died (its row is then
    # reconciled): connect, send and read each have the timeout, plus a margin.
    lease = timedelta(seconds=3 * settings.proxmox_timeout + 5)
    app.state.actions = ActionService(app.state.pve, app.state.sessions, app.state.watcher.owner, lease)
    app.state.notifier = Notifier(app.state.sessions, settings)
    app.state.approvals = ApprovalService(app.state.sessions, app.state.policy, app.state.notifier)
    app.state.gate = Gate(app.state.actions, app.state.approvals, app.state.policy, app.state.sessions)
    app.state.housekeeper = Housekeeper(app.state.approvals)
    app.state.memory_trimmer = MemoryTrimmer()
    app.state.watcher.start()
    app.state.notifier.start()
    app.state.housekeeper.start()
    app.state.memory_trimmer.start()
    # Everything made at start-up lives as long as the app: keep it out of every later full collection,
    # which otherwise walks ~100,000 long-lived objects each time the cluster view is refreshed.
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        await app.state.memory_trimmer.stop()
        await app.state.housekeeper.stop()
        await app.state.notifier.stop()
        await app.state.watcher.stop()
        for service in app.state.services.values():
            if hasattr(service, "aclose"):
                await service.aclose()  # background refreshes end before the client they use
        await stop_checkpoints(checkpoints, app.state.sessions)
        await app.state.pve.aclose()
        await app.state.engine.dispose()


class Proxgate(FastAPI):
    """FastAPI whose outermost layers add the security headers and answer HEAD as GET.

    Outside Starlette's ServerErrorMiddleware, so the page of an unhandled error (a 500) gets the headers and
    the request id too; a middleware added with add_middleware() sits inside it and never sees that answer.
    """

    def build_middleware_stack(self) -> ASGIApp:
        """The usual stack, wrapped."""
        return SecurityHeadersMiddleware(HeadAsGetMiddleware(super().build_middleware_stack()))


def _start_audit_chain(app: FastAPI, settings: Settings) -> asyncio.Task[None]:
    """Key the engine's audit chain from the settings and start writing checkpoints of it."""
    audit_binding.configure(app.state.engine, settings, on_checkpoint=app.state.metrics.audit_checkpointed)
    if settings.secret_key is None and not settings.demo:
        log.warning(
            "PROXGATE_SECRET_KEY is not set: the audit key comes from %s, beside the database; whoever can read "
            "that folder can reseal the audit chain. Set PROXGATE_SECRET_KEY from a secret store.",
            settings.data_dir / "secret_key",
        )
    interval = settings.audit_checkpoint_seconds
    return asyncio.create_task(keep_checkpoints(app.state.sessions, interval), name="audit-checkpoints")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for these settings (the process settings by default)."""
    settings = settings or get_settings()
    app = Proxgate(
        title="Proxgate",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(guard_input)],
    )
    app.state.settings = settings
    app.state.connection = pve_connection(settings)
    app.state.secret_key = settings.resolved_secret_key()
    app.state.auth_policy = auth_policy(settings)
    app.state.policy = ApprovalPolicy.from_settings(settings)
    app.state.templates = build_templates()
    app.state.metrics = Metrics()
    app.state.secure_cookies = lambda request: _secure_cookies(settings, request)
    app.mount("/static", StaticFiles(directory=str(resource_dir("static"))), name="static")
    include_routers(app)
    install_error_handlers(app)
    if settings.mcp_http:
        from app.agents.mcp_http import mount_mcp  # the MCP SDK is loaded only when /mcp is on

        mount_mcp(app)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def _secure_cookies(settings: Settings, request: Request) -> bool:
    """Cookies are Secure behind TLS (or always/never when PROXGATE_COOKIE_SECURE says so)."""
    if settings.cookie_secure == "auto":
        return request.url.scheme == "https"
    return settings.cookie_secure == "true"
