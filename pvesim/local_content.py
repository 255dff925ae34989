"""Node-local storage content: fakepve keeps one volume list per storage and shows it on every node."""

from __future__ import annotations

from typing import Any

from fakepve.routing import split_list

from pvesim.base import DemoBase


class LocalContentMixin(DemoBase):
    """Mixin of DemoPve: a non-shared storage lists, on each node, only the guest volumes that live there.

    In PVE `local` on pve1 and `local` on pve2 are different disks. The demo keeps the volumes of all nodes
    in one list, so a volume owned by a guest names its node: the node vzdump ran on for the archives it
    writes, else the owner guest's current node (the first node for a guest that is gone). The seed's ISO
    images and templates belong to no guest and show on every node, as if each node had its own copy; one
    downloaded or uploaded later names the node that fetched it, and shows there only.
    """

    async def _content_list(self, v: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """GET /nodes/{node}/storage/{storage}/content without other nodes' guest volumes."""
        items: list[dict[str, Any]] = await super()._content_list(v, user)
        store = self.storages.get(v["storage"], {})
        if store.get("shared"):
            return items
        volumes = store.get("volumes", {})
        prefix = v["storage"] + ":"
        return [
            item
            for item in items
            if (
                item.get("vmid") is None
                and volumes.get(item["volid"][len(prefix) :], {}).get("node", v["node"]) == v["node"]
            )
            or (
                item.get("vmid") is not None
                and self.volume_node(volumes.get(item["volid"][len(prefix) :], {}), item["vmid"]) == v["node"]
            )
        ]

    def _guest_volumes(self, guests: Any, name: str) -> dict[str, Any]:
        """Guest disks only on storages that hold disks: PVE lists only a storage's enabled content types, and
        walking every guest's config for each backup storage's listing was most of the demo's work at 10,000 guests."""
        allowed = set(split_list(self.storages.get(name, {}).get("content")))
        if not allowed & {"images", "rootdir"}:
            return {}
        found: dict[str, Any] = super()._guest_volumes(guests, name)
        return found

    def volume_node(self, volume: dict[str, Any], vmid: Any) -> str:
        """The node a guest-owned volume of a local storage lives on."""
        if volume.get("node"):
            return str(volume["node"])
        guest = self.guest(int(vmid))
        return str(guest.node) if guest is not None else sorted(self.nodes)[0]

    def _dump_save(self, job: Any, dump: Any, log: Any) -> None:
        """vzdump's archive lands on the node the job ran on when the storage is local."""
        super()._dump_save(job, dump, log)
        store = self.storages[job.storage]
        record = store.get("volumes", {}).get(dump.volname)
        if record is not None and not store.get("shared"):
            record["node"] = job.node
