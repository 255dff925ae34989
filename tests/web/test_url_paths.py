"""UrlPaths gives every named route the path Starlette's own lookup gives, and refuses what it refuses."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from starlette.routing import Mount, NoMatchFound
from starlette.staticfiles import StaticFiles

from app.paths import resource_dir
from app.routing import include_routers
from app.web.url_paths import UrlPaths


@pytest.fixture(scope="module")
def app() -> FastAPI:
    """The app's routers and its static files, as create_app mounts them."""
    application = FastAPI()
    include_routers(application)
    application.router.routes.append(
        Mount("/static", StaticFiles(directory=resource_dir("static")), name="static")
    )
    return application


def test_every_route_gets_starlettes_path(app: FastAPI) -> None:
    paths = UrlPaths(app.router.routes)
    cases = [("static", {"path": "css/app.css"}), ("guest_detail", {"vmid": "101"}), ("dashboard", {})]
    cases += [("task_detail", {"upid": "UPID:pve1:0001:0002:65000000:vzdump:101:root@pam:"})]
    for name, params in cases * 2:  # the second round is answered by the remembered route
        assert paths.path_for(name, **params) == app.url_path_for(name, **params)


def test_unknown_names_and_wrong_parameters_are_refused(app: FastAPI) -> None:
    paths = UrlPaths(app.router.routes)
    paths.path_for("guest_detail", vmid="101")
    with pytest.raises(NoMatchFound):
        paths.path_for("guest_detail")  # the remembered route refuses, and so does every other
    with pytest.raises(NoMatchFound):
        paths.path_for("no_such_route")
