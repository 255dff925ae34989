"""The policy file on disk: read when it changes (its mtime looked at every few seconds at most), the last good
version kept when a new one is broken, and each change remembered with its diff until it is audited."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from app.db.models import utcnow
from app.services.approvals.rules import PolicyDocument, PolicyFileError, parse_policy

CHECK_EVERY = timedelta(seconds=3)


@dataclass(frozen=True)
class PolicyChange:
    """A new version of the file was taken into use (or refused): what the audit records."""

    path: str
    diff: str
    error: str | None = None


@dataclass
class PolicySource:
    """One policy file and the document in force; `clock` is injectable so tests move time, never wait."""

    path: Path
    clock: Callable[[], datetime] = utcnow
    document: PolicyDocument = field(default_factory=PolicyDocument)
    text: str = ""
    error: str | None = None
    loaded_at: datetime | None = None
    _stamp: tuple[int, int] | None = None
    _checked: datetime | None = None
    _changes: list[PolicyChange] = field(default_factory=list)

    def current(self) -> PolicyDocument:
        """The document in force, after looking at the file when the last look is a few seconds old."""
        now = self.clock()
        # A clock set back (a test's, or the host's) counts as time passed.
        if self._checked is None or not timedelta(0) <= now - self._checked < CHECK_EVERY:
            self._checked = now
            self.reload()
        return self.document

    def reload(self) -> None:
        """Read the file if it changed since the last read; a broken version keeps the last good one."""
        try:
            info = self.path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
            if stamp == self._stamp:
                return
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            self._refuse(f"cannot read {self.path}: {exc.strerror or exc}", None)
            return
        self._stamp = stamp
        if text == self.text and self.loaded_at is not None:
            self.error = None
            return
        try:
            document = parse_policy(text)
        except PolicyFileError as exc:
            self._refuse(f"{self.path}: {exc}", text)
            return
        self._changes.append(PolicyChange(str(self.path), _diff(self.text, text)))
        self.document, self.text, self.error, self.loaded_at = document, text, None, self.clock()

    def _refuse(self, why: str, text: str | None) -> None:
        if why != self.error:
            diff = _diff(self.text, text) if text is not None else ""
            self._changes.append(PolicyChange(str(self.path), diff, why))
        self.error = why

    def take_changes(self) -> list[PolicyChange]:
        """The changes not yet audited (each is handed out once)."""
        changes, self._changes = self._changes, []
        return changes


def _diff(before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), "before", "after", n=1
    )
    return "".join(lines)[:20000]
