"""Forms that show each problem beside its field: the state the field macros (partials/shared/_fields.html)
read, and the answer that puts a refused form back in place of the one sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from app.web.templating import render


@dataclass
class FormState:
    """A form's DOM id, what the person typed, and each field's problem ('' for the form as a whole)."""

    id: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def form_again(
    request: Request, form_id: str, partial: str, context: dict[str, Any], status: int
) -> HTMLResponse:
    """The partial that draws the refused form, swapped in place of the one that was sent (status 4xx)."""
    response = render(request, partial, context, status_code=status)
    response.headers["HX-Retarget"] = f"#{form_id}"
    response.headers["HX-Reswap"] = "outerHTML"
    return response
