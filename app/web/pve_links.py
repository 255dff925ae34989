"""Links to a guest's page by vmid and to a task's page by UPID, for the pages that mention them."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import Request
from starlette.routing import NoMatchFound

from app.web.url_paths import path_for

# DESIGN.md's stable address of a guest page, used while no route named guest_detail is mounted.
GUEST_PATH = "/guests/{vmid}"


def guest_href(request: Request) -> Callable[[int], str]:
    """A function vmid -> the URL of that guest's page (route guest_detail)."""

    def href(vmid: int) -> str:
        try:
            return path_for(request, "guest_detail", vmid=str(vmid))
        except NoMatchFound:
            return GUEST_PATH.format(vmid=int(vmid))

    return href


def task_href(request: Request) -> Callable[[str], str]:
    """A function upid -> the URL of that task's page; the UPID is escaped as one path segment."""

    def href(upid: str) -> str:
        return path_for(request, "task_detail", upid=quote(upid, safe=":@!"))

    return href
