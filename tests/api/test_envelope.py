"""One JSON API: every list answers {items, total, next_cursor}, pages with ?limit=&cursor=, and every error has
one shape, {"detail", "field"?}, as OpenAPI documents it."""

from __future__ import annotations

import httpx
import pytest

from pvesim.fake import DemoPve
from tests.backup_guests import Made

LISTS = (
    "/api/v1/guests",
    "/api/v1/nodes",
    "/api/v1/storage",
    "/api/v1/storage/pve1/local/content",
    "/api/v1/backups",
    "/api/v1/backups/not-backed-up",
    "/api/v1/tasks",
    "/api/v1/ips",
    "/api/v1/audit",
)
ERROR_STATUSES = ("400", "401", "403", "404", "409", "422", "502", "503", "504")


def error_shape(body: object) -> bool:
    """True for {"detail": str} or {"detail": str, "field": str}."""
    return (
        isinstance(body, dict)
        and isinstance(body.get("detail"), str)
        and set(body) <= {"detail", "field"}
        and isinstance(body.get("field", ""), str)
    )


@pytest.mark.parametrize("path", LISTS)
def test_every_list_answers_the_same_envelope_and_pages_by_cursor(
    api: httpx.Client, backup_guests: Made, path: str
) -> None:
    if path == "/api/v1/audit":
        for _ in range(2):  # a viewer's refused attempts are audited
            assert api.post("/api/v1/guests/100/actions/start").status_code == 403
    whole = api.get(path, params={"limit": 500})
    assert whole.status_code == 200, whole.text
    body = whole.json()
    assert {"items", "total", "next_cursor"} <= set(body)
    assert isinstance(body["items"], list) and isinstance(body["total"], int)
    assert body["total"] >= len(body["items"]) >= 1, f"{path} lists nothing to page through"
    first = api.get(path, params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["total"] == body["total"]
    if body["total"] == 1:
        assert first["next_cursor"] is None
        return
    assert isinstance(first["next_cursor"], str)
    second = api.get(path, params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert len(second["items"]) == 1 and second["items"][0] != first["items"][0]
    assert [first["items"][0], second["items"][0]] == body["items"][:2]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"cursor": "not-a-cursor"}, "cursor")],
)
def test_bad_paging_is_a_422_naming_the_parameter(
    api: httpx.Client, path: str, params: dict[str, object], field: str
) -> None:
    answer = api.get(path, params=params)
    assert answer.status_code == 422
    assert error_shape(answer.json()) and answer.json()["field"] == field


def test_fastapi_validation_errors_have_the_one_shape(api: httpx.Client) -> None:
    answer = api.get("/api/v1/guests", params={"type": "docker"})
    assert answer.status_code == 422
    assert answer.json() == {"detail": answer.json()["detail"], "field": "type"}
    assert "qemu" in answer.json()["detail"]


def test_a_proxmox_parameter_error_is_the_callers_422_in_proxmoxs_words(
    api: httpx.Client, pve: DemoPve
) -> None:
    pve.fail("GET", "/cluster/tasks", 400, "Parameter verification failed.")
    answer = api.get("/api/v1/tasks")
    assert answer.status_code == 422
    assert error_shape(answer.json()) and "Parameter verification failed" in answer.json()["detail"]


def test_openapi_lists_only_the_json_api_and_documents_the_error_shape(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    assert spec["paths"] and all(path.startswith("/api/v1/") for path in spec["paths"])
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"detail", "field", "confirm"} and error["required"] == ["detail"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            for status in ERROR_STATUSES:
                documented = operation["responses"].get(status)
                assert documented, f"{method.upper()} {path} does not document {status}"
                schema = documented["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, status)
    listed = spec["paths"]["/api/v1/guests"]["get"]
    names = {p["name"] for p in listed["parameters"]}
    assert {"limit", "cursor"} <= names and not {"page", "per_page"} & names


def test_errors_from_the_api_match_the_documented_shape(api: httpx.Client) -> None:
    assert error_shape(httpx.get(f"{api.base_url}/api/v1/guests").json())  # 401
    assert error_shape(api.get("/api/v1/guests/99999999").json())  # 404
    assert error_shape(api.get("/api/v1/nothing-here").json())  # 404 of the router
    unreadable = api.post(
        "/api/v1/requests/1/reject", content=b"\x07P\xff\xfe", headers={"Content-Type": "application/json"}
    )
    assert unreadable.status_code == 400 and error_shape(unreadable.json())  # found by tests/fuzz
