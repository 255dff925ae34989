"""The node page's maintenance card and the plan page that empties a node (read only: nothing is started here;
tests/api/test_empty_node.py and tests/browser/test_empty_node.py run the plan on a cluster of their own)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from pvesim.fake import DemoPve
from tests.factories import make_user, signed_in
from tests.servers import AppServer


@pytest.fixture
def operator(app_server: AppServer, settings: Settings) -> Iterator[httpx.Client]:
    """A signed-in operator."""
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        yield http


def test_the_node_page_loads_its_maintenance_card_which_leads_to_the_plan(operator: httpx.Client) -> None:
    page = operator.get("/nodes/pve2").text
    slot = re.search(r'id="node-maintenance-slot" hx-get="([^"]+)"', page)
    assert slot and slot.group(1).endswith("/nodes/pve2/maintenance")

    card = operator.get(slot.group(1), headers={"HX-Request": "true"})

    assert card.status_code == 200 and 'id="node-maintenance"' in card.text
    assert re.search(r'href="[^"]*/nodes/pve2/empty" id="plan-empty">Empty this node…</a>', card.text)


def test_the_plan_page_lists_every_guest_of_the_node_with_where_it_goes_and_why(
    operator: httpx.Client, pve: DemoPve
) -> None:
    answer = operator.get("/nodes/pve2/empty")

    assert answer.status_code == 200 and "<h1>Empty node pve2</h1>" in answer.text
    rows = re.findall(r'<tr data-vmid="(\d+)" data-action="(\w+)".*?</tr>', answer.text, re.S)
    on_node = {g.vmid for g in [*pve.vms, *pve.cts] if g.node == "pve2"}
    assert {int(vmid) for vmid, _ in rows} == on_node
    moving = sum(1 for _, action in rows if action == "migrate")
    assert f"Start: move {moving} guest" in answer.text
    reasons = re.findall(r'<td data-label="Why" class="small plan-reason">([^<]+)', answer.text)
    assert len(reasons) == len(rows) and all(r.strip() for r in reasons)


def test_the_plan_of_a_node_that_does_not_exist_names_the_nodes(operator: httpx.Client) -> None:
    answer = operator.get("/nodes/pve9/empty")

    assert answer.status_code == 422
    assert "There is no node &#39;pve9&#39;; choose one of: pve1, pve2, pve3." in answer.text
