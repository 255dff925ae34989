"""TLS: pinning, a CA bundle, default verification, verification off; over real HTTPS."""

from __future__ import annotations

import pytest
from fakepve import FakePve

from app.proxmox import PveClient, PveConnection, PveTlsError
from tests.fakepve_thread import ServedFake
from tests.proxmox.conftest import TOKEN_ID, TOKEN_SECRET, RawPve, pinned

WRONG = ":".join(["AB"] * 32)


async def test_pinned_fingerprint_in_any_spelling(served: ServedFake) -> None:
    spelling = served.fingerprint.replace(":", "").lower()
    async with PveClient(pinned(served, fingerprint=spelling)) as pve:
        assert (await pve.version()).version


async def test_wrong_fingerprint_fails_before_a_request_is_sent(served: ServedFake, pve: FakePve) -> None:
    async with PveClient(pinned(served, fingerprint=WRONG)) as client:
        with pytest.raises(PveTlsError) as caught:
            await client.version()
    err = caught.value
    assert (err.expected, err.presented) == (WRONG, served.fingerprint)
    assert f"expected fingerprint {WRONG}, presented {served.fingerprint}" in str(err)
    assert (err.method, err.path, err.host) == ("GET", "/version", served.address)
    assert pve.requests == []


async def test_wrong_fingerprint_sends_not_one_byte(raw_pve: RawPve) -> None:
    async with PveClient(raw_pve.connection(fingerprint=WRONG)) as client:
        with pytest.raises(PveTlsError):
            await client.get("/version")
    # One connection, handshake completed, then closed with nothing written: no token header left the client.
    assert raw_pve.wait_for(1) == [b""]


async def test_ca_bundle_verifies_the_certificate(served: ServedFake) -> None:
    conn = PveConnection(served.address, TOKEN_ID, TOKEN_SECRET, ca_bundle=served.cafile)
    async with PveClient(conn) as pve:
        assert (await pve.version()).version


async def test_default_verification_rejects_a_self_signed_certificate(
    served: ServedFake, pve: FakePve
) -> None:
    async with PveClient(PveConnection(served.address, TOKEN_ID, TOKEN_SECRET)) as client:
        with pytest.raises(PveTlsError) as caught:
            await client.version()
    assert str(caught.value) == (
        f"The TLS certificate of {served.address} is not trusted (self-signed certificate); set "
        "PROXMOX_CA_BUNDLE to the CA that signed it, or pin it with PROXMOX_TLS_FINGERPRINT"
    )
    assert pve.requests == []


async def test_tls_errors_are_not_retried(served: ServedFake) -> None:
    calls: list[str] = []

    class Count:
        def request_done(self, method: str, path_template: str, status: str, seconds: float) -> None:
            calls.append(status)

        def cache_lookup(self, cache: str, hit: bool) -> None:
            """Not used here."""

    async with PveClient(PveConnection(served.address, TOKEN_ID, TOKEN_SECRET, retries=3), Count()) as client:
        with pytest.raises(PveTlsError):
            await client.version()
    assert calls == ["tls_error"]


async def test_verification_can_be_turned_off(served: ServedFake) -> None:
    conn = PveConnection(served.address, TOKEN_ID, TOKEN_SECRET, verify_tls=False)
    async with PveClient(conn) as pve:
        assert (await pve.version()).version
