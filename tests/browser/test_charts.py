"""In the browser, light and dark: the node and guest pages draw their history charts, and the range switches."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from pvesim.rrd import SETUP
from tests.factories import PASSWORD, make_user
from tests.servers import AppServer

pytestmark = pytest.mark.browser
# Pixels of a drawn line in the theme's first chart colour (--chart-1), with anti-aliasing's tolerance.
LINE_PIXELS = """(figure) => {
  const hex = getComputedStyle(document.documentElement).getPropertyValue('--chart-1').trim();
  const want = [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));
  const canvas = figure.querySelector('canvas');
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let hits = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] > 200 && want.every((v, k) => Math.abs(pixels[i + k] - v) < 24)) hits++;
  }
  return hits;
}"""


@dataclass
class Themed:
    """A page and the errors its console reported (a CSP refusal would be one)."""

    page: Page
    errors: list[str] = field(default_factory=list)


@pytest.fixture(params=["light", "dark"])
def themed(
    request: pytest.FixtureRequest, browser: Browser, app_server: AppServer, settings: Settings
) -> Iterator[Themed]:
    """A signed-in viewer in a browser that prefers the light or the dark scheme."""
    context = browser.new_context(
        base_url=app_server.url, color_scheme=request.param, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15000)
    page = context.new_page()
    themed = Themed(page)
    page.on("console", lambda m: themed.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: themed.errors.append(str(e)))
    page.goto("/login")
    page.get_by_label("Username").fill(make_user(settings, "viewer"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Cluster")).to_be_visible()
    yield themed
    context.close()


def drawn(page: Page, timeframe: str, cf: str = "AVERAGE") -> None:
    """Wait until the panel has drawn this range."""
    expect(page.locator("#history")).to_have_attribute("data-drawn", f"{timeframe}/{cf}")


def assert_charts_drawn(page: Page, charts: list[str], points: int) -> None:
    """Each chart has a canvas with `points` points and lines in the theme's colour."""
    for name in charts:
        figure = page.locator(f'figure[data-chart="{name}"]')
        expect(figure).to_have_attribute("data-points", str(points))
        expect(figure.locator("canvas")).to_have_count(1)
        assert figure.evaluate(LINE_PIXELS) > 50, f"{name}: no line drawn in the theme's colour"


def test_node_page_draws_every_chart_and_switches_range(themed: Themed) -> None:
    page = themed.page
    page.get_by_role("link", name="pve1").first.click()
    expect(page.get_by_role("heading", name="Node pve1")).to_be_visible()
    drawn(page, "hour")
    charts = ["cpu", "load", "memory", "swap", "rootfs", "network", "iowait"]
    assert_charts_drawn(page, charts, SETUP["hour"][1])
    page.get_by_role("navigation", name="Time range").get_by_role("link", name="Week").click()
    expect(page).to_have_url(re.compile(r"/nodes/pve1\?timeframe=week&cf=AVERAGE$"))
    drawn(page, "week")
    assert_charts_drawn(page, charts, SETUP["week"][1])
    page.mouse.move(*center(page, "cpu"))
    readout = page.locator('figure[data-chart="cpu"] .u-legend')
    expect(readout).to_contain_text(re.compile(r"\d{1,2}:\d{2}"))
    expect(readout).to_contain_text(re.compile(r"\d+\.\d+ %"))
    assert not themed.errors


def test_guest_page_draws_charts_keeps_the_range_and_says_when_there_is_no_data(
    themed: Themed, pve: DemoPve
) -> None:
    page = themed.page
    vm = next(v for v in pve.vms if v.status == "running" and not v.template and v.agent)
    page.goto(f"/guests/{vm.vmid}")
    drawn(page, "hour")
    assert_charts_drawn(page, ["cpu", "memory", "network", "disk"], SETUP["hour"][1])
    page.get_by_role("link", name="Day", exact=True).click()
    drawn(page, "day")
    page.get_by_role("link", name="Maximum").click()
    expect(page).to_have_url(re.compile(rf"/guests/{vm.vmid}\?timeframe=day&cf=MAX$"))
    drawn(page, "day", "MAX")
    assert_charts_drawn(page, ["cpu", "memory", "network", "disk"], SETUP["day"][1])
    page.reload()
    drawn(page, "day", "MAX")
    expect(page.get_by_role("navigation", name="Time range").locator('[aria-current="true"]')).to_have_text(
        "Day"
    )
    stopped = next(c for c in pve.cts if c.status == "stopped" and not c.template)
    page.goto(f"/guests/{stopped.vmid}")
    drawn(page, "hour")
    cpu = page.locator('figure[data-chart="cpu"]')
    expect(cpu).to_have_attribute("data-points", "0")
    expect(cpu.get_by_text("Proxmox has no data for this range.")).to_be_visible()
    expect(page.locator('figure[data-chart="memory"]')).to_have_attribute(
        "data-points", str(SETUP["hour"][1])
    )
    assert not themed.errors


def test_drawn_charts_survive_the_pages_own_refresh(themed: Themed, pve: DemoPve) -> None:
    page = themed.page
    vm = next(v for v in pve.vms if v.status == "running" and not v.template)
    page.clock.install()  # the page's timers, moved on below instead of waited out
    page.goto(f"/guests/{vm.vmid}?timeframe=week")
    drawn(page, "week")
    page.locator("#history").evaluate("el => { el.marked = true; }")
    with page.expect_response(
        lambda r: urlsplit(r.url).path.endswith(f"/guests/{vm.vmid}") and "hx-request" in r.request.headers,
        timeout=15000,
    ) as refreshed:
        page.clock.fast_forward(10_000)  # the guest page refreshes every 10 seconds
    assert refreshed.value.status == 200
    page.wait_for_timeout(300)
    assert page.locator("#history").evaluate("el => el.marked === true"), "the panel was kept, not redrawn"
    assert_charts_drawn(page, ["cpu"], SETUP["week"][1])


def center(page: Page, chart: str) -> tuple[float, float]:
    """The middle of a chart's plot area."""
    box = page.locator(f'figure[data-chart="{chart}"] .u-over').bounding_box()
    assert box
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
