"""In the browser: sign in with a directory account through the ordinary form, with the role the groups give;
a refusal says why on the form; sign out."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.ldap_directory import PASSWORD, Ldap

pytestmark = pytest.mark.browser


@pytest.fixture
def ldap_page(browser: Browser, ldap: Ldap) -> Iterator[Page]:
    """A fresh browser context on the app that asks the directory."""
    context = browser.new_context(base_url=ldap.app.url)
    context.set_default_timeout(15000)
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(page: Page, name: str, password: str) -> None:
    """Fill in and send the sign-in form."""
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_person_signs_in_with_their_directory_account(ldap_page: Page, ldap: Ldap) -> None:
    page = ldap_page
    name = ldap.directory.person(["ops", "dba"])
    page.goto("/tasks")
    expect(page).to_have_url(re.compile(r"/login\?next=/tasks$"))
    sign_in(page, name, "not the password")
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    sign_in(page, name, PASSWORD)
    expect(page).to_have_url(f"{ldap.app.url}/tasks")
    expect(page.locator(".who .user")).to_have_text(name)
    expect(page.locator(".who .role")).to_have_text("approver")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


def test_someone_without_a_mapped_group_is_told_why(ldap_page: Page, ldap: Ldap) -> None:
    page = ldap_page
    name = ldap.directory.person(["not-mapped"])
    page.goto("/login")
    sign_in(page, name, PASSWORD)
    expect(page.locator("#login-error")).to_have_text(
        "None of your groups in the directory gives access to Proxgate."
    )
    expect(page).to_have_url(re.compile(r"/login$"))
