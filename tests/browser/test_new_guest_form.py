"""In the browser, the New guest form: a static address that is wrong is the address's problem alone (no word
about gateways), and once a container is made the form starts again empty, with the next free VMID, so a second
click is refused for what it lacks instead of making a second container."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_the_new_guest_form_starts_again_after_a_success_and_a_second_click_makes_nothing(
    page: Page, settings: Settings, pve: DemoPve, scratch: None
) -> None:
    sign_in(page, make_user(settings, "operator"))
    page.goto("/provision")
    form = page.locator("#create-ct-form")
    expect(form.get_by_label("VMID")).to_have_attribute("placeholder", re.compile(r"^next free: \d+$"))
    form.get_by_label("Hostname").fill("reset-me")
    form.get_by_label("IPv4 from").select_option("static")
    form.get_by_label("IPv4 address").fill("10.0.20.78")
    form.get_by_label("IPv4 gateway").fill("10.0.20.1")
    form.get_by_label("VMID").fill("9369")
    form.get_by_role("button", name="Create container").click()
    expect(form.locator("#create-ct-form-ip-error")).to_have_text("Add the prefix length, e.g. 10.0.20.5/24.")
    expect(form.locator("#create-ct-form-gateway-error")).to_have_count(0)
    expect(form.get_by_label("IPv4 address")).to_be_focused()

    form.get_by_label("IPv4 address").fill("10.0.20.78/24")
    form.get_by_role("button", name="Create container").click()
    expect(page.locator("#action-started #task-exit")).to_have_text("OK", timeout=20000)
    assert pve.ct(9369).config["hostname"] == "reset-me"
    expect(form.get_by_label("Hostname")).to_have_value("")
    expect(form.get_by_label("IPv4 from")).to_have_value("dhcp")
    expect(form.get_by_label("IPv4 address")).to_have_value("")
    expect(form.get_by_label("VMID")).to_have_value("")
    expect(form.locator(".field-error, .form-error")).to_have_count(0)
    placeholder = form.get_by_label("VMID").get_attribute("placeholder") or ""
    assert re.fullmatch(r"next free: \d+", placeholder) and placeholder != "next free: 9369", placeholder

    made = len(pve.cts)
    form.get_by_role("button", name="Create container").click()
    expect(form.locator("#create-ct-form-hostname-error")).to_be_visible()
    assert len(pve.cts) == made
