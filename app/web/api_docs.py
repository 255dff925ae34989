"""/api/docs: the JSON API's documentation, drawn by the vendored Swagger UI from /openapi.json."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.web.templating import render

router = APIRouter(tags=["api-docs"])
# Served from static/vendor (see its README and SHA256SUMS); no CDN, which the app's CSP would block anyway.
SWAGGER_UI_VERSION = "5.35.0"


@router.get("/api/docs", name="api_docs")
async def api_docs(request: Request) -> Response:
    """Swagger UI over the OpenAPI document of /api/v1."""
    context = {"swagger_version": SWAGGER_UI_VERSION, "openapi_url": request.app.openapi_url}
    return render(request, "pages/api/docs.html", context)
