"""Proxgate in processes of its own on a shared database, as deployments run it: started, killed as a crash
does, stopped; and `proxgate audit verify` run beside them with the same settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.config import Settings
from tests.fakepve_thread import TOKEN_ID, TOKEN_SECRET
from tests.servers import free_port

PROXGATE = str(Path(sys.executable).parent / "proxgate")


def process_env(settings: Settings) -> dict[str, str]:
    """The environment a process of these settings gets: Proxmox, database, data folder, key, whether tokens
    may approve, how often tasks run beside it are read, how long its batch leases last, and its webhook when it
    has one."""
    notify = (
        {
            "PROXGATE_NOTIFY_WEBHOOK_URL": settings.notify_webhook_url.get_secret_value(),
            "PROXGATE_NOTIFY_WEBHOOK_SECRET": settings.notify_webhook_secret.get_secret_value(),
            "PROXGATE_NOTIFY_INTERVAL_SECONDS": str(settings.notify_interval_seconds),
        }
        if settings.notify_webhook_url and settings.notify_webhook_secret
        else {}
    )
    return {
        **os.environ,
        **notify,
        "PROXMOX_HOST": str(settings.proxmox_host),
        "PROXMOX_TOKEN_ID": TOKEN_ID,
        "PROXMOX_TOKEN_SECRET": TOKEN_SECRET,
        "PROXMOX_TLS_FINGERPRINT": str(settings.proxmox_tls_fingerprint),
        "PROXMOX_TIMEOUT": str(settings.proxmox_timeout),
        "DATABASE_URL": str(settings.database_url),
        "PROXGATE_DATA_DIR": str(settings.data_dir),
        "PROXGATE_CREDENTIALS_FILE": str(settings.data_dir / "none"),
        "PROXGATE_SECRET_KEY": settings.resolved_secret_key(),
        "PROXGATE_APPROVE_WITH_TOKENS": str(settings.approve_with_tokens).lower(),
        "PROXGATE_OBSERVE_INTERVAL_SECONDS": str(settings.observe_interval_seconds),
        "PROXGATE_BATCH_LEASE_SECONDS": str(settings.batch_lease_seconds),
    }


class AppProcess:
    """`proxgate serve` in a process of its own, on the given database."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.port = free_port()
        self.out = log.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 (our own command)
            [PROXGATE, "serve", "--port", str(self.port)],
            env=process_env(settings),
            stdout=self.out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as a crash."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.out.close()

    def stop(self) -> None:
        """A normal stop (the last audit checkpoint is written)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.out.close()


def audit_verify(settings: Settings) -> subprocess.CompletedProcess[str]:
    """`proxgate audit verify` as an operator runs it beside the app, with the app's settings."""
    return subprocess.run(  # noqa: S603 (our own command)
        [PROXGATE, "audit", "verify"],
        env=process_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
