"""Prometheus metrics of the web process (the workers' are in
:mod:`adapters.metrics`, on the same registry).

Under gunicorn with several workers, set ``PROMETHEUS_MULTIPROC_DIR`` so every process's
samples are aggregated (prometheus-client's multiprocess mode)."""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from connector_core.domain.notifications import ML_TOPICS

NOTIFICATIONS = Counter("connector_notifications_total", "ML notifications received",
                        ["topic", "outcome"])
ACK_SECONDS = Histogram("connector_notification_ack_seconds",
                        "Time to store a notification and answer ML",
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0))
ERP_CALLS = Counter("connector_erp_calls_total", "ERP calls", ["route", "status"])


def topic_label(topic: str) -> str:
    """The ``topic`` label of a notification: ML's topics by name, anything else ``other``.

    The topic comes from the request: labelled as sent, anyone could add a series per request
    (50 random topics made 50 series) or break ``/metrics`` for good (a lone surrogate cannot
    be encoded in its answer)."""
    return topic if topic in ML_TOPICS else "other"


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
