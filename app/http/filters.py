"""Query-string filters of the backup and task lists, shared by the pages and the JSON API.

An HTML form sends an empty field as `name=`; the filters read that as "not given", so the same URL works
from a form, a link and a script.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from app.services.cluster import (
    NODE_PATTERN,
    TYPE_PATTERN,
    BackupFilter,
    TaskFilter,
    TaskState,
    check_storage,
)
from app.services.errors import Invalid


def blank_is_none(value: Any) -> Any:
    """'' (an empty form field) -> None."""
    return None if isinstance(value, str) and not value.strip() else value


# The constraints sit on the inner type: an empty field becomes None first and None is not compared.
Vmid = Annotated[Annotated[int, Field(ge=100, le=999_999_999)] | None, BeforeValidator(blank_is_none)]
Days = Annotated[Annotated[int, Field(ge=0, le=36_500)] | None, BeforeValidator(blank_is_none)]
StorageId = Annotated[Annotated[str, Field(max_length=64)] | None, BeforeValidator(blank_is_none)]
NodeName = Annotated[
    Annotated[str, Field(max_length=64, pattern=NODE_PATTERN)] | None, BeforeValidator(blank_is_none)
]
TaskType = Annotated[
    Annotated[str, Field(max_length=64, pattern=TYPE_PATTERN)] | None, BeforeValidator(blank_is_none)
]
UserPart = Annotated[Annotated[str, Field(max_length=128)] | None, BeforeValidator(blank_is_none)]


class BackupQuery(BaseModel):
    """?guest=&storage=&older_than=&newer_than=&newest=1 (ages in days)."""

    model_config = ConfigDict(extra="ignore")

    guest: Vmid = None
    storage: StorageId = None
    older_than: Days = None
    newer_than: Days = None
    newest: Annotated[bool, BeforeValidator(lambda v: blank_is_none(v) or False)] = False

    @field_validator("storage")
    @classmethod
    def _storage_id(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_storage(value)
            except Invalid as exc:  # PVE's words, as pydantic's ValueError
                raise ValueError(exc.message) from None
        return value

    def to_filter(self) -> BackupFilter:
        """The service's filter."""
        return BackupFilter(self.guest, self.storage, self.older_than, self.newer_than, self.newest)


class TaskQuery(BaseModel):
    """?node=&type=&status=&user=&guest= of the task list."""

    model_config = ConfigDict(extra="ignore")

    node: NodeName = None
    type: TaskType = None
    status: Annotated[TaskState | None, BeforeValidator(blank_is_none)] = None
    user: UserPart = None
    guest: Vmid = None

    @field_validator("user")
    @classmethod
    def _no_control(cls, value: str | None) -> str | None:
        if value is not None and re.search(r"[\x00-\x1f]", value):
            raise ValueError("may not contain control characters")
        return value

    def to_filter(self) -> TaskFilter:
        """The service's filter."""
        return TaskFilter(self.node, self.type, self.status, self.user, self.guest)
