"""Logging with the correlation id, and the trace and span ids when traced, on every line, as text or JSON."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from opentelemetry import trace

from shared import context
from shared.config import Settings


class _Correlation(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = context.correlation_id.get() or "-"
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else "-"
        record.span_id = format(span.span_id, "016x") if span.is_valid else "-"
        record.traced = f" trace={record.trace_id} span={record.span_id}" if span.is_valid else ""
        return True


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat().replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "correlation_id": record.correlation_id, "trace_id": record.trace_id, "span_id": record.span_id,
            "thread": record.threadName,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Correlation())
    handler.setFormatter(_Json() if settings.log_format == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s%(traced)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in ("amqp", "kombu", "pika", "werkzeug", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
