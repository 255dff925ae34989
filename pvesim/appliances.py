"""GET and POST /nodes/{node}/aplinfo: Proxmox's appliance index (system templates and TurnKey appliances, as
PVE::APLInfo loads them from aplinfo.dat) and its download onto a storage as a `download` task (fakepve answers
one made-up object and a task that stores nothing)."""

from __future__ import annotations

import hashlib
from typing import Any

from fakepve import PveError
from fakepve.routing import split_list

from pvesim.base import DemoBase

SOURCE = "http://download.proxmox.com/images"
MAINTAINER = "Proxmox Support Team <support@proxmox.com>"
INFOPAGE = "https://pve.proxmox.com/wiki/Linux_Container#pct_supported_distributions"
# (package, version, os, headline, template file): what aplinfo.dat lists of Proxmox's system templates.
SYSTEM = (
    (
        "debian-12-standard",
        "12.7-1",
        "debian-12",
        "Debian 12 Bookworm (standard)",
        "debian-12-standard_12.7-1_amd64.tar.zst",
    ),
    (
        "debian-13-standard",
        "13.1-2",
        "debian-13",
        "Debian 13 Trixie (standard)",
        "debian-13-standard_13.1-2_amd64.tar.zst",
    ),
    (
        "ubuntu-24.04-standard",
        "24.04-2",
        "ubuntu-24.04",
        "Ubuntu 24.04 Noble (standard)",
        "ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
    ),
    (
        "ubuntu-22.04-standard",
        "22.04-1",
        "ubuntu-22.04",
        "Ubuntu 22.04 Jammy (standard)",
        "ubuntu-22.04-standard_22.04-1_amd64.tar.zst",
    ),
    (
        "alpine-3.20-default",
        "20240908",
        "alpine-3.20",
        "Alpine Linux 3.20 (default)",
        "alpine-3.20-default_20240908_amd64.tar.xz",
    ),
    (
        "alpine-3.22-default",
        "20250617",
        "alpine-3.22",
        "Alpine Linux 3.22 (default)",
        "alpine-3.22-default_20250617_amd64.tar.xz",
    ),
    (
        "rockylinux-9-default",
        "20240912",
        "rockylinux-9",
        "Rocky Linux 9 (default)",
        "rockylinux-9-default_20240912_amd64.tar.xz",
    ),
    (
        "almalinux-9-default",
        "20240911",
        "almalinux-9",
        "AlmaLinux 9 (default)",
        "almalinux-9-default_20240911_amd64.tar.xz",
    ),
    (
        "fedora-42-default",
        "20250428",
        "fedora-42",
        "Fedora 42 (default)",
        "fedora-42-default_20250428_amd64.tar.xz",
    ),
    (
        "archlinux-base",
        "20240911-1",
        "archlinux",
        "ArchLinux base image",
        "archlinux-base_20240911-1_amd64.tar.zst",
    ),
    (
        "opensuse-15.6-default",
        "20240910",
        "opensuse-15.6",
        "openSUSE Leap 15.6 (default)",
        "opensuse-15.6-default_20240910_amd64.tar.xz",
    ),
    (
        "centos-9-stream-default",
        "20240828",
        "centos-9",
        "CentOS Stream 9 (default)",
        "centos-9-stream-default_20240828_amd64.tar.xz",
    ),
)
# (package, version, headline): TurnKey Linux appliances, built on Debian 12.
TURNKEY = (
    ("turnkey-wordpress", "18.2-1", "TurnKey WordPress"),
    ("turnkey-nextcloud", "18.1-1", "TurnKey Nextcloud"),
    ("turnkey-gitea", "18.0-1", "TurnKey Gitea"),
    ("turnkey-postgresql", "18.1-1", "TurnKey PostgreSQL"),
    ("turnkey-mediaserver", "18.0-1", "TurnKey Media Server"),
    ("turnkey-openvpn", "18.0-1", "TurnKey OpenVPN"),
)
# Bytes a downloaded template takes on the storage.
TEMPLATE_SIZE = 128 * 1024**2
TEMPLATE_FORMATS = {"zst": "tzst", "xz": "txz", "gz": "tgz"}


