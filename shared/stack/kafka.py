"""Run a single-node Apache Kafka (KRaft) natively from Maven Central jars, without Docker."""

from __future__ import annotations

import base64
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .ports import (
    StackError,
    free_port,
    log_errors,
    log_tail,
    port_open,
    run_async,
    terminate_process,
)

logger = logging.getLogger(__name__)

KAFKA_VERSION = "4.3.1"
# kafka_2.13 4.x pulls slf4j-api 1.7.36 (checked with `mvn dependency:tree`); the binding must be
# from the same 1.7 line, otherwise slf4j falls back to NOP and the broker writes no log at all.
SLF4J_BINDING = ("org.slf4j", "slf4j-simple", "1.7.36")
HOST = "127.0.0.1"
_MARKER = ".complete"
_MVN_TIMEOUT_S = 900.0

_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>switchboard.stack</groupId><artifactId>kafka-runtime</artifactId>
  <version>{version}</version><packaging>pom</packaging>
  <dependencies>
{deps}
  </dependencies>
</project>
"""
_DEP = "    <dependency><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version></dependency>"


def default_cache_dir(version: str = KAFKA_VERSION) -> Path:
    """Return the per-version cache directory, honouring $SWITCHBOARD_CACHE."""
    root = Path(os.environ.get("SWITCHBOARD_CACHE", Path.home() / ".cache" / "switchboard"))
    return root / f"kafka-{version}"


def ensure_kafka_jars(cache_dir: Path | None = None, version: str = KAFKA_VERSION) -> Path:
    """Download Kafka and its runtime dependencies once; return the directory holding the jars."""
    cache_dir = cache_dir or default_cache_dir(version)
    cache_dir.mkdir(parents=True, exist_ok=True)
    libs = cache_dir / "libs"
    with open(cache_dir / ".lock", "w") as lock:
        # The lock serialises concurrent callers; the loser re-checks the marker and returns.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (cache_dir / _MARKER).exists():
            return libs
        _download_jars(cache_dir, libs, version)
        (cache_dir / _MARKER).write_text(version + "\n")
    return libs


def _download_jars(cache_dir: Path, libs: Path, version: str) -> None:
    """Resolve the runtime classpath with Maven into `libs`, starting from a clean directory."""
    if shutil.which("mvn") is None:
        raise StackError("Maven (mvn) is not on the PATH; it is needed to fetch the Kafka jars")
    # A previous interrupted run may have left a partial or mixed set of jars behind.
    shutil.rmtree(libs, ignore_errors=True)
    deps = [("org.apache.kafka", "kafka_2.13", version), SLF4J_BINDING]
    pom = cache_dir / "pom.xml"
    pom.write_text(_POM.format(version=version, deps="\n".join(_DEP.format(*d) for d in deps)))
    cmd = [
        "mvn",
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={libs}",
    ]
    logger.info("downloading Kafka %s jars into %s", version, libs)
    try:
        result = subprocess.run(cmd, cwd=cache_dir, capture_output=True, text=True, timeout=_MVN_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"mvn timed out after {_MVN_TIMEOUT_S:.0f}s: {exc.output}") from exc
    if result.returncode != 0:
        output = f"{result.stdout}\n{result.stderr}"
        raise StackError(f"mvn failed (exit {result.returncode}):\n{output}")
    if not list(libs.glob(f"kafka_2.13-{version}.jar")):
        raise StackError(f"mvn succeeded but kafka_2.13-{version}.jar is missing from {libs}")


@dataclass
class KafkaBroker:
    """A running combined broker+controller process."""

    bootstrap_servers: str
    process: subprocess.Popen[bytes]
    log_path: Path
    data_dir: Path

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM for a controlled shutdown, SIGKILL if it takes longer than `timeout`."""
        terminate_process(self.process, signal.SIGTERM, timeout)


