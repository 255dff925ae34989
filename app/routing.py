"""Find the routers: every module of app.web and app.api that defines `router` is mounted; only the JSON API
is described in OpenAPI, with the one error shape on every route and short operation ids (`guests-list`)."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from fastapi import APIRouter, FastAPI, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer

import app.api
import app.web
from app.http.errors import ERROR_RESPONSES

PACKAGES = (app.web, app.api)
# Declares how the API is signed (an API token as a bearer), so the document's readers (Swagger UI's Authorize
# button, generated clients) know; app/deps.py resolves the token, this only describes it and never refuses.
API_TOKEN = HTTPBearer(
    scheme_name="token",
    description="An API token (`proxgate token add`, or your account page): `Authorization: Bearer <token>`.",
    auto_error=False,
)


def include_routers(application: FastAPI) -> None:
    """Mount every router: the pages out of the OpenAPI document, the API with its error responses."""
    for router in routers_of(app.web):
        application.include_router(router, include_in_schema=False)
    for router in routers_of(app.api):
        application.include_router(
            router,
            responses=ERROR_RESPONSES,
            generate_unique_id_function=operation_id,
            dependencies=[Security(API_TOKEN)],
        )


def operation_id(route: APIRoute) -> str:
    """The route's tag and name in kebab case ('requests-approve'): what a generated client names its function."""
    return f"{route.tags[0]}-{route.name}".replace("_", "-")


def discover_routers() -> list[APIRouter]:
    """The `router` of each page and API module, in a stable order (by package, then module name)."""
    return [router for package in PACKAGES for router in routers_of(package)]


def routers_of(package: ModuleType) -> list[APIRouter]:
    """The `router` of each module of the package that defines one, by module name."""
    routers = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            routers.append(router)
    return routers
