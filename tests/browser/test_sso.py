"""In the browser: sign in through the identity provider's own pages, with the role the groups give; sign out
here and at the provider."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_layout import DESKTOP, PHONE, SCHEMES, problems_at
from tests.oidc_idp import Sso

pytestmark = pytest.mark.browser


@pytest.fixture
def sso_page(browser: Browser, sso: Sso) -> Iterator[Page]:
    """A fresh browser context on the app that signs people in at the provider."""
    context = browser.new_context(base_url=sso.app.url)
    context.set_default_timeout(15000)
    # The provider's test pages ask for a web font; nothing leaves the machine in the tests.
    context.route(re.compile(r"^https://fonts\."), lambda route: route.abort())
    tab = context.new_page()
    yield tab
    context.close()


def test_a_person_signs_in_at_the_provider_with_the_role_of_their_groups(sso_page: Page, sso: Sso) -> None:
    page = sso_page
    name = sso.person(["dba"])
    page.goto("/login?next=/tasks")
    page.get_by_role("link", name="Sign in with Test ID").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(sso.provider.issuer)}/interaction/"))
    page.locator("input[name=login]").fill(name)
    page.locator("input[name=password]").fill("whatever the provider's test page takes")
    page.get_by_role("button", name=re.compile("Sign-in", re.I)).click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent page
    expect(page).to_have_url(f"{sso.app.url}/tasks")
    expect(page.locator(".who .user")).to_have_text(name)
    expect(page.locator(".who .role")).to_have_text("approver")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(sso.provider.issuer)}/session/end"))
    page.get_by_role("button", name=re.compile("Yes, sign me out", re.I)).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


def test_the_sign_in_page_with_the_provider_lines_up(browser: Browser, sso: Sso) -> None:
    found = [
        problem
        for scheme in SCHEMES
        for size in (DESKTOP, PHONE)
        for problem in problems_at(browser, sso.app.url, None, scheme, size, ["/login"])
    ]
    assert not found, f"{len(found)} layout problems:\n" + "\n".join(found)
