"""One clear message for each way the Proxmox connection goes wrong, against fakepve."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError
from app.services.cluster.connection import check_connection
from pvesim.fake import DemoPve
from tests.conftest import TOKEN_ID, app_settings
from tests.fakepve_thread import ServedFake
from tests.servers import free_port


async def test_good_settings_report_what_the_token_sees(
    served_fake: ServedFake, tmp_path: Path, pve: DemoPve
) -> None:
    ok, lines = await check_connection(app_settings(served_fake, "sqlite://", tmp_path))
    assert ok
    assert lines[0].startswith(f"Proxmox at {served_fake.address} answers: PVE ")
    assert f"sees {len(pve.nodes)} nodes" in lines[1]


async def test_wrong_token_secret(served_fake: ServedFake, tmp_path: Path) -> None:
    settings = app_settings(served_fake, "sqlite://", tmp_path, proxmox_token_secret="wrong-secret")
    ok, lines = await check_connection(settings)
    assert not ok and len(lines) == 1
    assert TOKEN_ID in lines[0] and "wrong-secret" not in lines[0]
    assert "refused" in lines[0].lower() or "authentication" in lines[0].lower()


async def test_wrong_tls_fingerprint(served_fake: ServedFake, tmp_path: Path, pve: DemoPve) -> None:
    before = len(pve.requests)
    settings = app_settings(served_fake, "sqlite://", tmp_path, proxmox_tls_fingerprint="00" * 32)
    ok, lines = await check_connection(settings)
    assert not ok and len(lines) == 1
    assert "fingerprint" in lines[0].lower() and served_fake.fingerprint in lines[0]
    assert len(pve.requests) == before, "nothing, not even the token, may be sent to an unpinned server"


async def test_unreachable_proxmox(served_fake: ServedFake, tmp_path: Path) -> None:
    settings = app_settings(served_fake, "sqlite://", tmp_path, proxmox_host=f"127.0.0.1:{free_port()}")
    ok, lines = await check_connection(settings)
    assert not ok and len(lines) == 1
    assert "127.0.0.1" in lines[0]


async def test_token_without_rights(served_fake: ServedFake, tmp_path: Path, pve: DemoPve) -> None:
    pve.apitokens["nobody@pve!probe"] = "probe-secret"
    pve.grant("someone@pve", "/", "Sys.Audit")  # ACLs switch on; nobody@pve holds nothing
    settings = app_settings(
        served_fake,
        "sqlite://",
        tmp_path,
        proxmox_token_id="nobody@pve!probe",
        proxmox_token_secret="probe-secret",
    )
    ok, lines = await check_connection(settings)
    assert not ok
    assert any("Sys.Audit" in line or "PVEAuditor" in line for line in lines)


def test_unreadable_credentials_file(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.write_text("PROXMOX_HOST=pve.lan\n")
    creds.chmod(0o644)
    from app.config import load_settings

    with pytest.raises(ConfigError, match="chmod 600"):
        load_settings(
            credentials_file=creds, proxmox_host=None, proxmox_token_id=None, proxmox_token_secret=None
        )
