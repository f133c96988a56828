"""Events of a campaign and RSVPs."""

from __future__ import annotations

import uuid

from schema.campaigns.types import EventType
from schema.context import Info
from schema.pagination import Connection


async def campaign_events(
    info: Info, campaign_id: uuid.UUID, first: int | None, after: str | None
) -> Connection[EventType]:
    raise NotImplementedError
