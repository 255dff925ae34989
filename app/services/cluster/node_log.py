"""A node's system log, newest first: the journal read backwards by its cursors (syslog where a node has no
journal endpoint), filtered by text and service here, by time range in Proxmox."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.proxmox.client import PveClient
from app.proxmox.errors import PveForbidden, PveNotFound
from app.proxmox.paths import NodePath
from app.services.cluster.nodes import require_node
from app.services.errors import Forbidden, Invalid

# Entries asked of the journal at once, and how many such reads one page may take to find its matches.
BATCH = 500
MAX_BATCHES = 4
# Lines read of an old node's syslog at most (it is read from its start, so it is read whole).
SYSLOG_MAX = 20_000
SYSLOG_PAGE = 5000
JOURNAL_CURSOR = re.compile(r"^[a-z]=[^;\s]+(?:;[a-z]=[^;\s]+)+$")
SHORT_LINE = re.compile(r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([^\s\[:]+)(?:\[(\d+)\])?: ?(.*)$")
BAD_CURSOR = "This cursor was not given out by this log; start again without one."
NO_SYSLOG = (
    "The Proxmox API token may not read {node}'s system log: it lacks the Sys.Syslog privilege on "
    "/nodes/{node}. Give the token's role Sys.Syslog there (PVEAuditor does not include it) to see the log here."
)


@dataclass(frozen=True)
class LogQuery:
    """What to show: how many entries, from where (a cursor of an earlier page), the time range and filters."""

    limit: int = 100
    cursor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""
    service: str = ""

    def matches(self, entry: LogEntry) -> bool:
        """Whether the entry passes the text and service filters (case does not matter)."""
        if self.q and self.q.lower() not in entry.text.lower():
            return False
        wanted = self.service.lower()
        return (
            not wanted
            or entry.service.lower() in (wanted, f"{wanted}.service")
            or (entry.service.lower().startswith(wanted + "/"))
        )


@dataclass(frozen=True)
class LogEntry:
    """One log line, and its parts when it has journalctl's short form."""

    text: str
    stamp: str = ""
    host: str = ""
    service: str = ""
    pid: int | None = None
    message: str = ""


@dataclass
class LogPage:
    """Entries newest first, the cursor of the next (older) page, where they came from and how much was read."""

    entries: list[LogEntry] = field(default_factory=list)
    next_cursor: str | None = None
    source: str = "journal"
    scanned: int = 0


def parse_line(text: str) -> LogEntry:
    """A log line with its time stamp, host, service (syslog identifier), pid and message split out."""
    found = SHORT_LINE.match(text)
    if found is None:
        return LogEntry(text=text, message=text)
    stamp, host, service, pid, message = found.groups()
    return LogEntry(text, stamp, host, service, int(pid) if pid else None, message)


def encode_position(position: dict[str, Any]) -> str:
    """The opaque cursor of a position in the log."""
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(cursor: str) -> dict[str, Any]:
    """A position this log gave out: {'e': journal cursor, 'k': entries to skip} or {'o': syslog offset}."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Invalid(BAD_CURSOR, field="cursor") from None
    if isinstance(data, dict) and _count(data.get("o")) is not None and set(data) == {"o"}:
        return data
    if (
        isinstance(data, dict)
        and set(data) == {"e", "k"}
        and isinstance(data["e"], str)
        and JOURNAL_CURSOR.match(data["e"])
        and _count(data["k"]) is not None
    ):
        return data
    raise Invalid(BAD_CURSOR, field="cursor")


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class NodeLogService:
    """Reads a node's log a page at a time; says plainly when the token may not read it."""

    def __init__(self, pve: PveClient) -> None:
        self.pve = pve

    async def read(self, node: str, query: LogQuery) -> LogPage:
        """One page of the node's log, newest first; Forbidden when the token lacks Sys.Syslog."""
        await require_node(self.pve, node)
        if query.since and query.until and query.since > query.until:
            raise Invalid("The start of the time range is after its end.", field="since")
        position = decode_position(query.cursor) if query.cursor else {}
        try:
            if "o" in position:
                return await self._syslog(node, query, position["o"])
            try:
                return await self._journal(node, query, position)
            except PveNotFound:
                # Versions before the journal endpoint (PVE 5) answer 501: their syslog has it all.
                return await self._syslog(node, query, 0)
        except PveForbidden:
            raise Forbidden(NO_SYSLOG.format(node=node)) from None

    async def _journal(self, node: str, query: LogQuery, position: dict[str, Any]) -> LogPage:
        page = LogPage()
        end, skip = position.get("e"), position.get("k", 0)
        for _ in range(MAX_BATCHES):
            lines = await self.pve.get(NodePath(node).journal, **journal_params(query, end))
            texts = [str(t) for t in lines or []]
            cursors = [t for t in texts[:1] + texts[-1:] if JOURNAL_CURSOR.match(t)]
            body = texts[1:-1] if len(cursors) == 2 else [t for t in texts if not JOURNAL_CURSOR.match(t)]
            newest_first = body[::-1][skip:]
            for consumed, text in enumerate(newest_first, start=1):
                page.scanned += 1
                entry = parse_line(text)
                if query.matches(entry):
                    page.entries.append(entry)
                if len(page.entries) == query.limit:
                    if consumed < len(newest_first) or (len(body) == BATCH and query.since is None):
                        # The next page ends before this batch's last entry, skipping what was read of it.
                        page.next_cursor = encode_position({"e": cursors[-1], "k": skip + consumed - 1})
                    return page
            if len(cursors) < 2 or len(body) < BATCH or query.since is not None:
                return page  # the start of the journal, or of the range, is reached
            end, skip = cursors[0], 0
        page.next_cursor = encode_position({"e": end, "k": 0})
        return page

    async def _syslog(self, node: str, query: LogQuery, offset: int) -> LogPage:
        params: dict[str, Any] = {"service": query.service or None}
        params.update(since=_syslog_time(query.since), until=_syslog_time(query.until))
        lines: list[str] = []
        while len(lines) < SYSLOG_MAX:
            chunk = await self.pve.get(NodePath(node).syslog, start=len(lines), limit=SYSLOG_PAGE, **params)
            texts = [str(i.get("t", "")) for i in chunk or [] if isinstance(i, dict)]
            lines += [t for t in texts if t != "no content"]
            if len(texts) < SYSLOG_PAGE:
                break
        found = [e for e in map(parse_line, reversed(lines)) if LogQuery(q=query.q).matches(e)]
        end = offset + query.limit
        following = encode_position({"o": end}) if end < len(found) else None
        return LogPage(found[offset:end], following, "syslog", len(lines))


def journal_params(query: LogQuery, end: str | None) -> dict[str, Any]:
    """The journal's parameters: a time range (Proxmox's journal reader takes no count with a start), or the
    last BATCH entries; an end cursor takes the place of `until` (the two conflict)."""
    params: dict[str, Any] = {}
    if query.since is not None:
        params["since"] = int(query.since.timestamp())
    else:
        params["lastentries"] = BATCH
    if end is not None:
        params["endcursor"] = end
    elif query.until is not None:
        params["until"] = int(query.until.timestamp())
    return params


def _syslog_time(when: datetime | None) -> str | None:
    """syslog's 'YYYY-MM-DD HH:MM:SS' (the node's local time; the API server's own is the best guess)."""
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S") if when else None
