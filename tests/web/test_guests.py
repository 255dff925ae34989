"""The guest list: what a viewer sees, search, filters, sort, pages, the shareable URL, and bad days."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from pvesim.base import set_lock
from pvesim.fake import DemoPve
from tests.factories import make_user, signed_in
from tests.servers import AppServer

HOSTILE = "<img src=x onerror=alert(1)>"
CACHE = 0.6  # the app caches /cluster/resources for 0.5 s in the tests


@pytest.fixture
def viewer(app_server: AppServer, settings: Settings) -> Iterator[httpx.Client]:
    """A signed-in viewer."""
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        yield http


@pytest.fixture
def extra_guests(pve: DemoPve) -> Iterator[dict[str, Any]]:
    """A hostile-named VM, a locked HA-managed one and a container (vmids 9090-9092), removed afterwards."""
    hostile = pve.add_vm(9090, HOSTILE, node="pve1", status="running", config={"tags": "zz-hostile"})
    locked = pve.add_vm(9091, "locked-one", node="pve2", status="running", config={"tags": "zz-locked"})
    set_lock(locked, "backup")
    locked.ha_state = "started"
    container = pve.add_ct(9092, node="pve3", status="stopped", config={"hostname": "zz-box-9092"})
    time.sleep(CACHE)
    yield {"hostile": hostile, "locked": locked, "container": container}
    pve.vms.remove(hostile)
    pve.vms.remove(locked)
    pve.cts.remove(container)
    time.sleep(CACHE)


def guests(pve: DemoPve) -> list[Any]:
    """Every VM and container of the fake."""
    return [*pve.vms, *pve.cts]


def shown(page: str) -> list[int]:
    """The vmids of the table rows, in order."""
    return [int(v) for v in re.findall(r'<tr data-vmid="(\d+)"', page)]


def row(page: str, vmid: int) -> str:
    """The HTML of one guest's row."""
    found = re.search(rf'<tr data-vmid="{vmid}".*?</tr>', page, re.S)
    assert found, f"no row for {vmid}"
    return found.group(0)


def fetch(client: httpx.Client, **params: Any) -> str:
    """The list page for these parameters (all guests on one page unless per_page is given)."""
    params.setdefault("per_page", 200)
    answer = client.get("/guests", params=params)
    assert answer.status_code == 200, answer.text
    return answer.text


def test_viewer_sees_every_guest_with_a_link_to_its_page(viewer: httpx.Client, pve: DemoPve) -> None:
    time.sleep(CACHE)
    page = fetch(viewer)
    assert sorted(shown(page)) == sorted(g.vmid for g in guests(pve))
    web = next(g for g in pve.vms if g.name == "web01")
    assert f'href="/guests/{web.vmid}"' in row(page, web.vmid)
    assert f"Showing 1–{len(guests(pve))} of {len(guests(pve))} guests" in page
    assert 'aria-current="page">Guests<' in page


@pytest.mark.parametrize(
    ("param", "value", "attribute"),
    [("node", "pve2", "node"), ("status", "stopped", "status"), ("pool", "infra", "pool")],
)
def test_filters_keep_only_matching_guests(
    viewer: httpx.Client, pve: DemoPve, param: str, value: str, attribute: str
) -> None:
    time.sleep(CACHE)
    page = fetch(viewer, **{param: value})
    expected = {g.vmid for g in guests(pve) if getattr(g, attribute) == value}
    assert expected and set(shown(page)) == expected
    assert "matching the filters" in page


def test_type_tag_and_template_filters(viewer: httpx.Client, pve: DemoPve) -> None:
    time.sleep(CACHE)
    assert set(shown(fetch(viewer, type="lxc"))) == {c.vmid for c in pve.cts}
    tagged = {g.vmid for g in guests(pve) if "monitoring" in str(g.config.get("tags", "")).split(";")}
    assert tagged and set(shown(fetch(viewer, tag="monitoring"))) == tagged
    assert set(shown(fetch(viewer, template="yes"))) == {g.vmid for g in pve.vms if g.template}
    assert not {g.vmid for g in pve.vms if g.template} & set(shown(fetch(viewer, template="no")))


def test_search_by_name_vmid_and_tag(viewer: httpx.Client, pve: DemoPve) -> None:
    time.sleep(CACHE)
    assert set(shown(fetch(viewer, q="GITLAB"))) == {g.vmid for g in guests(pve) if "gitlab" in g.name}
    assert set(shown(fetch(viewer, q="10"))) == {g.vmid for g in guests(pve) if str(g.vmid).startswith("10")}
    db = {g.vmid for g in guests(pve) if "db" in str(g.config.get("tags", "")).split(";")}
    assert db and db <= set(shown(fetch(viewer, q="db")))
    assert set(shown(fetch(viewer, q="db prod"))) == {
        g.vmid for g in guests(pve) if {"db", "prod"} <= set(str(g.config.get("tags", "")).split(";"))
    }
    empty = fetch(viewer, q="no-such-guest-anywhere")
    assert shown(empty) == [] and "No guest matches these filters." in empty


