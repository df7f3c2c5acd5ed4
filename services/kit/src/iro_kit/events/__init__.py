"""Events between services: a transactional outbox, an HTTP relay, and an idempotent inbox.

Producer: `await emit(session, "child.changed", subject, state)` inside the request's
transaction writes one outbox row per subscriber routed for that type; the relay delivers
committed rows (CloudEvents 1.0, batched) and retries with backoff until dead-lettered.
Consumer: `inbox_router(...)` receives events, records `(source, id)` in its inbox and applies
each event in the same transaction, so a duplicate changes nothing.
"""

from iro_kit.events.envelope import CloudEvent
from iro_kit.events.outbox import emit
from iro_kit.events.routing import EventRoute

__all__ = ["CloudEvent", "EventRoute", "emit"]
