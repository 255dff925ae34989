"""The one error shape of the JSON API, as OpenAPI documents it for every route."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Error(BaseModel):
    """What every failed API request answers: a message a person can act on, and the parameter at fault."""

    detail: str = Field(description="What went wrong, in plain words (Proxmox's own words for its refusals)")
    field: str | None = Field(None, description="The parameter at fault, when there is one")
    confirm: str | None = Field(
        None,
        description="The parameter that lets a refused change go on once set to true (allow_ip_reuse), when "
        "the refusal is one the caller may overrule",
    )


_MEANINGS = {
    400: "The request body could not be read (not UTF-8, or not the JSON it claims to be)",
    401: "Not signed in, or the API token is unknown or revoked",
    403: "The role does not allow this, or Proxmox refused the token a privilege",
    404: "No such guest, task, storage or route",
    409: "Refused by the checks against the current state (the preflight)",
    422: "A parameter is invalid (also when Proxmox refused a parameter)",
    502: "Proxmox refused or failed the request",
    503: (
        "Proxmox cannot be reached, or the audit log cannot be written (so nothing was done; with a `upid`, "
        "Proxmox started that task and Proxgate records it once it can)"
    ),
    504: "Proxmox did not answer in time; whether a change happened is unknown",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Error, "description": meaning} for status, meaning in _MEANINGS.items()
}
