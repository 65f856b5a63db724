"""Prometheus metrics, one registry per service so each /metrics speaks for its service alone."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess


@dataclass(frozen=True)
class ServiceGauge:
    """A gauge a service adds to its own /metrics: `read(runtime)` gives each label tuple's value, read
    from the service's database when the kit refreshes its own gauges (a label tuple left out keeps
    its last value, so give every one, zeros included). `every(service settings)`, when given: read at
    most that often, for a reading that costs (a scan of the books); between readings it keeps its value."""
    name: str
    documentation: str
    labels: tuple[str, ...]
    read: Callable[[Any], Mapping[tuple[str, ...], float]]
    every: Callable[[Any], timedelta] | None = None


class Metrics:
    _by_service: dict[str, "Metrics"] = {}
    _lock = threading.Lock()

    @classmethod
    def for_service(cls, service: str, gauges: Sequence[ServiceGauge] = ()) -> "Metrics":
        with cls._lock:
            if service not in cls._by_service:
                cls._by_service[service] = cls(service)
            metrics = cls._by_service[service]
            metrics.add_gauges(gauges)
            return metrics

    def __init__(self, service: str, gauges: Sequence[ServiceGauge] = ()):
        self.registry = registry = CollectorRegistry()
        self.requests = Counter("http_requests_total", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("http_request_duration_seconds", "HTTP request latency by route",
                                 ["method", "route"], registry=registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.events_published = Counter("events_published_total", "Events confirmed by the bus", ["type"], registry=registry)
        self.events_consumed = Counter("events_consumed_total", "Events delivered to this service, by outcome",
                                       ["type", "outcome"], registry=registry)
        self.events_failed = Counter("events_failed_total", "Handler failures (each retry counts)", ["type"], registry=registry)
        self.events_dead_lettered = Counter("events_dead_lettered_total", "Events parked in dead letters",
                                            ["type"], registry=registry)
        self.timers_fired = Counter("timers_fired_total", "Durable timers fired", ["kind"], registry=registry)
        self.outbox_backlog = Gauge("outbox_backlog", "Outbox rows not yet confirmed by the bus", registry=registry,
                                    multiprocess_mode="livemax")
        self.timers_due = Gauge("timers_due", "Timers whose time has come but have not fired", registry=registry,
                                multiprocess_mode="livemax")
        # The service's own gauges (`Service.gauges`), by name.
        self.service_gauges: dict[str, Gauge] = {}
        self.add_gauges(gauges)

    def add_gauges(self, gauges: Sequence[ServiceGauge]) -> None:
        for gauge in gauges:
            if gauge.name not in self.service_gauges:
                self.service_gauges[gauge.name] = Gauge(gauge.name, gauge.documentation, list(gauge.labels),
                                                        registry=self.registry, multiprocess_mode="livemax")

    def render(self) -> bytes:
        """The text exposition; under gunicorn with several processes, all of them summed."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
