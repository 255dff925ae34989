"""An installed copy runs from anywhere: the wheel, in a clean venv, migrates, serves and runs the demo elsewhere."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

pytestmark = pytest.mark.database_free

ROOT = Path(__file__).resolve().parents[1]
# Local state of a checkout that a build must not see (a stale build/ would leak deleted files into the wheel).
LOCAL_STATE = {".git", ".venv", "build", "dist", "data", "__pycache__"}
PIP_TIMEOUT = 300


def build_wheel(into: Path) -> Path:
    """`pip wheel` of a copy of the checkout (without its local state), as a release would build it."""
    source = into / "source"
    shutil.copytree(ROOT, source, ignore=leave_out_local_state)
    subprocess.run(  # noqa: S603 (pip on our own project)
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(into), str(source)],
        check=True,
        timeout=PIP_TIMEOUT,
    )
    (wheel,) = into.glob("proxgate-*.whl")
    return wheel


def leave_out_local_state(folder: str, names: list[str]) -> set[str]:
    """copytree's filter: caches and build output anywhere, local state at the top."""
    skipped = {name for name in names if name == "__pycache__" or name.endswith((".pyc", ".egg-info"))}
    if Path(folder) == ROOT:
        skipped |= {name for name in names if name in LOCAL_STATE or name.startswith(".")}
    return skipped


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a new venv holding only the wheel (with the demo extra) and its dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(work)
    venv = work / "venv"
    # No pip of its own (faster); this venv's pip installs into it, reusing its cache and index settings.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)  # noqa: S603
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    # Without compiling every dependency's .pyc (half the install's time): Python compiles what it imports.
    install = [*pip, "install", "--quiet", "--no-compile", f"{wheel}[demo]"]
    subprocess.run(install, check=True, timeout=PIP_TIMEOUT)  # noqa: S603
    return venv / "bin"


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of someone who has never seen the source: nothing of Proxgate's, no path into it."""
    prefixes = ("PROXMOX_", "PROXGATE_", "DATABASE_URL", "PYTHON", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(HOME=str(home), PROXGATE_CREDENTIALS_FILE=str(home / "no-credentials"), **extra)
    return env


def test_the_installed_package_is_the_wheel_not_the_source(installed: Path, tmp_path: Path) -> None:
    found = subprocess.run(  # noqa: S603 (our own interpreter)
        [installed / "python", "-c", "from app.paths import resource_dir as r; print(r('templates'))"],
        cwd=tmp_path,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    templates = Path(found.stdout.strip())
    assert templates.is_relative_to(installed.parent), templates
    assert not templates.is_relative_to(ROOT)


def test_installed_wheel_migrates_and_serves_from_another_directory(installed: Path, tmp_path: Path) -> None:
    env = clean_env(
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db' / 'proxgate.db'}",
        PROXGATE_DATA_DIR=str(tmp_path / "data"),
        PROXGATE_SECRET_KEY="wheel-test-" + "k" * 40,
        # Nobody listens there: the sign-in page and static files need no Proxmox.
        PROXMOX_HOST=f"127.0.0.1:{free_port()}",
        PROXMOX_TOKEN_ID="proxgate@pve!app",
        PROXMOX_TOKEN_SECRET="00000000-0000-0000-0000-000000000000",
    )
    migrate = subprocess.run(  # noqa: S603 (our own command)
        [installed / "proxgate", "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert migrate.stdout.strip() == "database is up to date"
    with serving(installed, ["serve"], tmp_path, env) as url:
        assert_login_page_and_its_static_files(url)


def test_installed_wheel_runs_the_demo_from_another_directory(installed: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path, TMPDIR=str(tmp_path))
    with serving(installed, ["demo", "--demo-password", "a demo password"], tmp_path, env) as url:
        assert_login_page_and_its_static_files(url)


def assert_login_page_and_its_static_files(url: str) -> None:
    """/login answers with the sign-in form, and every static file it links to (htmx among them) is served."""
    login = httpx.get(f"{url}/login", timeout=10)
    assert login.status_code == 200
    assert 'name="username"' in login.text and 'name="password"' in login.text
    assets = set(re.findall(r'(?:href|src)="(?:https?://[^/"]+)?(/static/[^"?]+)', login.text))
    assert any("/vendor/htmx-" in asset for asset in assets), assets
    assets.add("/static/vendor/swagger-ui-bundle-5.35.0.js")  # the API docs' page is behind the sign-in
    for asset in sorted(assets):
        response = httpx.get(f"{url}{asset}", timeout=10)
        assert response.status_code == 200 and response.content, asset


@contextmanager
def serving(bin_dir: Path, args: list[str], cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """`proxgate ARGS --port P` until /healthz answers (at most 60 s); its URL; always stopped afterwards."""
    port = free_port()
    log = cwd / "proxgate.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (our own command)
            [bin_dir / "proxgate", *args, "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the demo's fake cluster goes with it
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, log)
        yield url
    finally:
        stop(process)


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Return once /healthz answers 200; fail with the log if the process ends or 60 s pass."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, f"proxgate ended ({process.returncode}):\n{log.read_text()}"
        assert time.monotonic() < deadline, f"proxgate not healthy after 60 s:\n{log.read_text()}"
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the demo then cleans up), and SIGKILL for the whole group if it lingers."""
    if process.poll() is None:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(20)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # whatever it started and left behind
    process.wait(10)
