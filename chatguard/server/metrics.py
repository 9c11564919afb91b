"""Prometheus metrics of one service instance; no label ever holds personal data.

Labels are channel, vendor, direction, entity type and status names, all from fixed
sets chatguard defines, never from a message, a pseudonym or an identity.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class ServiceMetrics:
    """The counters and histograms the service exports at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "chatguard_messages",
            "Messages handled, by channel, vendor and direction.",
            ["channel", "vendor", "direction"],
            registry=self.registry,
        )
        self.entities_redacted = Counter(
            "chatguard_entities_redacted",
            "Personal data found and acted on, by entity type.",
            ["entity_type"],
            registry=self.registry,
        )
        self.vendor_errors = Counter(
            "chatguard_vendor_errors",
            "Failed vendor calls, by vendor and kind of failure (timeout, unreachable, "
            "status_4xx, status_5xx, circuit_open, malformed, ...).",
            ["vendor", "kind"],
            registry=self.registry,
        )
        self.vendor_retries = Counter(
            "chatguard_vendor_retries",
            "Vendor calls tried again after a failure that made repeating them safe, by vendor.",
            ["vendor"],
            registry=self.registry,
        )
        self.vendor_circuit = Gauge(
            "chatguard_vendor_circuit_state",
            "Each vendor's circuit breaker: 0 closed, 1 open (calls refused), 2 half-open.",
            ["vendor"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "chatguard_stage_seconds",
            "Time spent per stage (redaction, vendor call, restore).",
            ["stage"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.transcript_failures = Counter(
            "chatguard_transcript_failures",
            "Replies delivered to the user whose transcript copy could not be stored.",
            ["channel"],
            registry=self.registry,
        )
        self.swept = Counter(
            "chatguard_records_swept",
            "Records deleted by the retention sweeper, by record kind.",
            ["kind"],
            registry=self.registry,
        )

        self.privacy_requests = Counter(
            "chatguard_privacy_requests",
            "Requests to the privacy page that asked for an action, by action (withdraw, "
            "export, erase, erase_confirmed) and outcome (done, not_found, refused_token, "
            "rate_limited, invalid, failed).",
            ["action", "outcome"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return bytes(generate_latest(self.registry))