def appliance_index() -> dict[str, dict[str, Any]]:
    """Every appliance by its template file name, with the keys PVE::APLInfo gives each."""
    index: dict[str, dict[str, Any]] = {}
    for package, version, os_name, headline, template in SYSTEM:
        section = "system"
        index[template] = _entry(package, version, os_name, headline, template, section, INFOPAGE)
        index[template]["description"] = f"{headline.split(' (')[0]} LXC image ({os_name}, {version})"
    for package, version, headline in TURNKEY:
        template = f"debian-12-{package}_{version}_amd64.tar.gz"
        entry = _entry(package, version, "debian-12", headline, template, "turnkeylinux", "")
        entry["description"] = f"{headline}: a ready-made appliance by TurnKey Linux, on Debian 12"
        entry["infopage"] = f"https://www.turnkeylinux.org/{package.removeprefix('turnkey-')}"
        entry["maintainer"] = "Anton Pyrogovskyi <anton@turnkeylinux.org>"
        entry["source"] = "https://releases.turnkeylinux.org/pve"
        entry["location"] = f"https://releases.turnkeylinux.org/pve/{template}"
        index[template] = entry
    return index


def _entry(
    package: str, version: str, os_name: str, headline: str, template: str, section: str, infopage: str
) -> dict[str, Any]:
    return {
        "package": package,
        "version": version,
        "os": os_name,
        "headline": headline,
        "template": template,
        "section": section,
        "type": "lxc",
        "architecture": "amd64",
        "maintainer": MAINTAINER,
        "source": SOURCE,
        "location": f"{SOURCE}/{section}/{template}",
        "infopage": infopage,
        "sha512sum": hashlib.sha512(template.encode()).hexdigest(),
    }


def store_media(pve: Any, node: str, storage: str, filename: str, size: int, content: str) -> None:
    """fakepve's store_file, on the node that fetched it when the storage is local, with a template's format
    named as PVE names it by its archive (tzst, txz, tgz)."""
    pve.store_file(storage, filename, size, content)
    record = pve.storages[storage]["volumes"][f"{content}/{filename}"]
    if not pve.storages[storage].get("shared"):
        record["node"] = node
    if content == "vztmpl":
        record["format"] = TEMPLATE_FORMATS.get(filename.rsplit(".", 1)[-1], record["format"])


class AppliancesMixin(DemoBase):
    """Mixin of DemoPve: the appliance index, and its downloads landing on a storage as vztmpl volumes."""

    def _routes_demo_aplinfo(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", "/nodes/{node}/aplinfo", self._demo_aplinfo),
            ("POST", "/nodes/{node}/aplinfo", self._demo_apl_download),
        ]

    async def _demo_aplinfo(self, values: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """The index, in no particular order (PVE walks a hash)."""
        return [dict(entry) for entry in appliance_index().values()]

    async def _demo_apl_download(self, values: dict[str, Any], user: str) -> str:
        """apl_download: the template must be in the index and the storage must take templates; the worker
        stores the file, named as the template, under the storage's vztmpl content."""
        template, storage, node = values["template"], values["storage"], values["node"]
        appliance = appliance_index().get(template)
        if appliance is None:
            raise PveError(400, "Parameter verification failed.", {"template": "no such template"})
        store = self._check_enabled(storage, node)
        if "vztmpl" not in split_list(store.get("content")):
            raise PveError(500, f"storage '{storage}' does not support templates")

        target = f"{store.get('path', '/mnt/pve/' + storage)}/template/cache/{template}"

        async def work(log: Any) -> None:
            log(f"downloading {appliance['location']} to {target}")
            await self.pause(3)
            log("calculating checksum...OK, checksum verified")
            log(f"download of '{appliance['location']}' to '{target}' finished")
            store_media(self, node, storage, template, TEMPLATE_SIZE, "vztmpl")
            return None

        upid: str = await self.run_task(node, "download", template, user, work)
        return upid
