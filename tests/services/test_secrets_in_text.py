"""Secrets pasted into free text are recognised; sentences that only talk about secrets are not."""

from __future__ import annotations

import time

import pytest

from app.services.secrets_in_text import secret_kind, secret_problem

pytestmark = pytest.mark.database_free

PVE_SECRET = "8c1d6f4e-2f7a-4b8e-9c3d-1a2b3c4d5e6f"
PXG_TOKEN = "pxg_" + "Zk3-q_9" * 6 + "x"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"Authorization: PVEAPIToken=root@pam!ci={PVE_SECRET}", "a Proxmox API token"),
        (f"pveapitoken = root@pam!ci={PVE_SECRET}", "a Proxmox API token"),
        (f"the old one was automation@pve!deploy={PVE_SECRET}, rotate it", "a Proxmox API token"),
        (f"use {PXG_TOKEN} for the job", "a Proxgate API token"),
        ("curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0'", "a bearer token"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "a private key"),
        ("-----BEGIN RSA PRIVATE KEY-----", "a private key"),
        ("-----BEGIN ENCRYPTED PRIVATE KEY-----", "a private key"),
    ],
)
def test_tokens_and_keys_are_named_by_kind(text: str, kind: str) -> None:
    assert secret_kind(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "password=hunter2",
        "root password: hunter2",
        "passwd:hunter2",
        "db_password = 's3cret!'",
        "PGPASSWORD=hunter2 psql",
        "client_secret=abc",
        "access_token: abc",
        "X-Api-Key: abc",
        "api_key=abc",
        "passphrase = correct horse",
        "(token=abc)",
    ],
)
def test_a_secret_name_with_a_value_is_a_secret(text: str) -> None:
    assert secret_kind(text) is not None and "password or secret" in str(secret_kind(text))


@pytest.mark.parametrize(
    "text",
    [
        "decommissioned, the customer left",
        "the token expired yesterday; password reset done",
        "rotate the PVE token root@pam!ci afterwards",
        "revoke pxg_a1b2c3 (the prefix the token list shows)",
        "token_id=root@pam!ci",
        "tokens=3 secrets=none-of-them passwords:",
        "password=",
        "secret = ",
        "-----BEGIN PUBLIC KEY-----",
        "bypass=1 monkey=2 keyboard: yes",
        f"request {PVE_SECRET} of the task log",
        "Bearer of bad news",
    ],
)
def test_sentences_about_secrets_are_not_secrets(text: str) -> None:
    assert secret_kind(text) is None


def test_the_problem_names_the_field_and_says_nothing_was_stored_without_echoing_the_secret() -> None:
    problem = secret_problem("password=hunter2", "comment")
    assert problem is not None
    assert "comment" in problem and "Nothing was stored" in problem and "hunter2" not in problem
    assert secret_problem("fine", "comment") is None


@pytest.mark.parametrize("text", ["a-" * 1000, "a" * 2000, "a@b!" * 500, "password" * 250, "a." * 1000])
def test_long_text_is_checked_in_linear_time(text: str) -> None:
    """2000 characters (the longest comment) are checked in about a millisecond, whatever they are (a pattern
    that backtracked from every position took 180 ms on the first of these, holding the event loop)."""
    timings = []
    for _ in range(3):  # the best of three, so a busy machine's pause does not count
        started = time.perf_counter()
        secret_kind(text)
        timings.append(time.perf_counter() - started)
    assert min(timings) < 0.03
