"""create_app(): the FastAPI application; its lifespan opens and closes the process's runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from app.config import Settings, get_settings
from app.deps import runtime_of
from app.metrics import MetricsMiddleware
from app.paths import resource_dir
from app.routing import include_routers
from app.runtime import Runtime
from app.web.errors import install_error_handlers
from app.web.input_guard import guard_input
from app.web.security import HeadAsGetMiddleware, SecurityHeadersMiddleware
from app.web.templating import build_templates


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the runtime (database, cluster, services, background loops) for the app's life."""
    runtime = runtime_of(app)
    await runtime.open()
    try:
        yield
    finally:
        await runtime.close()


class Proxgate(FastAPI):
    """FastAPI whose outermost layers add the security headers and answer HEAD as GET.

    Outside Starlette's ServerErrorMiddleware, so the page of an unhandled error (a 500) gets the headers and
    the request id too; a middleware added with add_middleware() sits inside it and never sees that answer.
    """

    # The identity provider's origin, where signing out may send a form (app/web/security.py); "" without one.
    form_target = ""

    def build_middleware_stack(self) -> ASGIApp:
        """The usual stack, wrapped."""
        return SecurityHeadersMiddleware(
            HeadAsGetMiddleware(super().build_middleware_stack()), self.form_target
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for these settings (the process settings by default)."""
    settings = settings or get_settings()
    app = Proxgate(
        title="Proxgate",
        version="0.1.0",
        lifespan=lifespan,
        # Both are served by app/web/api_docs.py, to signed-in callers only: FastAPI's own routes are open to all.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(guard_input)],
    )
    runtime = Runtime.configure(settings, build_templates())
    app.state.runtime = runtime
    if settings.oidc_issuer:
        issuer = urlsplit(settings.oidc_issuer)
        app.form_target = f"{issuer.scheme}://{issuer.netloc}"
    app.mount("/static", StaticFiles(directory=str(resource_dir("static"))), name="static")
    include_routers(app)
    install_error_handlers(app)
    if settings.mcp_http:
        from app.agents.mcp_http import mount_mcp  # the MCP SDK is loaded only when /mcp is on

        mount_mcp(app, settings.mcp_read_only)
    app.add_middleware(MetricsMiddleware, metrics=runtime.metrics)
    return app
