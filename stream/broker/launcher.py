"""An Apache Kafka (KRaft) broker run from jars that Maven fetches: on its own, or as
one node of a local cluster (``stream.broker.cluster``).

Layout under the cache directory::

    kafka-<version>/lib/        the jars (fetched once, reused offline afterwards)
    broker-<port>/data/         KRaft metadata and logs
    broker-<port>/broker.log    broker output
    broker-<port>/broker.pid    pid of the running broker
    cluster-<port>/node-<n>/    the same, for node n of a cluster whose first port is <port>
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from stream.broker import secure
from stream.broker.processes import alive, answers, move_aside_if_over, new_cluster_id, started

RESOURCES = resources.files("stream.broker") / "resources"
LOG_KEPT_BYTES = 64 * 1024 * 1024  # a broker's log over this is moved aside at its start


class BrokerError(RuntimeError):
    """The local broker could not be set up, started or stopped."""


def kafka_version() -> str:
    pom = (RESOURCES / "pom.xml").read_text()
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    if match is None:  # pragma: no cover - the pom is part of the package
        raise BrokerError("pom.xml does not pin kafka.version")
    return match.group(1)


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    log_file: Path


@dataclass(frozen=True)
class Membership:
    """What a node of a local cluster shares with the others."""

    home: Path  # the cluster's folder: its id, and the security material of every node
    cluster_id: str
    voters: str  # controller.quorum.voters
    size: int
    node_id: int


@dataclass(frozen=True)
class LocalBroker:
    cache_dir: Path
    port: int = 19092
    secure: bool = False  # SASL_SSL with SCRAM users and ACLs (stream.broker.secure)
    membership: Membership | None = None  # None: a broker on its own

    def __post_init__(self) -> None:
        # Maven resolves relative paths against the pom, java against the cwd: be absolute.
        object.__setattr__(self, "cache_dir", self.cache_dir.resolve())

    @property
    def controller_port(self) -> int:
        return self.port + 1

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def lib_dir(self) -> Path:
        return self.cache_dir / f"kafka-{kafka_version()}" / "lib"

    @property
    def home(self) -> Path:
        if self.membership is not None:
            return self.membership.home / f"node-{self.membership.node_id}"
        return self.cache_dir / f"broker-{self.port}{'-secure' if self.secure else ''}"

    @property
    def security_home(self) -> Path:
        """Where the CA, the certificates and the users are: shared by a cluster's nodes."""
        return self.membership.home if self.membership is not None else self.home

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "broker.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    # -- set-up -------------------------------------------------------------------

    def fetch_jars(self) -> None:
        """Resolve the pinned Kafka release with Maven, unless the jars are cached."""
        marker = self.lib_dir / ".complete"
        if marker.exists():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError("Maven (mvn) is needed once to fetch the Kafka jars; install it")
        self.lib_dir.mkdir(parents=True, exist_ok=True)
        pom = self.lib_dir.parent / "pom.xml"
        pom.write_text((RESOURCES / "pom.xml").read_text())
        command = [
            mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
            f"-DoutputDirectory={self.lib_dir}", "-DincludeScope=runtime",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BrokerError(f"Maven could not fetch Kafka:\n{result.stdout}{result.stderr}")
        marker.write_text(kafka_version())

    def _java(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise BrokerError("a JDK (java 17 or later) is needed to run the broker")
        return java

    def _write_config(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        name, extra = "server.properties", {}
        if self.secure:
            secure.make_tls(self.security_home / "tls")
            name, extra = "server-secure.properties", secure.config_values(self.security_home)
        config = self.home / "server.properties"
        member = self.membership
        replicas = min(member.size, 3) if member is not None else 1
        secure.write_private(config, (RESOURCES / name).read_text().format(
            port=self.port,
            controller_port=self.controller_port,
            data_dir=self.data_dir.resolve(),
            node_id=member.node_id if member is not None else 1,
            voters=member.voters if member is not None else f"1@127.0.0.1:{self.controller_port}",
            replicas=replicas,
            min_isr=2 if replicas >= 3 else 1,
            **extra,
        ))
        log4j = self.home / "log4j2.yaml"
        log4j.write_text((RESOURCES / "log4j2.yaml").read_text())
        return config

    def _format_storage(self, config: Path) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        arguments = [
            "kafka.tools.StorageTool",
            # `=`: one id in 64 starts with "-", which argparse would take for an option
            "format", f"--cluster-id={self._cluster_id()}", "-c", str(config),
        ]
        if self.secure:  # the SCRAM users exist from the first start on
            arguments += secure.scram_arguments(secure.users(self.security_home))
        # The main class and its arguments from a private file (java's @argfile): a
        # password on a command line is visible to every user of the machine (ps).
        argfile = self.home / "format.args"
        secure.write_private(argfile, "\n".join(f'"{a}"' for a in arguments) + "\n")
        command = [self._java(), "-cp", f"{self.lib_dir}/*", f"@{argfile}"]
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        finally:
            argfile.unlink(missing_ok=True)
        if result.returncode != 0:
            output = result.stdout + result.stderr
            for password in secure.users(self.security_home).values() if self.secure else ():
                output = output.replace(password, "***")
            raise BrokerError(f"formatting KRaft storage failed:\n{output}")

    def _cluster_id(self) -> str:
        return self.membership.cluster_id if self.membership is not None else new_cluster_id()

    # -- life cycle ---------------------------------------------------------------

    def status(self) -> BrokerStatus:
        pid = self._pid()
        running = pid is not None and alive(pid) and answers(self.port)
        return BrokerStatus(running, pid if running else None, self.bootstrap, self.log_file)

    def start(self, timeout: float = 90.0) -> BrokerStatus:
        launched = self.launch()
        return launched.wait(timeout) if launched is not None else self.status()

    def launch(self) -> Launched | None:
        """Start the broker's process without waiting for it (the nodes of a cluster start
        together: none says it has started before a majority of the quorum is up); None
        when it runs already."""
        if self.status().running:
            return None
        if answers(self.port):
            raise BrokerError(f"port {self.port} is taken by another process")
        self.fetch_jars()
        config = self._write_config()
        self._format_storage(config)
        move_aside_if_over(self.log_file, LOG_KEPT_BYTES)
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                [
                    self._java(), "-Xms256m", "-Xmx1g",
                    f"-Dlog4j2.configurationFile={self.home / 'log4j2.yaml'}",
                    "-cp", f"{self.lib_dir}/*", "kafka.Kafka", str(config),
                ],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # the broker outlives the command that started it
            )
        self.pid_file.write_text(str(process.pid))
        return Launched(self, process, log_offset)

    def terminate(self) -> None:
        """SIGTERM without waiting (the nodes of a cluster stop together)."""
        pid = self._pid()
        if pid is not None and alive(pid):
            os.kill(pid, signal.SIGTERM)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker (SIGKILL after ``timeout`` seconds); True when one was running."""
        pid = self._pid()
        if pid is None or not alive(pid):
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def grant(self, prefix: str, app_id: str) -> None:
        """ACLs per principal for a topic prefix and app id (a secured broker only)."""
        if not self.secure:
            raise BrokerError("ACLs are for the secured broker (broker start --secure)")
        secure.grant(self._java(), self.lib_dir, self.home, self.bootstrap, prefix, app_id)

    def kill(self, timeout: float = 30.0) -> bool:
        """SIGKILL the broker, as a crash would (its data stays); True when one ran."""
        pid = self._pid()
        if pid is None or not alive(pid):
            return False
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it when this process started it
        while answers(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None


@dataclass(frozen=True)
class Launched:
    """A broker process just started, not yet known to be serving."""

    broker: LocalBroker
    process: subprocess.Popen[bytes]
    log_offset: int

    def wait(self, timeout: float = 90.0) -> BrokerStatus:
        broker = self.broker
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerError(f"the broker exited early; see {broker.log_file}")
            if answers(broker.port) and started(broker.log_file, self.log_offset):
                return broker.status()
            time.sleep(0.3)
        broker.stop()
        raise BrokerError(
            f"the broker did not start within {timeout:.0f}s; see {broker.log_file}"
        )