def test_sort_both_ways(viewer: httpx.Client, pve: DemoPve) -> None:
    time.sleep(CACHE)
    by_vmid = sorted(g.vmid for g in guests(pve))
    assert shown(fetch(viewer)) == by_vmid
    assert shown(fetch(viewer, sort="vmid", order="desc")) == by_vmid[::-1]
    nodes = {g.vmid: g.node for g in guests(pve)}
    ascending = [nodes[v] for v in shown(fetch(viewer, sort="node"))]
    assert ascending == sorted(ascending)
    descending = [nodes[v] for v in shown(fetch(viewer, sort="node", order="desc"))]
    assert descending == sorted(descending, reverse=True)
    page = fetch(viewer, sort="node")
    assert 'aria-sort="ascending"' in page
    assert 'href="/guests?sort=node&amp;order=desc&amp;per_page=200"' in page, "a click reverses the order"


def test_pages(viewer: httpx.Client, pve: DemoPve) -> None:
    time.sleep(CACHE)
    everyone = sorted(g.vmid for g in guests(pve))
    first = fetch(viewer, per_page=25)
    assert shown(first) == everyone[:25]
    assert 'rel="next"' in first and 'href="/guests?page=2&amp;per_page=25"' in first
    second = fetch(viewer, per_page=25, page=2)
    assert shown(second) == everyone[25:50]
    assert f"Showing 26–{min(50, len(everyone))} of {len(everyone)}" in second
    assert shown(fetch(viewer, per_page=25, page=99)) == shown(second), "past the end gives the last page"


def test_the_url_keeps_the_state(viewer: httpx.Client, pve: DemoPve) -> None:
    page = fetch(viewer, node="pve1", sort="name", order="desc", q="", tag="")
    # The table refreshes itself from the same (short) URL; sort headers and pages keep the filters.
    assert 'hx-get="/guests?node=pve1&amp;sort=name&amp;order=desc&amp;per_page=200"' in page
    assert 'class="sort">VMID' in page and 'href="/guests?node=pve1&amp;per_page=200"' in page
    assert '<option value="pve1" selected>' in page
    form = viewer.get(
        "/guests",
        params={"q": "", "node": "pve1", "type": "", "sort": "name", "order": "desc"},
        headers={"HX-Request": "true", "HX-Trigger": "guest-filters"},
    )
    assert form.headers["HX-Push-Url"] == "/guests?node=pve1&sort=name&order=desc"


def test_htmx_gets_the_table_alone(viewer: httpx.Client) -> None:
    answer = viewer.get("/guests?node=pve2", headers={"HX-Request": "true"})
    assert answer.text.lstrip().startswith('<div id="guest-table"')
    assert "<html" not in answer.text and 'id="guest-filters"' not in answer.text
    assert 'hx-trigger="every 5s"' in answer.text
    assert answer.headers["vary"] == "HX-Request"
    assert "HX-Push-Url" not in answer.headers, "a refresh must not rewrite the address bar"
    assert re.fullmatch(
        r"inventory;dur=[\d.]+, render;dur=[\d.]+, app;dur=[\d.]+", answer.headers["server-timing"]
    )


def test_hostile_names_are_shown_as_text(viewer: httpx.Client, extra_guests: dict[str, Any]) -> None:
    page = fetch(viewer, q="9090")
    assert html.escape(HOSTILE, quote=False) in row(page, 9090)
    assert HOSTILE not in page


def test_lock_and_ha_state_are_shown(viewer: httpx.Client, extra_guests: dict[str, Any]) -> None:
    status = row(fetch(viewer, q="locked-one"), 9091)
    assert re.search(r">running</span> · locked \(backup\)", status)
    assert "HA: started" in status
    container = row(fetch(viewer, type="lxc", q="zz-box"), 9092)
    assert "zz-box-9092" in container and ">CT<" in container


def test_offline_node_shows_unknown_guests_and_a_banner(viewer: httpx.Client, pve: DemoPve) -> None:
    pve.set_node_offline("pve3")
    time.sleep(CACHE)
    page = fetch(viewer)
    banner = re.search(
        r'<div class="banner banner-warn" role="status" id="offline-nodes">(.*?)</div>', page, re.S
    )
    assert banner and "Node pve3 is offline" in banner.group(1)
    on_pve3 = [g.vmid for g in guests(pve) if g.node == "pve3"]
    assert on_pve3
    for vmid in on_pve3:
        assert '>unknown</span> · <span class="bad">node offline</span>' in row(page, vmid)
    assert set(shown(fetch(viewer, status="unknown"))) == set(on_pve3)
    assert re.search(r'<option value="pve3"\s*>pve3 \(\d+\) · offline</option>', page), (
        "the node menu says so"
    )


