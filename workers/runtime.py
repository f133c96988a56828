"""What a worker process holds: the services, the queue, the channels and the domains."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from saq.queue.redis import RedisQueue

from server.core.manifest import Registry
from server.core.services import Services
from server.domains import REGISTRY
from server.notifications.models import ChannelName
from workers.channels.base import Channel


@dataclass
class Runtime:
    services: Services
    queue: RedisQueue
    channels: dict[ChannelName, Channel]
    # Every domain's jobs, outbox topics, reminder kinds and digest sections.
    registry: Registry = field(default=REGISTRY)

    @classmethod
    def of(cls, ctx: dict[str, Any]) -> Runtime:
        runtime: Runtime = ctx["runtime"]
        return runtime
