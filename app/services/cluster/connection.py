"""The Proxmox connection from settings, and `proxgate check`, which says plainly what works."""

from __future__ import annotations

from app.config import ConfigError, Settings
from app.proxmox.client import PveClient, PveConnection
from app.proxmox.errors import PveError, PveForbidden


def pve_connection(settings: Settings) -> PveConnection:
    """The Proxmox connection the settings describe; ConfigError names what is missing."""
    missing = settings.missing_proxmox_settings()
    if missing:
        raise ConfigError(
            f"{missing[0]} is not set: give it in the environment or in {settings.credentials_file} "
            "(or run `proxgate demo` to try Proxgate against a simulated cluster)"
        )
    assert settings.proxmox_host and settings.proxmox_token_id and settings.proxmox_token_secret  # noqa: S101
    return PveConnection(
        host=settings.proxmox_host,
        token_id=settings.proxmox_token_id,
        token_secret=settings.proxmox_token_secret.get_secret_value(),
        verify_tls=settings.proxmox_verify_tls,
        ca_bundle=str(settings.proxmox_ca_bundle.expanduser()) if settings.proxmox_ca_bundle else None,
        fingerprint=settings.proxmox_tls_fingerprint,
        timeout=settings.proxmox_timeout,
        resources_ttl=settings.resources_ttl,
        backups_ttl=settings.backups_ttl,
    )


async def check_connection(settings: Settings) -> tuple[bool, list[str]]:
    """(ok, lines to print): version, what the token can see, and a missing audit right by name."""
    try:
        connection = pve_connection(settings)
    except ConfigError as exc:
        return False, [f"configuration error: {exc}"]
    async with PveClient(connection) as pve:
        try:
            version = await pve.version()
            resources = await pve.cluster_resources()
        except PveError as exc:
            return False, [f"Proxmox at {connection.host}: {exc}"]
        lines = [
            f"Proxmox at {connection.host} answers: PVE {version.version}",
            f"the token {connection.token_id} sees {len(resources.nodes)} nodes, {len(resources.guests)} guests "
            f"and {len(resources.storages)} storages",
        ]
        try:
            await pve.cluster_status()
        except PveForbidden as exc:
            lines.append(
                f"the token cannot read the cluster's health: {exc}; give it the PVEAuditor role on /"
            )
            return False, lines
    if not resources.guests:
        lines.append(
            "warning: the token sees no guests; give it PVEAuditor on / or on the pools it should manage"
        )
    return True, lines
