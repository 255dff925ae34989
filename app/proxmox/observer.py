"""The metrics hook of the PVE client, and the low-cardinality path templates it labels requests with."""

from __future__ import annotations

from typing import Protocol

__all__ = ["NullObserver", "UpstreamObserver", "path_template"]


class UpstreamObserver(Protocol):
    """Receives one call per upstream request attempt and per cache lookup (e.g. to feed Prometheus)."""

    def request_done(self, method: str, path_template: str, status: str, seconds: float) -> None:
        """An attempt ended: HTTP status ('200', '595'), or 'timeout', 'connect_error', 'tls_error', ..."""

    def cache_lookup(self, cache: str, hit: bool) -> None:
        """A cached read: hit is False only for the caller whose lookup started an upstream request."""


class NullObserver:
    """An observer that ignores everything."""

    def request_done(self, method: str, path_template: str, status: str, seconds: float) -> None:
        """Ignore the request."""

    def cache_lookup(self, cache: str, hit: bool) -> None:
        """Ignore the lookup."""


# The segment after each of these names one object; it becomes the placeholder.
PLACEHOLDERS = {
    "nodes": "{node}",
    "qemu": "{vmid}",
    "lxc": "{vmid}",
    "tasks": "{upid}",
    "storage": "{storage}",
    "snapshot": "{snapname}",
    "pools": "{poolid}",
    "users": "{userid}",
    "token": "{tokenid}",
    "groups": "{groupid}",
    "roles": "{roleid}",
    "domains": "{realm}",
    "rules": "{pos}",
    "resources": "{sid}",
    "backup": "{id}",
    "replication": "{id}",
    "network": "{iface}",
    "services": "{service}",
    "ipset": "{name}",
    "aliases": "{name}",
}


def path_template(path: str) -> str:
    """The path with object names as placeholders: /nodes/pve1/qemu/100 -> /nodes/{node}/qemu/{vmid}."""
    segments = [s for s in path.split("?", 1)[0].split("/") if s]
    out: list[str] = []
    for seg in segments:
        prev = out[-1] if out else ""
        if prev == "content":
            # A volume id such as local:iso/debian.iso may span segments when it is not %-encoded.
            out.append("{volume}")
            break
        if seg.startswith("UPID:"):
            out.append("{upid}")
        elif prev in PLACEHOLDERS:
            out.append(PLACEHOLDERS[prev])
        elif seg.isdigit():
            out.append("{id}")
        else:
            out.append(seg)
    return "/" + "/".join(out)
