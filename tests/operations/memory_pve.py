"""An in-memory Proxmox VE for the operation tests: the client's responder answers (method, path) with recorded
answers and keeps every request the client sent, as PVE would receive it, so a test can assert the exact calls."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from app.proxmox import PveClient, PveConnection
from app.proxmox.wire import API, Reply, WireRequest

TOKEN_ID = "root@pam!proxgate"
TOKEN_SECRET = "5f0c4c4e-2b7d-4a59-9a61-0d4b7e3c8a21"


def upid(node: str, worker: str, vmid: int | str = "") -> str:
    """A task id as PVE's token calls get it (FACTS.md section 3: trailing colon, uppercase hex)."""
    return f"UPID:{node}:0020C066:042DF204:69C26EB0:{worker}:{vmid}:{TOKEN_ID}:"


@dataclass(frozen=True)
class Sent:
    """One request as Proxmox received it: the query (GET, DELETE) or the decoded form (POST, PUT)."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    # The form body exactly as sent ('+10G' must arrive as %2B10G), and its content type.
    body: str = field(default="", compare=False)
    content_type: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Answer:
    """A status line and a JSON body."""

    status: int
    reason: str
    body: bytes

    def reply(self) -> Reply:
        """The answer as the client reads it off the wire, reason phrase included (PVE puts its message there)."""
        return Reply(self.status, self.reason, self.body)


class MemoryPve:
    """Routes (method, path) to answers and records every request; unrouted paths get PVE's 501."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Answer] = {}
        self.sent: list[Sent] = []
        self.unrouted: list[Sent] = []

    def answer(self, method: str, path: str, data: Any) -> None:
        """Answer with `{"data": data}` (200 OK), every time the path is asked."""
        self.routes[(method, path)] = Answer(200, "OK", json.dumps({"data": data}).encode())

    def fail(self, method: str, path: str, status: int, reason: str, body: bytes | dict[str, Any]) -> None:
        """Answer with an error: its status, reason phrase and body, as PVE sends them."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.routes[(method, path)] = Answer(status, reason, raw)

    async def handle(self, request: WireRequest) -> Reply:
        """The client's responder."""
        sent = _sent(request)
        self.sent.append(sent)
        answer = self.routes.get((sent.method, sent.path))
        if answer is None:
            self.unrouted.append(sent)
            text = f"Method '{sent.method} {sent.path}' not implemented"
            answer = Answer(501, text, json.dumps({"data": None, "message": text}).encode())
        return answer.reply()

    @property
    def calls(self) -> list[tuple[str, str]]:
        """(method, path) of every request, in order."""
        return [(s.method, s.path) for s in self.sent]

    @property
    def changes(self) -> list[Sent]:
        """The requests that change something (all but GETs)."""
        return [s for s in self.sent if s.method != "GET"]

    def client(self) -> PveClient:
        """A PveClient whose requests come here; its cluster view never expires by itself (a fixed clock)."""
        connection = PveConnection("pve.example:8006", TOKEN_ID, TOKEN_SECRET, retries=0)
        return PveClient(connection, responder=self.handle, clock=lambda: 0.0)


def _sent(request: WireRequest) -> Sent:
    target = urlsplit(request.target)
    path = unquote(target.path).removeprefix(API)  # as PVE decodes it
    if request.method in ("GET", "DELETE"):
        return Sent(request.method, path, dict(parse_qsl(target.query, keep_blank_values=True)))
    body = request.body.decode()
    return Sent(
        request.method,
        path,
        dict(parse_qsl(body, keep_blank_values=True)),
        body,
        request.content_type,
    )
