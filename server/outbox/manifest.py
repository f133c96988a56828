"""The outbox: work staged in a domain's transaction for the workers."""

from server.core.manifest import Domain
from server.outbox.models import OutboxMessage

DOMAIN = Domain(name="outbox", models=(OutboxMessage,))
