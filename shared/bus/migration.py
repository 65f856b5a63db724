"""Replacing queues the broker holds with another type or other arguments, without losing a message.

RabbitMQ cannot change a queue's type (classic to quorum) or its arguments in place, so each queue the
settings declare otherwise is replaced through a holding queue `<queue>.migrating`:

1. the holding queue is declared (a quorum one when the target is) and bound like the queue, so new
   messages reach it from the moment it exists;
2. every message of the old queue is copied there (confirmed) and only then acked; the old queue is
   deleted once it is empty (RabbitMQ checks that atomically, so a message that came in meanwhile is
   copied on the next round);
3. the queue is declared as the settings say, with its bindings;
4. the holding queue is unbound, emptied into the queue the same way and deleted (an event published
   while both are bound reaches both: it is delivered twice, which the consumer's inbox absorbs).

Every step is safe to repeat: a migration cut short (the process killed between two steps) is finished by
the next `marketplace topology`, which empties a holding queue it finds. The service's workers must be
stopped meanwhile (their consumers would hold messages that a deletion loses): a queue with consumers is
refused, with the reason. Messages keep their body, properties and headers; a copy's order among the
messages that arrived during the migration is not kept (consumers never relied on it).
"""
from __future__ import annotations

from dataclasses import dataclass

from amqp import Message
from amqp.exceptions import NotFound, PreconditionFailed
from kombu import Connection, Queue, binding

HOLDING_SUFFIX = ".migrating"
ROUNDS = 100


class MigrationError(RuntimeError):
    """A queue could not be replaced safely (it has consumers, or keeps refilling); nothing was lost."""


@dataclass
class Step:
    """What the migration did to one queue."""

    queue: str
    action: str  # "declared" (as it was, or new), "replaced", "resumed" (a holding queue left by a cut-short run)
    moved: int = 0
    reason: str = ""

    def text(self) -> str:
        if self.action == "declared":
            return f"{self.queue}: declared"
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.queue}: {self.action}{why}; {self.moved} message(s) moved over {self.queue}{HOLDING_SUFFIX}"


def holding_queue(queue: Queue) -> Queue:
    """Where `queue`'s messages wait while it is replaced: bound like it, without its limits.

    A classic queue, whatever the target: RabbitMQ deletes a classic queue only if it is empty, atomically,
    which a quorum queue cannot be asked (3.10 to 3.13). It lives for the migration only."""
    return Queue(queue.name + HOLDING_SUFFIX, durable=True,
                 bindings=[binding(exchange, routing_key=key) for exchange, key in bindings(queue)])


def bindings(queue: Queue) -> list[tuple]:
    """(exchange, routing key) of every binding `queue` is declared with."""
    found = [(binding.exchange, binding.routing_key) for binding in queue.bindings]
    if queue.exchange is not None and queue.exchange.name:
        found.append((queue.exchange, queue.routing_key))
    return found


