"""Tell people about requests and decisions: Apprise URLs and a signed JSON webhook, through a stored outbox.

A message is written to the outbox in the same transaction as the change it reports, and sent later by a
background loop: a slow or dead target never delays or fails a request, and a restart loses nothing. Failed
deliveries are retried with growing pauses and logged; each row is leased, so one process sends it.

A message about a request waiting for approval names its audience (who may still approve it): the webhook gets
every message with that audience in `to`, an Apprise URL given for a group (`dba=mailtos://...`) only those
addressed to its group (and break-glass runs), and the other Apprise URLs the rest, waiting requests only while
any approver could still complete them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import ConfigError, Settings
from app.db.approvals import ApprovalRequest, Notification
from app.db.models import utcnow
from app.services.background import Periodic

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Proxgate-Signature"
MAX_ATTEMPTS = 10
SEND_TIMEOUT = 10.0
LEASE = timedelta(seconds=60)
TITLES = {
    "requested": "Approval needed",
    "approved": "Request approved",
    "rejected": "Request rejected",
    "cancelled": "Request cancelled",
    "expired": "Request expired",
    "succeeded": "Request carried out",
    "failed": "Request failed",
    "break-glass": "Break-glass: run without approval, review needed",
    "reviewed": "Break-glass run reviewed",
}


# An Apprise URL for one group's channel: the group's name, '=', the URL (a URL's scheme holds no '=').
GROUP_URL = re.compile(r"^(?P<group>[a-z0-9][a-z0-9._-]{0,63})=(?P<url>[A-Za-z0-9+.-]+://.*)$")


@dataclass(frozen=True)
class Audience:
    """Whom a message about a waiting request is for: approvers at large (while any approver could complete it),
    the groups still missing, the usernames of those who may approve; `everyone`: every group's channel too."""

    approvers: bool
    groups: tuple[str, ...]
    users: tuple[str, ...]
    everyone: bool = False

    def as_json(self) -> dict[str, Any]:
        """The message's `to`, for a receiver that routes by group or person."""
        return {"approvers": self.approvers, "groups": list(self.groups), "users": list(self.users)}


@dataclass(frozen=True)
class Target:
    """Where messages go: an Apprise URL (for one group's channel when `group` is set) or the webhook; `name`
    is what the outbox stores."""

    name: str
    kind: str  # apprise | webhook
    url: str
    group: str | None = None

    def receives(self, audience: Audience | None) -> bool:
        """Whether a message for this audience (None: no one in particular, a decision or an end) goes here."""
        if self.kind == "webhook":
            return True
        if self.group is None:
            return audience is None or audience.approvers
        return audience is not None and (audience.everyone or self.group in audience.groups)


def apprise_target(number: int, entry: str) -> Target:
    """One entry of PROXGATE_NOTIFY_APPRISE_URLS: a URL, or `group=URL` for that group's channel; ConfigError
    naming the entry (never its URL, which may hold a password) when what precedes '=' is no group name."""
    given = GROUP_URL.match(entry)
    if given is not None:
        return Target(f"apprise-{number}", "apprise", given["url"], given["group"])
    head = entry.split("://", 1)[0]
    if "=" in head:
        raise ConfigError(
            f"PROXGATE_NOTIFY_APPRISE_URLS, entry {number}: '{head.split('=', 1)[0]}' is not a group name "
            "(lower-case letters, digits, '.', '_' or '-'); write group=URL, or the URL alone"
        )
    return Target(f"apprise-{number}", "apprise", entry)


def targets_from(settings: Settings) -> list[Target]:
    """The configured notification targets (none by default)."""
    found: list[Target] = []
    if settings.notify_apprise_urls:
        urls = [u for u in re.split(r"[\s,]+", settings.notify_apprise_urls.get_secret_value()) if u]
        found += [apprise_target(n, url) for n, url in enumerate(urls, 1)]
    if settings.notify_webhook_url:
        found.append(Target("webhook", "webhook", settings.notify_webhook_url.get_secret_value()))
    return found


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The webhook signature header: t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<body>'>."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def title_of(event: str, request: ApprovalRequest) -> str:
    """A message's title: what happened, and what the request is."""
    if event == "approved" and request.status == "pending":
        return f"Approved, more approval needed: {request.description}"
    return f"{TITLES.get(event, event)}: {request.description}"


def message_of(
    event: str, request: ApprovalRequest, actor: str, audience: Audience | None = None
) -> dict[str, Any]:
    """What a notification says about a request: no parameters that could be secret, no tokens."""
    return {
        "event": event,
        "title": title_of(event, request),
        "request": {
            "id": request.id,
            "operation": request.operation,
            "status": request.status,
            "description": request.description,
            "reason": request.reason,
            "target": {"node": request.node, "type": request.guest_type, "vmid": request.vmid},
            "requested_by": request.requester_name,
            "expires_at": request.expires_at.isoformat() if request.expires_at else None,
            "url": request.url,
            # Who can decide it, so a receiver can route it to those groups' channels.
            "rule": request.policy_rule,
            "approver_groups": sorted(g for g in request.required_groups.split(",") if g),
        },
        # Who may still approve it (a waiting request), or null for news of a decision or an end.
        "to": audience.as_json() if audience else None,
        "by": actor,
        "at": utcnow().isoformat(),
    }


