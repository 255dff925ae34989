"""GET /nodes/{node}/journal and /syslog from a made-up journal per node: a few hundred lines of what PVE's
daemons, systemd, sshd, cron, corosync and the kernel print over two days (fakepve answers one sample string).

The journal answers as mini-journalreader prints it: the first item is the cursor of the first entry, the
last item the cursor of the last one, the lines in between in journalctl's short format. A node in
`journal_missing` answers 501, as PVE versions without the journal endpoint do, so clients fall back to syslog.
"""

from __future__ import annotations

import random
import re
import time
import zlib
from dataclasses import dataclass
from typing import Any

from fakepve import PveError

from pvesim.base import DemoBase

# How far back each node's journal starts, and the mean gap between its entries (about 300 lines).
HISTORY = 2 * 86400
MEAN_GAP = 600
CURSOR_INDEX = re.compile(r"(?:^|;)i=([0-9a-f]+)(?:;|$)")
SYSLOG_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Entry:
    """One journal entry: when (epoch seconds), the syslog identifier, its pid and the message."""

    when: float
    ident: str
    pid: int | None
    message: str


def _messages(node: str, rng: random.Random) -> tuple[str, int | None, str]:
    """One plausible (identifier, pid, message) of a PVE node."""
    vmid = rng.choice((100, 101, 102, 105, 110, 120))
    peer = f"10.0.0.{rng.randint(2, 60)}"
    choices = (
        (
            "pvedaemon",
            1402,
            f"<root@pam> starting task UPID:{node}:000{rng.randint(10000, 99999)}:vzstart:{vmid}:",
        ),
        (
            "pvedaemon",
            1402,
            f"<root@pam> end task UPID:{node}:000{rng.randint(10000, 99999)}:vzstart:{vmid}: OK",
        ),
        ("pveproxy", 1511, f"worker {rng.randint(2000, 9000)} finished"),
        ("pveproxy", 1511, "starting 1 worker(s)"),
        ("pvestatd", 1388, "status update time (5.101 seconds)"),
        (
            "pvestatd",
            1388,
            f"VM {vmid} qmp command failed - VM {vmid} qmp command 'query-proxmox-support' failed",
        ),
        ("systemd", 1, "Starting pve-daily-update.service - Daily PVE download activities..."),
        ("systemd", 1, "pve-daily-update.service: Deactivated successfully."),
        ("systemd", 1, "Finished pve-daily-update.service - Daily PVE download activities."),
        (
            "sshd",
            rng.randint(3000, 60000),
            f"Accepted publickey for root from {peer} port {rng.randint(30000, 60000)} ssh2",
        ),
        (
            "sshd",
            rng.randint(3000, 60000),
            f"Connection closed by authenticating user root {peer} port 22 [preauth]",
        ),
        (
            "CRON",
            rng.randint(3000, 60000),
            "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
        ),
        ("pmxcfs", 1201, "[status] notice: received log"),
        ("pmxcfs", 1201, "[dcdb] notice: data verification successful"),
        ("corosync", 1290, "[KNET  ] link: host: 2 link: 0 is up"),
        ("corosync", 1290, "[TOTEM ] Retransmit List: 1f 20"),
        ("kernel", None, f"vmbr0: port 2(tap{vmid}i0) entered forwarding state"),
        ("kernel", None, f"fwbr{vmid}i0: port 1(fwln{vmid}i0) entered blocking state"),
        ("postfix/pickup", 1620, f"{rng.randint(0x10000, 0xFFFFF):X}: uid=0 from=<root>"),
        ("chronyd", 902, "Selected source 162.159.200.1 (2.debian.pool.ntp.org)"),
        (
            "smartd",
            911,
            "Device: /dev/sda [SAT], SMART Usage Attribute: 194 Temperature_Celsius changed from 36 to 37",
        ),
        ("pve-ha-lrm", 1700, f"successfully acquired lock 'ha_agent_{node}_lock'"),
        ("zed", 1050, "eid=12 class=scrub_finish pool='rpool'"),
        ("pvescheduler", rng.randint(3000, 60000), "INFO: Starting Backup of VM 100 (qemu)"),
    )
    return rng.choice(choices)