class Migration:
    """Declares queues over one connection, replacing those the broker holds declared otherwise."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.channel = connection.channel()

    def _fresh_channel(self):
        # A refused declaration or deletion closes the channel it was made on.
        try:
            self.channel.close()
        except Exception:  # noqa: BLE001 - the broker closed it already
            pass
        self.channel = self.connection.channel()
        return self.channel

    def ensure(self, queue: Queue) -> Step:
        """Declare `queue`; replace it if the broker holds it declared otherwise; finish a cut-short replacement."""
        holding = holding_queue(queue)
        try:
            queue.bind(self.channel).declare()
            step = Step(queue.name, "declared")
        except PreconditionFailed as error:
            self._fresh_channel()
            step = Step(queue.name, "replaced", reason=_why(error.reply_text))
            self._replace(queue, holding, classic=_was_classic(error.reply_text, queue))
        if self._exists(holding.name) is not None:
            if step.action == "declared":
                step.action, step.reason = "resumed", "a holding queue was left by an earlier run"
            step.moved = self._drain_into(holding, queue)
        return step

    def _replace(self, queue: Queue, holding: Queue, *, classic: bool = True) -> None:
        found = self._exists(queue.name)
        if found is not None and found.consumer_count:
            raise MigrationError(f"{queue.name} has {found.consumer_count} consumer(s): stop its service's workers, "
                                 f"then run `marketplace topology` again")
        holding.bind(self.channel).declare()
        for exchange, key in bindings(queue):
            self.channel.queue_unbind(queue.name, exchange.name, key)
        self._empty_and_delete(queue.name, holding.name, atomic=classic)
        # A channel remembers the type of each queue it has used by name: publishing to the new queue on the
        # channel that read the old one crashes the broker's channel (RabbitMQ 3.10), so take a new one.
        self._fresh_channel()
        queue.bind(self.channel).declare()

    def _drain_into(self, holding: Queue, queue: Queue) -> int:
        for exchange, key in bindings(holding):
            self.channel.queue_unbind(holding.name, exchange.name, key)
        return self._empty_and_delete(holding.name, queue.name)

    def _empty_and_delete(self, source: str, target: str, *, atomic: bool = True) -> int:
        moved = 0
        for _ in range(ROUNDS):
            moved += self._move(source, target)
            if not atomic:
                # A quorum queue (one whose arguments changed) is deleted unconditionally, unbound and emptied:
                # only a message sent to it by name in the last instant (a retry coming due) could be lost,
                # so publishers and workers are to be stopped for such a migration.
                moved += self._move(source, target)
                self.channel.queue_delete(source)
                return moved
            try:
                self.channel.queue_delete(source, if_empty=True)
                return moved
            except PreconditionFailed:
                self._fresh_channel()  # a message came in (or a consumer) since: another round
        raise MigrationError(f"{source} kept refilling over {ROUNDS} rounds; {moved} message(s) moved to {target}, "
                             f"the rest wait in {source}: stop what publishes to it and run `marketplace topology` again")

    def _move(self, source: str, target: str) -> int:
        """Copy every ready message of `source` to `target`, each confirmed before the original is acked."""
        moved = 0
        while (message := self.channel.basic_get(source, no_ack=False)) is not None:
            copy = Message(message.body, **message.properties)
            # Ordering: confirmed (the connection publishes with confirms) before the ack, so a crash in
            # between leaves a copy on each side, never none; consumers' inboxes absorb the second.
            self.channel.basic_publish(copy, exchange="", routing_key=target, mandatory=True)
            self.channel.basic_ack(message.delivery_info["delivery_tag"])
            moved += 1
        return moved

    def _exists(self, name: str):
        try:
            return self.channel.queue_declare(name, passive=True)
        except NotFound:
            self._fresh_channel()
            return None


def _was_classic(reply_text: str, queue: Queue) -> bool:
    """Whether the refused queue is a classic one: its `x-queue-type` is unset or `classic` (when the refusal
    is about another argument, it is of the type it is declared with)."""
    if "'x-queue-type'" in reply_text:
        return "current is none" in reply_text or "current is the value 'classic'" in reply_text
    return (getattr(queue, "queue_arguments", None) or {}).get("x-queue-type") != "quorum"


def _why(reply_text: str) -> str:
    """`inequivalent arg 'x-queue-type'` from the broker's refusal."""
    text = reply_text.split(" - ", 1)[-1]
    return text.split(" for queue ", 1)[0]


def migrate(bus, services: dict[str, list[str]]) -> list[Step]:
    """Declare the exchanges, the audit queue and every service's queues (`services`: name to routing keys)
    on `bus` (an `AmqpBus`), replacing those declared otherwise; what was done to each queue."""
    with bus.connection() as connection:
        channel = connection.default_channel
        for exchange in bus.exchanges():
            exchange.bind(channel).declare()
        migration = Migration(connection)
        queues = bus.queues() + [queue for service, keys in services.items()
                                 for queue in bus.queues(service, keys, audit=False)]
        return [migration.ensure(queue) for queue in queues]
