"""`make test` on a fresh machine sets up its browser or stops at once with the one command to run; the docs
are the repository's own."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "ensure-chromium"


def fake_tools(bin_dir: Path, uid: int, apt: bool) -> None:
    """`id` that says uid, and (when apt) an apt-get that records its calls and 'installs' chromium."""
    bin_dir.mkdir()
    (bin_dir / "id").write_text(f"#!/bin/bash\necho {uid}\n")
    if apt:
        (bin_dir / "apt-get").write_text(
            "#!/bin/bash\n"
            f'echo "$@" >> {bin_dir}/apt.log\n'
            f'if [[ "$1" == install ]]; then printf "#!/bin/bash\\n" > {bin_dir}/chromium; /bin/chmod +x {bin_dir}/chromium; fi\n'
        )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)


def run(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The script with only the fake tools on PATH and an empty home."""
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path)}
    return subprocess.run(["/bin/bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)  # noqa: S603


def test_without_chromium_and_without_root_it_stops_with_the_one_command(tmp_path: Path) -> None:
    fake_tools(tmp_path / "bin", uid=1000, apt=True)
    result = run(tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].endswith("run: sudo apt-get install -y chromium")
    assert not (tmp_path / "bin" / "apt.log").exists(), "nothing was installed"


def test_without_apt_it_names_playwrights_download(tmp_path: Path) -> None:
    fake_tools(tmp_path / "bin", uid=0, apt=False)
    result = run(tmp_path)
    assert result.returncode == 1
    assert "run: .venv/bin/python -m playwright install chromium" in result.stderr


def test_as_root_with_apt_it_installs_debians_chromium(tmp_path: Path) -> None:
    fake_tools(tmp_path / "bin", uid=0, apt=True)
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "bin" / "apt.log").read_text().splitlines()
    assert calls[0].startswith("update") and calls[1].split()[-1] == "chromium"


def test_make_test_and_ci_set_up_the_browser_the_same_way() -> None:
    assert re.search(r"^test: .*\n\t\./scripts/ensure-chromium\n", (ROOT / "Makefile").read_text(), re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/ensure-chromium" in ci and "apt-get install" not in ci


def test_make_test_and_ci_install_slapd_for_the_ldap_tests_the_same_way() -> None:
    assert re.search(
        r"^test: .*\n(\t.*\n)*\t\./scripts/ensure-slapd\n", (ROOT / "Makefile").read_text(), re.M
    )
    assert "./scripts/ensure-slapd" in (ROOT / ".ci" / "run").read_text()
    script = (ROOT / "scripts" / "ensure-slapd").read_text()
    assert "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils" in script


def test_the_readme_points_at_nothing_outside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "../" not in readme and "shared/" not in readme
    assert "docs/architecture.md" in readme
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    assert (
        "## Layers" in architecture and "## Transaction rules" in architecture and "../" not in architecture
    )
