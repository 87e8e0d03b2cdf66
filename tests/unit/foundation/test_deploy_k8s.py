"""deploy/k8s stays valid Kubernetes and in step with the code.

Schema validation uses `kubernetes-validate` (a pinned dev dependency that bundles the API's JSON
schemas, so it works offline); strict mode, so a misspelt field fails. The structural tests check
what a schema cannot: both probes on the right paths, requests and limits, env from the ConfigMap and
the service's own Secret, and no Deployment with more replicas than the topics have partitions.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from shared.migrations import SERVICES
from shared.pg import split_tls
from shared.stack.provision import role_name

K8S = Path(__file__).resolve().parents[3] / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"  # the oldest release still commonly run; the manifests use nothing newer

KUSTOMIZATION = yaml.safe_load((K8S / "kustomization.yaml").read_text())
DOCS: list[tuple[str, dict[str, Any]]] = [
    (path.name, doc)
    for path in sorted(K8S.glob("*.yaml"))
    if path.name != "kustomization.yaml"
    for doc in yaml.safe_load_all(path.read_text())
    if doc is not None
]


def _all(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in DOCS if doc["kind"] == kind}


DEPLOYMENTS = _all("Deployment")
JOBS = _all("Job")
SECRETS = _all("Secret")
CONFIG = _all("ConfigMap")["switchboard-config"]["data"]
PARTITIONS = int(CONFIG["TOPIC_PARTITIONS"])


def _container(spec: dict[str, Any]) -> dict[str, Any]:
    containers = spec["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


@pytest.mark.parametrize(
    ("name", "doc"), DOCS, ids=[f"{name}:{doc['kind']}/{doc['metadata']['name']}" for name, doc in DOCS]
)
def test_every_manifest_is_valid_for_the_kubernetes_api(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_misspelt_field() -> None:
    broken = copy.deepcopy(DEPLOYMENTS["router"])
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/readyz"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_lists_every_file_and_one_namespace() -> None:
    assert sorted(KUSTOMIZATION["resources"]) == sorted(
        p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"
    )
    assert {
        doc["metadata"].get("namespace", KUSTOMIZATION["namespace"]) for _, doc in DOCS if doc["kind"] != "Namespace"
    } == {KUSTOMIZATION["namespace"]}


def test_one_deployment_and_service_per_service_running_its_module() -> None:
    assert set(DEPLOYMENTS) == set(SERVICES)
    assert set(_all("Service")) == set(SERVICES)
    for service, deployment in DEPLOYMENTS.items():
        container = _container(deployment)
        assert container["command"] == ["python", "-m", f"services.{service}"]
        assert container["image"] == "switchboard"
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        assert _all("Service")[service]["spec"]["selector"] == selector
    assert {p["port"] for p in _all("Service")["ingest"]["spec"]["ports"]} == {8000, 2525}


def test_every_deployment_has_both_probes_and_resources() -> None:
    for service, deployment in DEPLOYMENTS.items():
        container = _container(deployment)
        port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert port_names["http"] == int(CONFIG["HTTP_PORT"]), service
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, service
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, service
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{service}: {bound}"


def test_every_deployment_reads_the_configmap_its_own_secret_and_the_bootstrap_key() -> None:
    for service, deployment in DEPLOYMENTS.items():
        container = _container(deployment)
        sources = {next(iter(ref)): ref[next(iter(ref))]["name"] for ref in container["envFrom"]}
        assert sources == {"configMapRef": "switchboard-config", "secretRef": f"switchboard-{service}"}, service
        secret = SECRETS[f"switchboard-{service}"]["stringData"]
        assert secret["DATABASE_URL"].startswith(f"postgresql://{role_name(service)}:"), service
        assert secret["KAFKA_SASL_USERNAME"] == f"sb-{service}"  # docs/kafka-security.md's principals
        env = {e["name"]: e for e in container.get("env", [])}
        assert env["BOOTSTRAP_ADMIN_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "switchboard-bootstrap"


def test_kafka_and_database_settings_come_from_config_not_urls() -> None:
    assert {"KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL", "TOPIC_PARTITIONS"} <= set(CONFIG)
    # TLS to PostgreSQL: a URL's own ?sslmode=, else PGSSLMODE from the ConfigMap; never plaintext
    for name, secret in SECRETS.items():
        if url := secret["stringData"].get("DATABASE_URL"):
            _, tls = split_tls(url)
            assert tls.get("ssl", CONFIG.get("PGSSLMODE")) in ("require", "verify-ca", "verify-full"), name


def test_the_topics_get_a_copy_on_each_broker_at_most() -> None:
    brokers = CONFIG["KAFKA_BOOTSTRAP_SERVERS"].split(",")
    assert 1 <= int(CONFIG["TOPIC_REPLICATION_FACTOR"]) <= len(brokers)


def _comment_above_replicas(service: str) -> str:
    lines = (K8S / f"{service}.yaml").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("replicas:"))
    above = []
    for line in reversed(lines[:at]):
        if not line.strip().startswith("#"):
            break
        above.append(line.strip().lstrip("#").strip())
    return " ".join(reversed(above))


def test_replicas_fit_the_partitions_and_each_count_says_what_it_buys() -> None:
    for service, deployment in DEPLOYMENTS.items():
        replicas = deployment["spec"]["replicas"]
        assert 1 <= replicas <= PARTITIONS, f"{service}: replicas beyond {PARTITIONS} partitions idle"
        comment = _comment_above_replicas(service)
        assert comment.startswith(f"{service}: "), f"{service}: say above replicas what they buy"
        assert "TOPIC_PARTITIONS" in comment
    assert "availability, not throughput" in _comment_above_replicas("router")  # the global routing lock


def test_the_jobs_migrate_with_the_admin_role_and_create_the_topics() -> None:
    migrate, topics = _container(JOBS["switchboard-migrate"]), _container(JOBS["switchboard-topics"])
    assert migrate["command"] == ["switchboard", "migrate"]
    assert topics["command"] == ["switchboard", "topics"]
    admin = SECRETS["switchboard-admin"]["stringData"]
    assert {f"{service.upper()}_DB_PASSWORD" for service in SERVICES} <= set(admin)
    for job in (migrate, topics):
        assert {"configMapRef": {"name": "switchboard-config"}} in job["envFrom"]
        assert {"secretRef": {"name": "switchboard-admin"}} in job["envFrom"]
    for service in SERVICES:  # each role's password in the admin Secret is the one in its DATABASE_URL
        password = admin[f"{service.upper()}_DB_PASSWORD"]
        assert f"{role_name(service)}:{password}@" in SECRETS[f"switchboard-{service}"]["stringData"]["DATABASE_URL"]
