"""aiokafka client options from :class:`~olgraph.config.KafkaConfig` (shared by producer and consumer)."""

from __future__ import annotations

from typing import Any

from olgraph.config import KafkaConfig


def client_options(config: KafkaConfig) -> dict[str, Any]:
    """Connection and security keyword arguments for aiokafka's producer, consumer and admin client.

    >>> client_options(KafkaConfig(bootstrap_servers="k1:9092,k2:9092"))["bootstrap_servers"]
    ['k1:9092', 'k2:9092']
    """
    options: dict[str, Any] = {
        "bootstrap_servers": [s.strip() for s in config.bootstrap_servers.split(",") if s.strip()],
        "client_id": config.client_id,
        "security_protocol": config.security_protocol,
    }
    if config.security_protocol.startswith("SASL_"):
        options["sasl_mechanism"] = config.sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = config.sasl_username
        if config.sasl_password is not None:
            options["sasl_plain_password"] = config.sasl_password.get_secret_value()
    if config.security_protocol in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context  # noqa: PLC0415 - only when TLS is asked for

        options["ssl_context"] = create_ssl_context()
    return options
