"""ProxgateApi: the /api/v1 client that the MCP server and `proxgate ctl` share.

It talks HTTP and nothing else, so an agent or a script gets exactly what a person gets: the same roles, the
same approvals, the same audit log.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

import httpx

VERSION = "0.1"
# Proxgate's list endpoints answer at most this many items a page.
PAGE_LIMIT = 500
# A list that is walked to the end stops after this many pages, whatever the server says.
MAX_PAGES = 200
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]+")


class ApiConfigError(Exception):
    """PROXGATE_URL or PROXGATE_TOKEN is missing or unusable."""


class ApiError(Exception):
    """Proxgate said no, or could not be reached (status 0): its message and the field it names."""

    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field

    @property
    def refused(self) -> bool:
        """True for a 4xx: Proxgate refused (role, no such guest, invalid value, a state that forbids it)."""
        return 400 <= self.status < 500

    def __str__(self) -> str:
        where = f" (field {self.field})" if self.field and self.field not in self.detail else ""
        return f"{self.detail}{where}"


@dataclass(frozen=True)
class ApiConfig:
    """Where Proxgate is and the API token to use."""

    url: str
    token: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiConfig:
        """PROXGATE_URL and PROXGATE_TOKEN from the environment."""
        env = os.environ if environ is None else environ
        url, token = env.get("PROXGATE_URL", "").strip(), env.get("PROXGATE_TOKEN", "").strip()
        missing = [name for name, value in (("PROXGATE_URL", url), ("PROXGATE_TOKEN", token)) if not value]
        if missing:
            raise ApiConfigError(
                f"set {' and '.join(missing)} (the Proxgate address and an API token from `proxgate token add`)"
            )
        if not re.match(r"^https?://[^\s/]+", url):
            raise ApiConfigError(f"PROXGATE_URL must start with http:// or https://, not {url!r}")
        return cls(url.rstrip("/"), token)


def user_agent(product: str, client: str | None = None) -> str:
    """'proxgate-mcp/0.1 (client: claude-code 1.2)': what the audit log records as the user agent."""
    base = f"{product}/{VERSION}"
    text = _UNPRINTABLE.sub(" ", client or "").strip()[:120]
    return f"{base} (client: {text})" if text else base


def path_segment(value: object) -> str:
    """One URL path segment (a UPID keeps its colons, '@' and '!')."""
    return quote(str(value), safe=":@!")


class ProxgateApi:
    """An async client of one Proxgate server with one API token."""

    def __init__(self, http: httpx.AsyncClient, agent: str) -> None:
        self.http = http
        self.agent = agent

    @classmethod
    def connect(cls, config: ApiConfig, agent: str) -> ProxgateApi:
        """A client with its own connection pool; close it with aclose() or `async with`."""
        http = httpx.AsyncClient(
            base_url=config.url,
            headers={"Authorization": f"Bearer {config.token}", "Accept": "application/json"},
            timeout=httpx.Timeout(30.0, connect=10.0),
        )
        return cls(http, agent)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()

    def as_agent(self, agent: str) -> ProxgateApi:
        """The same connection pool, another user agent (the MCP client's name may come later)."""
        return ProxgateApi(self.http, agent)

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> tuple[int, Any]:
        """Send one request (with `key` as its Idempotency-Key); (status, decoded JSON) for 2xx, ApiError
        otherwise."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        headers = {"User-Agent": self.agent} | ({"Idempotency-Key": key} if key else {})
        try:
            answer = await self.http.request(method, path, params=query, json=body, headers=headers)
        except httpx.TransportError as exc:
            raise ApiError(
                0, f"cannot reach Proxgate at {self.http.base_url}: {exc or type(exc).__name__}"
            ) from exc
        if answer.status_code >= 400:
            raise error_of(answer)
        return answer.status_code, decode(answer)

    async def get(self, path: str, **params: Any) -> Any:
        """GET path; the decoded JSON."""
        return (await self.request("GET", path, params))[1]

    async def post(self, path: str, body: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        """POST a JSON body; (status, decoded JSON) so 200 (done) and 202 (pending) can be told apart."""
        return await self.request("POST", path, body=body or {})

    async def post_once(self, path: str, body: Mapping[str, Any]) -> tuple[int, Any]:
        """POST a change with a new one-time key; when the connection fails, send it once more with the same
        key, so the change is made at most once (the second answer is the first one's, when it was made)."""
        key = secrets.token_urlsafe(16)
        try:
            return await self.request("POST", path, body=body, key=key)
        except ApiError as exc:
            if exc.status != 0:
                raise
        return await self.request("POST", path, body=body, key=key)

    async def collect(self, path: str, **params: Any) -> list[Any]:
        """Every item of a list endpoint, following `next_cursor` to the end; ApiError (never a partial list)
        when it cannot be read whole: a page that fails or says it is not complete (Proxgate is still reading),
        more pages than MAX_PAGES, fewer items than its total."""
        items: list[Any] = []
        query: dict[str, Any] = {"limit": PAGE_LIMIT, **params}
        total: int | None = None
        for _ in range(MAX_PAGES):
            page = await self.get(path, **query)
            if page.get("complete") is False:
                raise ApiError(0, f"{path} could not be read whole: {still_reading(page)}")
            items += list(page.get("items") or [])
            if total is None and isinstance(page.get("total"), int):
                total = page["total"]
            if not page.get("next_cursor"):
                if total is not None and len(items) < total:
                    raise ApiError(0, f"{path} could not be read whole: {len(items)} of {total} items")
                return items
            query["cursor"] = page["next_cursor"]
        raise ApiError(0, f"{path} could not be read whole: more than {MAX_PAGES} pages of {PAGE_LIMIT}")


def still_reading(page: Mapping[str, Any]) -> str:
    """What a page that is not complete says of its progress: 'Read 812 of 2,000 guests' configurations'."""
    progress = page.get("progress")
    text = progress.get("text") if isinstance(progress, Mapping) else None
    return f"{text or 'Proxgate is still reading the cluster'}; ask again in a moment"


def decode(answer: httpx.Response) -> Any:
    """The JSON body, or its text when it is not JSON."""
    try:
        return answer.json()
    except ValueError:
        return answer.text


def error_of(answer: httpx.Response) -> ApiError:
    """Proxgate's `{"detail", "field"}` as an ApiError (or the start of whatever else came back)."""
    body = decode(answer)
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        field = body.get("field")
        return ApiError(answer.status_code, body["detail"], field if isinstance(field, str) else None)
    text = body if isinstance(body, str) else str(body)
    return ApiError(answer.status_code, f"HTTP {answer.status_code}: {text.strip()[:300]}")
