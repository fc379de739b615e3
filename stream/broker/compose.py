"""The secrets of docker-compose.yml's secured cluster, made once by its ``secrets``
service (``customs-stream broker compose-secrets /secrets``) into a volume the other
services mount read-only:

::

    tls/ca.pem                the CA every client trusts (public)
    tls/keystore.pem          the broker's key and certificate (for "kafka")
    tls/api.pem, api.key      the API's certificate (for "api" and "localhost")
    kafka/jaas.conf           the broker's SASL/PLAIN users and their passwords
    kafka/admin.properties    how the acls service connects, as admin
    kafka/acls.sh             the ACLs of every principal (kafka-acls.sh commands)
    users/<principal>         each principal's password, for CUSTOMS_STREAM_KAFKA_PASSWORD_FILE

Passwords are random (192 bits) and never on a command line or in the environment. The
files are private to the user of the service that reads them: the broker's image runs as
uid 1000, the worker as 10001 and an API replica as 10002, so a replica cannot read the
pipeline's password; the other principals' passwords stay root's, for an operator to
hand to the ERP, customs and certification systems.
"""

from __future__ import annotations

import os
import shlex
from collections import defaultdict
from pathlib import Path

from stream.broker.secure import (
    USERS,
    acl_lines,
    make_certificate,
    make_tls,
    users,
    write_private,
)

KAFKA_UID = 1000
CLIENT_UIDS = {"pipeline": 10001, "api": 10002}  # the Dockerfile's users
BROKER = "kafka:9094"  # the SASL_SSL listener, as docker-compose.yml names it
CLIENTS = tuple(user for user in USERS if user != "admin")  # a password file each


def jaas(passwords: dict[str, str]) -> str:
    """The broker's JAAS file: it logs in to itself as admin and knows every user."""
    known = " ".join(f'user_{name}="{password}"' for name, password in passwords.items())
    return (
        "KafkaServer {\n  org.apache.kafka.common.security.plain.PlainLoginModule required\n"
        f'  username="admin" password="{passwords["admin"]}"\n  {known};\n}};\n'
    )


def admin_properties(password: str) -> str:
    return (
        f"security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n"
        "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="admin" password="{password}";\n'
        "ssl.truststore.type=PEM\nssl.truststore.location=/secrets/tls/ca.pem\n"
    )


def acl_script(prefix: str, app_id: str) -> str:
    """kafka-acls.sh commands granting ``acl_lines``, one command per principal and
    resource (each runs a JVM: grouping the operations keeps it to a few dozen)."""
    grouped: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
    for line in acl_lines(prefix, app_id):
        principal, kind, pattern, name, operation = line.split("\t")
        grouped[(principal, kind, pattern, name)].append(operation)
    option = {"TOPIC": "--topic", "GROUP": "--group", "CLUSTER": "--cluster"}
    commands = ["#!/bin/sh", "set -e"]
    for (principal, kind, pattern, name), operations in grouped.items():
        target = "--cluster" if kind == "CLUSTER" else f"{option[kind]} {shlex.quote(name)}"
        ops = " ".join(f"--operation {op}" for op in operations)
        commands.append(
            f"/opt/kafka/bin/kafka-acls.sh --bootstrap-server {BROKER} "
            "--command-config /secrets/kafka/admin.properties --add "
            f"--allow-principal {principal} {ops} {target} "
            f"--resource-pattern-type {pattern.lower()}"
        )
    return "\n".join(commands) + "\n"


def make_secrets(root: Path, prefix: str, app_id: str) -> bool:
    """Make every secret under ``root``; False when they were made before (kept)."""
    if (root / "kafka" / "jaas.conf").exists():
        return False
    for folder in ("tls", "kafka", "users"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    make_tls(root / "tls", hosts=("kafka", "localhost"))
    make_certificate(root / "tls", "api", ("api", "worker", "localhost"))
    passwords = users(root / "kafka")  # kafka/users.toml, private to the broker
    write_private(root / "kafka" / "jaas.conf", jaas(passwords))
    write_private(root / "kafka" / "admin.properties", admin_properties(passwords["admin"]))
    write_private(root / "kafka" / "acls.sh", acl_script(prefix, app_id))
    for name in CLIENTS:
        write_private(root / "users" / name, passwords[name])
    _hand_over(root)
    return True


def _hand_over(root: Path) -> None:
    """Each file to the user of the service that reads it (when run as root)."""
    (root / "tls" / "ca.pem").chmod(0o644)  # a CA certificate is public
    for folder in ("tls", "users"):
        (root / folder).chmod(0o755)
    if os.geteuid() != 0:
        return
    for path in (root / "kafka", *(root / "kafka").iterdir(), root / "tls" / "keystore.pem"):
        os.chown(path, KAFKA_UID, KAFKA_UID)
    for name, uid in CLIENT_UIDS.items():
        os.chown(root / "users" / name, uid, uid)
    for path in (root / "tls" / "api.pem", root / "tls" / "api.key"):
        os.chown(path, CLIENT_UIDS["api"], CLIENT_UIDS["api"])
