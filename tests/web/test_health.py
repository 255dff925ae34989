"""/healthz, /readyz and /metrics: anonymous callers learn only ready or not; details need an admin or a token."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from app.config import Settings
from app.db.migrate import upgrade_database
from pvesim.fake import DemoPve
from tests.conftest import app_settings
from tests.factories import make_token, make_user, signed_in
from tests.fakepve_thread import TOKEN_ID, ServedFake
from tests.servers import AppServer

METRICS_TOKEN = "scraper-secret-0123456789"


def test_healthz(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_tells_anonymous_callers_only_whether_it_is_ready(client: httpx.Client, pve: DemoPve) -> None:
    assert client.get("/readyz").json() == {"status": "ok"}
    pve.fail("GET", "/version", 401, "authentication failure")
    failing = client.get("/readyz")
    assert failing.status_code == 503 and failing.json() == {"status": "unavailable"}
    assert TOKEN_ID not in failing.text and "pve" not in failing.text.lower()


def test_readyz_details_for_a_signed_in_admin(
    app_server: AppServer, settings: Settings, pve: DemoPve
) -> None:
    with signed_in(app_server.url, make_user(settings, "admin")) as http:
        assert http.get("/readyz").json()["checks"] == {"database": "ok", "proxmox": "ok"}
        pve.fail("GET", "/version", 401, "authentication failure")
        failing = http.get("/readyz")
        assert failing.status_code == 503
        assert failing.json()["checks"]["proxmox"].startswith("error: ")
    with signed_in(app_server.url, make_user(settings, "operator")) as http:
        assert "checks" not in http.get("/readyz").json()


def test_metrics_need_an_admin_and_count_upstream_requests(
    client: httpx.Client, app_server: AppServer, settings: Settings
) -> None:
    assert client.get("/metrics").status_code == 401
    api = {"Authorization": f"Bearer {make_token(settings, make_user(settings, 'admin'))}"}
    assert client.get("/metrics", headers=api).status_code == 401  # an API token is not the metrics token
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        assert http.get("/metrics").status_code == 403
    with signed_in(app_server.url, make_user(settings, "admin")) as http:
        time.sleep(0.6)
        http.get("/")
        http.get("/")  # within the cache TTL: served from the cache
        text = http.get("/metrics").text
    assert 'proxgate_upstream_requests_total{method="GET",path="/cluster/resources"' in text
    assert 'path="/nodes/{node}/status"' in text
    assert 'proxgate_cache_lookups_total{cache="cluster_resources",result="hit"}' in text
    assert 'proxgate_http_requests_total{method="GET",route="/",status="200"}' in text


def test_a_metrics_token_or_a_listed_address_may_scrape(
    served_fake: ServedFake, empty_database: str, tmp_path: Path
) -> None:
    upgrade_database(empty_database)
    settings = app_settings(
        served_fake,
        empty_database,
        tmp_path / "data",
        metrics_token=METRICS_TOKEN,
        metrics_allow="10.0.0.0/8, 192.0.2.7",
    )
    server = AppServer(settings)
    try:
        with httpx.Client(base_url=server.url) as http:
            scraper = {"Authorization": f"Bearer {METRICS_TOKEN}"}
            assert "proxgate_audit_head_seq" in http.get("/metrics", headers=scraper).text
            assert http.get("/readyz", headers=scraper).json()["checks"]["database"] == "ok"
            assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
            # The app trusts X-Forwarded-For from 127.0.0.1 in the tests, as behind a proxy.
            for address, status in (("10.1.2.3", 200), ("192.0.2.7", 200), ("192.0.2.8", 401)):
                answer = http.get("/metrics", headers={"X-Forwarded-For": address})
                assert answer.status_code == status, address
                assert "checks" not in http.get("/readyz", headers={"X-Forwarded-For": address}).json()
    finally:
        server.stop()
