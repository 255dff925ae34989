"""A checkpoint: the audit chain's head at one moment, signed with the audit key, and its one-line form."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from app.services.audit.chain import Keyring


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at one moment, signed by the key `key`; `source` says where it was read (unsigned)."""

    seq: int
    hash: str
    head_key: str
    at: str
    key: str
    mac: str = ""
    source: str = ""

    def payload(self) -> bytes:
        """The signed fields as canonical JSON."""
        fields = {
            "seq": self.seq,
            "hash": self.hash,
            "head_key": self.head_key,
            "at": self.at,
            "key": self.key,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def line(self) -> str:
        """One JSON Lines record, the signature included."""
        record = json.loads(self.payload()) | {"mac": self.mac}
        return json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"

    @property
    def when(self) -> str:
        """The time for messages."""
        return self.at.replace("T", " ")[:19] + " UTC"


def sign(keyring: Keyring, seq: int, head_hash: str, head_key: str) -> Checkpoint:
    """A checkpoint of this head, made now and signed with the current key."""
    at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    unsigned = Checkpoint(seq, head_hash, head_key, at, keyring.current_id)
    mac = hmac.digest(keyring.current, unsigned.payload(), "sha256").hex()
    return Checkpoint(seq, head_hash, head_key, at, keyring.current_id, mac)


def signature_holds(checkpoint: Checkpoint, keyring: Keyring) -> bool | None:
    """True or False when the signing key is known; None when it is not."""
    key = keyring.known.get(checkpoint.key)
    if key is None:
        return None
    expected = hmac.digest(key, checkpoint.payload(), "sha256").hex()
    return hmac.compare_digest(expected, checkpoint.mac)


def parse_line(text: str, source: str) -> Checkpoint | None:
    """A checkpoint from one line, or None when it is not one."""
    try:
        data = json.loads(text)
        fields = (
            int(data["seq"]),
            str(data["hash"]),
            str(data["head_key"]),
            str(data["at"]),
            str(data["key"]),
        )
        return Checkpoint(*fields, mac=str(data["mac"]), source=source)
    except (ValueError, KeyError, TypeError):
        return None
