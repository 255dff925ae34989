"""The LDAP directory the LDAP sign-in tests sign in against: Debian's slapd (scripts/ensure-slapd installs it),
configured in a temporary folder (slapd.conf, an mdb database loaded with slapadd), run as the current user on
a free loopback port, with StartTLS and ldaps:// from a certificate of its own; changed as its admin with
ldapmodify, as a directory's administrator would."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from fakepve.certs import make_cert

from app.config import Settings
from tests.factories import unique_name
from tests.servers import AppServer, free_port

SUFFIX = "dc=proxgate,dc=test"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "the directory admin's password"
READER_DN = f"cn=proxgate-reader,{SUFFIX}"
READER_PASSWORD = "the service account's password"
# The groups the directory holds; the role map names the first three.
GROUP_NAMES = ("proxmox-admins", "dba", "ops", "not-mapped", "Dev Team")
ROLE_MAP = "proxmox-admins=admin,dba=approver,ops=operator"
# A disabled person no longer matches the user filter (as AD's userAccountControl bit in its filter does).
USER_FILTER = "(&(objectClass=inetOrgPerson)(uid={username})(!(employeeType=disabled)))"
PASSWORD = "a directory password"
START_TIMEOUT = 30

SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
# Arm the anonymous-bind trap: a DN with an empty password binds as anonymous and "succeeds" here, as on
# directories that allow it, so a sign-in that sent such a bind would let anyone in.
allow bind_anon_dn
database mdb
maxsize 16777216
suffix "{suffix}"
rootdn "{admin}"
rootpw "{admin_password}"
directory {folder}/db
access to attrs=userPassword by anonymous auth by self write by * none
access to * by dn.exact="{reader}" read by self read by * none
"""


def ldif_entry(dn: str, **attributes: str | list[str]) -> str:
    """One LDIF record."""
    lines = [f"dn: {dn}"]
    for name, value in attributes.items():
        lines += [f"{name}: {v}" for v in ([value] if isinstance(value, str) else value)]
    return "\n".join(lines) + "\n\n"


def person_dn(name: str) -> str:
    """Where a person of the directory lives."""
    return f"uid={name},{PEOPLE}"


def group_dn(name: str) -> str:
    """Where a group of the directory lives."""
    return f"cn={name},{GROUPS}"


def base_tree() -> str:
    """The suffix, people and groups folders, the service account, and the groups (groupOfNames needs a member:
    each starts with the service account)."""
    tree = ldif_entry(SUFFIX, objectClass=["dcObject", "organization"], dc="proxgate", o="Proxgate tests")
    tree += ldif_entry(PEOPLE, objectClass="organizationalUnit", ou="people")
    tree += ldif_entry(GROUPS, objectClass="organizationalUnit", ou="groups")
    tree += ldif_entry(
        READER_DN,
        objectClass=["organizationalRole", "simpleSecurityObject"],
        cn="proxgate-reader",
        userPassword=READER_PASSWORD,
    )
    for name in GROUP_NAMES:
        tree += ldif_entry(group_dn(name), objectClass="groupOfNames", cn=name, member=READER_DN)
    return tree


