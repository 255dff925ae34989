"""The parameters of `configure`: the config keys to change as Proxmox names them, `delete` and `digest`."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from app.operations.base import Params
from app.operations.config_keys import KEYS

# Proxmox's configid list: keys separated by commas, semicolons or spaces.
LIST_SEPARATORS = re.compile(r"[\s,;]+")
CONFIG_ID = re.compile(r"^[a-z][a-z0-9_\-]{0,31}$")
JSON_TYPES = {"boolean": "boolean", "integer": "integer", "number": "number"}


def _key_schemas(schema: dict[str, Any]) -> None:
    """Each key `configure` changes, as an optional property of the API's schema (indexed ones as patterns)."""
    properties = schema.setdefault("properties", {})
    patterns: dict[str, Any] = {}
    for kind, keys in KEYS.items():
        for name, spec in keys.items():
            prop = {
                "type": JSON_TYPES.get(spec.get("type", ""), "string"),
                "description": f"{kind} config key",
            }
            if name == "memory":
                prop["type"] = "integer"
            if name.endswith("[n]"):
                pattern = f"^{name[:-3]}[0-9]+$"
                described = patterns.get(pattern, {}).get("description", "")
                patterns[pattern] = {**prop, "description": _both(described, prop["description"])}
            else:
                described = properties.get(name, {}).get("description", "")
                properties.setdefault(name, prop)["description"] = _both(described, prop["description"])
    schema["patternProperties"] = patterns
    schema["additionalProperties"] = False


def _both(first: str, second: str) -> str:
    return second if not first or first == second else "qemu and lxc config key"


class ConfigureParams(Params):
    """Config keys to set (`memory`, `net1`, `ipconfig0`, ...), keys to remove (`delete`) and the config digest
    the change was made from (`digest`: Proxmox refuses when the config changed since)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, json_schema_extra=_key_schemas)

    digest: str | None = Field(
        None,
        max_length=40,
        pattern=r"^[0-9a-fA-F]*$",
        title="Config digest",
        description="The digest of the config the change was made from; Proxmox refuses if it changed since",
    )
    delete: str | None = Field(
        None,
        max_length=1024,
        title="Keys to remove",
        description="Config keys to remove, separated by commas (net1,ide2)",
    )

    @field_validator("delete", mode="before")
    @classmethod
    def _joined(cls, value: Any) -> Any:
        """A list of keys is taken as Proxmox's comma-separated list."""
        if isinstance(value, list | tuple):
            return ",".join(str(v) for v in value)
        return value

    @field_validator("delete")
    @classmethod
    def _config_ids(cls, value: str | None) -> str | None:
        for key in LIST_SEPARATORS.split(value or ""):
            if key and not CONFIG_ID.match(key):
                raise ValueError(f"invalid configuration ID '{key}'")
        return ",".join(k for k in LIST_SEPARATORS.split(value or "") if k) or None

    @model_validator(mode="after")
    def _plain_values(self) -> ConfigureParams:
        """Each key is a config id and each value one number, yes/no or text, as Proxmox takes them."""
        for key, value in (self.model_extra or {}).items():
            if not CONFIG_ID.match(key):
                raise ValueError(f"{key}: invalid configuration ID '{key}'")
            if not isinstance(value, str | int | float | bool):
                raise ValueError(f"{key}: a config value is a number, yes/no or text")
        if not self.model_extra and not self.delete:
            raise ValueError("no options specified: give the config keys to change or delete")
        return self

    def updates(self) -> dict[str, Any]:
        """The keys to set and their values."""
        return dict(self.model_extra or {})

    def deletes(self) -> list[str]:
        """The keys to remove."""
        return [k for k in (self.delete or "").split(",") if k]