def test_forbidden_resources_say_what_is_missing(viewer: httpx.Client, pve: DemoPve) -> None:
    pve.fail("GET", "/cluster/resources", 403, "Permission check failed (/vms/100, VM.Audit)")
    time.sleep(CACHE)
    page = viewer.get("/guests")
    assert page.status_code == 200
    problem = re.search(r'id="guests-problem">(.*?)</div>', page.text, re.S)
    assert problem and "Proxmox refused the guest list" in problem.group(1)
    assert "VM.Audit" in problem.group(1) and "/vms/100" in problem.group(1)
    assert 'id="guest-filters"' in page.text, "the filters stay usable"


def test_invalid_parameters_are_422_with_a_message(viewer: httpx.Client) -> None:
    for params, words in [
        ({"type": "vm"}, "type: Input should be 'qemu' or 'lxc'"),
        ({"per_page": "30"}, "per_page: must be one of 25, 50, 100, 200"),
        ({"page": "0"}, "page: Input should be greater than or equal to 1"),
        ({"sort": "secret"}, "sort: Input should be"),
        ({"node": "../etc"}, "node: String should match pattern"),
    ]:
        answer = viewer.get("/guests", params=params)
        assert answer.status_code == 422, params
        assert words in html.unescape(answer.text), answer.text


def test_anonymous_is_sent_to_sign_in(client: httpx.Client) -> None:
    answer = client.get("/guests?node=pve1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/guests%3Fnode%3Dpve1"


def test_header_search_jumps_to_a_guest_or_the_list(viewer: httpx.Client, pve: DemoPve) -> None:
    time.sleep(CACHE)
    web = next(g for g in pve.vms if g.name == "web01")
    for text in (str(web.vmid), "WEB01", f"  {web.name} "):
        answer = viewer.get("/search", params={"q": text})
        assert (answer.status_code, answer.headers["location"]) == (303, f"/guests/{web.vmid}")
    pbs = next(g for g in pve.vms if g.name == "pbs")
    assert viewer.get("/search", params={"q": "pb"}).headers["location"] == f"/guests/{pbs.vmid}"
    several = viewer.get("/search", params={"q": "prod"})
    assert (several.status_code, several.headers["location"]) == (303, "/guests?q=prod")
    assert viewer.get("/search", params={"q": " "}).headers["location"] == "/guests"


def test_header_search_without_a_match_says_so(viewer: httpx.Client) -> None:
    answer = viewer.get("/search", params={"q": "nothing-like-this"})
    assert answer.status_code == 200
    assert "Nothing matches “nothing-like-this”" in answer.text
    assert 'value="nothing-like-this"' in answer.text and shown(answer.text) == []
    assert 'id="global-search"' in answer.text, "the header search box appears once /search exists"


def test_a_slow_list_is_shown_at_once_with_its_age_while_a_new_one_is_read(
    viewer: httpx.Client, pve: DemoPve
) -> None:
    scale, pve.time_scale = pve.time_scale, 1.0
    pve.slow_network(0.2)  # a view that takes this long to read is not waited for once it has been read
    try:
        time.sleep(CACHE)  # the first view is read now, slowly, not the one the test before left cached
        fetch(viewer)
        added = pve.add_vm(9093, "arrived-meanwhile", node="pve1")
        time.sleep(CACHE)
        first = fetch(viewer)
        assert 9093 not in shown(first), "the last view, answered at once"
        age = re.search(r'<span id="guests-age">\((.*?)\)</span>', first)
        assert age and age.group(1).endswith("ago; a newer view is being read")
        assert 'hx-trigger="load delay:1s, every 5s"' in first, "the table asks again soon"
        time.sleep(0.5)  # the read it started has landed
        second = fetch(viewer)
        assert 9093 in shown(second)
        assert 'id="guests-age"' not in second
    finally:
        pve.slow_network(0)
        pve.time_scale = scale
        pve.vms.remove(added)
        time.sleep(CACHE)


def test_a_quick_list_is_waited_for_never_shown_old(viewer: httpx.Client, pve: DemoPve) -> None:
    fetch(viewer)
    added = pve.add_vm(9094, "arrived-meanwhile", node="pve1")
    try:
        time.sleep(CACHE)
        page = fetch(viewer)
        assert 9094 in shown(page)
        assert 'id="guests-age"' not in page
    finally:
        pve.vms.remove(added)
        time.sleep(CACHE)
