"""Shared fixtures: settings, pve (fakepve over TLS), db, app server, clients, browser."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import Settings, load_settings
from app.db.engine import sync_url
from app.demo.seed import seed_cluster
from app.proxmox.client import PveClient
from app.services.accounts import passwords
from pvesim.fake import DemoPve
from tests.approval_guests import People, guests_made, people
from tests.backup_guests import FakeApi, Made, api_of, backups_made, client_of
from tests.factories import make_token, make_user
from tests.fakepve_thread import TOKEN_ID, TOKEN_SECRET, ServedFake
from tests.ldap_directory import Directory, Ldap, directory_settings
from tests.oidc_idp import CLIENT_ID as OIDC_CLIENT_ID
from tests.oidc_idp import CLIENT_SECRET as OIDC_CLIENT_SECRET
from tests.oidc_idp import ROLE_MAP, Provider, Sso
from tests.servers import AppServer, free_port

# argon2id at its cheapest in the test process (the app served in threads, make_user, sign-ins): the suite makes
# and signs in thousands of users, and production's 64 MiB and four lanes cost 0.15 s of CPU each time. Hashing
# and verifying run the same code; `proxgate` in processes of its own (tests/test_cli.py, tests/processes.py)
# keeps production's cost.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
passwords._DUMMY_HASH = passwords._hasher.hash("proxgate-dummy-password")

# CI sets this to a fresh PostgreSQL database for the second run of the suite.
DATABASE_URL_ENV = "PROXGATE_TEST_DATABASE_URL"


# Folders whose tests do not depend on the database the suite runs on (they need none, or always use
# PostgreSQL): CI runs them once, not again on PostgreSQL. The agents' tests drive the API, whose database
# behaviour tests/api covers on both.
DATABASE_FREE = ("agents", "browser", "demo", "faults", "fuzz", "operations", "proxmox")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests in DATABASE_FREE, and elsewhere those that never reach the suite's database (no fixture of theirs
    asks for database_url), are database_free. Browser tests run last: Playwright's sync API keeps an event
    loop running in the main thread."""
    for item in items:
        uses_database = "database_url" in getattr(item, "fixturenames", ())
        if item.path.parent.name in DATABASE_FREE or not uses_database:
            item.add_marker(pytest.mark.database_free)
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """PROXGATE_TEST_DATABASE_URL, else a new SQLite file."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{tmp_path_factory.mktemp('db') / 'proxgate.db'}"


# Where the tests that need PostgreSQL whatever the suite runs on make their databases (CI always has it).
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_REQUIRED_ENV = "PROXGATE_TEST_POSTGRES_REQUIRED"


def fresh_postgres(server_url: str) -> Iterator[str]:
    """A new, empty database on this PostgreSQL server, dropped afterwards."""
    url = make_url(sync_url(server_url))
    name = f"proxgate_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def empty_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the suite's kind (a SQLite file, or a PostgreSQL database dropped afterwards)."""
    if make_url(sync_url(database_url)).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path}/empty.db"
        return
    yield from fresh_postgres(database_url)


@pytest.fixture
def postgres_database(database_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database: on the suite's server, or on the local one when the suite uses SQLite.

    Without a local PostgreSQL the test is skipped, saying so, unless POSTGRES_REQUIRED_ENV is set (CI sets it:
    there a missing server is a failure, not a skip)."""
    suite_is_sqlite = make_url(sync_url(database_url)).get_backend_name() == "sqlite"
    if suite_is_sqlite and not os.environ.get(POSTGRES_REQUIRED_ENV) and not listening(LOCAL_POSTGRES):
        pytest.skip(f"needs PostgreSQL at {LOCAL_POSTGRES} (CI has it; so does PROXGATE_TEST_DATABASE_URL)")
    yield from fresh_postgres(LOCAL_POSTGRES if suite_is_sqlite else database_url)


def listening(url: str) -> bool:
    """Whether something accepts TCP connections at the URL's host and port."""
    parsed = make_url(url)
    try:
        socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def served_fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedFake]:
    """The seeded demo cluster (3 nodes, about 30 guests) on loopback over TLS, for the whole session."""
    pve = DemoPve()
    seed_cluster(pve, guests=30)
    pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    served = ServedFake(pve, tmp_path_factory.mktemp("pki"))
    yield served
    served.stop()


@pytest.fixture
def pve(served_fake: ServedFake) -> Iterator[DemoPve]:
    """The fake cluster; faults a test injects are undone afterwards."""
    fake: DemoPve = served_fake.pve
    yield fake
    fake.failures.clear()
    fake.stalls.clear()
    fake.regain_quorum()
    for node in list(fake.nodes):
        fake.set_node_offline(node, offline=False)
    fake.slow_network(0.0)
    fake.flaky_network()
    fake.acl = None


