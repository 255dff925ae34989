"""The "Restore as new" form of each backup on the guest page: its id, the storages that can take the guest,
and (after a refusal) what was chosen and what was wrong. Its fields come from the catalogue's `restore`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from app.operations.catalogue import CATALOGUE
from app.web.op_forms import OperationForm, operation_form


@dataclass
class RestoreForm:
    """One backup's restore form."""

    archive: str
    node: str
    storages: list[str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """A DOM id for this backup's form (volume ids hold ':' and '/')."""
        return "restore-" + hashlib.sha256(self.archive.encode()).hexdigest()[:12]

    @property
    def name(self) -> str:
        """The archive's file name, as people recognise it."""
        return self.archive.rsplit("/", 1)[-1]

    @property
    def container(self) -> bool:
        """True for a container's backup (its name is a hostname)."""
        return "vzdump-lxc-" in self.archive or "/ct/" in self.archive

    @property
    def form(self) -> OperationForm:
        """The backup and its node sent as they are; the new VMID, name, storage and whether to start it, and
        (once a refusal asks for it) the confirmation that the guest may keep an address another guest holds."""
        form = operation_form(
            CATALOGUE["restore"],
            self.id,
            options={"restore-storages": self.storages},
            values={**self.values, "archive": self.archive, "node": self.node},
            errors=self.errors,
            only=("archive", "node", "vmid", "name", "storage", "start", "allow_ip_reuse"),
            hidden=("archive", "node"),
        )
        assert form is not None  # noqa: S101 (its only choice, the storage, is optional)
        return form
