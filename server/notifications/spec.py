"""What a domain asks for when something must reach people: a NotifySpec, staged in its
transaction via the outbox (``server.notifications.notify``), turned into notifications by a
worker.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class NotifySpec:
    organisation_id: uuid.UUID
    user_ids: list[uuid.UUID]
    template: str
    # A stable name of the event: with the user id it is each notification's dedupe key,
    # so however often the same event is handled, each person is told once.
    event_key: str
    params: dict[str, str] = field(default_factory=dict)
    link: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return {
            "organisation_id": str(self.organisation_id),
            "user_ids": [str(u) for u in self.user_ids],
            "template": self.template,
            "event_key": self.event_key,
            "params": self.params,
            "link": self.link,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> NotifySpec:
        return cls(
            organisation_id=uuid.UUID(payload["organisation_id"]),
            user_ids=[uuid.UUID(u) for u in payload["user_ids"]],
            template=payload["template"],
            event_key=payload["event_key"],
            params=dict(payload.get("params") or {}),
            link=payload.get("link"),
        )
