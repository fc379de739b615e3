"""What makes the local broker a secured one (``customs-stream broker start --secure``):
a certificate authority and a broker certificate (openssl), SCRAM-SHA-512 users with
random passwords, and ACLs per principal.

Principals and what they may do, for a topic prefix P and a pipeline app id A:

- ``erp``: write ``P.declarations``;
- ``customs``: write ``P.inspections``, ``P.releases`` and ``P.returns`` (a return is
  declared under customs supervision, and counts against a firm's green channel);
- ``certifier``: write ``P.firms``;
- ``pipeline``: read (and create) the inputs; everything on its internal and output
  topics, its changelogs (``A-…``) and its consumer group ``A``. Only it may write the
  forwarding topics, whose ``x-source-*`` headers the pipeline believes;
- ``api``: read what an API replica follows (status, KPIs, dead letters, firm facts,
  forecast bases);
- ``dashboard``: read ``P.declaration-status`` and ``P.clearance-kpis``;
- ``admin``: the broker's own user, the only super user (creates ACLs and users).

Passwords live in ``users.toml`` beside the broker's data, readable by its owner only;
every file that holds one is private from the moment it is created, and no password is
ever on a command line (the storage tool reads its arguments from a private file).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from stream.topics import LIFECYCLE_INPUTS, SPECS, Role

RESOURCES = resources.files("stream.broker") / "resources"
USERS = ("admin", "pipeline", "erp", "customs", "certifier", "api", "dashboard")
WRITERS = {"erp": ("declarations",), "customs": ("inspections", "releases", "returns"),
           "certifier": ("firms",)}
READERS = {
    "dashboard": ("declaration-status", "clearance-kpis"),
    "api": ("declaration-status", "clearance-kpis", "dead-letters", "firm-facts",
            "forecast-basis", "webhook-subscriptions", "webhook-deliveries"),
}
# An API replica writes the subscriptions buyers make, change and delete. (A notifier
# runs as the pipeline's principal: its group and changelog share the app id's prefix.)
API_WRITES = ("webhook-subscriptions",)


class SecurityError(RuntimeError):
    """The secured broker's material could not be made."""


def _run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SecurityError(f"{command[0]} {command[1]} failed: {result.stderr[-500:]}")


def write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only, from the moment it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)  # an older file kept its mode: not any more
        file.write(text)


def make_tls(tls: Path, hosts: tuple[str, ...] = ("localhost",)) -> None:
    """A local CA and a broker certificate for 127.0.0.1 and ``hosts`` (kept if made)."""
    if (tls / "keystore.pem").exists():
        return
    tls.mkdir(parents=True, exist_ok=True)
    tls.chmod(0o700)
    openssl = _openssl()
    _run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
          "-out", "ca.pem", "-days", "3650", "-subj", "/CN=customs-stream local CA",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], tls)
    make_certificate(tls, "broker", hosts)
    keystore = "".join((tls / name).read_text() for name in ("broker.key", "broker.pem", "ca.pem"))
    write_private(tls / "keystore.pem", keystore)
    for path in tls.iterdir():
        path.chmod(0o600)


def make_certificate(tls: Path, name: str, hosts: tuple[str, ...]) -> None:
    """``name``.pem and ``name``.key, for 127.0.0.1 and ``hosts``, signed by the CA in
    ``tls`` (a server certificate: the broker's, or the API's)."""
    names = ",".join([*(f"DNS:{h}" for h in hosts), "IP:127.0.0.1"])
    (tls / f"{name}.ext").write_text(
        f"subjectAltName={names}\n"
        "extendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
    )
    openssl = _openssl()
    _run([openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
          "-out", f"{name}.csr", "-subj", f"/CN={hosts[0]}"], tls)
    _run([openssl, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
          "-CAcreateserial", "-out", f"{name}.pem", "-days", "825",
          "-extfile", f"{name}.ext"], tls)
    (tls / f"{name}.key").chmod(0o600)


