"""What a worker process holds: the shared services, the queue and the delivery channels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from saq.queue.redis import RedisQueue

from server.core.services import Services
from server.notifications.models import ChannelName
from workers.channels.base import Channel


@dataclass
class Runtime:
    services: Services
    queue: RedisQueue
    channels: dict[ChannelName, Channel]

    @classmethod
    def of(cls, ctx: dict[str, Any]) -> Runtime:
        runtime: Runtime = ctx["runtime"]
        return runtime
