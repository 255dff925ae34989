"""In the browser: a click shows that it is working, errors wait at the top until read, forms keep what was typed
and say beside each field what is wrong, and power actions ask first, naming the guest."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from pvesim.fake import DemoPve
from tests.browser.test_sign_in import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser
MINE = range(9600, 9700)


@pytest.fixture
def operator(page: Page, settings: Settings, pve: DemoPve) -> Iterator[Page]:
    """A signed-in operator; guests 9600-9699 made by the test are removed afterwards."""
    sign_in(page, make_user(settings, "operator"))
    yield page
    for guests in (pve.vms, pve.cts):
        for guest in [g for g in guests if g.vmid in MINE]:
            guests.remove(guest)


def test_create_container_form_shows_every_problem_beside_its_field(operator: Page, pve: DemoPve) -> None:
    operator.goto("/provision")
    form = operator.locator("#create-ct-form")
    form.get_by_label("Hostname").fill("bad_name!")
    form.get_by_label("IPv4 from").select_option("static")
    form.get_by_label("IPv4 address").fill("10.0.20.77")
    form.get_by_label("IPv6 from").select_option("static")
    form.get_by_label("IPv6 address").fill("fe80::1%eth0/64")
    form.get_by_label("Memory (MiB)").fill("8")
    form.get_by_label("VMID").fill("9601")
    form.get_by_role("button", name="Create container").click()
    form = operator.locator("#create-ct-form")
    expect(form.locator("#create-ct-form-hostname-error")).to_contain_text("letters, digits and '-'")
    expect(form.locator("#create-ct-form-ip-error")).to_have_text("Add the prefix length, e.g. 10.0.20.5/24.")
    expect(form.locator("#create-ct-form-ip6-error")).to_contain_text("leave out the zone".capitalize())
    expect(form.locator("#create-ct-form-memory-error")).to_have_text("Enter 16 or more.")
    expect(form.get_by_label("Hostname")).to_have_value("bad_name!")
    expect(form.get_by_label("Hostname")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("IPv4 from")).to_have_value("static")
    expect(form.get_by_label("IPv4 address")).to_have_value("10.0.20.77")
    expect(form.get_by_label("VMID")).to_have_value("9601")
    assert "Value error" not in form.inner_text() and "pattern" not in form.inner_text()
    assert not [c for c in pve.cts if c.vmid == 9601]
    form.get_by_label("Hostname").fill("good-name")
    form.get_by_label("IPv4 address").fill("10.0.20.77/24")
    form.get_by_label("IPv6 from").select_option("auto")
    form.get_by_label("IPv6 address").fill("")
    form.get_by_label("Memory (MiB)").fill("256")
    form.get_by_role("button", name="Create container").click()
    expect(operator.locator("#action-started #task-exit")).to_have_text("OK", timeout=20000)
    assert "ip6=auto" in pve.ct(9601).config["net0"]


def test_a_check_against_the_cluster_lands_beside_its_field(operator: Page) -> None:
    operator.goto("/provision")
    form = operator.locator("#create-vm-form")
    form.get_by_label("Name").fill("taken-id")
    form.get_by_label("VMID").fill("100")
    form.get_by_role("button", name="Create VM").click()
    expect(operator.locator("#create-vm-form-vmid-error")).to_have_text("VM 100 already exists")
    expect(operator.locator("#create-vm-form").get_by_label("Name")).to_have_value("taken-id")
    options = operator.locator("#create-vm-form select[name=ostype] option")
    assert "win2022" not in (
        options.all_inner_texts() + [o.get_attribute("value") or "" for o in options.all()]
    )
    expect(operator.locator("#create-vm-form select[name=ostype]")).to_contain_text("Windows 11, Server 2022")


def test_an_action_button_is_busy_until_the_answer_and_errors_stay_on_top(
    operator: Page, pve: DemoPve
) -> None:
    operator.clock.install()  # the page's timers, moved on below instead of waited out
    operator.goto("/provision")
    form = operator.locator("#create-vm-form")
    form.get_by_label("Name").fill("slow-one")
    form.get_by_label("VMID").fill("9602")
    pve.slow_network(1.0)
    pve.fail("POST", "/nodes/pve1/qemu", 500, "unable to create VM 9602 - out of ideas")
    button = form.get_by_role("button", name="Create VM")
    # Every state the button goes through, however quick the answer.
    button.evaluate(
        """b => { window.busyStates = [];
           new MutationObserver(() => window.busyStates.push([b.disabled, b.getAttribute('aria-busy')]))
             .observe(b, {attributes: true}); }"""
    )
    button.click()
    toast = operator.locator("#toasts .toast-error")
    expect(toast).to_contain_text("out of ideas", timeout=20000)
    assert [True, "true"] in operator.evaluate("window.busyStates"), "disabled and busy while it ran"
    expect(button).to_be_enabled()
    box = toast.bounding_box()
    assert box and box["y"] < 100, "errors appear at the top, where people look"
    operator.clock.fast_forward(7000)  # past the 6 s after which a toast of success goes
    expect(toast).to_be_visible()
    toast.get_by_role("button", name="Dismiss").click()
    expect(toast).to_have_count(0)


@pytest.mark.parametrize("op", ["reboot", "shutdown"])
def test_reboot_and_shutdown_ask_first_naming_the_guest(operator: Page, pve: DemoPve, op: str) -> None:
    vm = next(v for v in pve.vms if v.status == "running" and not v.template and not v.lock)
    operator.goto(f"/guests/{vm.vmid}")
    messages: list[str] = []
    operator.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.dismiss()))
    operator.locator(f'button[data-op="{op}"]').click()
    expect(operator.locator("#guest-status")).to_have_text("running")
    assert messages and f"VM {vm.vmid} {vm.name}" in messages[0]
    assert pve.vm(vm.vmid).status == "running"


def test_containers_offer_no_suspend(operator: Page, pve: DemoPve) -> None:
    ct = next(c for c in pve.cts if c.status == "running" and not c.lock)
    operator.goto(f"/guests/{ct.vmid}")
    expect(operator.locator('button[data-op="reboot"]')).to_be_visible()
    expect(operator.locator('button[data-op="suspend"]')).to_have_count(0)


def test_restore_as_new_offers_the_storages_that_take_the_guest(operator: Page, pve: DemoPve) -> None:
    operator.goto("/guests/137")
    form = operator.locator("form.restore-form").first
    storage = form.get_by_label("to storage")
    expect(storage.locator("option")).to_have_text(["ceph-vm", "local-lvm"])
    expect(storage).to_have_value("ceph-vm"), "the storage the guest's own disk is on comes first"
    operator.once("dialog", lambda dialog: dialog.accept())
    form.get_by_role("button", name="Restore as new").click()
    # CT 137 still has the addresses its backup carries: the form asks before the copy takes them too.
    form = operator.locator("form.restore-form").first
    expect(form).to_contain_text("are used by 137 (prometheus, running)")
    expect(operator.locator("#action-started")).to_have_count(0)
    form.get_by_label("Keep addresses another guest has").check()
    operator.once("dialog", lambda dialog: dialog.accept())
    form.get_by_role("button", name="Restore as new").click()
    expect(operator.locator("#action-started")).to_contain_text(re.compile(r"Restore .* as new guest \d+ on"))
    expect(operator.locator("#action-result")).to_contain_text("used anyway, as confirmed")


def test_a_double_click_or_a_resent_form_creates_one_container(operator: Page, pve: DemoPve) -> None:
    operator.goto("/provision")
    form = operator.locator("#create-ct-form")
    form.get_by_label("Hostname").fill("only-once")
    form.get_by_role("button", name="Create container").dblclick()
    expect(operator.locator("#action-started #task-exit")).to_have_text("OK", timeout=20000)
    # The same form sent twice more at once, as a flaky network or a browser retry would: same one-time key.
    statuses = operator.evaluate(
        """async () => {
             const form = document.querySelector('#create-ct-form');
             form.querySelector('[name=hostname]').value = 'sent-twice';
             const send = () => fetch(form.action, {method: 'POST', body: new FormData(form),
                                                   headers: {'X-CSRF-Token': form.csrf_token.value}});
             return (await Promise.all([send(), send()])).map(r => r.status);
           }"""
    )
    assert sorted(statuses) in ([200, 200], [200, 409]), statuses
    made = [
        c.config.get("hostname") for c in pve.cts if c.config.get("hostname") in ("only-once", "sent-twice")
    ]
    assert sorted(made) == ["only-once", "sent-twice"], made
    for ct in [c for c in pve.cts if c.config.get("hostname") in ("only-once", "sent-twice")]:
        pve.cts.remove(ct)


def test_create_container_with_an_address_in_use_asks_beside_it(operator: Page, pve: DemoPve) -> None:
    holder = next(c for c in pve.cts if c.status == "running" and "ip=10.0.20." in c.config["net0"])
    address = holder.config["net0"].split("ip=", 1)[1].split(",", 1)[0]
    operator.goto("/provision")
    form = operator.locator("#create-ct-form")
    expect(form.get_by_label("Use the address although another guest has it")).to_have_count(0)
    form.get_by_label("Hostname").fill("second-one")
    form.get_by_label("IPv4 from").select_option("static")
    form.get_by_label("IPv4 address").fill(address)
    form.get_by_label("VMID").fill("9650")
    form.get_by_role("button", name="Create container").click()
    form = operator.locator("#create-ct-form")
    said = f"{address.split('/')[0]} is used by {holder.vmid} ({holder.name}, running)"
    expect(form.locator("#create-ct-form-ip-error")).to_contain_text(said)
    expect(form.get_by_label("IPv4 address")).to_have_value(address)
    confirm = form.get_by_label("Use the address although another guest has it")
    expect(confirm).not_to_be_checked()
    assert not [c for c in pve.cts if c.vmid == 9650], "nothing is sent to Proxmox"
    confirm.check()
    form.get_by_role("button", name="Create container").click()
    expect(operator.locator("#action-started #task-exit")).to_have_text("OK", timeout=20000)
    expect(operator.locator("#action-result")).to_contain_text(said)
    assert f"ip={address}" in pve.ct(9650).config["net0"]