@pytest.fixture
def api(client: httpx.Client, settings: Settings) -> httpx.Client:
    """The anonymous client with a viewer's bearer token."""
    client.headers["Authorization"] = f"Bearer {make_token(settings, make_user(settings, 'viewer'))}"
    return client


@pytest.fixture
def fake_api(served_fake: ServedFake) -> Iterator[FakeApi]:
    """A client of the fake with the app's token, for making state (backups, tasks) as Proxmox would."""
    yield from api_of(served_fake)


@pytest.fixture
def backup_guests(pve: DemoPve, fake_api: FakeApi) -> Iterator[Made]:
    """Guests 9101 (backed up twice, hostile name and notes) and 9102 (never), and a failed vzdump."""
    yield from backups_made(pve, fake_api)


@pytest.fixture
async def pve_client(served_fake: ServedFake) -> AsyncIterator[PveClient]:
    """The app's client of the shared fake, without a resources cache."""
    async for client in client_of(served_fake):
        yield client


def app_settings(served: ServedFake, database_url: str, data_dir: Path, **overrides: object) -> Settings:
    """Settings for an app that talks to this fake, as the environment would give them."""
    values: dict[str, object] = {
        "proxmox_host": served.address,
        "proxmox_token_id": TOKEN_ID,
        "proxmox_token_secret": TOKEN_SECRET,
        "proxmox_tls_fingerprint": served.fingerprint,
        "credentials_file": data_dir / "no-credentials",
        "data_dir": data_dir,
        "database_url": database_url,
        "resources_ttl": 0.5,
        "backups_ttl": 0.5,
        "trusted_proxies": "127.0.0.1",
        "login_ip_max_failures": 25,
        # Every app of a test session on the shared database seals the audit chain with the same key, as the
        # instances of one deployment do (PROXGATE_SECRET_KEY); a key per data folder would split the chain.
        "secret_key": "the audit and session key of the test session, long enough",
        # Most tests drive approvals through the API with approvers' tokens (made with the approver role);
        # tests/api/test_token_decisions.py runs an app with the default (off) to show what it refuses.
        "approve_with_tokens": True,
        # The tests ask what the whole IP index says: an answer waits for guests never read
        # (tests/web/test_ips_progress.py shows a page that does not).
        "ips_wait": 30.0,
        # Tasks run beside Proxgate are read only where a test asks (tests/services/test_observer.py).
        "observe_interval_seconds": 0.0,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture(scope="session")
def settings(
    served_fake: ServedFake, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The settings of the shared app server."""
    return app_settings(served_fake, database_url, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def app_server(settings: Settings) -> Iterator[AppServer]:
    """Proxgate served over HTTP for the whole session (migrated on start)."""
    server = AppServer(settings)
    yield server
    server.stop()


@pytest.fixture
def client(app_server: AppServer) -> Iterator[httpx.Client]:
    """An anonymous HTTP client of the app."""
    with httpx.Client(base_url=app_server.url, follow_redirects=False, timeout=30) as http:
        yield http


@pytest.fixture
def crew(settings: Settings) -> People:
    """An operator, two approvers and a viewer, each with an API token."""
    return people(settings)


@pytest.fixture
def scratch(pve: DemoPve) -> Iterator[None]:
    """A clean 9300-9399 range in the fake for the guests a test makes (the approval tests)."""
    yield from guests_made(pve)


@pytest.fixture(scope="session")
def sso(
    served_fake: ServedFake, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sso]:
    """A real OpenID provider (tests/oidc_idp.py) and an app that signs people in there, for the session."""
    folder = tmp_path_factory.mktemp("sso")
    app_port = free_port()
    provider = Provider(tmp_path_factory.mktemp("oidc-provider"), app_port, {})
    settings = app_settings(
        served_fake,
        database_url,
        folder,
        oidc_issuer=provider.issuer,
        oidc_client_id=OIDC_CLIENT_ID,
        oidc_client_secret=OIDC_CLIENT_SECRET,
        oidc_role_map=ROLE_MAP,
        oidc_name="Test ID",
    )
    app = AppServer(settings, port=app_port)
    yield Sso(provider, app, settings)
    app.stop()
    provider.stop()


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    """A real LDAP directory (Debian's slapd, tests/ldap_directory.py) for the session."""
    directory = Directory(tmp_path_factory.mktemp("slapd"))
    yield directory
    directory.stop()


@pytest.fixture(scope="session")
def ldap(
    served_fake: ServedFake, database_url: str, slapd: Directory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ldap]:
    """An app whose sign-in form asks the directory (over StartTLS), for the session."""
    settings = app_settings(
        served_fake, database_url, tmp_path_factory.mktemp("ldap"), **directory_settings(slapd)
    )
    app = AppServer(settings)
    yield Ldap(slapd, app, settings)
    app.stop()
