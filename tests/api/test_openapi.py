"""The OpenAPI document names every operation shortly (`guests-list`) and declares every answer, so a generated
client gets functions like `guests_list` and typed models; real answers match what it declares."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from jsonschema import Draft202012Validator

import app.api
import app.web
from app.api.audit import AuditEventOut
from app.config import Settings
from app.routing import routers_of
from app.services.audit.query import EXPORT_COLUMNS
from pvesim.fake import DemoPve
from tests.approval_guests import People, add_vm, ask
from tests.factories import make_token, make_user
from tests.servers import AppServer

OPERATION_ID = re.compile(r"^[a-z]+(-[a-z]+)*$")
MAX_OPERATION_ID = 30
REF = "#/components/schemas/"


@pytest.fixture(scope="module")
def spec(app_server: AppServer, settings: Settings) -> dict[str, Any]:
    """The served /openapi.json, as a viewer's token reads it."""
    token = make_token(settings, make_user(settings, "viewer"))
    return httpx.get(f"{app_server.url}/openapi.json", headers={"Authorization": f"Bearer {token}"}).json()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation in the document."""
    return [(m.upper(), path, op) for path, methods in spec["paths"].items() for m, op in methods.items()]


def json_answers(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The schema of each 2xx JSON answer of an operation, by status."""
    return {
        status: answer["content"]["application/json"]["schema"]
        for status, answer in operation["responses"].items()
        if status.startswith("2") and "application/json" in answer.get("content", {})
    }


def undeclared(spec: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """Why a schema is not a named one with declared properties, or None when it is."""
    ref = schema.get("$ref", "")
    if not ref.startswith(REF):
        return f"an inline schema, not a named one: {schema}"
    named = spec["components"]["schemas"][ref.removeprefix(REF)]
    if named.get("type") != "object" or not named.get("properties"):
        return f"{ref} declares no properties"
    if named.get("additionalProperties") is True:
        return f"{ref} takes any properties"
    return None


def validator(
    spec: dict[str, Any], path: str, method: str = "get", status: str = "200"
) -> Draft202012Validator:
    """A validator of the answer the document declares for this operation and status."""
    schema = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": spec["components"]})


def test_every_operation_id_is_short_kebab_case_unique_and_starts_with_its_tag(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for _m, _p, op in operations(spec)]
    assert len(ids) == len(set(ids)), sorted(ids)
    for method, path, op in operations(spec):
        oid = op["operationId"]
        assert OPERATION_ID.match(oid) and len(oid) <= MAX_OPERATION_ID, (method, path, oid)
        assert oid.startswith(f"{op['tags'][0]}-"), (method, path, oid)
    assert {"guests-list", "guests-detail", "nodes-detail", "requests-detail", "requests-approve"} <= set(ids)


def test_every_json_answer_is_a_named_schema_with_declared_properties(spec: dict[str, Any]) -> None:
    problems = []
    for method, path, op in operations(spec):
        answers = json_answers(op)
        if not answers:
            problems.append(f"{method} {path} declares no JSON answer")
        for status, schema in answers.items():
            why = undeclared(spec, schema)
            if why is None:
                items = spec["components"]["schemas"][schema["$ref"].removeprefix(REF)]["properties"].get(
                    "items"
                )
                why = undeclared(spec, items["items"]) if items else None
            if why:
                problems.append(f"{method} {path} {status}: {why}")
    assert not problems, "\n".join(problems)


def test_every_schema_keeps_its_models_own_name(spec: dict[str, Any]) -> None:
    # FastAPI qualifies a name with its module when two models share it: a generated client would get both.
    assert not [name for name in spec["components"]["schemas"] if "__" in name]


def route_names(package: Any) -> set[str]:
    """The names of the routes of a package's routers."""
    return {r.name for router in routers_of(package) for r in router.routes if isinstance(r, APIRoute)}


def test_no_api_route_name_shadows_a_page_route_name() -> None:
    # Pages link to the charts' data by route name; a shared name would lead to whichever router came first.
    assert not route_names(app.web) & route_names(app.api)


def test_the_audit_answer_declares_every_exported_column() -> None:
    assert tuple(AuditEventOut.model_fields) == EXPORT_COLUMNS


def test_guest_and_node_details_match_their_schemas(api: httpx.Client, spec: dict[str, Any]) -> None:
    guests = api.get("/api/v1/guests", params={"limit": 500}).json()["items"]
    check = validator(spec, "/api/v1/guests/{vmid}")
    for kind in ("qemu", "lxc"):
        vmid = next(g["vmid"] for g in guests if g["type"] == kind and g["status"] == "running")
        answer = api.get(f"/api/v1/guests/{vmid}")
        assert answer.status_code == 200, answer.text
        check.validate(answer.json())
    node = api.get("/api/v1/nodes/pve1")
    assert node.status_code == 200, node.text
    validator(spec, "/api/v1/nodes/{node}").validate(node.json())


def test_a_request_and_its_decision_match_their_schemas(
    client: httpx.Client, crew: People, pve: DemoPve, scratch: None, spec: dict[str, Any]
) -> None:
    add_vm(pve, 9380)
    asked = ask(client, crew.alice, 9380, "delete", reason="schema check")
    assert asked.status_code == 202, asked.text
    validator(spec, "/api/v1/guests/{vmid}/actions/{operation}", "post", "202").validate(asked.json())
    rid = asked.json()["request_id"]
    detail = client.get(f"/api/v1/requests/{rid}", headers=crew.bob)
    validator(spec, "/api/v1/requests/{request_id}").validate(detail.json())
    cancelled = client.post(f"/api/v1/requests/{rid}/cancel", headers=crew.alice)
    assert cancelled.status_code == 200 and cancelled.json()["decided"] is not None
    validator(spec, "/api/v1/requests/{request_id}/cancel", "post").validate(cancelled.json())
