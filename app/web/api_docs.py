"""/api/docs and /openapi.json: the JSON API's document, and its drawing by the vendored Swagger UI.

Both are for signed-in callers: the document lists every operation and parameter, which is a map for an
attacker and of no use to anyone who may not call the API. A bearer token may read the document (a script
generating a client), but not the page: tokens open no pages.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from app.deps import OPENAPI_PATH, require_principal
from app.web.templating import render
from app.web.url_paths import path_for

router = APIRouter(tags=["api-docs"], dependencies=[Depends(require_principal)])
# Served from static/vendor (see its README and SHA256SUMS); no CDN, which the app's CSP would block anyway.
SWAGGER_UI_VERSION = "5.35.0"


@router.get("/api/docs", name="api_docs")
async def api_docs(request: Request) -> Response:
    """Swagger UI over the OpenAPI document of /api/v1."""
    context = {"swagger_version": SWAGGER_UI_VERSION, "openapi_url": path_for(request, "openapi")}
    return render(request, "pages/api/docs.html", context)


@router.get(OPENAPI_PATH, name="openapi")
async def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document of /api/v1 (FastAPI builds it once and keeps it)."""
    return JSONResponse(request.app.openapi())
