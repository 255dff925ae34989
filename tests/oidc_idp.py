"""The OpenID provider the single sign-on tests sign in at: the certified oidc-provider package (npm), run by
the machine's node from tests/oidc_provider (installed there with `npm ci` when its node_modules is missing)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from app.config import Settings
from app.db.engine import sync_url
from tests.factories import unique_name
from tests.security.store import scalar
from tests.servers import AppServer, free_port

HERE = Path(__file__).parent / "oidc_provider"
CLIENT_ID = "proxgate"
CLIENT_SECRET = "the proxgate client's secret at the test provider"
ROLE_MAP = "proxmox-admins=admin,dba=approver,ops=operator"


def install() -> None:
    """`npm ci` once (under a lock: the SQLite and PostgreSQL runs of CI start side by side)."""
    with (HERE / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (HERE / "node_modules" / "oidc-provider").is_dir():
            npm = [tool("npm"), "ci", "--no-audit", "--no-fund", "--loglevel=error"]
            subprocess.run(npm, cwd=HERE, check=True)  # noqa: S603 (the packages of our own lock file)


def tool(name: str) -> str:
    """The full path of node or npm; a clear message when the machine lacks them."""
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"the single sign-on tests need {name} (node >= 20.19) to run oidc-provider")
    return found


class Provider:
    """oidc-provider on http://127.0.0.1:PORT with one client (Proxgate on app_port) and the given people."""

    def __init__(self, folder: Path, app_port: int, people: dict[str, list[str]]) -> None:
        install()
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.accounts = folder / "accounts.json"
        self.set_people(people)
        self.log = (folder / "oidc-provider.log").open("ab")
        app = f"http://127.0.0.1:{app_port}"
        node = tool("node")
        env = {
            "PATH": str(Path(node).parent),
            "ISSUER": self.issuer,
            "PORT": str(self.port),
            "ACCOUNTS_FILE": str(self.accounts),
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "REDIRECT_URI": f"{app}/login/sso/callback",
            "POST_LOGOUT_URI": f"{app}/login",
        }
        self.proc = subprocess.Popen(  # noqa: S603
            [node, str(HERE / "provider.mjs")],
            env=env,
            stdout=self.log,
            stderr=self.log,  # noqa: S607
        )
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"oidc-provider did not start; see {folder / 'oidc-provider.log'}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def set_people(self, people: dict[str, list[str]]) -> None:
        """Who the provider knows and their groups (read at each look-up: a change holds at once)."""
        self.accounts.write_text(json.dumps({name: {"groups": groups} for name, groups in people.items()}))

    def stop(self) -> None:
        """End the provider's process."""
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def redirect_back(http: httpx.Client, app_url: str, username: str) -> httpx.URL:
    """Start at Proxgate's "Sign in with" link and go through the provider's own sign-in and consent forms, as
    a browser does; returns where the provider sends the browser back to (Proxgate's callback), not yet visited."""
    answer = http.get(f"{app_url}/login/sso")
    while not answer.headers.get("location", "").startswith(f"{app_url}/login/sso/callback"):
        if answer.is_redirect:
            answer = http.get(answer.url.join(answer.headers["location"]))
            continue
        form = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
        if form is None:
            raise AssertionError(f"the provider's page has no form: {answer.text[:500]}")
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', answer.text))
        if 'name="login"' in answer.text:
            fields.update(login=username, password="any password: the provider's test pages take any")
        answer = http.post(answer.url.join(form.group(1)), data=fields)
    return httpx.URL(answer.headers["location"])


def sign_in_at_provider(http: httpx.Client, app_url: str, username: str) -> httpx.Response:
    """Sign in at the provider (redirect_back) and return Proxgate's answer to its redirect back."""
    return http.get(redirect_back(http, app_url, username))


class Sso:
    """The provider, an app that signs people in there, and the people the provider knows."""

    def __init__(self, provider: Provider, app: AppServer, settings: Settings) -> None:
        self.provider, self.app, self.settings = provider, app, settings
        self.people: dict[str, list[str]] = {}

    def person(self, groups: list[str]) -> str:
        """A new person at the provider with these groups."""
        name = unique_name("sso")
        self.regroup(name, groups)
        return name

    def regroup(self, name: str, groups: list[str] | None) -> None:
        """Change someone's groups at the provider (None: remove them)."""
        if groups is None:
            self.people.pop(name, None)
        else:
            self.people[name] = groups
        self.provider.set_people(self.people)

    def client(self) -> httpx.Client:
        """A browser-like client, cookies and all, not following redirects by itself."""
        return httpx.Client(follow_redirects=False, timeout=30)


def audit_events(settings: Settings, operation: str, subject: str) -> list[dict[str, Any]]:
    """The audit events of this single sign-on operation about this subject, oldest first."""
    engine = create_engine(sync_url(settings.resolved_database_url))
    sql = "SELECT outcome, params FROM audit_events WHERE operation = :op AND target_name = :s ORDER BY seq"
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(sql), {"op": operation, "s": subject}).all()
    finally:
        engine.dispose()
    return [{"outcome": outcome, "params": json.loads(params)} for outcome, params in rows]


def check_due(settings: Settings, cookie: str) -> None:
    """Make the provider's last word on the session 6 minutes old, as time passing would."""
    key = hashlib.sha256(cookie.encode()).hexdigest()
    moment = datetime.now(UTC) - timedelta(minutes=6)
    scalar(settings, "UPDATE web_sessions SET sso_checked_at = :t WHERE id = :id", t=moment, id=key)
