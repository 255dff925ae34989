"""The guest page (/guests/{vmid}) and its JSON twin (GET /api/v1/guests/{vmid} lives in app/api/guest_detail.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.deps import ConfigWatchDep, DetailDep, NodeDep, SessionDep, require_principal, runtime_of
from app.services.approvals import OPEN_STATUSES, ApprovalPolicy, Facts, list_requests
from app.services.audit import AuditFilter, Target, list_events
from app.services.cluster import GUEST_CHARTS, FormChoices, GuestDetail, NodeService
from app.services.errors import PveError
from app.services.pipeline import PolicyAnswer, answer_for
from app.services.sidedoors import ConfigWatch
from app.web.charts import RangeDep, RangeQuery, chart_panel
from app.web.guest_forms import guest_forms, state_key
from app.web.proxmox_ui import ProxmoxUi, proxmox_ui
from app.web.restore_form import RestoreForm
from app.web.templating import render
from app.web.url_paths import path_for

router = APIRouter(tags=["guests"], dependencies=[Depends(require_principal)])
Vmid = Annotated[int, Path(ge=100, le=999_999_999, description="The guest's VMID")]
# The state_key of the actions the refreshing page shows (partials/guests/_live.html).
Shown = Annotated[str | None, Query(pattern=r"^[0-9a-f]{16}$")]
HISTORY_EVENTS = 10


async def detail_context(
    request: Request, view: GuestDetail, choices: FormChoices, db: AsyncSession
) -> dict[str, Any]:
    """What the page and its action forms need besides the detail itself."""
    open_requests, _, _ = await list_requests(db, OPEN_STATUSES, 20, vmid=view.guest.vmid)
    # Its history: what went through Proxgate and what was observed in Proxmox without it, together.
    history, _ = await list_events(db, AuditFilter(vmid=view.guest.vmid, limit=HISTORY_EVENTS))
    policy = runtime_of(request.app).approval_policy
    return {
        "policy": policy,
        "open_requests": open_requests,
        "history": history,
        "active": "guest_list",
        "g": view,
        "forms": guest_forms(view, choices, policy),
        "state_key": state_key(view, open_requests),
        "restore_forms": {
            b.volume.volid: RestoreForm(
                b.volume.volid,
                b.node or view.guest.node,
                choices.restore_storages.get(b.node or view.guest.node, []),
            )
            for b in view.backups
        },
        "can_restore": request.state.principal.can("operator") and not view.node_offline,
        "policy_answers": policy_answers(policy, view),
    }


def policy_answers(policy: ApprovalPolicy, view: GuestDetail) -> list[tuple[str, PolicyAnswer]]:
    """With a policy file: what each operation on this guest that waits for approval would need now."""
    if policy.source is None:
        return []
    g, tags = view.guest, frozenset(t.lower() for t in view.resource.tags)
    answers = []
    for op in view.operations:
        answer = answer_for(
            policy, op, Facts(op.name, str(op.risk), tags, view.resource.pool, g.node, g.type), g.vmid
        )
        if answer.needs_approval or answer.freeze:
            answers.append((op.label, answer))
    return answers


async def note_config(configs: ConfigWatch, view: GuestDetail) -> None:
    """The config read for this page tells whether it changed without Proxgate since it was last read."""
    g = view.guest
    await configs.seen(Target(g.node, g.type, g.vmid, g.name or None), view.config)


async def history_context(
    request: Request, view: GuestDetail, nodes: NodeService, chosen: RangeQuery
) -> dict[str, Any]:
    """The charts panel and the links into Proxmox's UI on the guest's node."""
    data_url = path_for(request, "guest_rrd", vmid=str(view.guest.vmid))
    return {
        "panel": chart_panel(request, data_url, GUEST_CHARTS, chosen),
        "ui": await proxmox_ui_of(request, nodes, view.guest.node),
    }


async def proxmox_ui_of(request: Request, nodes: NodeService, node: str) -> ProxmoxUi:
    """Proxmox's UI on the node's address; on the configured host when the address cannot be read."""
    try:
        address = (await nodes.addresses()).get(node)
    except PveError:
        address = None  # /cluster/status needs Sys.Audit on /; the configured host still serves the UI
    return proxmox_ui(runtime_of(request.app).connection, address)


@router.get("/guests/{vmid}", name="guest_detail")
async def guest_detail(
    request: Request,
    vmid: Vmid,
    service: DetailDep,
    nodes: NodeDep,
    chosen: RangeDep,
    db: SessionDep,
    configs: ConfigWatchDep,
    shown: Shown = None,
) -> Response:
    """Status, usage, charts, config, disks, addresses, snapshots, backups, recent tasks and fitting actions."""
    view = await service.detail(vmid)
    await note_config(configs, view)
    context = await detail_context(request, view, await service.form_choices(view), db)
    context |= await history_context(request, view, nodes, chosen)
    context["shown"] = shown
    return render(request, "pages/guests/detail.html", context, partial="partials/guests/_live.html")
