"""The event catalog as an AsyncAPI 3.0 document, and the rule that keeps a published event version stable.

The kit knows no application: callers pass the catalog (`{(type, version): Schema}`) and what each
service subscribes to (`{service: [type, ...]}`). An event's producer is its type's first segment
(`shop.order.placed` is sent by `shop`), as every event type is named.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from shared.bus.topology import dead_queue_name, events_queue_name
from shared.events.fields import Id

ASYNCAPI = "3.0.0"
AMQP_BINDING = "0.3.0"

JsonSchema = dict[str, Any]
Catalog = Mapping[tuple[str, int], type[Schema]]
EventSchemas = Mapping[str, Mapping[str, JsonSchema]]

ENVELOPE: JsonSchema = {
    "type": "object",
    "description": "Every event travels in this envelope; `data` is the event type's own schema.",
    "properties": {
        "id": {"type": "string", "format": "uuid", "description": "Unique per event; consumers deduplicate on it."},
        "type": {"type": "string", "description": "The event type, also the routing key."},
        "version": {"type": "integer", "minimum": 1, "description": "Schema version of `data` for this type."},
        "producer": {"type": "string", "description": (
            "The service that sent the event: the owner of `type`, publishing as its own broker user (the AMQP "
            "`user_id`, which the broker checks); anything else is dead-lettered as forged.")},
        "correlation_id": {"type": "string", "description": (
            "The saga's id, the same on every event of one saga; else the HTTP request's X-Correlation-ID.")},
        "causation_id": {"type": ["string", "null"],
                         "description": "Id of the event or HTTP request that caused this one."},
        "occurred_at": {"type": "string", "format": "date-time", "description": "RFC 3339, UTC, with a `Z`."},
        "data": {"type": "object", "description": "The event's fields; readers ignore fields they do not know."},
        "traceparent": {"type": "string", "maxLength": 512, "description": (
            "W3C Trace Context `traceparent` of the producer's span (absent when traces are off); "
            "the consumer's span continues it.")},
        "tracestate": {"type": "string", "maxLength": 512, "description": "W3C Trace Context `tracestate`, if any."},
    },
    "required": ["id", "type", "version", "producer", "correlation_id", "occurred_at", "data"],
}

HEADERS: JsonSchema = {
    "type": "object",
    "properties": {
        "producer": {"type": "string", "description": "The envelope's `producer`."},
        "x-retries": {"type": "integer", "minimum": 0,
                      "description": "How many times the receiving service has retried this message."},
        "x-error": {"type": "string", "description": "Why the last attempt failed (on retries and dead letters)."},
        "x-published-by": {"type": "string", "description": (
            "On retries and dead letters: the broker user that published the original (believed only on a copy "
            "from the consuming service's own user or a replay user).")},
    },
    "required": ["producer"],
}


def producer_of(type_: str) -> str:
    return type_.split(".", 1)[0]


def channel_id(type_: str, version: int | str) -> str:
    return f"{type_}.v{version}"


def data_schema(schema: type[Schema]) -> JsonSchema:
    """A marshmallow schema as JSON Schema (draft 7): nested schemas inlined, `allow_none` as a `null` type."""
    # OpenAPI 3.1's dialect is JSON Schema's own: a nullable field is `type: [..., "null"]`, not `nullable`.
    plugin = MarshmallowPlugin(schema_name_resolver=_inline)
    APISpec("events", "1", openapi_version="3.1.0", plugins=[plugin])
    converter = plugin.converter
    assert converter is not None
    # Not map_to_openapi_type: it edits apispec's module-wide table, which the HTTP specs share.
    converter.field_mapping = {**converter.field_mapping, Id: ("string", "uuid")}
    return converter.schema2jsonschema(schema)


def _inline(nested: type[Schema]) -> Any:
    """No name for a nested schema: apispec then writes it out in place, so each event's schema stands alone."""
    return None