class Notifier(Periodic):
    """Writes outbox rows for the configured targets (in the caller's transaction) and delivers them."""

    name = "notifier"

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        super().__init__(interval=settings.notify_interval_seconds)
        self.sessions = sessions
        self.targets = targets_from(settings)
        self.secret = (
            settings.notify_webhook_secret.get_secret_value() if settings.notify_webhook_secret else ""
        )
        self.http = httpx.AsyncClient(timeout=SEND_TIMEOUT)

    def enqueue(
        self,
        db: AsyncSession,
        event: str,
        request: ApprovalRequest,
        actor: str,
        audience: Audience | None = None,
    ) -> None:
        """Add one message per target that receives it to the caller's transaction."""
        if request.id is not None:
            message = message_of(event, request, actor, audience)
            self.enqueue_message(db, event, message, request.id, audience)

    def enqueue_message(
        self,
        db: AsyncSession,
        event: str,
        message: dict[str, Any],
        request_id: int | None = None,
        audience: Audience | None = None,
    ) -> None:
        """Add one message per target that receives it to the caller's transaction (its `title`, and a `body`
        for Apprise)."""
        payload = json.dumps(message, sort_keys=True)
        receiving = [t for t in self.targets if t.receives(audience)]
        for target in receiving:
            db.add(Notification(target=target.name, event=event, request_id=request_id, payload=payload))
        if receiving:
            self.wakeup.set()

    def start(self) -> None:
        """Deliver in the background (only when there is somewhere to deliver to)."""
        if self.targets:
            super().start()

    async def stop(self) -> None:
        """Stop delivering; what is left stays in the outbox for the next start."""
        await super().stop()
        await self.http.aclose()

    async def round(self) -> None:
        """Send what is due."""
        await self.deliver_due(self.http)

    async def deliver_due(self, http: httpx.AsyncClient) -> int:
        """Send every due message this process could lease; returns how many were delivered."""
        rows = await self._claim()
        results = await asyncio.gather(*(self._deliver(http, row) for row in rows))
        return sum(results)

    async def _claim(self) -> list[Notification]:
        now = utcnow()
        async with self.sessions() as db:
            due = (
                await db.exec(
                    select(Notification.id)
                    .where(Notification.state == "pending", col(Notification.next_attempt_at) <= now)
                    .where(or_(col(Notification.lease_until).is_(None), col(Notification.lease_until) < now))
                    .limit(50)
                )
            ).all()
            claimed = []
            for row_id in due:
                result = await db.exec(
                    update(Notification)
                    .where(col(Notification.id) == row_id, col(Notification.state) == "pending")
                    .where(or_(col(Notification.lease_until).is_(None), col(Notification.lease_until) < now))
                    .values(lease_until=now + LEASE)
                )
                if result.rowcount == 1:
                    claimed.append(row_id)
            await db.commit()
            return list((await db.exec(select(Notification).where(col(Notification.id).in_(claimed)))).all())

    async def _deliver(self, http: httpx.AsyncClient, row: Notification) -> int:
        target = next((t for t in self.targets if t.name == row.target), None)
        try:
            if target is None:
                raise RuntimeError(f"target {row.target} is no longer configured")
            await self._send(http, target, row)
        except Exception as exc:  # any failure of a target: retried later, never raised
            await self._retry(row, f"{type(exc).__name__}: {exc}")
            return 0
        await self._mark(row, state="sent", sent_at=utcnow(), attempts=row.attempts + 1, last_error=None)
        return 1

    async def _send(self, http: httpx.AsyncClient, target: Target, row: Notification) -> None:
        if target.kind == "webhook":
            body = row.payload.encode()
            headers = {
                "Content-Type": "application/json",
                "X-Proxgate-Event": row.event,
                SIGNATURE_HEADER: sign(self.secret, int(time.time()), body),
            }
            (await http.post(target.url, content=body, headers=headers)).raise_for_status()
            return
        await asyncio.to_thread(_apprise_send, target.url, json.loads(row.payload))

    async def _retry(self, row: Notification, error: str) -> None:
        attempts = row.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            log.error("notification %s to %s failed for good: %s", row.id, row.target, error)
            await self._mark(row, state="failed", attempts=attempts, last_error=error[:2000])
            return
        pause = timedelta(seconds=min(5 * 2**attempts, 3600))
        log.warning("notification %s to %s failed (attempt %d): %s", row.id, row.target, attempts, error)
        await self._mark(
            row,
            attempts=attempts,
            last_error=error[:2000],
            next_attempt_at=utcnow() + pause,
            lease_until=None,
        )

    async def _mark(self, row: Notification, **values: Any) -> None:
        async with self.sessions() as db:
            await db.exec(update(Notification).where(col(Notification.id) == row.id).values(**values))
            await db.commit()


def _apprise_send(url: str, message: dict[str, Any]) -> None:
    """Send through Apprise (a blocking library, so it runs in a worker thread); raise when it fails."""
    import apprise  # imported here: it is large, and only needed once something is sent

    sender = apprise.Apprise()
    if not sender.add(url):
        raise ValueError("Apprise does not understand this URL")
    request = message.get("request")
    if request is None:
        body = message["body"]
    else:
        body = f"{request['description']}\nReason: {request['reason']}\nBy: {message['by']}\n{request['url']}"
        if message.get("to") and message["to"]["users"]:
            body += f"\nMay approve: {', '.join(message['to']['users'])}"
    if not sender.notify(title=message["title"], body=body):
        raise RuntimeError("Apprise could not deliver the message")
