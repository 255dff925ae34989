"""What a homelab or small business runs: the roles the demo's guests are drawn from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    """A kind of guest: its name pattern ({n} numbers it), size, tags, pool and OS."""

    name: str
    cores: int
    memory: int  # MiB
    disk: int  # GiB
    tags: str
    pool: str | None
    os: str = "debian"
    data: int = 0  # GiB of a second disk or mount point, 0 for none
    data_backup: bool = True


VM_ROLES = (
    Role("web{n:02d}", 2, 4096, 32, "prod;web", "production"),
    Role("db-primary", 4, 16384, 64, "db;prod", "production", data=200),
    Role("db-replica{n}", 4, 16384, 64, "db;prod", "production", data=200),
    Role("gitlab", 4, 8192, 100, "dev;git", "infra", os="ubuntu"),
    Role("gitlab-runner-{n}", 4, 8192, 64, "ci;dev", "infra", os="ubuntu"),
    Role("k3s-master-{n}", 2, 4096, 32, "k8s;staging", "staging", os="ubuntu"),
    Role("k3s-node-{n}", 4, 8192, 64, "k8s;staging", "staging", os="ubuntu"),
    Role("win-dc{n:02d}", 2, 4096, 64, "infra;windows", "infra", os="win2k22"),
    Role("win11-desk{n:02d}", 4, 8192, 128, "desktop;windows", None, os="win11"),
    Role("opnsense", 2, 4096, 16, "firewall;network", "infra", os="other"),
    Role("home-assistant", 2, 4096, 32, "home;iot", "homelab", os="haos"),
    Role("docker-host-{n}", 4, 8192, 100, "docker;prod", "production"),
    Role("mailcow", 4, 8192, 80, "mail;prod", "production"),
    Role("monitoring", 2, 4096, 50, "infra;monitoring", "infra"),
    Role("nextcloud", 4, 8192, 64, "cloud;prod", "production", data=500),
    Role("elastic-{n}", 4, 16384, 200, "logging;prod", "production", os="ubuntu"),
    Role("keycloak", 2, 4096, 32, "auth;prod", "production"),
    Role("jenkins", 4, 8192, 80, "ci;dev", "infra"),
    Role("minio-{n}", 2, 4096, 32, "s3;storage", "production", data=250, data_backup=False),
    Role("vault", 2, 2048, 20, "infra;security", "infra"),
    Role("truenas", 4, 16384, 32, "nas;storage", "infra", os="other"),
    Role("pbs", 4, 8192, 32, "backup;infra", "infra"),
    Role("dev-box-{n}", 8, 16384, 128, "dev", None, os="ubuntu"),
)

CT_ROLES = (
    Role("pihole", 1, 512, 8, "dns;network", "homelab"),
    Role("adguard", 1, 512, 4, "dns;network", "homelab", os="alpine"),
    Role("unifi", 2, 2048, 16, "network;unifi", "homelab"),
    Role("nginx-proxy", 1, 1024, 8, "proxy;web", "production"),
    Role("traefik", 1, 512, 8, "proxy;web", "production", os="alpine"),
    Role("wireguard", 1, 256, 4, "network;vpn", "infra", os="alpine"),
    Role("jellyfin", 4, 4096, 32, "media", "media", data=500, data_backup=False),
    Role("plex", 4, 4096, 32, "media", "media", os="ubuntu"),
    Role("sonarr", 2, 1024, 8, "arr;media", "media"),
    Role("radarr", 2, 1024, 8, "arr;media", "media"),
    Role("prowlarr", 1, 512, 4, "arr;media", "media"),
    Role("uptime-kuma", 1, 512, 8, "monitoring", "infra"),
    Role("grafana", 2, 1024, 8, "monitoring", "infra"),
    Role("prometheus", 2, 2048, 32, "monitoring", "infra"),
    Role("influxdb", 2, 2048, 32, "db;monitoring", "infra"),
    Role("mariadb-{n}", 2, 2048, 32, "db", "production"),
    Role("postgres-{n}", 2, 4096, 32, "db", "production"),
    Role("redis", 1, 1024, 8, "cache;db", "production", os="alpine"),
    Role("mosquitto", 1, 256, 4, "iot;mqtt", "homelab", os="alpine"),
    Role("zigbee2mqtt", 1, 512, 4, "iot", "homelab"),
    Role("vaultwarden", 1, 512, 8, "security", "homelab"),
    Role("paperless", 2, 2048, 16, "docs", "homelab"),
    Role("syncthing", 1, 1024, 8, "sync", "homelab", data=200),
    Role("gitea", 2, 2048, 16, "dev;git", "infra"),
    Role("bookstack", 1, 1024, 8, "docs;wiki", "infra", os="ubuntu"),
    Role("dns{n:02d}", 1, 512, 4, "dns;infra", "infra"),
    Role("samba", 1, 1024, 8, "nas;storage", "homelab", data=300),
    Role("homepage", 1, 512, 4, "dashboard", "homelab", os="alpine"),
    Role("tailscale", 1, 256, 4, "vpn", "infra", os="alpine"),
)

POOLS = {
    "production": "Customer-facing services",
    "staging": "Pre-production and the k3s test cluster",
    "infra": "Core infrastructure",
    "homelab": "Home automation and personal services",
    "media": "Media stack",
}

# Guest OS as the agent reports it: (id, pretty name, version id, kernel).
OS_INFO = {
    "debian": ("debian", "Debian GNU/Linux 12 (bookworm)", "12", "6.1.0-25-amd64"),
    "ubuntu": ("ubuntu", "Ubuntu 24.04.1 LTS", "24.04", "6.8.0-45-generic"),
    "haos": ("haos", "Home Assistant OS 13.1", "13.1", "6.6.46-haos"),
    "win2k22": ("mswindows", "Windows Server 2022 Standard", "2022", "10.0.20348"),
    "win11": ("mswindows", "Windows 11 Pro", "11", "10.0.26100"),
}

CT_TEMPLATES = {
    "debian": "debian-12-standard_12.7-1_amd64.tar.zst",
    "ubuntu": "ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
    "alpine": "alpine-3.20-default_20240908_amd64.tar.xz",
}
EXTRA_TEMPLATES = ("rockylinux-9-default_20240912_amd64.tar.xz", "archlinux-base_20240911-1_amd64.tar.zst")
ISOS = {
    "debian-12.7.0-amd64-netinst.iso": 661651456,
    "ubuntu-24.04.1-live-server-amd64.iso": 2773874688,
    "virtio-win-0.1.262.iso": 725135360,
    "Win11_24H2_English_x64.iso": 5819484160,
    "OPNsense-24.7-dvd-amd64.iso": 2160066560,
    "proxmox-backup-server_3.2-1.iso": 1265549312,
}
VIRTIO_ISO = "local:iso/virtio-win-0.1.262.iso,media=cdrom,size=708140K"
