"""What a node learns of a URL before downloading from it (GET /nodes/{node}/query-url-metadata): the file's
name, size and type, as its server says them."""

from __future__ import annotations

from dataclasses import dataclass

from app.operations.media import query_url
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, PveForbidden
from app.services.cluster.nodes import require_node
from app.services.errors import Invalid


@dataclass(frozen=True)
class UrlMetadata:
    """The URL, and what its server said of the file (each None when it did not say)."""

    url: str
    filename: str | None
    size: int | None
    mimetype: str | None


async def url_metadata(pve: PveClient, node: str, url: str, verify: bool = True) -> UrlMetadata:
    """The node's HEAD request to the URL; Invalid (field 'url') when the node cannot fetch it."""
    await require_node(pve, node)
    if not url.startswith(("http://", "https://")):
        raise Invalid("Give an http:// or https:// URL.", field="url")
    try:
        meta = await query_url(pve, node, url, verify)
    except PveForbidden:
        raise
    except PveError as exc:
        raise Invalid(f"{node} cannot fetch {url}: {exc.message}", field="url") from None
    size = meta.get("size")
    return UrlMetadata(
        url,
        str(meta["filename"]) if meta.get("filename") else None,
        int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
        str(meta["mimetype"]) if meta.get("mimetype") else None,
    )
