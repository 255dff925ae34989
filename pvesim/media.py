"""ISO images and templates fetched by URL: GET /nodes/{node}/query-url-metadata and POST .../download-url as
PVE does them (fakepve answers made-up metadata, and downloads without checking names or checksums).

The web is made up too: every http(s) URL serves a file whose bytes are `payload(url)` (so a test can compute
its checksum), except hosts under `.invalid`, which cannot be resolved, and paths under `/missing/` (404).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from fakepve import PveError, TaskError
from fakepve.routing import split_list
from fakepve.server import USER, ok, params

from pvesim.appliances import store_media
from pvesim.base import DemoBase

ISO_EXT = re.compile(r"\.(?:iso|img)$", re.IGNORECASE)
VZTMPL_EXT = re.compile(r"\.(?:tar|tar\.(?:gz|xz|zst|bz2))$", re.IGNORECASE)
MIME = (
    (".iso", "application/x-iso9660-image"),
    (".img", "application/octet-stream"),
    (".tar.zst", "application/zstd"),
    (".tar.xz", "application/x-xz"),
    (".tar.gz", "application/gzip"),
)
MIB = 1024**2


def payload(url: str) -> bytes:
    """The bytes the made-up web serves at url."""
    return f"pvesim file served at {url}\n".encode()


def file_size(url: str) -> int:
    """How large the file at url says it is: between 64 MiB and about 2 GiB, the same for the same URL."""
    return (64 + zlib.crc32(url.encode()) % 1984) * MIB


def head(url: str) -> dict[str, Any]:
    """query-url-metadata's answer for url, or PVE's error for a URL that does not answer 200."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host.endswith(".invalid"):
        raise PveError(
            500, f"invalid server response: '500 Can't connect to {host}:443 (Name or service not known)'"
        )
    if parts.path.startswith("/missing/"):
        raise PveError(500, "invalid server response: '404 Not Found'")
    name = parts.path.rsplit("/", 1)[-1]
    mimetype = next((m for ext, m in MIME if name.lower().endswith(ext)), "application/octet-stream")
    out: dict[str, Any] = {"size": file_size(url), "mimetype": mimetype}
    if name:
        out["filename"] = name
    return out


def normalize(filename: str) -> str:
    """PVE::Storage::normalize_content_filename: anything but [-a-zA-Z0-9_.] becomes '_'."""
    return re.sub(r"[^-a-zA-Z0-9_.]", "_", filename)


