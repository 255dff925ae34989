"""Every route's dependencies and handler are coroutines: FastAPI runs a plain function in a worker thread, and a
thread hop per lookup costs each request time and the process a thread's memory under load."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.routing import discover_routers


def is_coroutine(call: Any) -> bool:
    """Whether FastAPI awaits `call` on the event loop (a coroutine or async generator function)."""
    return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)


def plain_functions(dependant: Dependant) -> set[str]:
    """The qualified names of the plain functions anywhere in a route's dependency tree."""
    found = set()
    for dependency in dependant.dependencies:
        if dependency.call is not None and not is_coroutine(dependency.call):
            found.add(f"{dependency.call.__module__}.{dependency.call.__qualname__}")
        found |= plain_functions(dependency)
    return found


def test_no_route_waits_for_a_thread() -> None:
    routes = [
        route for router in discover_routers() for route in router.routes if isinstance(route, APIRoute)
    ]
    assert len(routes) > 50  # the routers were found
    plain = {
        f"{route.path}: {name}"
        for route in routes
        for name in plain_functions(route.dependant)
        | ({route.endpoint.__qualname__} if not is_coroutine(route.endpoint) else set())
    }
    assert plain == set()
