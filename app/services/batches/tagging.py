"""Bulk tagging: tags to add and remove, checked as Proxmox checks them, turned into one `configure` per guest
with that guest's own new `tags` and the config digest they were computed from."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any

from app.proxmox.client import PveClient
from app.proxmox.errors import PveError
from app.proxmox.models import split_list
from app.proxmox.paths import GuestPath
from app.services import audit
from app.services.batches.checks import MAX_ITEMS
from app.services.batches.store import BatchItem
from app.services.errors import Invalid, UpstreamRefused
from app.services.pipeline import ActionService

TAG = "tag"
TAG_LABEL = "Tag"
# pve-common's PVE_TAG_RE (format pve-tag, matched case-insensitively).
VALID_TAG = re.compile(r"^[a-z0-9_][a-z0-9_\-+.]*$", re.IGNORECASE)
FIELDS = ("add", "remove")
MAX_TAGS = 50
# Guests whose config is read at once.
READS = 8
UNCHANGED = "Nothing to change: the guest's tags are already so (no call was made)."


def requested(params: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(add, remove) from a bulk tag request; Invalid naming the field."""
    unknown = sorted(set(params) - set(FIELDS))
    if unknown:
        raise Invalid(f"{unknown[0]}: tagging takes only add and remove.", field=unknown[0])
    add, remove = (tag_list(params.get(name), name) for name in FIELDS)
    if not add and not remove:
        raise Invalid("add: name at least one tag to add or remove.", field="add")
    both = {t.lower() for t in add} & {t.lower() for t in remove}
    if both:
        raise Invalid(f"remove: {sorted(both)[0]} is both added and removed.", field="remove")
    return add, remove


def tag_list(value: Any, field: str) -> list[str]:
    """A list of tags, or Proxmox's list text ('a;b', 'a, b'); each checked against Proxmox's tag format."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple) and not all(isinstance(v, str) for v in value):
        raise Invalid(f"{field}: tags are text.", field=field)
    if not isinstance(value, str | list | tuple):
        raise Invalid(f"{field}: a list of tags.", field=field)
    tags = [t for v in ([value] if isinstance(value, str) else value) for t in split_list(v)]
    if len(tags) > MAX_TAGS:
        raise Invalid(f"{field}: at most {MAX_TAGS} tags.", field=field)
    for tag in tags:
        if not VALID_TAG.match(tag):
            raise Invalid(
                f"{field}: invalid tag '{tag[:64]}': letters, digits, _ - + . (not first: - + .).",
                field=field,
            )
    return list(dict.fromkeys(tags))


def retagged(current: Sequence[str], add: Sequence[str], remove: Sequence[str]) -> list[str]:
    """The guest's tags after the change; Proxmox compares tags without regard to case, as we do."""
    gone = {t.lower() for t in remove}
    kept = [t for t in current if t.lower() not in gone]
    have = {t.lower() for t in kept}
    return kept + [t for t in add if t.lower() not in have]


async def tag_items(
    pve: PveClient, vmids: Sequence[int], add: Sequence[str], remove: Sequence[str]
) -> list[BatchItem]:
    """One `configure` item per guest with its new tags and digest; a guest whose tags stay as they are is an
    item already succeeded (nothing is sent for it). Invalid naming `vmids` for a guest the cluster lacks."""
    try:
        view = await pve.cluster_resources()
        missing = [v for v in vmids if view.guest(v) is None]
        if missing:  # made since the view was read? read it once more
            view = await pve.resources_holding(missing[0])
    except PveError as exc:
        raise UpstreamRefused(f"Proxmox could not be read: {exc}") from None
    missing = [v for v in vmids if view.guest(v) is None]
    if missing:
        raise Invalid(f"There is no guest {missing[0]}.", field="vmids")
    gate = asyncio.Semaphore(READS)

    async def item(vmid: int) -> BatchItem:
        guest = view.guest(vmid)
        assert guest is not None  # noqa: S101 (checked above)
        async with gate:
            try:
                config = await pve.get(GuestPath(guest.node, guest.type, vmid).config) or {}
            except PveError as exc:
                raise UpstreamRefused(f"Guest {vmid}: its config could not be read: {exc}") from None
        current = split_list(config.get("tags"))
        new = retagged(current, add, remove)
        params: dict[str, Any] = {"digest": str(config.get("digest") or "")} if config.get("digest") else {}
        if new == current:
            return BatchItem(vmid, {**params, "tags": ";".join(current)}, done=UNCHANGED)
        if not new:
            return BatchItem(vmid, {**params, "delete": "tags"})
        return BatchItem(vmid, {**params, "tags": ";".join(new)})

    return list(await asyncio.gather(*(item(v) for v in vmids)))


async def as_configure(
    actions: ActionService, source: audit.Actor, items: Sequence[BatchItem], meta: dict[str, Any] | None
) -> tuple[str, list[BatchItem], dict[str, Any]]:
    """A tag request as `configure` items: the tags checked first, then each guest's config read (the role is
    checked with the items, as for every batch); a refusal is on the record."""
    try:
        if len(items) > MAX_ITEMS:
            raise Invalid(f"At most {MAX_ITEMS} guests at once.", field="vmids")
        add, remove = requested(items[0].params if items else {})
        tagged = await tag_items(actions.pve, [i.vmid for i in items], add, remove)
    except Invalid as exc:
        asked = {"vmids": ",".join(str(i.vmid) for i in items)[:500]}
        await actions.record_refusal(source, "configure", None, asked, exc.message)
        raise
    return "configure", tagged, {**(meta or {}), "tag": {"add": add, "remove": remove}}
