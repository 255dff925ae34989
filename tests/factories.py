"""Test data made through the app's own services: users, tokens, signed-in clients."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx

from app.config import Settings
from app.services.accounts.cli import add_token, add_user

T = TypeVar("T")
_counter = itertools.count(1)
PASSWORD = "correct horse battery"


def unique_name(prefix: str) -> str:
    """A username no other test uses."""
    return f"{prefix}{next(_counter)}"


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine in a thread of its own (Playwright's sync API owns this thread's loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def make_user(settings: Settings, role: str, name: str | None = None, password: str = PASSWORD) -> str:
    """Create a user with this role; returns the name."""
    username = name or unique_name(role)
    run_async(add_user(settings, username, role, password))
    return username


def make_token(settings: Settings, username: str, role: str | None = None) -> str:
    """Create an API token for the user; returns the secret."""
    return run_async(add_token(settings, unique_name("tok"), username, role))


def csrf_from(html: str) -> str:
    """The CSRF token a page carries in its meta tag."""
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    if not match:
        raise AssertionError("the page has no csrf-token meta tag")
    return match.group(1)


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    """Sign in through the form, as a browser would; returns the answer to the POST."""
    page = client.get("/login")
    token = csrf_from(page.text)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"}
    )


@contextmanager
def signed_in(base_url: str, username: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    """A client with a live session; its CSRF token is in client.headers for later POSTs."""
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as client:
        answer = login(client, username, password)
        if answer.status_code != 303:
            raise AssertionError(f"sign-in failed: {answer.status_code}")
        client.headers["X-CSRF-Token"] = csrf_from(client.get("/account").text)
        yield client