def sbin(name: str) -> str:
    """slapd and slapadd, which an ordinary user's PATH may lack."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin")
    if found is None:
        raise RuntimeError(f"the LDAP sign-in tests need {name}; run scripts/ensure-slapd")
    return found


class Directory:
    """slapd on ldap://127.0.0.1:PORT (StartTLS too) and ldaps://127.0.0.1:TLS_PORT, with the base tree."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port, self.tls_port = free_port(), free_port()
        self.cafile, key, _ = make_cert(str(folder), hosts=("127.0.0.1",))
        (folder / "db").mkdir()
        conf = folder / "slapd.conf"
        conf.write_text(
            SLAPD_CONF.format(
                folder=folder,
                cert=self.cafile,
                key=key,
                suffix=SUFFIX,
                admin=ADMIN_DN,
                admin_password=ADMIN_PASSWORD,
                reader=READER_DN,
            )
        )
        (folder / "base.ldif").write_text(base_tree())
        subprocess.run(  # noqa: S603 (OpenLDAP's own tool on our own files)
            [sbin("slapadd"), "-f", str(conf), "-l", str(folder / "base.ldif")],
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT,
        )
        self.log_path = folder / "slapd.log"
        self.log = self.log_path.open("ab")
        # ldaps:// also on 127.0.0.2, an address its certificate does not name.
        urls = f"ldap://127.0.0.1:{self.port}/ ldaps://127.0.0.1:{self.tls_port}/ ldaps://127.0.0.2:{self.tls_port}/"
        # -d 256 (stats): in the foreground, every connection and operation logged, binds among them.
        self.proc = subprocess.Popen(  # noqa: S603
            [sbin("slapd"), "-f", str(conf), "-h", urls, "-d", "256"], stdout=self.log, stderr=self.log
        )
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"slapd did not start; see {self.log_path}") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        """The plain (StartTLS-able) address."""
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        """The ldaps:// address."""
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def modify(self, ldif: str, tool: str = "ldapmodify") -> None:
        """Change the directory as its admin (ldapmodify, ldapadd or ldapdelete reading LDIF or DNs)."""
        command = [tool, "-x", "-H", self.url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD]
        subprocess.run(command, input=ldif, text=True, check=True, capture_output=True, timeout=30)  # noqa: S603

    def person(self, groups: list[str], password: str = PASSWORD, prefix: str = "ldap") -> str:
        """A new person with this password in these groups; their name."""
        name = unique_name(prefix)
        entry = ldif_entry(
            person_dn(name),
            objectClass="inetOrgPerson",
            uid=name,
            cn=name,
            sn="Tester",
            userPassword=password,
        )
        self.modify(entry, "ldapadd")
        self.join(name, groups)
        return name

    def join(self, name: str, groups: list[str]) -> None:
        """Add the person to these groups."""
        for group in groups:
            self.modify(
                f"dn: {group_dn(group)}\nchangetype: modify\nadd: member\nmember: {person_dn(name)}\n"
            )

    def leave(self, name: str, groups: list[str]) -> None:
        """Take the person out of these groups."""
        for group in groups:
            self.modify(
                f"dn: {group_dn(group)}\nchangetype: modify\ndelete: member\nmember: {person_dn(name)}\n"
            )

    def disable(self, name: str) -> None:
        """Mark the person disabled: the user filter no longer finds them."""
        self.modify(f"dn: {person_dn(name)}\nchangetype: modify\nadd: employeeType\nemployeeType: disabled\n")

    def remove(self, name: str) -> None:
        """Delete the person's entry (their group memberships stay, as a careless admin leaves them)."""
        self.modify(person_dn(name) + "\n", "ldapdelete")

    def binds_as(self, dn: str) -> int:
        """How many binds slapd has logged as this DN."""
        self.log.flush()
        pattern = re.compile(rf'BIND dn="{re.escape(dn)}"', re.I)
        return len(pattern.findall(self.log_path.read_text(errors="replace")))

    def stop(self) -> None:
        """End slapd."""
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


class Ldap:
    """The directory and an app whose sign-in form asks it (over StartTLS)."""

    def __init__(self, directory: Directory, app: AppServer, settings: Settings) -> None:
        self.directory, self.app, self.settings = directory, app, settings


def directory_settings(directory: Directory) -> dict[str, object]:
    """The LDAP settings of an app that signs people in against this directory, over StartTLS."""
    return {
        "ldap_url": directory.url,
        "ldap_start_tls": True,
        "ldap_ca_bundle": directory.cafile,
        "ldap_bind_dn": READER_DN,
        "ldap_bind_password": READER_PASSWORD,
        "ldap_user_base": PEOPLE,
        "ldap_user_filter": USER_FILTER,
        "ldap_group_base": GROUPS,
        "ldap_role_map": ROLE_MAP,
    }