def new_cluster_id() -> str:
    """Return a Kafka-style cluster id: a uuid4 as 22 url-safe base64 chars without padding."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        # Like Kafka itself, avoid a leading '-' which CLI parsers would take for an option.
        if not cid.startswith("-"):
            return cid


def _server_properties(data_dir: Path, port: int, controller_port: int, partitions: int) -> str:
    """Render server.properties for one node acting as both broker and controller."""
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{HOST}:{controller_port}",
            f"listeners=PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
            f"advertised.listeners=PLAINTEXT://{HOST}:{port}",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={data_dir / 'kafka-logs'}",
            f"num.partitions={partitions}",
            "default.replication.factor=1",
            "min.insync.replicas=1",
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            # Fewer internal partitions make the first consumer-group join noticeably faster.
            "offsets.topic.num.partitions=5",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            # the controller appends a no-op metadata record this often (default 500 ms), even when idle
            "metadata.max.idle.interval.ms=30000",
            # Fewer request threads than a production broker's defaults (3 network, 8 I/O, 10 background, 4
            # group coordinator): each idle one wakes several times a second. A consumer's long poll waits
            # in the broker's purgatory, not on a thread, so two I/O threads serve the whole stack.
            "num.network.threads=1",
            "num.io.threads=2",
            "background.threads=2",
            "group.coordinator.threads=1",
            "share.coordinator.threads=1",
            "num.recovery.threads.per.data.dir=1",
            # the broker's heartbeat to its own controller (default every 2 s; a single node has no one to fail over to)
            "broker.heartbeat.interval.ms=5000",
            "broker.session.timeout.ms=18000",
            "",
        ]
    )


def _java(libs: Path, heap_mb: int, *args: str) -> list[str]:
    """Build a java command line running a Kafka main class on the cached classpath."""
    if shutil.which("java") is None:
        raise StackError("java is not on the PATH; Kafka needs a Java 17+ runtime")
    return [
        "java",
        f"-Xms{heap_mb}m",
        f"-Xmx{heap_mb}m",
        # A small broker for one machine: the serial collector has no background GC threads, the C1
        # compiler alone starts it sooner and stops compiling soon after (C2 was still at ~1 % of a core
        # minutes into an idle run), and without perf data no thread samples counters 20 times a second.
        # Together: an idle broker 1.4 % of a core instead of 2.8-3.1 %, and it is ready in half the time.
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-XX:-UsePerfData",
        "-Djava.awt.headless=true",
        "-Dorg.slf4j.simpleLogger.showDateTime=true",
        "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS",
        "-cp",
        f"{libs}/*",
        *args,
    ]


def _format_storage(libs: Path, props: Path, log_path: Path) -> None:
    """Format the KRaft log directory with a fresh cluster id."""
    cmd = _java(libs, 256, "kafka.tools.StorageTool", "format", "-t", new_cluster_id(), "-c", str(props))
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"kafka storage format timed out: {exc.output}") from exc
    with log_path.open("a") as log:
        log.write(result.stdout + result.stderr)
    if result.returncode != 0:
        raise StackError(f"kafka storage format failed:\n{result.stdout}\n{result.stderr}")


def start_kafka(
    data_dir: Path,
    *,
    port: int,
    controller_port: int | None = None,
    heap_mb: int = 512,
    timeout: float = 90.0,
    num_partitions: int = 3,
) -> KafkaBroker:
    """Start a KRaft broker+controller on 127.0.0.1:`port` and wait until it serves metadata."""
    libs = ensure_kafka_jars()
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    controller_port = controller_port or free_port(HOST)
    props = data_dir / "server.properties"
    props.write_text(_server_properties(data_dir, port, controller_port, num_partitions))
    log_path = data_dir / "kafka.log"
    # Formatting an already formatted dir fails; skipping it lets a restart keep its data.
    if not (data_dir / "kafka-logs" / "meta.properties").exists():
        _format_storage(libs, props, log_path)
    with log_path.open("ab") as log:
        # Remember where this run's output starts: the log is appended to across restarts.
        log_offset = log.tell()
        process = subprocess.Popen(
            _java(libs, heap_mb, "kafka.Kafka", str(props)),
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    broker = KafkaBroker(f"{HOST}:{port}", process, log_path, data_dir)
    try:
        _wait_ready(broker, timeout, log_offset)
    except BaseException:
        broker.stop()
        raise
    return broker


def _wait_ready(broker: KafkaBroker, timeout: float, log_offset: int) -> None:
    """Poll the broker with a real Kafka client until it answers, it dies, or time runs out."""
    started = time.monotonic()
    deadline = started + timeout
    host, port = broker.bootstrap_servers.rsplit(":", 1)
    while time.monotonic() < deadline:
        if broker.process.poll() is not None:
            reason = f"exited with code {broker.process.returncode}"
            raise _startup_error(broker, reason, log_offset)
        # The cheap TCP check keeps aiokafka from logging connection errors while the JVM boots.
        if port_open(host, int(port)) and _probe(broker.bootstrap_servers):
            logger.info("Kafka ready at %s after %.1fs", broker.bootstrap_servers, time.monotonic() - started)
            return
        time.sleep(0.25)
    raise _startup_error(broker, f"did not become ready within {timeout:.0f}s", log_offset)


def _startup_error(broker: KafkaBroker, reason: str, log_offset: int) -> StackError:
    """Build a StackError quoting this run's first ERROR lines and the tail of kafka.log."""
    errors = log_errors(broker.log_path, log_offset) or "<none>"
    return StackError(
        f"Kafka {reason} during startup.\nFirst errors in {broker.log_path}:\n{errors}\n"
        f"Last lines:\n{log_tail(broker.log_path)}"
    )


def _probe(bootstrap: str) -> bool:
    """Return True if the broker reports itself in a cluster metadata response."""
    try:
        return run_async(_describe(bootstrap), timeout=15)
    except Exception as exc:
        logger.debug("Kafka probe failed: %r", exc)
        return False


async def _describe(bootstrap: str) -> bool:
    """Ask the cluster for its brokers with aiokafka's admin client."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return bool(cluster.get("brokers"))
    finally:
        await admin.close()
