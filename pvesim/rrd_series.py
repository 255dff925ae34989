"""The demo's metric history: a daily rhythm, quieter weekends, repeatable noise, and the peaks MAX keeps.

Every value is a pure function of (what is measured, the bucket's time, its length, AVERAGE or MAX), so the
same question gets the same answer, and MAX is never below AVERAGE for the same bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DAY = 86400
MASK64 = (1 << 64) - 1
# The rhythm's low and high hours (UTC): people sleep, then work.
QUIET_HOUR, BUSY_HOUR = 4, 16
# Seconds over which load drifts from one level to the next.
WAVE = 2400


def unit_noise(key: int, t: int, salt: int) -> float:
    """A repeatable number in [0, 1) for (key, t, salt): splitmix64 of their mix."""
    h = (key * 0x9E3779B97F4A7C15 + t * 0xBF58476D1CE4E5B9 + salt * 0x94D049BB133111EB) & MASK64
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & MASK64
    return ((h ^ (h >> 31)) & 0xFFFFFFFF) / 2**32


def drift(key: int, t: int, salt: int, period: int) -> float:
    """Noise in [0, 1) that glides from one value to the next over `period` seconds."""
    knot, into = divmod(t, period)
    weight = (1 - math.cos(math.pi * into / period)) / 2
    a, b = unit_noise(key, knot, salt), unit_noise(key, knot + 1, salt)
    return a + (b - a) * weight


def rhythm(t: int) -> float:
    """0 at the quiet hour, 1 at the busy hour of a weekday; weekends reach 70 %."""
    hours = (t % DAY) / 3600
    daily = 0.5 - 0.5 * math.cos(2 * math.pi * (hours - QUIET_HOUR) / (2 * (BUSY_HOUR - QUIET_HOUR)))
    weekday = (t // DAY + 3) % 7  # 1 January 1970 was a Thursday; Monday is 0
    return daily * (0.7 if weekday >= 5 else 1.0)


@dataclass(frozen=True)
class Sampler:
    """Values for one bucket: `step` seconds long, averaged (AVERAGE) or its highest minute (MAX)."""

    key: int
    step: int
    peak: bool

    def busy(self, t: int, base: float, swing: float = 0.7) -> float:
        """base scaled by the rhythm: (1 - swing) of it at night, all of it at the busy hour."""
        return base * (1 - swing + swing * rhythm(t))

    def vary(self, t: int, value: float, salt: int, spread: float = 0.3) -> float:
        """value with waves over the hour and minute jitter, both evening out over longer buckets;
        MAX adds the bucket's peak on top."""
        calm = math.sqrt(60 / self.step)
        waves = min(1.0, math.sqrt(WAVE / self.step)) * (2 * drift(self.key, t, salt, WAVE) - 1)
        jitter = calm * (2 * unit_noise(self.key, t, salt) - 1)
        out = value * (1 + spread * (0.7 * waves + 0.3 * jitter))
        if self.peak:
            out += value * spread * (1.5 - calm) * unit_noise(self.key, t, salt + 1000)
        return max(out, 0.0)

    def trait(self, salt: int, low: float, high: float) -> float:
        """A fixed trait of the measured thing (its usual load, say), between low and high."""
        return low + (high - low) * unit_noise(self.key, 0, salt)


@dataclass(frozen=True)
class GuestShape:
    """What a guest's history is made from: its sizes, and when it ran."""

    vmid: int
    qemu: bool
    cpus: float
    maxmem: int
    maxdisk: int
    # (start, end) of the spans it ran; end None while it still runs.
    runs: tuple[tuple[float, float | None], ...]

    def running_at(self, t: int) -> bool:
        """True if the guest ran at t."""
        return any(start <= t and (end is None or t < end) for start, end in self.runs)