class MediaMixin(DemoBase):
    """Mixin of DemoPve: URL metadata, and downloads by URL that check the name, the storage and the checksum."""

    def _routes_demo_url_metadata(self) -> list[tuple[str, str, Any]]:
        return [("GET", "/nodes/{node}/query-url-metadata", self._demo_url_metadata)]

    async def _demo_url_metadata(self, values: dict[str, Any], user: str) -> dict[str, Any]:
        """A HEAD request to the URL, as the node makes it."""
        return head(values["url"])

    async def _download_url(self, request: web.Request) -> web.Response:
        """POST .../download-url: PVE's permission, storage, content and file name checks, then a `download`
        task that fetches the file, checks its checksum when one is given and stores it."""
        name, store = self._file_storage(request, "download")
        user, node = request[USER], request.match_info["node"]
        self.require(user, "/storage/" + name, "Datastore.AllocateTemplate")
        if not (self.allowed(user, "/", "Sys.Audit") and self.allowed(user, "/", "Sys.Modify")) and not (
            self.allowed(user, f"/nodes/{node}", "Sys.AccessNetwork")
        ):
            raise PveError(403, f"Permission check failed (/nodes/{node}, Sys.AccessNetwork)")
        p = self._verify(request, await params(request))
        self._need_file_storage(store, "can't upload to storage type '{0}', not a file based storage!")
        content, url = p["content"], p["url"]
        if content not in split_list(store.get("content")):
            raise PveError(500, f"storage '{name}' is not configured for content-type '{content}'")
        filename = normalize(p["filename"])
        pattern = ISO_EXT if content == "iso" else VZTMPL_EXT if content == "vztmpl" else None
        if pattern is None:
            raise PveError(
                400,
                "Parameter verification failed.",
                {"content": f"upload content-type '{content}' is not allowed"},
            )
        if not pattern.search(filename):
            raise PveError(400, "Parameter verification failed.", {"filename": "wrong file extension"})
        folder = "template/iso" if content == "iso" else "template/cache"
        target = f"{store.get('path', '/mnt/pve/' + name)}/{folder}/{filename}"

        async def work(log: Any) -> None:
            log(f"downloading {url} to {target}")
            parts = urlsplit(url)
            if (parts.hostname or "").endswith(".invalid") or parts.path.startswith("/missing/"):
                raise TaskError(f"download failed: could not fetch {url}")
            await self.pause(5)
            if p.get("checksum"):
                log("calculating checksum...")
                got = hashlib.new(p["checksum-algorithm"], payload(url)).hexdigest()
                if got != p["checksum"].lower():
                    raise TaskError(f"checksum mismatch: got '{got}' != expect '{p['checksum']}'")
                log("checksum verified")
            log(f"download of '{url}' to '{target}' finished")
            store_media(self, node, name, filename, file_size(url), content)

        return ok(await self.run_task(node, "download", name, user, work))


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], bytes]:
    """The fields of a multipart/form-data body (the file's name as `filename`) and the file's bytes; PVE's 400
    'bad upload request' when it is not one."""
    boundary = content_type.partition("boundary=")[2].strip('"')
    if not content_type.startswith("multipart/form-data") or not boundary:
        raise PveError(400, "bad upload request")
    fields: dict[str, str] = {}
    data = b""
    for part in body.split(b"--" + boundary.encode())[1:-1]:
        head, _, value = part[2:-2].partition(b"\r\n\r\n")
        disposition = head.decode(errors="replace").split("\r\n")[0]
        found = re.search(r'name="([^"]*)"', disposition)
        named = re.search(r'filename="([^"]*)"', disposition)
        if named:
            fields["filename"], data = named.group(1), value
        elif found:
            fields[found.group(1)] = value.decode(errors="replace")
    return fields, data


class UploadMixin(DemoBase):
    """Mixin of DemoPve: POST .../upload read as a stream, with PVE's checks of content, storage, file name and
    checksum (fakepve reads the whole body into memory and checks neither name nor checksum)."""

    async def _upload(self, request: web.Request) -> web.Response:
        """The fields, then the file, hashed as it arrives; an `imgcopy` task stores it or fails on a checksum
        that differs."""
        name, store = self._file_storage(request, "upload")
        user, node = request[USER], request.match_info["node"]
        self.require(user, "/storage/" + name, "Datastore.AllocateTemplate")
        # fakepve's middleware has read the body already (to record the request), so it is parsed from memory.
        fields, data = parse_multipart(request.headers.get("Content-Type", ""), await request.read())
        got = hashlib.new(fields.get("checksum-algorithm") or "sha256", data).hexdigest()
        size = len(data)
        content = fields.get("content", "")
        if content not in ("iso", "vztmpl"):
            raise PveError(400, "Parameter verification failed.", {"content": "value not allowed"})
        self._need_file_storage(store, "can't upload to storage type '{0}'")
        if content not in split_list(store.get("content")):
            raise PveError(500, f"storage '{name}' does not support '{content}' content")
        filename = normalize(fields.get("filename", ""))
        if not (ISO_EXT if content == "iso" else VZTMPL_EXT).search(filename):
            raise PveError(400, "Parameter verification failed.", {"filename": "wrong file extension"})
        self.uploaded = {**fields, "size": size}

        async def work(log: Any) -> None:
            log(f"starting file import from: /var/tmp/pveupload-{abs(hash(filename)):x}")
            log(
                f"target file: {store.get('path', '/mnt/pve/' + name)}/template/{'iso' if content == 'iso' else 'cache'}/{filename}"
            )
            log(f"file size is: {size}")
            expected = fields.get("checksum")
            if expected:
                log("calculating checksum...")
                if got != expected.lower():
                    raise TaskError(f"checksum mismatch: got '{got}' != expect '{expected}'")
                log("checksum verified")
            store_media(self, node, name, filename, size, content)
            log("finished file import successfully")

        return ok(await self.run_task(node, "imgcopy", "", user, work))
