"""Paths and URLs of named routes, without walking every route of the app for each link a page makes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.applications import Starlette
from starlette.datastructures import URL, URLPath
from starlette.requests import Request
from starlette.routing import BaseRoute, NoMatchFound


class UrlPaths:
    """url_path_for over the app's routes that remembers, per route name, the top-level route that answered."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._routes = routes
        self._owners: dict[str, BaseRoute] = {}

    def path_for(self, name: str, /, **params: Any) -> URLPath:
        """The path of route `name` with these parameters; NoMatchFound as Starlette raises it."""
        # Asking every route in turn costs a page with a dozen links more than its template; the static
        # files' mount comes last of all.
        owner = self._owners.get(name)
        if owner is not None:
            try:
                return owner.url_path_for(name, **params)
            except NoMatchFound:
                pass  # other parameters than last time: the full walk below decides
        for route in self._routes:
            try:
                path = route.url_path_for(name, **params)
            except NoMatchFound:
                continue
            self._owners[name] = route
            return path
        raise NoMatchFound(name, params)


# One per app (tests run several in a process), gone with its app.
_BY_APP: WeakKeyDictionary[Starlette, UrlPaths] = WeakKeyDictionary()


def url_paths(request: Request) -> UrlPaths:
    """The app's UrlPaths, made on first use."""
    found = _BY_APP.get(request.app)
    if found is None:
        found = _BY_APP[request.app] = UrlPaths(request.app.router.routes)
    return found


def path_for(request: Request, name: str, /, **params: Any) -> str:
    """The path of route `name` (as request.app.url_path_for gives it)."""
    return str(url_paths(request).path_for(name, **params))


@pass_context
def url_for(context: Context, name: str, /, **params: Any) -> URL:
    """The templates' url_for: the absolute URL, as Starlette's own gives it."""
    request: Request = context["request"]
    return url_paths(request).path_for(name, **params).make_absolute_url(base_url=request.base_url)