def guest_point(g: GuestShape, s: Sampler, t: int) -> dict[str, float]:
    """One bucket of pve-vm-9.0: sizes always; usage only while it ran (PVE leaves them undefined otherwise)."""
    disk = 0 if g.qemu else g.maxdisk * s.trait(5, 0.2, 0.7) * (1 - 0.1 * ((-t) % (90 * DAY)) / (90 * DAY))
    out: dict[str, float] = {"maxcpu": g.cpus, "maxmem": g.maxmem, "maxdisk": g.maxdisk, "disk": int(disk)}
    if not g.running_at(t):
        return out
    cpu = min(1.0, s.vary(t, s.busy(t, s.trait(1, 0.02, 0.4)), 1))
    mem = min(g.maxmem, s.vary(t, g.maxmem * s.busy(t, s.trait(2, 0.35, 0.8), 0.15), 2, 0.05))
    net = s.busy(t, 2 ** s.trait(3, 11, 21))
    io = s.busy(t, 2 ** s.trait(4, 12, 22), 0.5)
    out.update(
        cpu=round(cpu, 6),
        mem=int(mem),
        netin=round(s.vary(t, net, 3, 0.6), 2),
        netout=round(s.vary(t, net * 0.6, 4, 0.6), 2),
        diskread=round(s.vary(t, io * 0.4, 5, 0.8), 2),
        diskwrite=round(s.vary(t, io, 6, 0.8), 2),
        pressurecpusome=round(cpu * 4 * unit_noise(g.vmid, t, 7), 2),
        pressurecpufull=round(cpu * 2 * unit_noise(g.vmid, t, 8), 2),
        pressureiosome=round(io / 2**22 * unit_noise(g.vmid, t, 9), 2),
        pressureiofull=round(io / 2**23 * unit_noise(g.vmid, t, 10), 2),
        pressurememorysome=0.0,
        pressurememoryfull=0.0,
    )
    if g.qemu:
        # The QEMU process's own memory on the host, over the guest's view (PVE 9's memhost).
        out["memhost"] = int(mem * 1.03 + 96 * 2**20)
    return out


@dataclass(frozen=True)
class NodeShape:
    """A node's sizes, from what the fake says about it now."""

    maxcpu: int
    cpu: float
    memtotal: int
    memused: int
    roottotal: int
    rootused: int
    swaptotal: int


def node_point(n: NodeShape, s: Sampler, t: int) -> dict[str, float]:
    """One bucket of pve-node-9.0: busier by day, backups (02:00) show as IO delay."""
    cpu = min(1.0, s.vary(t, s.busy(t, n.cpu * 1.4, 0.6), 1))
    backup = 1.0 if 2 <= (t % DAY) / 3600 < 3 else 0.0
    iowait = s.vary(t, 0.002 + 0.02 * backup, 2, 0.5)
    memused = s.vary(t, n.memused * (0.92 + 0.1 * rhythm(t)), 3, 0.02)
    net = s.busy(t, 6e6)
    return {
        "loadavg": round(s.vary(t, cpu * n.maxcpu * 0.8 + 4 * backup, 4, 0.2), 2),
        "maxcpu": n.maxcpu,
        "cpu": round(cpu, 6),
        "iowait": round(iowait, 6),
        "memtotal": n.memtotal,
        "memused": int(memused),
        "swaptotal": n.swaptotal,
        "swapused": int(s.vary(t, 180 * 2**20, 5, 0.3)),
        "roottotal": n.roottotal,
        "rootused": int(n.rootused * (1 - 0.15 * ((-t) % (30 * DAY)) / (30 * DAY))),
        "netin": round(s.vary(t, net, 6, 0.5), 2),
        "netout": round(s.vary(t, net * 0.7, 7, 0.5), 2),
        "memavailable": int(n.memtotal - memused * 1.05),
        "arcsize": 0,
        "pressurecpusome": round(cpu * 3, 2),
        "pressureiosome": round(iowait * 100 * 0.8, 2),
        "pressureiofull": round(iowait * 100 * 0.5, 2),
        "pressurememorysome": 0.0,
        "pressurememoryfull": 0.0,
    }


def storage_point(total: int, used: int, s: Sampler, t: int, now: float) -> dict[str, float]:
    """One bucket of pve-storage-9.0: the use a year ago was 60 % of today's, growing a little each night."""
    days_ago = max(0.0, now - t) / DAY
    grown = used * (1 - 0.4 * min(days_ago, 365) / 365)
    nightly = used * 0.004 * ((t % DAY) / DAY)
    value = min(total, s.vary(t, grown + nightly, 1, 0.002))
    return {"total": total, "used": int(value)}
