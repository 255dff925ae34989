"""What a walk over the audit chain found: the segments it checked, the first problem, what stayed unproven."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.services.audit.chain import LEGACY
from app.services.audit.signed import Checkpoint

OLD_KEYS_HINT = "add the old PROXGATE_SECRET_KEY to PROXGATE_AUDIT_OLD_KEYS to check them"


@dataclass
class Segment:
    """A run of events sealed by one key; `sealed` is False when that key is not available here."""

    key_id: str
    first: int
    last: int
    sealed: bool

    def describe(self, current: str) -> str:
        """One line about what was proven for this segment."""
        span = f"events #{self.first}–#{self.last}"
        if self.key_id == LEGACY:
            return (
                f"{span}: legacy segment (plain sha256, from before the chain was keyed): its hashes hold, "
                "but anyone who could write the database could have recomputed them"
            )
        which = "the current key" if self.key_id == current else "an earlier key"
        if self.sealed:
            return f"{span}: key {self.key_id} ({which}): every event verified"
        return f"{span}: key {self.key_id}: NOT verified, that key is not configured; {OLD_KEYS_HINT}"


@dataclass
class Verification:
    """The result of walking the chain: the first problem by kind, what was proven, and what could not be."""

    checked: int = 0
    broken_seq: int | None = None
    kind: str | None = None
    reason: str | None = None
    segments: list[Segment] = field(default_factory=list)
    anchor: Checkpoint | None = None
    notes: list[str] = field(default_factory=list)
    current_key: str = ""

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return self.kind is None

    @property
    def proven(self) -> bool:
        """True when nothing is wrong and nothing was left unchecked."""
        return self.ok and not self.notes and all(s.sealed for s in self.segments)

    def summary(self) -> str:
        """The first line: intact, broken (and how), or intact as far as it could be checked."""
        if not self.ok:
            where = f" at event #{self.broken_seq}" if self.broken_seq is not None else ""
            return f"audit chain BROKEN ({self.kind}){where}: {self.reason}"
        if self.proven:
            return f"audit chain intact: {self.checked} events verified"
        return f"audit chain not broken, but not everything could be proven ({self.checked} events verified)"

    def details(self) -> list[str]:
        """The segments checked, the checkpoint compared with, and what was left unproven."""
        lines = [s.describe(self.current_key) for s in self.segments]
        if self.anchor is not None:
            lines.append(
                f"checkpoint of {self.anchor.when} (#{self.anchor.seq}, {self.anchor.source or 'given'}): "
                + ("the database still holds everything up to it" if self.ok else "compared")
            )
        return lines + self.notes

    def fail(self, kind: str, seq: int | None, reason: str) -> None:
        """Record the first problem."""
        if self.kind is None:
            self.kind, self.broken_seq, self.reason = kind, seq, reason
