"""One function builds every Kafka client's security arguments from the KAFKA_* settings."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import SecretStr

from shared.messaging.kafka import KafkaSecurity, make_admin, make_consumer, make_producer
from shared.settings import BaseServiceSettings


def test_plaintext_is_the_default_and_adds_nothing_else() -> None:
    assert KafkaSecurity().client_kwargs() == {"security_protocol": "PLAINTEXT"}


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_scram_over_tls_from_settings(mechanism: str) -> None:
    settings = BaseServiceSettings.model_validate(
        {
            "kafka_security_protocol": "SASL_SSL",
            "kafka_sasl_mechanism": mechanism,
            "kafka_sasl_username": "router",
            "kafka_sasl_password": "s3cret",
        }
    )
    kwargs = KafkaSecurity.from_settings(settings).client_kwargs()
    assert kwargs.pop("ssl_context").verify_mode == ssl.CERT_REQUIRED
    assert kwargs == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "router",
        "sasl_plain_password": "s3cret",
    }
    assert "s3cret" not in repr(settings) and "s3cret" not in repr(KafkaSecurity.from_settings(settings))


def test_tls_with_a_ca_and_a_client_certificate(tmp_path: Path) -> None:
    key, cert = tmp_path / "client.key", tmp_path / "client.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=ingest"]
    subprocess.run([*command, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    security = KafkaSecurity("SSL", ssl_cafile=str(cert), ssl_certfile=str(cert), ssl_keyfile=str(key))
    kwargs = security.client_kwargs()
    assert kwargs["security_protocol"] == "SSL" and "sasl_mechanism" not in kwargs
    assert kwargs["ssl_context"].get_ca_certs()[0]["subject"] == ((("commonName", "ingest"),),)


@pytest.mark.parametrize(
    ("security", "complaint"),
    [
        (KafkaSecurity("TLS"), "KAFKA_SECURITY_PROTOCOL must be one of"),
        (KafkaSecurity("SASL_SSL", sasl_username="a", sasl_password=SecretStr("b")), "needs KAFKA_SASL_MECHANISM"),
        (KafkaSecurity("SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512"), "needs KAFKA_SASL_USERNAME"),
        (KafkaSecurity("SSL", ssl_certfile="c.pem"), "go together"),
    ],
)
def test_incomplete_settings_are_refused_with_what_is_missing(security: KafkaSecurity, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        security.client_kwargs()


async def test_every_client_factory_passes_the_security_on() -> None:
    security = KafkaSecurity(
        "SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256", sasl_username="sla", sasl_password=SecretStr("pw")
    )
    producer: AIOKafkaProducer = make_producer("127.0.0.1:1", client_id="p", security=security)
    consumer: AIOKafkaConsumer = make_consumer("127.0.0.1:1", "t", group_id="g", client_id="c", security=security)
    admin = make_admin("127.0.0.1:1", client_id="a", security=security)
    for client in (producer.client, consumer._client, admin._client):
        assert client._security_protocol == "SASL_PLAINTEXT"
        assert client._sasl_mechanism == "SCRAM-SHA-256"
        assert client._sasl_plain_username == "sla" and client._sasl_plain_password == "pw"
    await consumer.stop()
    await producer.stop()
