"""The multipart body of an upload to a PVE storage: the form fields, then the file streamed from disk."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any, BinaryIO

import aiohttp
from aiohttp.abc import AbstractStreamWriter
from aiohttp.hdrs import CONTENT_TYPE

from app.proxmox.wire import form_value

__all__ = ["FilePart", "upload_body"]

# Bytes read from disk and handed to the connection at a time.
CHUNK = 256 * 1024


class FilePart(aiohttp.payload.Payload):
    """A file read from disk chunk by chunk as it is sent; each chunk must go out within `wait` seconds.

    aiohttp has no write timeout, and its read timeout starts once the body is sent: without this, a PVE that
    stops reading would hold the upload forever.
    """

    def __init__(self, file: BinaryIO, filename: str, wait: float) -> None:
        super().__init__(file, filename=filename)
        self._file, self._wait = file, wait
        # Known up front, so the request carries a Content-Length: PVE refuses a chunked upload (501).
        self._size = os.fstat(file.fileno()).st_size - file.tell()
        # PVE takes the file only from a part named 'filename'; its disposition first, as browsers send it. aiohttp
        # %-quotes the name, which leaves PVE's upload names ([-a-zA-Z0-9_.], operations/media.py) as they are.
        del self.headers[CONTENT_TYPE]
        self.set_content_disposition("form-data", name="filename", filename=filename)
        self.headers[CONTENT_TYPE] = "application/octet-stream"

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """A file is sent as bytes, never as text."""
        raise TypeError("an uploaded file is bytes, not text")

    async def as_bytes(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        """The whole file (for a responder in place of the network)."""
        return await asyncio.to_thread(self._file.read)

    async def write(self, writer: AbstractStreamWriter) -> None:
        """Send the file; TimeoutError when a chunk waits longer than `wait` to go out."""
        while chunk := await asyncio.to_thread(self._file.read, CHUNK):
            async with asyncio.timeout(self._wait):
                await writer.write(chunk)


def upload_body(
    fields: Mapping[str, Any], filename: str, file: BinaryIO, wait: float
) -> aiohttp.MultipartWriter:
    """multipart/form-data as PVE's upload parser reads it: the fields first, the file last."""
    body = aiohttp.MultipartWriter("form-data")
    for name, value in fields.items():
        if value is not None:
            field = aiohttp.payload.BytesPayload(str(form_value(value)).encode())
            # A field is text with only its disposition, as browsers and curl send it.
            del field.headers[CONTENT_TYPE]
            field.set_content_disposition("form-data", name=name)
            body.append_payload(field)
    body.append_payload(FilePart(file, filename, wait))
    return body
