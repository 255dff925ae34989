"""Find the routers: every module of app.web and app.api that defines `router` is mounted."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter

import app.api
import app.web

PACKAGES = (app.web, app.api)


def discover_routers() -> list[APIRouter]:
    """The `router` of each page and API module, in a stable order (by package, then module name)."""
    routers = []
    for package in PACKAGES:
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            router = getattr(module, "router", None)
            if isinstance(router, APIRouter):
                routers.append(router)
    return routers
