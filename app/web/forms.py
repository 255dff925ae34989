"""Forms that show each problem beside its field (their fields: app/web/op_forms.py): the answer that puts a
refused form back in place of the one sent."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from app.web.templating import render


def form_again(
    request: Request, form_id: str, partial: str, context: dict[str, Any], status: int
) -> HTMLResponse:
    """The partial that draws the refused form, swapped in place of the one that was sent (status 4xx)."""
    response = render(request, partial, context, status_code=status)
    response.headers["HX-Retarget"] = f"#{form_id}"
    response.headers["HX-Reswap"] = "outerHTML"
    return response