def event_schemas(catalog: Catalog) -> dict[str, dict[str, JsonSchema]]:
    """`{type: {version: JSON Schema of its data}}`, sorted: what the compatibility snapshot keeps."""
    found: dict[str, dict[str, JsonSchema]] = {}
    for (type_, version), schema in sorted(catalog.items()):
        found.setdefault(type_, {})[str(version)] = data_schema(schema)
    return found


def build_document(catalog: Catalog, subscriptions: Mapping[str, Sequence[str]], *, title: str, version: str,
                   description: str = "", exchange: str = "marketplace.events",
                   servers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An AsyncAPI 3.0 document: a channel per event type and version, who sends it and who receives it.

    `subscriptions` maps each service to the event types its queue is bound to; a service that
    receives a type receives every version of it (the routing key is the type).
    """
    known = {type_ for type_, _ in catalog}
    for service, types in subscriptions.items():
        unknown = sorted(set(types) - known)
        if unknown:
            raise ValueError(f"{service} subscribes to {', '.join(unknown)}, which no producer declares")
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Envelope": ENVELOPE}
    for type_, versions in event_schemas(catalog).items():
        producer = producer_of(type_)
        receivers = sorted(service for service, types in subscriptions.items() if type_ in types)
        for number, schema in versions.items():
            key = channel_id(type_, number)
            schemas[key] = schema
            messages[key] = _message(type_, int(number), producer, key, catalog[(type_, int(number))].__doc__)
            channels[key] = _channel(type_, key, producer, receivers)
            operations[f"{producer}.send.{key}"] = _operation("send", producer, key, (
                f"Written to the outbox of {producer} in the transaction of the change it reports, published after "
                "commit with publisher confirms, persistent and mandatory."))
            for service in receivers:
                operations[f"{service}.receive.{key}"] = _operation("receive", service, key, (
                    f"Consumed from the queue `{events_queue_name(service)}`, bound to `{type_}`; acknowledged after "
                    f"the handler's transaction commits. A failed handler is retried through `{service}.retry.<delay>` "
                    f"queues; after the last retry, or at once for an undecodable message, it is parked in "
                    f"`{dead_queue_name(service)}`."))
    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI,
        "info": {"title": title, "version": version, **({"description": description} if description else {})},
    }
    if servers:
        document["servers"] = dict(servers)
    document.update({
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": dict(sorted(operations.items())),
        "components": {
            "schemas": schemas,
            "messages": messages,
            "messageTraits": {"envelope": _envelope_trait()},
            "channelBindings": {"exchange": {"amqp": {
                "is": "routingKey",
                "exchange": {"name": exchange, "type": "topic", "durable": True, "autoDelete": False},
                "bindingVersion": AMQP_BINDING,
            }}},
            "operationBindings": {
                "send": {"amqp": {"deliveryMode": 2, "mandatory": True, "bindingVersion": AMQP_BINDING}},
                "receive": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING}},
            },
        },
    })
    return document


def _channel(type_: str, key: str, producer: str, receivers: Sequence[str]) -> dict[str, Any]:
    return {
        "address": type_,
        "summary": f"Sent by {producer}; received by {', '.join(receivers) or 'no service (kept by the audit queue)'}.",
        "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        "bindings": {"$ref": "#/components/channelBindings/exchange"},
    }


def _message(type_: str, version: int, producer: str, key: str, doc: str | None) -> dict[str, Any]:
    return {
        "name": type_,
        "title": f"{type_} (version {version})",
        **({"summary": " ".join(doc.split())} if doc else {}),
        "traits": [{"$ref": "#/components/messageTraits/envelope"}],
        "payload": {"allOf": [
            {"$ref": "#/components/schemas/Envelope"},
            {"type": "object", "properties": {
                "type": {"const": type_},
                "version": {"const": version},
                "producer": {"const": producer},
                "data": {"$ref": f"#/components/schemas/{key}"},
            }},
        ]},
        "bindings": {"amqp": {"messageType": type_, "bindingVersion": AMQP_BINDING}},
    }


def _envelope_trait() -> dict[str, Any]:
    return {
        "summary": "The envelope every event travels in.",
        "description": (
            "The body is the JSON envelope. AMQP properties: `content_type` application/json, `content_encoding` "
            "utf-8, `delivery_mode` 2 (persistent), `message_id` = the envelope's `id`, `type` = its `type`, "
            "`correlation_id` = its `correlation_id`. Readers are tolerant: unknown fields in `data` are ignored."),
        "contentType": "application/json",
        "headers": HEADERS,
        "correlationId": {"description": "The saga the event belongs to.",
                          "location": "$message.payload#/correlation_id"},
        "bindings": {"amqp": {"contentEncoding": "utf-8", "bindingVersion": AMQP_BINDING}},
    }


def _operation(action: str, service: str, key: str, description: str) -> dict[str, Any]:
    verb = "sends" if action == "send" else "receives"
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{key}"},
        "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        "title": f"{service} {verb} {key}",
        "description": description,
        "tags": [{"name": service}],
        "bindings": {"$ref": f"#/components/operationBindings/{action}"},
    }


def breaking_changes(before: EventSchemas, after: EventSchemas) -> list[str]:
    """What `after` breaks of `before`: one line per event version and field, empty when compatible.

    Within a version, every event valid before must stay valid, and every field promised before must
    still be there with its type: a field may not be removed, re-typed, made required or made optional,
    a new field must be optional, and allowed values or bounds may not narrow. A new event type or
    version is always fine.
    """
    problems = []
    for type_, versions in sorted(before.items()):
        for number, old in sorted(versions.items()):
            new = after.get(type_, {}).get(number)
            if new is None:
                problems.append(f"{type_} v{number}: the event version was removed")
                continue
            problems.extend(f"{type_} v{number}: {problem}" for problem in _differences(old, new, ""))
    return problems


_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")


def _differences(old: JsonSchema, new: JsonSchema, where: str) -> Iterator[str]:
    subject = f"field `{where}`" if where else "the data"
    if _types(old) != _types(new):
        yield f"{subject} changed type from {_named(old)} to {_named(new)}"
        return
    if old.get("format") != new.get("format"):
        yield f"{subject} changed format from {old.get('format') or 'none'} to {new.get('format') or 'none'}"
    if "enum" in new:
        dropped = [value for value in old.get("enum", ()) if value not in new["enum"]]
        if "enum" not in old:
            yield f"{subject} now only allows {', '.join(map(str, new['enum']))}"
        elif dropped:
            yield f"{subject} no longer allows {', '.join(map(str, dropped))}"
    for bound in _LOWER_BOUNDS + _UPPER_BOUNDS:
        if bound in new and (bound not in old or _narrower(bound, old[bound], new[bound])):
            yield f"{subject} narrowed its {bound} from {old.get(bound, 'none')} to {new[bound]}"
    old_fields, new_fields = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    for name, schema in old_fields.items():
        path = f"{where}.{name}" if where else name
        if name not in new_fields:
            yield f"field `{path}` was removed"
            continue
        if name in new_required and name not in old_required:
            yield f"field `{path}` became required"
        elif name in old_required and name not in new_required:
            yield f"field `{path}` is no longer required: readers of this version count on it"
        yield from _differences(schema, new_fields[name], path)
    for name in sorted(set(new_fields) - set(old_fields)):
        if name in new_required:
            path = f"{where}.{name}" if where else name
            yield f"field `{path}` is new and required: events sent before it lack it (add it with a default)"
    if "items" in old and "items" in new:
        yield from _differences(old["items"], new["items"], f"{where}[]")


def _narrower(bound: str, old: float, new: float) -> bool:
    return new > old if bound in _LOWER_BOUNDS else new < old


def _types(schema: JsonSchema) -> frozenset[str]:
    declared = schema.get("type", ())
    return frozenset([declared] if isinstance(declared, str) else declared)


def _named(schema: JsonSchema) -> str:
    return " or ".join(sorted(_types(schema))) or "any"
