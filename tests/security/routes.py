"""Every route the app mounts and the one table of who may call it, with what a permitted caller gets back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.routing import Route

from app.routing import discover_routers

# Who may call a route: anyone, anyone signed in (their own account), a role and the roles above it, or only
# the person who asked for the change (an approval request's cancel, or asking for it again).
PUBLIC, SELF, REQUESTER = "public", "self-service", "requester"
ROLES = ("viewer", "operator", "approver", "admin")


@dataclass(frozen=True)
class Rule:
    """Who may call a route, what a permitted caller sends and the statuses it may get back."""

    who: str
    ok: tuple[int, ...] = (200,)
    body: dict[str, Any] = field(default_factory=dict)
    query: str = ""


INVALID = (422,)
RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/"): Rule("viewer"),
    ("GET", "/login"): Rule(PUBLIC, ok=(200, 303)),  # signed-in people are sent on to the dashboard
    ("POST", "/login"): Rule(PUBLIC, ok=(303,)),  # probed with a fresh client and real credentials
    ("POST", "/logout"): Rule(SELF, ok=(303,)),  # probed with a fresh session, which it ends
    # Single sign-on is off on the probed app; tests/web/test_sso.py signs in through them at a real provider.
    ("GET", "/login/sso"): Rule(PUBLIC, ok=(404,)),
    ("GET", "/login/sso/callback"): Rule(PUBLIC, ok=(404,)),
    ("GET", "/healthz"): Rule(PUBLIC),
    ("GET", "/readyz"): Rule(PUBLIC),
    ("GET", "/openapi.json"): Rule("viewer"),  # and any API token (test_auth.py), as the API it describes
    ("GET", "/api/docs"): Rule("viewer"),
    ("GET", "/metrics"): Rule("admin"),
    ("GET", "/admin/side-doors"): Rule("admin"),
    ("GET", "/api/v1/side-doors"): Rule("admin"),
    ("GET", "/api/v1/side-doors/alerts"): Rule("approver"),
    # Probed without a comment, as its page twin: refused before any alert is looked up.
    ("POST", "/api/v1/side-doors/alerts/{alert_id}/acknowledge"): Rule("approver", INVALID),
    ("GET", "/side-doors/alerts"): Rule("viewer"),  # empty for viewers and operators
    # Probed without a comment: refused before any alert is looked up, nothing acknowledged.
    ("POST", "/side-doors/alerts/{alert_id}/acknowledge"): Rule("approver", INVALID),
    ("GET", "/account"): Rule(SELF),
    ("POST", "/account/password"): Rule(SELF, INVALID, {"current": "not it", "new": "whatever else"}),
    ("POST", "/account/tokens"): Rule(SELF, INVALID, {"name": ""}),
    ("POST", "/account/tokens/{token_id}/revoke"): Rule(SELF),  # the caller's own spare token
    ("GET", "/admin/users"): Rule("admin"),
    ("GET", "/admin/policy"): Rule("admin"),
    ("POST", "/admin/users"): Rule("admin", INVALID, {"username": ""}),
    ("POST", "/admin/users/{user_id}"): Rule("admin", INVALID, {"role": "emperor"}),
    ("POST", "/admin/tokens/{token_id}/revoke"): Rule("admin"),  # a bystander's token
    ("GET", "/approvals"): Rule("viewer"),
    ("GET", "/approvals/badge"): Rule("viewer"),
    ("GET", "/approvals/notices"): Rule("viewer"),
    ("POST", "/approvals/notices/seen"): Rule("viewer", ok=(303,)),  # marks the caller's own news read
    ("GET", "/approvals/{request_id}"): Rule("viewer"),
    ("POST", "/approvals/{request_id}/approve"): Rule("approver", INVALID),  # deletions need the vmid typed
    ("POST", "/approvals/{request_id}/reject"): Rule("approver", INVALID),  # a rejection needs a reason
    ("POST", "/approvals/{request_id}/cancel"): Rule(REQUESTER, (303, 409)),  # 409 once it is cancelled
    ("POST", "/approvals/{request_id}/break-glass"): Rule("admin", INVALID),  # a break-glass needs a reason
    ("POST", "/approvals/{request_id}/review"): Rule("approver", (409,)),  # it was not run by break-glass
    ("POST", "/approvals/{request_id}/again"): Rule(REQUESTER, (409,)),  # the sample is still pending
    ("GET", "/audit"): Rule("viewer"),
    ("GET", "/audit/export.csv"): Rule("viewer"),
    ("GET", "/audit/export.jsonl"): Rule("viewer"),
    ("GET", "/audit/verify"): Rule("admin"),
    ("GET", "/backups"): Rule("viewer"),
    ("GET", "/guests"): Rule("viewer"),
    ("GET", "/guests/bulk"): Rule("operator"),  # the review form (here without guests: it says to tick some)
    ("POST", "/guests/bulk"): Rule("operator", INVALID),  # no operation chosen
    ("GET", "/batches"): Rule("viewer"),
    ("GET", "/batches/{batch_id}"): Rule("viewer"),
    ("POST", "/batches/{batch_id}/stop"): Rule("operator", (409,)),  # the sample batch waits for approval
    ("GET", "/guests/{vmid}"): Rule("viewer"),
    ("POST", "/guests/{vmid}/actions/{operation}"): Rule("operator", INVALID),  # a backup needs a storage
    ("GET", "/guests/{vmid}/edit"): Rule("operator"),
    ("POST", "/guests/{vmid}/edit"): Rule("operator", INVALID),  # an empty form changes nothing
    ("GET", "/search"): Rule("viewer", ok=(303,), query="q=web"),  # one match: straight to it
    ("GET", "/ips"): Rule("viewer"),
    ("GET", "/ips/free"): Rule("viewer"),
    ("GET", "/ips/progress"): Rule("viewer"),
    ("GET", "/nodes/{node}"): Rule("viewer"),
    ("GET", "/nodes/{node}/maintenance"): Rule("viewer"),
    ("GET", "/nodes/{node}/empty"): Rule("viewer"),
    # Probed with values refused before anything is planned or started: nothing is moved.
    ("POST", "/nodes/{node}/empty"): Rule("operator", INVALID, {"concurrency": "0"}),
    ("POST", "/nodes/{node}/bring-back"): Rule("operator", INVALID),  # no batch named
    ("GET", "/nodes/{node}/log"): Rule("viewer"),
    ("GET", "/nodes/{node}/log/recent"): Rule("viewer"),
    ("GET", "/nodes/{node}/appliances"): Rule("viewer"),
    ("GET", "/provision/appliances"): Rule("viewer", query="node=pve1"),
    ("GET", "/storage/{node}/{storage}/url-lookup"): Rule("operator", query="url=https://example.org/a.iso"),
    ("POST", "/storage/{node}/{storage}/upload"): Rule("operator", ok=INVALID),  # probed without a file
    ("GET", "/provision"): Rule("operator"),
    ("POST", "/provision/{operation}"): Rule("operator", INVALID),  # a container needs a node, a template...
    ("GET", "/storage"): Rule("viewer"),
    ("GET", "/storage/{node}/{storage}"): Rule("viewer"),
    ("GET", "/tasks"): Rule("viewer"),
    ("GET", "/tasks/{upid}"): Rule("viewer"),
    ("GET", "/api/v1/me"): Rule("viewer"),
    ("GET", "/api/v1/policy/check"): Rule("viewer", query="operation=delete"),
    ("GET", "/api/v1/cluster"): Rule("viewer"),
    ("GET", "/api/v1/nodes"): Rule("viewer"),
    ("GET", "/api/v1/nodes/{node}"): Rule("viewer"),
    ("GET", "/api/v1/nodes/{node}/rrd"): Rule("viewer"),
    ("GET", "/api/v1/nodes/{node}/empty-node"): Rule("viewer"),
    ("POST", "/api/v1/nodes/{node}/actions/empty-node"): Rule("operator", INVALID, {"concurrency": 0}),
    ("POST", "/api/v1/nodes/{node}/actions/bring-back"): Rule("operator", INVALID),  # no batch named
    ("GET", "/api/v1/nodes/{node}/log"): Rule("viewer"),
    ("GET", "/api/v1/nodes/{node}/appliances"): Rule("viewer"),
    ("GET", "/api/v1/nodes/{node}/url-metadata"): Rule("viewer", query="url=https://example.org/a.iso"),
    ("POST", "/api/v1/storage/{node}/{storage}/upload"): Rule(
        "operator", ok=INVALID
    ),  # probed without a file
    ("GET", "/api/v1/guests"): Rule("viewer"),
    ("GET", "/api/v1/guests/{vmid}"): Rule("viewer"),
    ("GET", "/api/v1/guests/{vmid}/rrd"): Rule("viewer"),
    ("GET", "/api/v1/guests/{vmid}/snapshots"): Rule("viewer"),
    ("POST", "/api/v1/guests/{vmid}/actions/{operation}"): Rule("operator", INVALID),
    ("POST", "/api/v1/actions/{operation}"): Rule("operator", INVALID),
    # Anyone signed in records a refusal of their own call (proxgate mcp does); it changes nothing else.
    ("POST", "/api/v1/refusals"): Rule("viewer", body={"tool": "delete", "message": "no such tool"}),
    ("GET", "/api/v1/operations"): Rule("viewer"),
    ("GET", "/api/v1/bulk"): Rule("viewer"),
    ("POST", "/api/v1/bulk/{operation}"): Rule("operator", INVALID),  # not an operation offered in bulk
    ("GET", "/api/v1/bulk/{batch_id}"): Rule("viewer"),
    ("POST", "/api/v1/bulk/{batch_id}/stop"): Rule("operator", (409,)),
    ("GET", "/api/v1/audit"): Rule("viewer"),
    ("GET", "/api/v1/ips"): Rule("viewer"),
    ("GET", "/api/v1/ips/free"): Rule("viewer", query="cidr=10.0.10.0/24"),
    ("GET", "/api/v1/storage"): Rule("viewer"),
    ("GET", "/api/v1/storage/{node}/{storage}/content"): Rule("viewer"),
    ("GET", "/api/v1/storage/{node}/{storage}/rrd"): Rule("viewer"),
    ("GET", "/api/v1/backups"): Rule("viewer"),
    ("GET", "/api/v1/backups/not-backed-up"): Rule("viewer"),
    ("GET", "/api/v1/tasks"): Rule("viewer"),
    ("GET", "/api/v1/tasks/{upid}"): Rule("viewer"),
    ("GET", "/api/v1/requests"): Rule("viewer"),
    ("GET", "/api/v1/requests/{request_id}"): Rule("viewer"),
    ("POST", "/api/v1/requests/{request_id}/approve"): Rule("approver", INVALID),
    ("POST", "/api/v1/requests/{request_id}/reject"): Rule("approver", INVALID),
    ("POST", "/api/v1/requests/{request_id}/cancel"): Rule(REQUESTER, (200, 409)),
    ("POST", "/api/v1/requests/{request_id}/break-glass"): Rule("admin", INVALID),
    ("POST", "/api/v1/requests/{request_id}/review"): Rule("approver", INVALID),
}
# Routes that end the caller's session are probed with a session of their own.
SESSION_ENDING = {("POST", "/login"), ("POST", "/logout")}
# Cancelling closes the sample request, after which approving it would answer 409 rather than 403: last.
LAST = ("/cancel",)


def mounted_routes(app: FastAPI, routers: list[APIRouter] | None = None) -> list[tuple[str, str]]:
    """(method, path) of the app's own routes (/openapi.json) and of every router that app.routing mounts
    (HEAD is answered as GET; /static is a file mount, public)."""
    routers = discover_routers() if routers is None else routers
    routes = [*app.routes, *(route for router in routers for route in router.routes)]
    found = {
        (method, route.path)
        for route in routes
        if isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD", "OPTIONS"}
    }
    return sorted(found, key=lambda mp: (mp[1].endswith(LAST), mp[1], mp[0]))


def change_routes(app: FastAPI) -> list[tuple[str, str]]:
    """The routes that change something (every method but GET)."""
    return [(method, path) for method, path in mounted_routes(app) if method != "GET"]


def rule_problems(routes: list[tuple[str, str]]) -> list[str]:
    """Routes without a rule, and rules for routes that no longer exist, one line each."""
    mounted = set(routes)
    missing = [
        f"{m} {p} has no rule in tests/security/routes.py RULES" for m, p in routes if (m, p) not in RULES
    ]
    stale = [f"{m} {p} has a rule but the app does not mount it" for m, p in RULES if (m, p) not in mounted]
    return missing + stale


def allowed(rule: Rule, role: str | None, username: str | None, requester: str) -> bool:
    """Whether a caller with this role (None: anonymous) may use a route with this rule."""
    if rule.who == PUBLIC:
        return True
    if role is None:
        return False
    if rule.who == SELF:
        return True
    if rule.who == REQUESTER:
        return username == requester
    return ROLES.index(role) >= ROLES.index(rule.who)


def wants_json(path: str) -> bool:
    """Paths whose refusals are JSON 401s rather than a redirect to the sign-in page."""
    return path.startswith("/api/v1/") or path in ("/metrics", "/readyz", "/healthz", "/openapi.json")
