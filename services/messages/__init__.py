"""messages: client–freelancer rooms with files and read marks; notifications, live, by webhook and e-mail."""
from __future__ import annotations

from pathlib import Path

from services.messages import attachments, webhooks
from services.messages.api import notifications_api, rooms_api, webhooks_api
from services.messages.handlers import HANDLERS, TIMERS
from services.messages.models import Attachment, Base, Delivery
from services.messages.settings import MessagesSettings
from services.messages.wire import Mailer, Pool
from shared.config import Settings
from shared.metrics import ServiceGauge
from shared.prune import Retention
from shared.service import Service


def retention(_settings: MessagesSettings) -> list[Retention]:
    """Uploads never attached go after 24 h; finished deliveries after 30 days."""
    return [
        Retention("unattached_uploads", Attachment.id, Attachment.created_at, attachments.UNATTACHED_KEPT_FOR,
                  (Attachment.message_id.is_(None),)),
        Retention("deliveries", Delivery.id, Delivery.created_at, webhooks.KEPT_FOR, (Delivery.status != "pending",)),
    ]


SERVICE = Service(
    name="messages", metadata=Base.metadata, migrations=Path(__file__).parent / "migrations",
    blueprints=(rooms_api, notifications_api, webhooks_api), handlers=HANDLERS, timers=TIMERS,
    settings=MessagesSettings, retention=retention,
    gauges=(ServiceGauge("webhook_deliveries", "Webhook deliveries kept, by status", ("status",),
                         webhooks.count_deliveries),),
    collaborators={
        "mailer": lambda settings: Mailer(settings.smtp_url, settings.mail_from),
        "mail_pool": lambda _settings: Pool("messages-mail", 4),
        "webhook_pool": lambda _settings: Pool("messages-webhooks", 16),
    },
    title="Client–freelancer rooms made from proposals, files, read marks; notifications of every saga step, "
          "live (Server-Sent Events), by webhook and by e-mail.",
)


def create_app(config: Settings | None = None, **kwargs):
    from shared.http import create_app as build

    return build(SERVICE, config, **kwargs)