def _openssl() -> str:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SecurityError("openssl is needed to make the secured broker's certificates")
    return openssl


def users(home: Path) -> dict[str, str]:
    """Every principal's password, made once (random, 192 bits) and kept in users.toml."""
    path = home / "users.toml"
    if path.exists():
        return {k: str(v) for k, v in tomllib.loads(path.read_text()).items()}
    made = {name: secrets.token_urlsafe(24) for name in USERS}
    home.mkdir(parents=True, exist_ok=True)
    write_private(path, "".join(f"{k} = {json.dumps(v)}\n" for k, v in made.items()))
    return made


def scram_arguments(passwords: dict[str, str]) -> list[str]:
    """``kafka-storage format`` arguments that create the SCRAM users."""
    arguments: list[str] = []
    for name, password in passwords.items():
        arguments += ["--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]"]
    return arguments


def acl_lines(prefix: str, app_id: str) -> list[str]:
    """The ACLs of every principal, as Acls.java reads them."""
    def allow(user: str, kind: str, pattern: str, name: str, *operations: str) -> list[str]:
        return [f"User:{user}\t{kind}\t{pattern}\t{name}\t{op}" for op in operations]

    lines: list[str] = []
    for user, topics in WRITERS.items():
        for topic in topics:
            lines += allow(user, "TOPIC", "LITERAL", f"{prefix}.{topic}", "WRITE", "DESCRIBE")
    inputs = {s.name for s in SPECS if s.role is Role.INPUT} | set(LIFECYCLE_INPUTS)
    for spec in SPECS:
        name = f"{prefix}.{spec.name}"
        if spec.name in inputs:
            lines += allow("pipeline", "TOPIC", "LITERAL", name, "READ", "DESCRIBE", "CREATE",
                           "DESCRIBE_CONFIGS")
        else:
            lines += allow("pipeline", "TOPIC", "LITERAL", name, "ALL")
    lines += allow("pipeline", "TOPIC", "PREFIXED", f"{app_id}-", "ALL")  # changelogs
    lines += allow("pipeline", "GROUP", "PREFIXED", app_id, "ALL")
    lines += allow("pipeline", "CLUSTER", "LITERAL", "kafka-cluster", "DESCRIBE",
                   "DESCRIBE_CONFIGS", "IDEMPOTENT_WRITE")
    for user, topics in READERS.items():
        for topic in topics:
            lines += allow(user, "TOPIC", "LITERAL", f"{prefix}.{topic}", "READ", "DESCRIBE")
    for topic in API_WRITES:
        lines += allow("api", "TOPIC", "LITERAL", f"{prefix}.{topic}", "WRITE")
    return lines


def grant(java: str, lib_dir: Path, home: Path, bootstrap: str, prefix: str,
          app_id: str) -> None:
    """Create the ACLs for a topic prefix and app id (as the admin user)."""
    admin = home / "admin.properties"
    password = users(home)["admin"]
    write_private(
        admin,
        f"bootstrap.servers={bootstrap}\nsecurity.protocol=SASL_SSL\n"
        "sasl.mechanism=SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="admin" password="{password}";\n'
        f"ssl.truststore.type=PEM\nssl.truststore.location={home / 'tls' / 'ca.pem'}\n",
    )
    spec = home / f"acls-{prefix}.tsv"
    spec.write_text("\n".join(acl_lines(prefix, app_id)) + "\n")
    source = home / "Acls.java"
    source.write_text((RESOURCES / "Acls.java").read_text())
    result = subprocess.run(
        [java, "-cp", f"{lib_dir}/*", str(source), str(admin), str(spec)],
        capture_output=True, text=True, check=False, timeout=120,
    )
    if result.returncode != 0:
        raise SecurityError(f"creating ACLs failed: {result.stderr[-800:]}")


def config_values(home: Path) -> dict[str, Any]:
    return {"admin_password": users(home)["admin"], "tls_dir": home / "tls"}
