"""Logging with the correlation id on every line, as text or JSON."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from shared import context
from shared.config import Settings


class _Correlation(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = context.correlation_id.get() or "-"
        return True


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat().replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "correlation_id": record.correlation_id, "thread": record.threadName,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Correlation())
    handler.setFormatter(_Json() if settings.log_format == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in ("amqp", "kombu", "pika", "werkzeug", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