class JournalMixin(DemoBase):
    """Mixin of DemoPve: a journal per node that keeps growing with time, read as PVE reads it."""

    def _node_journal(self, node: str) -> list[Entry]:
        """The node's journal, oldest first, made up to now (same node, same lines)."""
        journals: dict[str, list[Entry]] = self.__dict__.setdefault("journals", {})
        entries = journals.setdefault(node, [])
        rngs: dict[str, random.Random] = self.__dict__.setdefault("journal_rngs", {})
        rng = rngs.setdefault(node, random.Random(node))  # noqa: S311 - a repeatable made-up log, not a secret
        # The time of the node's next entry, drawn once, so lines never appear in the past.
        upcoming: dict[str, float] = self.__dict__.setdefault("journal_next", {})
        when = upcoming.get(node, time.time() - HISTORY)
        while when <= time.time():
            entries.append(Entry(when, *_messages(node, rng)))
            when += rng.expovariate(1 / MEAN_GAP)
        upcoming[node] = when
        return entries

    def journal_append(self, node: str, ident: str, message: str, pid: int | None = None) -> None:
        """Log a line now on the node (as a daemon would), for tests and the demo."""
        self._node_journal(node).append(Entry(time.time(), ident, pid, message))

    def _routes_demo_journal(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", "/nodes/{node}/journal", self._demo_journal),
            ("GET", "/nodes/{node}/syslog", self._demo_syslog),
        ]

    async def _demo_journal(self, values: dict[str, Any], user: str) -> list[str]:
        """mini-journalreader's answer: [first cursor, lines..., last cursor], or [] when nothing matched."""
        node = values["node"]
        if node in self.__dict__.get("journal_missing", set()):
            raise PveError(501, f"Method 'GET /nodes/{node}/journal' not implemented")
        entries = list(enumerate(self._node_journal(node)))
        if "startcursor" in values:
            entries = [(i, e) for i, e in entries if i > _cursor_index(values["startcursor"])]
        if "endcursor" in values:
            entries = [(i, e) for i, e in entries if i < _cursor_index(values["endcursor"])]
        if "since" in values:
            entries = [(i, e) for i, e in entries if e.when >= values["since"]]
        if "until" in values:
            entries = [(i, e) for i, e in entries if e.when <= values["until"]]
        if values.get("lastentries"):
            entries = entries[-values["lastentries"] :]
        if not entries:
            return []
        lines = [short_line(node, e) for _i, e in entries]
        return [cursor(node, *entries[0]), *lines, cursor(node, *entries[-1])]

    async def _demo_syslog(self, values: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """The log as numbered lines from `start`, oldest first ('no content' when empty), as dump_journal."""
        node = values["node"]
        entries = self._node_journal(node)
        if values.get("service"):
            entries = [e for e in entries if e.ident.split("/")[0] == values["service"]]
        if values.get("since"):
            entries = [e for e in entries if e.when >= _syslog_time(values["since"])]
        if values.get("until"):
            entries = [e for e in entries if e.when <= _syslog_time(values["until"])]
        start, limit = values.get("start", 0), values.get("limit") or 50
        lines = [{"n": n + 1, "t": short_line(node, e)} for n, e in enumerate(entries)]
        return lines[start : start + limit] or [{"n": 1, "t": "no content"}]


def short_line(node: str, entry: Entry) -> str:
    """journalctl -o short: 'Dec 06 12:00:01 pve1 pvedaemon[1402]: message'."""
    stamp = time.strftime("%b %d %H:%M:%S", time.localtime(entry.when))
    pid = f"[{entry.pid}]" if entry.pid is not None else ""
    return f"{stamp} {node} {entry.ident}{pid}: {entry.message}"


def cursor(node: str, index: int, entry: Entry) -> str:
    """A journal cursor in systemd's shape, its `i` the entry's place in the node's journal."""
    seq = f"{zlib.crc32(node.encode()):08x}"
    usec = int(entry.when * 1_000_000)
    return f"s={seq}c6d245ac966e45dc8cb7892e;i={index:x};b=8afc91f4683c45f9a4f64520fda182c1;m={usec:x};t={usec:x};x={index * 7919:x}"


def _cursor_index(text: str) -> int:
    """The entry a cursor of this journal points at; PVE's journalreader fails on a cursor it cannot parse."""
    found = CURSOR_INDEX.search(text)
    if found is None:
        raise PveError(500, "Failed to seek to cursor: Invalid argument")
    return int(found.group(1), 16)


def _syslog_time(text: str) -> float:
    """An epoch from syslog's 'YYYY-MM-DD[ HH:MM[:SS]]'."""
    for pattern in (SYSLOG_TIME, "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return time.mktime(time.strptime(text, pattern))
        except ValueError:
            continue
    return 0.0
