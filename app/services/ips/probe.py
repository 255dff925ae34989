"""Checks beyond Proxmox that an address is in use (PROXGATE_IP_PROBE): a ping from Proxgate's own host and its
neighbour table. Bounded: 2 packets and 1 s per address, at most 16 addresses at once in the whole process.

What answers is in use, whoever it is. Silence proves nothing: a host that is off, or drops pings, and has not
talked to this host lately is invisible to both, so the finder still says what none of its checks can see.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path

from app.proxmox.netparse import IPAddress

__all__ = ["CHECKS", "NO_PROBE", "AddressProbe", "ProbeAnswer", "parse_checks"]

CHECKS = ("ping", "neigh")
PACKETS, WAIT_SECONDS, AT_ONCE = 2, 1, 16
# Kill a ping that outlives its own deadline by this much (a stuck DNS-less resolver, a frozen process).
GRACE = 2.0
ARP_TABLE = Path("/proc/net/arp")
# `ip neigh` states of an entry whose link-layer address was seen (not FAILED or INCOMPLETE).
SEEN = {"REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT", "NOARP"}
NEIGH_LINE = re.compile(r"^(\S+) dev (\S+) lladdr (\S+)(?: \S+)* (\S+)$")
NO_PROBE = "Only Proxmox's own view was checked (PROXGATE_IP_PROBE is off)."
BLIND = (
    "Neither check sees a host that is switched off or drops pings and has not talked to Proxgate's host "
    "lately: a stopped server that owns a DHCP reservation or a static address still looks free."
)


def parse_checks(text: str) -> frozenset[str]:
    """'off', 'ping' or 'ping,neigh' as the checks to run; ValueError naming what is wrong."""
    parts = {p.strip().lower() for p in text.split(",") if p.strip()}
    if parts in ({"off"}, set()):
        return frozenset()
    unknown = parts - set(CHECKS)
    if unknown or "ping" not in parts:
        raise ValueError("expected off, ping or ping,neigh")
    return frozenset(parts)


@dataclass(frozen=True)
class ProbeAnswer:
    """An address something outside Proxmox answered for, and how it showed itself."""

    address: IPAddress
    how: str


class AddressProbe:
    """Runs the configured checks; one per app, so its limit of AT_ONCE holds for every request together."""

    def __init__(self, checks: frozenset[str]) -> None:
        self.checks = checks
        self._ping = shutil.which("ping")
        self._ip = shutil.which("ip")
        self._slots = asyncio.Semaphore(AT_ONCE)

    @property
    def enabled(self) -> bool:
        """Whether any check runs."""
        return bool(self.checks)

    def summary(self) -> str:
        """Which checks run, in a sentence, and what none of them can see."""
        if not self.checks:
            return NO_PROBE
        ran = ["a ping from Proxgate's host (2 packets, 1 s)"]
        if "neigh" in self.checks:
            ran.append("its neighbour (ARP/NDP) table")
        missing = (
            "" if self._ping else " The ping command is missing on Proxgate's host, so no ping was sent."
        )
        return f"Checked beyond Proxmox: {' and '.join(ran)}.{missing} {BLIND}"

    async def probe(self, addresses: Sequence[IPAddress]) -> dict[IPAddress, ProbeAnswer]:
        """The addresses that answered a check, each with how; {} when the checks are off."""
        if not self.checks or not addresses:
            return {}
        found: dict[IPAddress, ProbeAnswer] = {}
        if "neigh" in self.checks:
            table = await self._neighbours()
            found.update((a, ProbeAnswer(a, table[a])) for a in addresses if a in table)
        if self._ping:
            answers = await asyncio.gather(*(self._pinged(a) for a in addresses if a not in found))
            found.update((a.address, a) for a in answers if a is not None)
        return found

    async def _pinged(self, address: IPAddress) -> ProbeAnswer | None:
        assert self._ping is not None  # noqa: S101 (probe() calls it only when ping exists)
        command = [self._ping, "-n", "-q", "-c", str(PACKETS), "-i", "0.2", "-W", str(WAIT_SECONDS)]
        command += ["-w", str(WAIT_SECONDS), str(address)]
        async with self._slots:
            process = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            try:
                code = await asyncio.wait_for(process.wait(), WAIT_SECONDS + GRACE)
            except TimeoutError:
                process.kill()
                await process.wait()
                return None
        return ProbeAnswer(address, "answered a ping from Proxgate's host") if code == 0 else None

    async def _neighbours(self) -> dict[IPAddress, str]:
        """Address -> 'seen on eth0 as aa:bb:…' from `ip neigh` (IPv4 and IPv6), else the kernel's ARP table."""
        if self._ip:
            process = await asyncio.create_subprocess_exec(
                self._ip, "neigh", "show", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
            )
            out, _ = await process.communicate()
            return parse_neighbours(out.decode(errors="replace"))
        try:
            return parse_arp(await asyncio.to_thread(ARP_TABLE.read_text))
        except OSError:
            return {}


def parse_neighbours(text: str) -> dict[IPAddress, str]:
    """`ip neigh show` lines of entries whose link-layer address was seen."""
    found: dict[IPAddress, str] = {}
    for line in text.splitlines():
        match = NEIGH_LINE.match(line.strip())
        if match and match.group(4) in SEEN:
            try:
                found[ip_address(match.group(1))] = (
                    f"is in the neighbour table, on {match.group(2)} as {match.group(3)}"
                )
            except ValueError:
                continue
    return found


def parse_arp(text: str) -> dict[IPAddress, str]:
    """/proc/net/arp entries that are complete (flags 0x2) with a hardware address."""
    found: dict[IPAddress, str] = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 6 and int(parts[2], 16) & 0x2 and parts[3] != "00:00:00:00:00:00":
            try:
                found[ip_address(parts[0])] = f"is in the neighbour table, on {parts[5]} as {parts[3]}"
            except ValueError:
                continue
    return found
